/**
 * Conversations with the outside world thread (docs/mail.md "Threads"): a message from outside
 * keeps only a keyed hash of its own Message-ID, and a later message answering it — by
 * In-Reply-To, or only by References — joins the recipient's thread; one answering nothing known
 * starts its own. The Message-ID itself is never stored in the clear. DNS answers come from an
 * empty table (outside this machine).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SMTPServer } from 'smtp-server';
import { seedDemo } from '@sealmail/db';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { answeredIds, ephemeralServerMailKey, SecretBox } from '@sealmail/mailstore';
import { createLogger, loadOrCreateTls, type TlsMaterial } from '@sealmail/server';
import { buildSmtpServer } from '../src/server';
import { Dialog } from './dialog';
import { giveKeys } from './keys';

let tdb: TestDatabase;
let tls: TlsMaterial;
let dir: string;
let server: SMTPServer;
let port = 0;
let bobId = '';
const tag = randomBytes(6).toString('hex');
const id = (n: string) => `${n}-${tag}@mail.far.example`;

async function resolver(name: string, type: string): Promise<string[][]> {
  throw Object.assign(new Error(`no ${type} for ${name}`), { code: 'ENOTFOUND' });
}

async function send(subject: string, headers: string) {
  const d = await Dialog.open(port);
  try {
    await d.reply();
    await d.cmd('EHLO mta.far.example');
    await d.cmd('MAIL FROM:<carol@far.example>');
    await d.cmd('RCPT TO:<bob@example.test>');
    await d.cmd('DATA');
    d.write(`From: Carol <carol@far.example>\r\nTo: bob@example.test\r\nSubject: ${subject}\r\n${headers}\r\nText of ${subject}.\r\n`);
    expect((await d.cmd('.')).code).toBe(250);
  } finally {
    d.close();
  }
}

/** Bob's thread ids, oldest entry first. */
const threads = async () => (await tdb.prisma.mailboxEntry.findMany({ where: { userId: bobId }, orderBy: { receivedAt: 'asc' }, select: { threadId: true } })).map((e) => e.threadId);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealmail-threads-'));
  tls = await loadOrCreateTls({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
  tdb = await createTestDatabase();
  await seedDemo(tdb.prisma, { domain: 'example.test' });
  bobId = (await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'bob' } })).id;
  await giveKeys(tdb.prisma, bobId);
  server = buildSmtpServer({ db: tdb.prisma, logger: createLogger({ level: 'silent' }), tls, hostname: 'mx.example.test', maxMessageBytes: 1024 * 1024, secure: false, resolver, secrets: new SecretBox(ephemeralServerMailKey()) });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.server.address() as { port: number }).port;
}, 60_000);

afterAll(async () => {
  await new Promise<void>((r) => server?.close(() => r()));
  await tdb?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('threads with the outside world', () => {
  it('a reply from outside to a mail from outside joins its thread, by In-Reply-To or by References alone', async () => {
    await send('Plans', `Message-ID: <${id('a')}>\r\n`);
    await send('Re: Plans', `Message-ID: <${id('b')}>\r\nIn-Reply-To: <${id('a')}>\r\nReferences: <${id('a')}>\r\n`);
    // A client that writes only References (the nearest known id counts).
    await send('Re: Re: Plans', `Message-ID: <${id('c')}>\r\nReferences: <${id('a')}> <unknown-${tag}@elsewhere.example>\r\n`);
    await send('Something else', `Message-ID: <${id('d')}>\r\nIn-Reply-To: <never-${tag}@far.example>\r\n`);
    const t = await threads();
    expect(t).toHaveLength(4);
    expect(t[1]).toBe(t[0]);
    expect(t[2]).toBe(t[0]);
    expect(t[3]).not.toBe(t[0]);
    // Only keyed hashes: no Message-ID of these mails is in the clear anywhere in their rows.
    const rows = await tdb.prisma.$queryRawUnsafe<{ row: string }[]>(`SELECT m::text AS row FROM messages m WHERE m.sender_address = 'carol@far.example'`);
    expect(rows).toHaveLength(4);
    for (const r of rows) expect(r.row).not.toContain(tag);
    const refs = await tdb.prisma.message.findMany({ where: { senderAddress: 'carol@far.example' }, select: { originRef: true } });
    expect(new Set(refs.map((r) => Buffer.from(r.originRef!).toString('hex'))).size).toBe(4);
  });

  it('reads the ids a message answers nearest first, without duplicates', () => {
    expect(answeredIds({ inReplyTo: '<b@x>', references: '<a@x> <b@x>' })).toEqual(['b@x', 'a@x']);
    expect(answeredIds({ references: ['<a@x>', '<c@x>'] })).toEqual(['c@x', 'a@x']);
    expect(answeredIds({})).toEqual([]);
  });
});
