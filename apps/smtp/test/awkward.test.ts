/**
 * Every message gets a final answer (issue 18): awkward but legal mail — no From, a group From, a
 * null sender, 8-bit headers, very long lines, deep MIME, broken encodings, 34 MiB of text — is
 * answered 250 and the recipient can open it, or refused with a 5xx and an enhanced status code.
 * Never a 4xx: a sender retries those for days and the mail never arrives. Each message is sent
 * over real SMTP on loopback to the real ingress, then opened with the recipient's key.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SMTPServer } from 'smtp-server';
import { parseMime } from '@sealmail/client/identity';
import { openMail, type PerUserKey } from '@sealmail/crypto';
import { seedDemo } from '@sealmail/db';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { createLogger, loadOrCreateTls, type TlsMaterial } from '@sealmail/server';
import { buildSmtpServer } from '../src/server';
import { Dialog } from './dialog';
import { giveKeys } from './keys';

let tdb: TestDatabase;
let tls: TlsMaterial;
let dir: string;
let server: SMTPServer;
let port = 0;
let bobPuk: PerUserKey;
let bobId: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealmail-awkward-'));
  tls = await loadOrCreateTls({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
  tdb = await createTestDatabase();
  await seedDemo(tdb.prisma, { domain: 'example.test' });
  bobId = (await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'bob' } })).id;
  bobPuk = await giveKeys(tdb.prisma, bobId);
  // No DNS answers at all (DNS is outside this machine): SPF/DKIM/DMARC find nothing, as for most senders.
  const resolver = async (name: string, type: string) => Promise.reject(Object.assign(new Error(`no ${type} for ${name}`), { code: 'ENOTFOUND' }));
  server = buildSmtpServer({ db: tdb.prisma, logger: createLogger({ level: 'silent' }), tls, hostname: 'mx.example.test', maxMessageBytes: 35 * 1024 * 1024, secure: false, resolver });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.server.address() as { port: number }).port;
}, 60_000);

afterAll(async () => {
  await new Promise<void>((r) => server?.close(() => r()));
  await tdb?.drop();
  await rm(dir, { recursive: true, force: true });
});

/** Sends raw bytes (CRLF or not) in one SMTP transaction; answers the final reply to DATA. */
async function send(raw: Buffer, mailFrom = 'carol@sender.example'): Promise<{ code: number; text: string }> {
  const d = await Dialog.open(port);
  try {
    await d.reply();
    await d.cmd('EHLO client.sender.example');
    const mail = await d.cmd(`MAIL FROM:<${mailFrom}> BODY=8BITMIME SMTPUTF8`);
    if (mail.code !== 250) return mail;
    const rcpt = await d.cmd('RCPT TO:<bob@example.test>');
    if (rcpt.code !== 250) return rcpt;
    const data = await d.cmd('DATA');
    if (data.code !== 354) return data;
    // Dot-stuffing (RFC 5321 §4.5.2), whatever the line ends are.
    d.write(Buffer.from(raw.toString('latin1').replace(/(^|\n)\./g, '$1..'), 'latin1'));
    return await d.cmd(raw.subarray(-2).toString() === '\r\n' ? '.' : '\r\n.');
  } finally {
    d.close();
  }
}

/** Bob's newest entry, opened with his key: the MIME the client would show. */
async function newest() {
  const entry = await tdb.prisma.mailboxEntry.findFirstOrThrow({ where: { userId: bobId }, orderBy: { receivedAt: 'desc' }, include: { message: { include: { blobs: { orderBy: { pieceIndex: 'asc' }, include: { data: { orderBy: { index: 'asc' } } } } } } } });
  const m = entry.message;
  const pieces = [m.body, ...m.blobs.map((b) => Buffer.concat(b.data.map((p) => p.data)))];
  const opened = await openMail({ envelope: m.envelope, record: entry.box, manifest: m.manifest, pieces, userId: bobId, puk: bobPuk });
  return { message: m, mime: await parseMime(opened.pieces[0]!), pieces: opened.pieces };
}

const crlf = (lines: string[]) => Buffer.from(lines.join('\r\n') + '\r\n', 'utf8');
const head = (tag: string, extra: string[] = []) => ['From: Carol <carol@sender.example>', 'To: bob@example.test', `Subject: ${tag}`, 'Date: Sun, 29 Nov 2026 10:00:00 +0000', `Message-ID: <${tag}@sender.example>`, ...extra];
const nested = (depth: number, tag: string): string[] => {
  if (depth === 0) return ['Content-Type: text/plain; charset=utf-8', '', `deep ${tag}`];
  const b = `b${depth}-${tag}`;
  return [`Content-Type: multipart/mixed; boundary="${b}"`, '', `--${b}`, ...nested(depth - 1, tag), `--${b}--`];
};

interface Case {
  name: string;
  raw: (tag: string) => Buffer;
  mailFrom?: string;
  /** Refused for good instead: the 5xx reply with its enhanced status code. */
  refused?: RegExp;
  /** What the recipient must see (default: the tag in the subject or the text). */
  check?: (r: Awaited<ReturnType<typeof newest>>, tag: string) => void;
}

