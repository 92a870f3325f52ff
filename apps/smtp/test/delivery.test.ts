/**
 * Mail from outside, delivered: a real nodemailer client talks to the real ingress over TLS on
 * loopback; the message is authenticated (SPF, DKIM, DMARC with mailauth), sealed by the server
 * to the recipient's newest per-user key, stored, and only then answered 250. The recipient's keys
 * (made here with the crypto package) open it: body, Authentication-Results, attachment bytes.
 * No canary is left in the database. DNS answers come from a table in this test (the only part
 * standing in for something outside this machine).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import type { SMTPServer } from 'smtp-server';
import { parseMime } from '@sealmail/client/identity';
import { openMail, type PerUserKey } from '@sealmail/crypto';
import { giveKeys } from './keys';
import { seedDemo } from '@sealmail/db';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { createLogger, loadOrCreateTls, type TlsMaterial } from '@sealmail/server';
import { buildSmtpServer } from '../src/server';
import { Dialog } from './dialog';

let tdb: TestDatabase;
let tls: TlsMaterial;
let dir: string;
let server: SMTPServer;
let port = 0;
let bobPuk: PerUserKey;
let bobId: string;
const CANARY = `canary-inbound-${randomBytes(6).toString('hex')}`;

// DKIM key of the "remote" domain sender.example, published in the table below.
const dkim = generateKeyPairSync('rsa', { modulusLength: 2048 });
const dkimPublic = dkim.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
const dns: Record<string, string[][]> = {
  'TXT sel._domainkey.sender.example': [[`v=DKIM1; k=rsa; p=${dkimPublic}`]],
  'TXT sender.example': [['v=spf1 ip4:127.0.0.1 -all']],
  'TXT _dmarc.sender.example': [['v=DMARC1; p=reject']],
  'TXT bank.example': [['v=spf1 -all']],
  'TXT _dmarc.bank.example': [['v=DMARC1; p=reject']],
};
async function resolver(name: string, type: string): Promise<string[][]> {
  const hit = dns[`${type} ${name.toLowerCase()}`];
  if (hit) return hit;
  throw Object.assign(new Error(`no ${type} for ${name}`), { code: 'ENOTFOUND' });
}

const transport = (extra: Record<string, unknown> = {}) =>
  nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, requireTLS: true, tls: { ca: tls.cert, servername: 'localhost' }, name: 'client.sender.example', ...extra });

/** Bob's newest mailbox entry, opened with his per-user key. */
async function openNewest() {
  const entry = await tdb.prisma.mailboxEntry.findFirstOrThrow({ where: { userId: bobId }, orderBy: { receivedAt: 'desc' }, include: { message: { include: { blobs: { orderBy: { pieceIndex: 'asc' }, include: { data: { orderBy: { index: 'asc' } } } } } } } });
  const m = entry.message;
  const pieces = [m.body, ...m.blobs.map((b) => Buffer.concat(b.data.map((p) => p.data)))];
  const opened = await openMail({ envelope: m.envelope, record: entry.box, manifest: m.manifest, pieces, userId: bobId, puk: bobPuk });
  return { entry, message: m, opened, mime: await parseMime(opened.pieces[0]!) };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealmail-smtp-'));
  tls = await loadOrCreateTls({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
  tdb = await createTestDatabase();
  await seedDemo(tdb.prisma, { domain: 'example.test' });
  bobId = (await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'bob' } })).id;
  bobPuk = await giveKeys(tdb.prisma, bobId);
  server = buildSmtpServer({ db: tdb.prisma, logger: createLogger({ level: 'silent' }), tls, hostname: 'mx.example.test', maxMessageBytes: 35 * 1024 * 1024, secure: false, resolver });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.server.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise<void>((r) => server?.close(() => r()));
  await tdb?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('inbound delivery', () => {
  it('seals a DKIM-signed message with an attachment to the recipient, stores it, then answers 250', async () => {
    const file = randomBytes(300_000);
    file.write(CANARY, 10);
    const info = await transport({ dkim: { domainName: 'sender.example', keySelector: 'sel', privateKey: dkim.privateKey.export({ type: 'pkcs8', format: 'pem' }) } }).sendMail({
      from: '"Carol Remote" <carol@sender.example>',
      to: 'bob@example.test',
      subject: `Quarterly ${CANARY}`,
      text: `Hello Bob, ${CANARY}`,
      html: `<p>Hello Bob, <b>${CANARY}</b></p>`,
      attachments: [{ filename: 'report.bin', content: file }],
    });
    expect(info.response).toMatch(/^250 /);

    const { entry, message, opened, mime } = await openNewest();
    expect(message.protection).toBe('server');
    expect(message.senderAddress).toBe('carol@sender.example');
    expect(entry.folder).toBe('inbox');
    expect(opened.status).toBe('not-signed');
    expect(opened.envelope.sender).toEqual({ kind: 'external', address: 'carol@sender.example' });
    expect(mime.subject).toBe(`Quarterly ${CANARY}`);
    expect(mime.text).toContain(CANARY);
    expect(mime.html).toContain(`<b>${CANARY}</b>`);
    expect(mime.from).toEqual({ name: 'Carol Remote', address: 'carol@sender.example' });
    expect(mime.authenticationResults.join('\n')).toMatch(/dkim=pass/);
    expect(mime.authenticationResults.join('\n')).toMatch(/spf=pass/);
    expect(mime.authenticationResults.join('\n')).toMatch(/dmarc=pass/);
    expect(mime.attachments).toEqual([{ piece: 1, filename: 'report.bin', contentType: 'application/octet-stream' }]);
    expect(Buffer.from(opened.pieces[1]!).equals(file)).toBe(true);
    expect(message.attachmentSizes.map(Number)).toEqual([file.length]);

    // Nothing of it in plaintext in any table.
    const tables = await tdb.prisma.$queryRaw<{ tablename: string }[]>`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`;
    for (const { tablename } of tables) {
      const dump = (await tdb.prisma.$queryRawUnsafe<{ t: string }[]>(`SELECT t::text AS t FROM "${tablename}" t`)).map((r) => r.t).join('\n');
      expect(dump.includes(CANARY), tablename).toBe(false);
      expect(dump.includes(Buffer.from(CANARY).toString('hex')), tablename).toBe(false);
    }
  });

  it('an unsigned message is delivered too, its results saying so', async () => {
    await transport().sendMail({ from: 'dave@nowhere.example', to: 'bob@example.test', subject: 'Unsigned', text: 'plain' });
    const { mime, message } = await openNewest();
    expect(mime.subject).toBe('Unsigned');
    expect(message.protection).toBe('server');
    expect(mime.authenticationResults.join('\n')).toMatch(/dkim=none/);
  });

  it('a forged sender whose domain publishes DMARC p=reject is refused with 550 5.7.1', async () => {
    const before = await tdb.prisma.message.count();
    await expect(transport().sendMail({ from: 'ceo@bank.example', to: 'bob@example.test', subject: 'Urgent wire', text: 'pay now' })).rejects.toMatchObject({ responseCode: 550, response: expect.stringMatching(/^550 5\.7\.1 /) });
    expect(await tdb.prisma.message.count()).toBe(before);
  });

  it('without the server’s mail key (held mail needs it), a recipient without keys yet is deferred at RCPT (450); unknown ones refused (550)', async () => {
    const d = await Dialog.open(port);
    await d.reply();
    await d.cmd('EHLO client.example.org');
    await d.starttls(tls.cert);
    await d.cmd('EHLO client.example.org');
    await d.cmd('MAIL FROM:<x@sender.example>');
    const r = await d.cmd('RCPT TO:<alice@example.test>');
    expect(r.code).toBe(450);
    expect(r.text).toMatch(/^450 4\.\d\.\d /);
    expect((await d.cmd('RCPT TO:<nobody@example.test>')).text).toMatch(/^550 5\.1\.1 /);
    d.close();
  });

  it('more than 25 MiB of decoded attachments is refused with 552 5.3.4 and nothing is kept', async () => {
    const before = { messages: await tdb.prisma.message.count(), blobs: await tdb.prisma.blob.count() };
    const big = randomBytes(25 * 1024 * 1024 + 200_000);
    await expect(transport().sendMail({ from: 'x@sender.example', to: 'bob@example.test', subject: 'too big', text: 'x', attachments: [{ filename: 'a.bin', content: big }] })).rejects.toMatchObject({
      responseCode: 552,
      response: expect.stringMatching(/^552 5\.3\.4 /),
    });
    expect(await tdb.prisma.message.count()).toBe(before.messages);
    expect(await tdb.prisma.blob.count()).toBe(before.blobs);
  });

  it('bare LF or CR (SMTP smuggling) is refused; the server goes on serving', async () => {
    for (const body of ['Subject: a\n\nsmuggled\r\n', 'Subject: b\r\n\r\nline\rmore\r\n', 'Subject: c\r\n\r\nx\n.\nMAIL FROM:<evil@bank.example>\r\n']) {
      const d = await Dialog.open(port);
      await d.reply();
      await d.cmd('EHLO client.example.org');
      await d.starttls(tls.cert);
      await d.cmd('EHLO client.example.org');
      await d.cmd('MAIL FROM:<x@sender.example>');
      expect((await d.cmd('RCPT TO:<bob@example.test>')).code).toBe(250);
      expect((await d.cmd('DATA')).code).toBe(354);
      d.write(body + '.\r\n');
      const r = await d.reply();
      expect(r.text).toMatch(/^550 5\.6\.0 /);
      d.close();
    }
    const ok = await transport().sendMail({ from: 'x@sender.example', to: 'bob@example.test', subject: 'still fine', text: 'ok' });
    expect(ok.response).toMatch(/^250 /);
  });

  it('malformed MIME — deep nesting, huge headers, broken encodings — gets a reply, never a crash', async () => {
    let nested = 'Content-Type: text/plain\r\n\r\ninnermost\r\n';
    for (let i = 0; i < 300; i++) nested = `Content-Type: multipart/mixed; boundary="b${i}"\r\n\r\n--b${i}\r\n${nested}--b${i}--\r\n`;
    const broken = [
      `From: a@sender.example\r\nTo: bob@example.test\r\nSubject: deep\r\nMIME-Version: 1.0\r\n${nested}`,
      `From: a@sender.example\r\nTo: bob@example.test\r\nSubject: ${'x'.repeat(2 * 1024 * 1024)}\r\n\r\nhuge header\r\n`,
      `From: a@sender.example\r\nTo: bob@example.test\r\nSubject: bad b64\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!\r\n`,
      `From: a@sender.example\r\nTo: bob@example.test\r\nSubject: no boundary\r\nContent-Type: multipart/mixed\r\n\r\n--x\r\nhello\r\n`,
      `From: <<<@@@>>>\r\nTo: ;;;\r\nSubject: =?UTF-8?B?////?= =?bogus?Q?x?=\r\nDate: not a date\r\n\r\nbody\r\n`,
      `\r\n\r\n`,
    ];
    for (const raw of broken) {
      const d = await Dialog.open(port);
      await d.reply();
      await d.cmd('EHLO client.example.org');
      await d.starttls(tls.cert);
      await d.cmd('EHLO client.example.org');
      await d.cmd('MAIL FROM:<a@sender.example>');
      await d.cmd('RCPT TO:<bob@example.test>');
      expect((await d.cmd('DATA')).code).toBe(354);
      d.write(raw.replace(/^\./gm, '..') + '.\r\n');
      const r = await d.reply();
      expect([250, 550, 552, 554], `${raw.slice(0, 40)} → ${r.text}`).toContain(r.code);
      d.close();
    }
    // Whatever was accepted opens; the server still serves.
    const { mime } = await openNewest();
    expect(typeof mime.subject).toBe('string');
    expect((await transport().sendMail({ from: 'x@sender.example', to: 'bob@example.test', subject: 'after the storm', text: 'ok' })).response).toMatch(/^250 /);
  });
});
