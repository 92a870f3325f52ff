/**
 * Calendar REPLY/COUNTER from outside over SMTP (apps/smtp/src/itip.ts, docs/calendar.md
 * "Invitations"): a real nodemailer client talks to the real ingress on loopback. A REPLY whose
 * From is the ATTENDEE it names and is aligned with a passing DKIM (or SPF) result is recorded for
 * the organizer, its iCalendar boxed to the server's mail key; one from another From, or from a
 * domain whose SPF fails without DKIM, is recorded as refused with the reason and no iCalendar.
 * The mail is delivered either way. (The API applying a recorded REPLY to the organizer's event is
 * apps/api/test/calendar-invite.test.ts.) DNS answers come from a table (outside this machine).
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import ICAL from 'ical.js';
import nodemailer from 'nodemailer';
import type { SMTPServer } from 'smtp-server';
import { openBox } from '@sealmail/crypto';
import { seedDemo } from '@sealmail/db';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { ephemeralServerMailKey } from '@sealmail/mailstore';
import { createLogger, loadOrCreateTls, type TlsMaterial } from '@sealmail/server';
import { buildSmtpServer } from '../src/server';
import { giveKeys } from './keys';

let tdb: TestDatabase;
let tls: TlsMaterial;
let dir: string;
let server: SMTPServer;
let port = 0;
let aliceId: string;
const serverKey = ephemeralServerMailKey();

const dkim = generateKeyPairSync('rsa', { modulusLength: 2048 });
const dkimPublic = dkim.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
const signing = { domainName: 'sender.example', keySelector: 'sel', privateKey: dkim.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
const dns: Record<string, string[][]> = {
  'TXT sel._domainkey.sender.example': [[`v=DKIM1; k=rsa; p=${dkimPublic}`]],
  'TXT sender.example': [['v=spf1 ip4:127.0.0.1 -all']],
  // Another domain's SPF names another host (no DMARC record: the mail itself is accepted).
  'TXT elsewhere.example': [['v=spf1 ip4:192.0.2.1 -all']],
};
async function resolver(name: string, type: string): Promise<string[][]> {
  const hit = dns[`${type} ${name.toLowerCase()}`];
  if (hit) return hit;
  throw Object.assign(new Error(`no ${type} for ${name}`), { code: 'ENOTFOUND' });
}

const reply = (attendee: string, partstat = 'ACCEPTED', method = 'REPLY') =>
  [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//Remote//EN',
    `METHOD:${method}`,
    'BEGIN:VEVENT',
    'UID:planning-1@example.test',
    'SEQUENCE:0',
    'DTSTAMP:20261201T080000Z',
    'DTSTART:20261207T080000Z',
    'ORGANIZER:mailto:alice@example.test',
    `ATTENDEE;PARTSTAT=${partstat}:mailto:${attendee}`,
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n');

async function send(from: string, ics: string, opts: { sign?: boolean; method?: string } = {}) {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, requireTLS: true, tls: { ca: tls.cert, servername: 'localhost' }, name: 'client.sender.example', ...(opts.sign ? { dkim: signing } : {}) });
  return transport.sendMail({ from, to: 'alice@example.test', subject: 'Accepted: Planning', text: 'Accepted', icalEvent: { method: opts.method ?? 'REPLY', content: ics } });
}
const newest = () => tdb.prisma.calendarItip.findFirstOrThrow({ where: { userId: aliceId }, orderBy: { createdAt: 'desc' } });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealmail-itip-'));
  tls = await loadOrCreateTls({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
  tdb = await createTestDatabase();
  await seedDemo(tdb.prisma, { domain: 'example.test' });
  aliceId = (await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'alice' } })).id;
  await giveKeys(tdb.prisma, aliceId);
  server = buildSmtpServer({ db: tdb.prisma, logger: createLogger({ level: 'silent' }), tls, hostname: 'mx.example.test', maxMessageBytes: 10 * 1024 * 1024, secure: false, resolver, serverPublicKey: serverKey.publicKey });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.server.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise<void>((r) => server?.close(() => r()));
  await tdb?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('iTIP from outside', () => {
  it('records an aligned REPLY from the attendee it names, boxed to the server key', async () => {
    const info = await send('"Carol" <carol@sender.example>', reply('carol@sender.example', 'TENTATIVE'), { sign: true });
    expect(info.response).toMatch(/^250 /);
    const row = await newest();
    expect(row).toMatchObject({ method: 'REPLY', sender: 'carol@sender.example', verdict: 'accepted', reason: null, processedAt: null });
    const text = new TextDecoder().decode(openBox({ box: row.box!, recipientSecretKey: serverKey.secretKey, purpose: 'calendar-itip', context: new TextEncoder().encode(row.id) }));
    const vevent = new ICAL.Component(ICAL.parse(text) as unknown[]).getFirstSubcomponent('vevent')!;
    expect(vevent.getFirstProperty('attendee')!.getParameter('partstat')).toBe('TENTATIVE');
    // The mail itself reached Alice's inbox as any mail does.
    expect(await tdb.prisma.mailboxEntry.count({ where: { userId: aliceId, folder: 'inbox' } })).toBe(1);
  });

  it('refuses a REPLY whose From is not the ATTENDEE it names (forged answer), keeping no iCalendar', async () => {
    await send('dave@sender.example', reply('carol@sender.example', 'DECLINED'), { sign: true });
    const row = await newest();
    expect(row).toMatchObject({ sender: 'dave@sender.example', verdict: 'refused', box: null, outcome: 'refused' });
    expect(row.reason).toBe('the ATTENDEE carol@sender.example is not the From address dave@sender.example');
  });

  it('refuses a REPLY whose From domain has no passing SPF or DKIM aligned with it', async () => {
    await send('carol@elsewhere.example', reply('carol@elsewhere.example', 'DECLINED'));
    const row = await newest();
    expect(row).toMatchObject({ sender: 'carol@elsewhere.example', verdict: 'refused', box: null });
    expect(row.reason).toBe('the From domain elsewhere.example is not aligned with a passing SPF or DKIM result');
  });

  it('records a COUNTER like a REPLY; ignores other methods', async () => {
    await send('carol@sender.example', reply('carol@sender.example', 'TENTATIVE', 'COUNTER'), { sign: true, method: 'COUNTER' });
    expect(await newest()).toMatchObject({ method: 'COUNTER', verdict: 'accepted' });
    const before = await tdb.prisma.calendarItip.count();
    await send('carol@sender.example', reply('carol@sender.example', 'ACCEPTED', 'PUBLISH'), { sign: true, method: 'PUBLISH' });
    expect(await tdb.prisma.calendarItip.count()).toBe(before);
  });
});