const seen = (r: Awaited<ReturnType<typeof newest>>, tag: string) => expect(`${r.mime.subject}\n${r.mime.text}\n${r.mime.html ?? ''}`).toContain(tag);

const CASES: Case[] = [
  { name: 'From: <> (an empty address)', raw: (t) => crlf(['From: <>', 'To: bob@example.test', `Subject: ${t}`, '', 'x']), check: (r, t) => (seen(r, t), expect(r.message.senderAddress).toBe('carol@sender.example')) },
  { name: 'a group-only From', raw: (t) => crlf(['From: Undisclosed senders:;', 'To: bob@example.test', `Subject: ${t}`, '', 'x']), check: (r, t) => (seen(r, t), expect(r.message.senderAddress).toBe('carol@sender.example')) },
  { name: 'a null sender and no From (a bounce)', mailFrom: '', raw: (t) => crlf(['To: bob@example.test', `Subject: ${t}`, '', 'Your message could not be delivered.']), check: (r, t) => (seen(r, t), expect(r.message.senderAddress).toMatch(/@/)) },
  { name: 'a null sender and From: <>', mailFrom: '', raw: (t) => crlf(['From: <>', 'To: bob@example.test', `Subject: ${t}`, '', 'x']) },
  { name: 'a From with a name and no address', raw: (t) => crlf(['From: Carol Remote', 'To: bob@example.test', `Subject: ${t}`, '', 'x']) },
  { name: 'a From group with members', raw: (t) => crlf(['From: Team: ann@sender.example, ben@sender.example;', 'To: bob@example.test', `Subject: ${t}`, '', 'x']), check: (r, t) => (seen(r, t), expect(r.message.senderAddress).toBe('ann@sender.example')) },
  { name: 'several From addresses with a Sender', raw: (t) => crlf(['From: ann@sender.example, ben@sender.example', 'Sender: ann@sender.example', 'To: bob@example.test', `Subject: ${t}`, '', 'x']) },
  { name: 'no From header at all', raw: (t) => crlf(['To: bob@example.test', `Subject: ${t}`, '', 'x']) },
  { name: 'no Date, Message-ID or To', raw: (t) => crlf(['From: carol@sender.example', `Subject: ${t}`, '', 'x']) },
  { name: 'no Subject', raw: (t) => crlf(['From: carol@sender.example', 'To: bob@example.test', '', `body ${t}`]) },
  { name: 'an empty body', raw: (t) => crlf([...head(t), '']) },
  { name: 'raw UTF-8 in the Subject and From name (8-bit headers)', raw: (t) => crlf(['From: Zoë Ørsted <zoe@sender.example>', 'To: bob@example.test', `Subject: Grüße ${t} 日本`, '', 'x']), check: (r, t) => expect(r.mime.subject).toBe(`Grüße ${t} 日本`) },
  { name: 'Latin-1 bytes in a header (not UTF-8)', raw: (t) => Buffer.concat([Buffer.from(`From: carol@sender.example\r\nTo: bob@example.test\r\nSubject: ${t} `, 'latin1'), Buffer.from([0x47, 0x72, 0xfc, 0xdf, 0x65]), Buffer.from('\r\n\r\nx\r\n')]) },
  { name: 'an encoded-word From name', raw: (t) => crlf(['From: =?UTF-8?B?SsO8cmdlbg==?= <juergen@sender.example>', 'To: bob@example.test', `Subject: ${t}`, '', 'x']), check: (r, t) => (seen(r, t), expect(r.mime.from?.name).toBe('Jürgen')) },
  { name: 'a 200 KB line without a break', raw: (t) => crlf([...head(t), '', `${t} ${'a'.repeat(200_000)}`]) },
  { name: 'a header folded over 2,000 lines', raw: (t) => crlf([...head(t, [`X-Long: ${Array.from({ length: 2000 }, (_, i) => `v${i}`).join('\r\n ')}`]), '', 'x']) },
  { name: '500 addresses in To', raw: (t) => crlf(['From: carol@sender.example', `To: ${Array.from({ length: 500 }, (_, i) => `p${i}@sender.example`).join(', ')}`, `Subject: ${t}`, '', 'x']) },
  { name: 'MIME nested 30 levels deep', raw: (t) => crlf([...head(t, ['MIME-Version: 1.0']), ...nested(30, t)]) },
  { name: 'a multipart without its closing boundary', raw: (t) => crlf([...head(t, ['MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="zz"']), '', '--zz', 'Content-Type: text/plain', '', `open ${t}`]) },
  { name: 'a multipart with no parts', raw: (t) => crlf([...head(t, ['MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="zz"']), '', '--zz--']) },
  { name: 'broken base64', raw: (t) => crlf([...head(t, ['MIME-Version: 1.0', 'Content-Type: text/plain', 'Content-Transfer-Encoding: base64']), '', 'SGVsbG8@@@!!!*** not base64 at all ===']) },
  { name: 'an unknown charset', raw: (t) => crlf([...head(t, ['MIME-Version: 1.0', 'Content-Type: text/plain; charset=x-no-such-charset']), '', `text ${t}`]) },
  { name: 'quoted-printable with soft breaks and =XX', raw: (t) => crlf([...head(t, ['MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: quoted-printable']), '', `Gr=C3=BC=C3=9Fe ${t} and a so=`, 'ft break']), check: (r, t) => expect(r.mime.text).toContain(`Grüße ${t} and a soft break`) },
  { name: 'a forwarded message/rfc822', raw: (t) => crlf([...head(t, ['MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="fw"']), '', '--fw', 'Content-Type: text/plain', '', 'see below', '--fw', 'Content-Type: message/rfc822', '', 'From: x@y.example', 'Subject: inner', '', 'inner body', '--fw--']) },
  { name: 'an attachment without a file name', raw: (t) => crlf([...head(t, ['MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="at"']), '', '--at', 'Content-Type: text/plain', '', 'x', '--at', 'Content-Type: application/octet-stream', 'Content-Transfer-Encoding: base64', '', Buffer.from('nameless').toString('base64'), '--at--']), check: (r, t) => (seen(r, t), expect(r.mime.attachments).toHaveLength(1)) },
  { name: 'an RFC 2231 file name', raw: (t) => crlf([...head(t, ['MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="at"']), '', '--at', 'Content-Type: text/plain', '', 'x', '--at', "Content-Type: application/pdf; name*=utf-8''Pr%C3%BCfung.pdf", "Content-Disposition: attachment; filename*=utf-8''Pr%C3%BCfung.pdf", 'Content-Transfer-Encoding: base64', '', Buffer.from('%PDF-1.4').toString('base64'), '--at--']), check: (r) => expect(r.mime.attachments.map((a) => a.filename)).toEqual(['Prüfung.pdf']) },
  { name: 'HTML only', raw: (t) => crlf([...head(t, ['MIME-Version: 1.0', 'Content-Type: text/html; charset=utf-8']), '', `<p>only <b>${t}</b></p>`]) },
  { name: 'a text/calendar invitation', raw: (t) => crlf([...head(t, ['MIME-Version: 1.0', 'Content-Type: text/calendar; method=REQUEST; charset=utf-8']), '', 'BEGIN:VCALENDAR', 'VERSION:2.0', 'METHOD:REQUEST', 'BEGIN:VEVENT', `UID:${t}`, 'DTSTART:20261201T100000Z', 'END:VEVENT', 'END:VCALENDAR']) },
  // Refused on purpose (SMTP smuggling, CVE-2023-51764 and kin): a final 5xx that says why.
  { name: 'bare LF line ends', raw: (t) => Buffer.from(`From: carol@sender.example\nTo: bob@example.test\nSubject: ${t}\n\nlf only\n`), refused: /^550 5\.6\.0 Bare LF/ },
  { name: 'lines that start with dots', raw: (t) => crlf([...head(t), '', '.', '..', '.hidden', `end ${t}`]) },
  { name: 'a duplicated Subject', raw: (t) => crlf(['From: carol@sender.example', 'To: bob@example.test', `Subject: ${t}`, 'Subject: second', '', 'x']) },
  { name: 'a missing Content-Type in a multipart child', raw: (t) => crlf([...head(t, ['MIME-Version: 1.0', 'Content-Type: multipart/alternative; boundary="=_x?y+z"']), '', '--=_x?y+z', '', `child ${t}`, '--=_x?y+z--']) },
];

