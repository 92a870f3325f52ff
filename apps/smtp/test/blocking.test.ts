/**
 * Blocked senders at the ingress (docs/mail.md §7.2): real nodemailer → real ingress over
 * STARTTLS → real Postgres. A sender one user blocked is refused for that user at RCPT with
 * 550 5.7.1 while the other recipients still get the message; domain blocks cover subdomains;
 * an admin's account-wide block refuses everyone; the From header is checked at DATA too.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import type { SMTPServer } from 'smtp-server';
import type { PerUserKey } from '@sealmail/crypto';
import { seedDemo } from '@sealmail/db';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { createLogger, loadOrCreateTls, type TlsMaterial } from '@sealmail/server';
import { buildSmtpServer } from '../src/server';
import { senderPatterns } from '../src/recipients';
import { Dialog } from './dialog';
import { giveKeys } from './keys';
import { entryCount, openNewest } from './mailbox';

let tdb: TestDatabase;
let tls: TlsMaterial;
let dir: string;
let server: SMTPServer;
let port = 0;
const users: Record<'alice' | 'bob', { id: string; puk: PerUserKey }> = {} as never;
let accountId: string;

async function resolver(name: string, type: string): Promise<string[][]> {
  throw Object.assign(new Error(`no ${type} for ${name}`), { code: 'ENOTFOUND' });
}
const transport = () => nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, requireTLS: true, tls: { ca: tls.cert, servername: 'localhost' }, name: 'client.example.org' });
const block = (pattern: string, who: 'bob' | 'alice' | null) => tdb.prisma.blockedSender.create({ data: { accountId, userId: who ? users[who].id : null, pattern } });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealmail-block-'));
  tls = await loadOrCreateTls({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
  tdb = await createTestDatabase();
  await seedDemo(tdb.prisma, { domain: 'example.test' });
  for (const name of ['alice', 'bob'] as const) {
    const u = await tdb.prisma.user.findFirstOrThrow({ where: { localPart: name } });
    accountId = u.accountId;
    users[name] = { id: u.id, puk: await giveKeys(tdb.prisma, u.id) };
  }
  server = buildSmtpServer({ db: tdb.prisma, logger: createLogger({ level: 'silent' }), tls, hostname: 'mx.example.test', maxMessageBytes: 1024 * 1024, secure: false, resolver });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.server.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise<void>((r) => server?.close(() => r()));
  await tdb?.drop();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  await tdb.prisma.blockedSender.deleteMany({});
});

describe('blocked senders', () => {
  it('a sender Bob blocked is refused for Bob at RCPT (550 5.7.1); Alice, on the same message, gets it', async () => {
    await block('pest@junk.example', 'bob');
    const before = { alice: await entryCount(tdb.prisma, users.alice.id), bob: await entryCount(tdb.prisma, users.bob.id) };
    const info = await transport().sendMail({ from: 'pest@junk.example', to: ['bob@example.test', 'alice@example.test'], subject: 'Offer', text: 'buy' });
    expect(info.accepted).toEqual(['alice@example.test']);
    expect(info.rejected).toEqual(['bob@example.test']);
    expect((info as unknown as { rejectedErrors: { response: string }[] }).rejectedErrors[0]!.response).toMatch(/^550 5\.7\.1 /);
    expect(await entryCount(tdb.prisma, users.bob.id)).toBe(before.bob);
    expect(await entryCount(tdb.prisma, users.alice.id)).toBe(before.alice + 1);
    expect((await openNewest(tdb.prisma, users.alice.id, users.alice.puk)).subject).toBe('Offer');
    // Another sender of the same domain still reaches Bob.
    expect((await transport().sendMail({ from: 'friend@junk.example', to: 'bob@example.test', subject: 'Hi', text: 'x' })).accepted).toEqual(['bob@example.test']);
  });

  it('a blocked domain covers its subdomains, case-insensitively', async () => {
    await block('junk.example', 'bob');
    const d = await Dialog.open(port);
    await d.reply();
    await d.cmd('EHLO client.example.org');
    await d.starttls(tls.cert);
    await d.cmd('EHLO client.example.org');
    await d.cmd('MAIL FROM:<Someone@Mail.JUNK.example>');
    expect((await d.cmd('RCPT TO:<bob@example.test>')).text).toMatch(/^550 5\.7\.1 /);
    expect((await d.cmd('RCPT TO:<alice@example.test>')).code).toBe(250);
    d.close();
    expect(senderPatterns('a@x.y.example')).toEqual(['a@x.y.example', 'x.y.example', 'y.example']);
    expect(senderPatterns('')).toEqual([]);
  });

  it('an admin block refuses the sender for every mailbox of the account', async () => {
    await block('junk.example', null);
    await expect(transport().sendMail({ from: 'pest@junk.example', to: ['bob@example.test', 'alice@example.test'], subject: 'x', text: 'x' })).rejects.toMatchObject({
      code: 'EENVELOPE',
      rejected: ['bob@example.test', 'alice@example.test'],
    });
  });

  it('the From header is checked at DATA: a blocked From reaches nobody who blocked it', async () => {
    await block('pest@junk.example', 'bob');
    const before = { alice: await entryCount(tdb.prisma, users.alice.id), bob: await entryCount(tdb.prisma, users.bob.id) };
    const envelope = { from: 'bounces@relay.example', to: ['bob@example.test', 'alice@example.test'] };
    const info = await transport().sendMail({ envelope, from: 'pest@junk.example', to: 'team@example.test', subject: 'Via a relay', text: 'x' });
    expect(info.accepted).toHaveLength(2);
    expect(await entryCount(tdb.prisma, users.bob.id)).toBe(before.bob);
    expect(await entryCount(tdb.prisma, users.alice.id)).toBe(before.alice + 1);
    // Only Bob named: nobody left to take it, so the message is refused at DATA.
    await expect(transport().sendMail({ envelope: { from: 'bounces@relay.example', to: ['bob@example.test'] }, from: 'pest@junk.example', to: 'bob@example.test', subject: 'x', text: 'x' })).rejects.toMatchObject({
      responseCode: 550,
      response: expect.stringMatching(/^550 5\.7\.1 /),
    });
    expect(await entryCount(tdb.prisma, users.bob.id)).toBe(before.bob);
  });

  it('bounces (the null sender) are not refused by an address block', async () => {
    await block('pest@junk.example', 'bob');
    const d = await Dialog.open(port);
    await d.reply();
    await d.cmd('EHLO client.example.org');
    await d.starttls(tls.cert);
    await d.cmd('EHLO client.example.org');
    await d.cmd('MAIL FROM:<>');
    expect((await d.cmd('RCPT TO:<bob@example.test>')).code).toBe(250);
    d.close();
  });
});
