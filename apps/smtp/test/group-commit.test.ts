/**
 * Group commit through the whole ingress (real TLS on loopback, real Postgres): messages sent at
 * once over concurrent sessions are stored by fewer transactions than messages, every 250 comes
 * only after its message is committed (another connection already sees it at that moment), each
 * opens for its recipient, and a recipient whose mailbox is full gets its 552 without costing the
 * other messages of the batch theirs. (The batch's fallback when a message fails inside it:
 * packages/mailstore/test/group-commit.test.ts.)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import type { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';
import { openMail, type PerUserKey } from '@sealmail/crypto';
import { createDb, pgPoolOf, seedDemo, type Db } from '@sealmail/db';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { ephemeralServerMailKey, GroupCommit } from '@sealmail/mailstore';
import { createLogger, loadOrCreateTls, type TlsMaterial } from '@sealmail/server';
import { buildSmtpServer } from '../src/server';
import { giveKeys } from './keys';

let tdb: TestDatabase;
let tls: TlsMaterial;
let dir: string;
let server: SMTPServer;
let port = 0;
let groupCommit: GroupCommit;
/** A client of its own (its own connections): it sees only what is committed. */
let reader: Db;
let bob: { id: string; puk: PerUserKey };
let aliceId: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealmail-smtp-gc-'));
  tls = await loadOrCreateTls({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
  tdb = await createTestDatabase();
  await seedDemo(tdb.prisma, { domain: 'example.test' });
  const bobId = (await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'bob' } })).id;
  bob = { id: bobId, puk: await giveKeys(tdb.prisma, bobId) };
  aliceId = (await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'alice' } })).id;
  await giveKeys(tdb.prisma, aliceId);
  groupCommit = new GroupCommit(tdb.prisma, pgPoolOf(tdb.prisma)!);
  reader = createDb(tdb.connectionString, { maxConnections: 2 });
  server = buildSmtpServer({ db: tdb.prisma, logger: createLogger({ level: 'silent' }), tls, hostname: 'mx.example.test', maxMessageBytes: 10_000_000, secure: false, serverPublicKey: ephemeralServerMailKey().publicKey, groupCommit });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.server.address() as { port: number }).port;
}, 60_000);

afterAll(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  await reader?.$disconnect();
  await tdb?.drop();
  await rm(dir, { recursive: true, force: true });
});

const committedEntries = (userId: string) => reader.mailboxEntry.count({ where: { userId } });

describe('group commit in the ingress', () => {
  it('answers each of many concurrent messages 250 only once committed, in fewer transactions than messages', async () => {
    const N = 24;
    const before = await committedEntries(bob.id);
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, requireTLS: true, tls: { ca: tls.cert, servername: 'localhost' }, pool: true, maxConnections: 12, maxMessages: Infinity });
    let acked = 0;
    const sightings: { acked: number; committed: number }[] = [];
    await Promise.all(
      Array.from({ length: N }, (_, i) =>
        transport.sendMail({ from: 'load@sender.example', to: 'bob@example.test', subject: `batch ${i}`, text: `message ${i}\r\n`.repeat(40) }).then(async (info) => {
          expect(info.response).toMatch(/^250 /);
          acked++;
          // Every message answered so far is visible to another connection now.
          sightings.push({ acked, committed: (await committedEntries(bob.id)) - before });
        }),
      ),
    );
    transport.close();
    for (const s of sightings) expect(s.committed).toBeGreaterThanOrEqual(s.acked);
    expect(groupCommit.stats.messages).toBe(N);
    expect(groupCommit.stats.transactions).toBeLessThan(N);
    // Each one opens for Bob, once.
    const entries = await tdb.prisma.mailboxEntry.findMany({ where: { userId: bob.id }, include: { message: true }, orderBy: { receivedAt: 'asc' } });
    const subjects: string[] = [];
    for (const e of entries) {
      const opened = await openMail({ envelope: e.message.envelope, record: e.box, manifest: e.message.manifest, pieces: [e.message.body], userId: bob.id, puk: bob.puk });
      subjects.push((await simpleParser(Buffer.from(opened.pieces[0]!))).subject ?? '');
    }
    expect(subjects.filter((s) => s.startsWith('batch ')).sort()).toEqual(Array.from({ length: N }, (_, i) => `batch ${i}`).sort());
  }, 120_000);

  it('a mailbox that fills up between RCPT and DATA gets its 552 while the messages committed beside it get their 250', async () => {
    // Room for a byte at RCPT (a full mailbox is refused there: the next test), none for the message.
    await tdb.prisma.$executeRaw`UPDATE users SET quota_bytes = used_bytes + 10 WHERE id = ${aliceId}::uuid`;
    const before = { bob: await committedEntries(bob.id), alice: await committedEntries(aliceId) };
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, requireTLS: true, tls: { ca: tls.cert, servername: 'localhost' }, pool: true, maxConnections: 8, maxMessages: Infinity });
    const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => transport.sendMail({ from: 'load@sender.example', to: i % 3 === 0 ? 'alice@example.test' : 'bob@example.test', subject: `mixed ${i}`, text: 'hello\r\n' })));
    transport.close();
    results.forEach((r, i) => {
      if (i % 3 === 0) expect(r.status === 'rejected' && (r.reason as { responseCode?: number }).responseCode).toBe(552);
      else expect(r.status).toBe('fulfilled');
    });
    expect(await committedEntries(bob.id)).toBe(before.bob + 8);
    expect(await committedEntries(aliceId)).toBe(before.alice);
  }, 120_000);

  it('a full mailbox among several recipients is refused at RCPT (452 4.2.2) and the others get the message: nobody loses it behind a 250', async () => {
    await tdb.prisma.$executeRaw`UPDATE users SET quota_bytes = used_bytes WHERE id = ${aliceId}::uuid`;
    const before = { bob: await committedEntries(bob.id), alice: await committedEntries(aliceId) };
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, requireTLS: true, tls: { ca: tls.cert, servername: 'localhost' } });
    const info = await transport.sendMail({ from: 'load@sender.example', to: ['bob@example.test', 'alice@example.test'], subject: 'to both', text: 'hello\r\n' });
    transport.close();
    expect(info.accepted).toEqual(['bob@example.test']);
    expect(info.rejected).toEqual(['alice@example.test']);
    expect((info as unknown as { rejectedErrors: { response: string }[] }).rejectedErrors[0]!.response).toMatch(/^452 4\.2\.2 Mailbox full/);
    expect(await committedEntries(bob.id)).toBe(before.bob + 1);
    expect(await committedEntries(aliceId)).toBe(before.alice);
    // Room again: the sender's retry gets through.
    await tdb.prisma.$executeRaw`UPDATE users SET quota_bytes = used_bytes + 1000000 WHERE id = ${aliceId}::uuid`;
    const again = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, requireTLS: true, tls: { ca: tls.cert, servername: 'localhost' } });
    await again.sendMail({ from: 'load@sender.example', to: 'alice@example.test', subject: 'retry', text: 'hello\r\n' });
    again.close();
    expect(await committedEntries(aliceId)).toBe(before.alice + 1);
  }, 120_000);
});