describe('awkward but legal messages', () => {
  it(`each of ${CASES.length} is answered 250 and opens for the recipient, or refused for good with a 5xx that says why (never a 4xx)`, async () => {
    expect(CASES.length).toBeGreaterThanOrEqual(30);
    const failures: string[] = [];
    for (const c of CASES) {
      const tag = `awk${randomBytes(4).toString('hex')}`;
      const reply = await send(c.raw(tag), c.mailFrom);
      if (c.refused) {
        if (!c.refused.test(reply.text)) failures.push(`${c.name}: expected a refusal ${c.refused}, got ${reply.text.trim()}`);
        continue;
      }
      if (reply.code !== 250) {
        failures.push(`${c.name}: ${reply.text.trim()}`);
        continue;
      }
      const r = await newest();
      try {
        (c.check ?? seen)(r, tag);
      } catch (err) {
        failures.push(`${c.name}: stored, but ${(err as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  }, 240_000);

  it('34 MiB of text below the advertised SIZE is stored and answered 250, not a 451 after a timeout', async () => {
    const tag = `big${randomBytes(4).toString('hex')}`;
    const line = 'All work and no play makes a very long message. '.repeat(20);
    const lines = Array.from({ length: Math.floor((34 * 1024 * 1024) / (line.length + 2)) }, () => line);
    const reply = await send(crlf([...head(tag), '', ...lines]));
    expect(reply.code, reply.text).toBe(250);
    const r = await newest();
    expect(r.mime.subject).toBe(tag);
    expect(r.mime.text.length).toBeGreaterThan(33 * 1024 * 1024);
  }, 300_000);
});
