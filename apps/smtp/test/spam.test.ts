/**
 * Spam scoring (src/spam.ts, docs/mail.md §7.1): real nodemailer → real ingress over STARTTLS on
 * loopback → real Postgres. The verdict files the message in Inbox or Spam; the score and its
 * reasons are found only inside the sealed body (opened here with the recipient's key), never in
 * any table. DNS answers come from a table.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { simpleParser } from 'mailparser';
import type { SMTPServer } from 'smtp-server';
import { openMail, type PerUserKey } from '@sealmail/crypto';
import { seedDemo } from '@sealmail/db';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { createLogger, loadOrCreateTls, type TlsMaterial } from '@sealmail/server';
import { buildSmtpServer } from '../src/server';
import { isShouting, mismatchedLinks, scoreMessage, type MessageSignals } from '../src/spam';
import { Dialog } from './dialog';
import { giveKeys } from './keys';

let tdb: TestDatabase;
let tls: TlsMaterial;
let dir: string;
const servers: SMTPServer[] = [];
let port = 0;
let lenientPort = 0;
let bobPuk: PerUserKey;
let bobId: string;

const dkim = generateKeyPairSync('rsa', { modulusLength: 2048 });
const dkimPublic = dkim.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
const dkimSign = { domainName: 'sender.example', keySelector: 'sel', privateKey: dkim.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
const dns: Record<string, string[][]> = {
  'TXT sel._domainkey.sender.example': [[`v=DKIM1; k=rsa; p=${dkimPublic}`]],
  'TXT sender.example': [['v=spf1 ip4:127.0.0.1 -all']],
  'TXT _dmarc.sender.example': [['v=DMARC1; p=reject']],
  // 127.0.0.1 is not allowed to send for these two.
  'TXT shady.example': [['v=spf1 ip4:192.0.2.1 -all']],
  'TXT careful.example': [['v=spf1 ip4:192.0.2.1 -all']],
  'TXT _dmarc.careful.example': [['v=DMARC1; p=quarantine']],
};
async function resolver(name: string, type: string): Promise<string[][]> {
  const hit = dns[`${type} ${name.toLowerCase()}`];
  if (hit) return hit;
  throw Object.assign(new Error(`no ${type} for ${name}`), { code: 'ENOTFOUND' });
}

const transport = (p = port, extra: Record<string, unknown> = {}) =>
  nodemailer.createTransport({ host: '127.0.0.1', port: p, secure: false, requireTLS: true, tls: { ca: tls.cert, servername: 'localhost' }, name: 'client.sender.example', ...extra });

/** Bob's newest entry: its folder and the X-Sealmail-Spam header inside the sealed body. */
async function newest() {
  const entry = await tdb.prisma.mailboxEntry.findFirstOrThrow({ where: { userId: bobId }, orderBy: { receivedAt: 'desc' }, include: { message: true } });
  const m = entry.message;
  const opened = await openMail({ envelope: m.envelope, record: entry.box, manifest: m.manifest, pieces: [m.body], userId: bobId, puk: bobPuk });
  const mime = await simpleParser(Buffer.from(opened.pieces[0]!));
  const header = String(mime.headers.get('x-sealmail-spam') ?? '');
  const score = Number(/score=(-?[\d.]+)/.exec(header)?.[1]);
  return { folder: entry.folder, header, score, subject: mime.subject };
}

