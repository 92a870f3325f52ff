/**
 * The recipients' delivery facts read at RCPT (server.ts, delivery-facts.ts): with the user, the
 * RCPT statement reads their verdicts on the envelope sender, filters, sigchain head and
 * out-of-office flag; DATA uses them and runs no statement of its own when the From header names
 * no one else — and still asks again when it does, so a verdict on the From address counts. Real
 * nodemailer over STARTTLS on loopback, the real Postgres (its statements recorded by name on the
 * way); DNS answers "no such record" from this test (the outside world).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import type { SMTPServer } from 'smtp-server';
import { pgPoolOf, seedDemo } from '@sealmail/db';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { createLogger, loadOrCreateTls, type TlsMaterial } from '@sealmail/server';
import { buildSmtpServer } from '../src/server';
import { giveKeys } from './keys';

let tdb: TestDatabase;
let tls: TlsMaterial;
let dir: string;
let server: SMTPServer;
let port = 0;
let bobId: string;
/** Names of the named statements run through the pool since the last reset. */
const statements: string[] = [];
const resolver = async (name: string, type: string): Promise<string[][]> => Promise.reject(Object.assign(new Error(`no ${type} for ${name}`), { code: 'ENOTFOUND' }));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealmail-rcpt-facts-'));
  tls = await loadOrCreateTls({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
  tdb = await createTestDatabase();
  await seedDemo(tdb.prisma, { domain: 'example.test' });
  bobId = (await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'bob' } })).id;
  await giveKeys(tdb.prisma, bobId);
  const pool = pgPoolOf(tdb.prisma)!;
  const query = pool.query.bind(pool) as (...a: unknown[]) => unknown;
  (pool as unknown as { query: (...a: unknown[]) => unknown }).query = (cfg: unknown, ...rest: unknown[]) => {
    const name = (cfg as { name?: string } | null)?.name;
    if (name) statements.push(name);
    return query(cfg, ...rest);
  };
  server = buildSmtpServer({ db: tdb.prisma, logger: createLogger({ level: 'silent' }), tls, hostname: 'mx.example.test', maxMessageBytes: 35 * 1024 * 1024, secure: false, resolver, groupCommit: false });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.server.address() as { port: number }).port;
}, 60_000);

afterAll(async () => {
  await new Promise<void>((r) => server?.close(() => r()));
  await tdb?.drop();
  await rm(dir, { recursive: true, force: true });
});

const send = (envelopeFrom: string, from: string, subject: string) =>
  nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, requireTLS: true, tls: { ca: tls.cert, servername: 'localhost' } }).sendMail({ envelope: { from: envelopeFrom, to: ['bob@example.test'] }, from, to: 'bob@example.test', subject, text: 'hello', date: new Date(), messageId: `<${subject.replace(/\W/g, '')}@sender.example>` });
/** The folder of bob's newest entry. */
const newestFolder = async () => (await tdb.prisma.mailboxEntry.findFirstOrThrow({ where: { userId: bobId }, orderBy: { receivedAt: 'desc' } })).folder;

describe('delivery facts read at RCPT', () => {
  it('From is the envelope sender: DATA runs no facts statement, and the verdict read at RCPT files it', async () => {
    await tdb.prisma.senderVerdict.create({ data: { userId: bobId, address: 'carol@sender.example', verdict: 'spam' } });
    statements.length = 0;
    await send('carol@sender.example', 'Carol <Carol@Sender.example>', 'same sender');
    expect(statements).toContain('sealmail_rcpt_lookup_facts');
    expect(statements).not.toContain('sealmail_recipient_facts');
    expect(await newestFolder()).toBe('spam');
  });

  it('From names someone else: DATA reads the facts again for both, so a verdict on the From address counts', async () => {
    statements.length = 0;
    await send('bounces@list.example', 'carol@sender.example', 'other sender');
    expect(statements).toContain('sealmail_recipient_facts');
    expect(await newestFolder()).toBe('spam');
    await tdb.prisma.senderVerdict.deleteMany({ where: { userId: bobId } });
    await send('bounces@list.example', 'carol@sender.example', 'other sender again');
    expect(await newestFolder()).toBe('inbox');
  });
});