const spammy = {
  from: '"Prize Desk" <winner@shady.example>',
  to: 'bob@example.test',
  subject: 'YOU HAVE WON A PRIZE TODAY',
  html: '<p>Claim it at <a href="https://login.shady.example/x">https://www.bank.example/account</a></p>',
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealmail-spam-'));
  tls = await loadOrCreateTls({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
  tdb = await createTestDatabase();
  await seedDemo(tdb.prisma, { domain: 'example.test' });
  bobId = (await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'bob' } })).id;
  bobPuk = await giveKeys(tdb.prisma, bobId);
  const common = { db: tdb.prisma, logger: createLogger({ level: 'silent' }), tls, hostname: 'mx.example.test', maxMessageBytes: 35 * 1024 * 1024, secure: false, resolver };
  for (const [threshold, set] of [
    [5, (p: number) => (port = p)],
    [50, (p: number) => (lenientPort = p)],
  ] as const) {
    const s = buildSmtpServer({ ...common, spamThreshold: threshold });
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    set((s.server.address() as { port: number }).port);
  }
});

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  await tdb?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('spam scoring at the ingress', () => {
  it('a DKIM-signed, SPF- and DMARC-passing message goes to the Inbox with its score inside the sealed body', async () => {
    await transport(port, { dkim: dkimSign }).sendMail({ from: 'carol@sender.example', to: 'bob@example.test', subject: 'Minutes of Monday', text: 'see you' });
    const n = await newest();
    expect(n.subject).toBe('Minutes of Monday');
    expect(n.folder).toBe('inbox');
    expect(n.header).toMatch(/^score=-1; threshold=5; verdict=ham; reasons=dkim-aligned\(-1\)$/);
  });

  it('SPF fail, no DKIM, a shouting subject and a link showing another domain: Spam, each reason named', async () => {
    await transport().sendMail(spammy);
    const n = await newest();
    expect(n.folder).toBe('spam');
    expect(n.score).toBe(8.5);
    expect(n.header).toContain('verdict=spam');
    for (const r of ['spf-fail(+3)', 'dkim-none(+1)', 'caps-subject(+1.5)', 'link-mismatch(+3)']) expect(n.header).toContain(r);
  });

  it('the threshold is configurable: the same message stays in the Inbox at threshold 50', async () => {
    await transport(lenientPort).sendMail({ ...spammy, subject: 'YOU HAVE WON A PRIZE AGAIN' });
    const n = await newest();
    expect(n.subject).toBe('YOU HAVE WON A PRIZE AGAIN');
    expect(n.folder).toBe('inbox');
    expect(n.header).toMatch(/^score=8\.5; threshold=50; verdict=ham; /);
  });

  it('DMARC failing under p=quarantine goes to Spam whatever the threshold', async () => {
    await transport(lenientPort).sendMail({ from: 'billing@careful.example', to: 'bob@example.test', subject: 'Invoice', text: 'attached' });
    const n = await newest();
    expect(n.subject).toBe('Invoice');
    expect(n.folder).toBe('spam');
    expect(n.header).toContain('dmarc-quarantine(+5)');
    expect(n.header).toContain('spf-fail(+3)');
  });

  it('no Date, no Message-ID and a From domain unlike the envelope sender add points', async () => {
    const d = await Dialog.open(port);
    await d.reply();
    await d.cmd('EHLO client.example.org');
    await d.starttls(tls.cert);
    await d.cmd('EHLO client.example.org');
    await d.cmd('MAIL FROM:<bounce@elsewhere.example>');
    expect((await d.cmd('RCPT TO:<bob@example.test>')).code).toBe(250);
    expect((await d.cmd('DATA')).code).toBe(354);
    d.write('From: news@letters.example\r\nTo: bob@example.test\r\nSubject: Bare headers\r\n\r\nhello\r\n.\r\n');
    expect((await d.reply()).code).toBe(250);
    d.close();
    const n = await newest();
    expect(n.subject).toBe('Bare headers');
    expect(n.header).toBe('score=4.5; threshold=5; verdict=ham; reasons=dkim-none(+1) no-date(+1) no-message-id(+1) from-mismatch(+1.5)');
    expect(n.folder).toBe('inbox');
  });

  it('score and reasons are in no table in plaintext', async () => {
    const tables = await tdb.prisma.$queryRaw<{ tablename: string }[]>`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`;
    for (const { tablename } of tables) {
      const dump = (await tdb.prisma.$queryRawUnsafe<{ t: string }[]>(`SELECT t::text AS t FROM "${tablename}" t`)).map((r) => r.t).join('\n');
      for (const needle of ['X-Sealmail-Spam', 'verdict=', 'link-mismatch', 'caps-subject', 'PRIZE']) expect(dump.includes(needle), `${needle} in ${tablename}`).toBe(false);
    }
  });
});

describe('spam signals', () => {
  const clean: MessageSignals = { hasDate: true, hasMessageId: true, fromAddress: 'x@a.example', fromDomain: 'a.example', subject: 'hello', html: '', listIds: [] };
  const none = { spf: false, dkim: { headerFrom: [], envelopeFrom: false, results: [] }, dmarc: false, arc: false } as unknown as Parameters<typeof scoreMessage>[0];

  it('shouting subjects need eight letters, nine in ten capitals', () => {
    expect(isShouting('FREE MONEY NOW')).toBe(true);
    expect(isShouting('ÜBERWEISUNG SOFORT!!!')).toBe(true);
    expect(isShouting('FREE!!!')).toBe(false);
    expect(isShouting('Free money now')).toBe(false);
    expect(isShouting('Meeting re: ACME Q3 plan')).toBe(false);
  });

  it('a link counts when its text names another site than its target', () => {
    expect(mismatchedLinks('<a href="https://evil.example/a">bank.example</a>')).toBe(1);
    expect(mismatchedLinks("<a class=x href='http://evil.example'>https://<b>bank.example</b>/login</a>")).toBe(1);
    expect(mismatchedLinks('<a href="https://www.bank.example/a">https://bank.example</a>')).toBe(0);
    expect(mismatchedLinks('<a href="https://bank.example/a">login.bank.example</a>')).toBe(0);
    expect(mismatchedLinks('<a href="https://evil.example/a">Click here</a>')).toBe(0);
    expect(mismatchedLinks('<a href="mailto:x@evil.example">bank.example</a>')).toBe(0);
    expect(mismatchedLinks('<a href="https://evil.example">bank&#46;example</a>')).toBe(1);
  });

  it('points add up to the documented values and the threshold is strict', () => {
    expect(scoreMessage(none, clean, 'x@a.example', 5)).toEqual({ score: 1, reasons: ['dkim-none'], spam: false });
    const failing = { ...none, spf: { status: { result: 'fail' } }, arc: { status: { result: 'fail' } } } as unknown as typeof none;
    expect(scoreMessage(failing, { ...clean, hasDate: false }, 'x@a.example', 6)).toEqual({ score: 6, reasons: ['spf-fail', 'dkim-none', 'arc-fail', 'no-date'], spam: false });
    expect(scoreMessage(failing, { ...clean, hasDate: false }, 'x@a.example', 5.9).spam).toBe(true);
    // A bounce (empty envelope sender) is not a From mismatch.
    expect(scoreMessage(none, clean, '', 5).reasons).not.toContain('from-mismatch');
  });
});

describe("the recipient's own spam signal (Report spam / Not spam, docs/mail.md \"Organising mail\")", () => {
  it('a sender bob reported as spam goes to Spam although it scores clean; one he allowed goes to the Inbox although it scores as spam', async () => {
    await tdb.prisma.senderVerdict.create({ data: { userId: bobId, address: 'carol@sender.example', verdict: 'spam' } });
    await transport(port, { dkim: dkimSign }).sendMail({ from: 'carol@sender.example', to: 'bob@example.test', subject: 'Clean but reported', text: 'hello' });
    let n = await newest();
    expect(n.subject).toBe('Clean but reported');
    expect(n.header).toContain('verdict=ham');
    expect(n.folder).toBe('spam');

    await tdb.prisma.senderVerdict.create({ data: { userId: bobId, address: 'winner@shady.example', verdict: 'allow' } });
    await transport().sendMail({ ...spammy, subject: 'YOU HAVE WON, BUT ALLOWED' });
    n = await newest();
    expect(n.subject).toBe('YOU HAVE WON, BUT ALLOWED');
    expect(n.header).toContain('verdict=spam');
    expect(n.folder).toBe('inbox');
    await tdb.prisma.senderVerdict.deleteMany({ where: { userId: bobId } });
  });
});
