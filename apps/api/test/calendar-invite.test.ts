/**
 * Invitations over mail (iMIP, docs/calendar.md "Invitations"), with a real Postgres, the real
 * relay (pg-boss) and a real smtp-server on loopback standing in for the outside MX (DNS answers
 * for MX and DKIM come from tables here: the only parts outside this machine).
 *
 * - An internal invitation lands in the attendee's calendar and inbox; accepting it updates the
 *   organizer's event (and mails a REPLY).
 * - An outside attendee gets a DKIM-signed iMIP REQUEST through the relay, which ical.js parses
 *   back (METHOD, ORGANIZER, ATTENDEE, UID); an update bumps SEQUENCE; removing them sends CANCEL.
 * - What the SMTP ingress records for an outside REPLY (apps/smtp/test/itip.test.ts covers the
 *   SMTP side and its alignment verdicts) updates the attendee's status; one whose sender is not
 *   an attendee changes nothing; a COUNTER can be declined (DECLINECOUNTER to its sender).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import ICAL from 'ical.js';
import { authenticate } from 'mailauth';
import { simpleParser } from 'mailparser';
import { calendarList, eventView, type EventInput } from '@sealmail/contract';
import { sealBox } from '@sealmail/crypto';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { seedDemo } from '@sealmail/db';
import { ephemeralServerMailKey, loadOrCreateDkimKey } from '@sealmail/mailstore';
import { createLogger, defaultAuthSettings, loadOrCreateTls } from '@sealmail/server';
import { buildApp } from '../src/app';
import { repeatsText, whenText } from '../src/calendar/imip';
import { startRemoteMx, until, signedInDevice } from './helpers';

let tdb: TestDatabase;
let app: FastifyInstance;
let dir: string;
let mx: Awaited<ReturnType<typeof startRemoteMx>>;
let passwords: Record<string, string>;
const serverKey = ephemeralServerMailKey();

async function device(address: string) {
  const d = await signedInDevice(app, address, passwords[address]!);
  const call = async (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown) => {
    const r = await app.inject({ method, url, headers: { authorization: `Bearer ${d.token}` }, ...(payload === undefined ? {} : { payload: payload as object }) });
    return { status: r.statusCode, body: r.body, json: () => r.json() as unknown };
  };
  const cal = calendarList.response.parse((await call('GET', '/api/v1/calendars')).json()).calendars[0]!.id;
  return { ...d, call, cal };
}
type Device = Awaited<ReturnType<typeof device>>;

/** The calendar part of a mail the stand-in MX received, parsed with ical.js. */
async function icalOf(raw: Buffer) {
  const parsed = await simpleParser(raw);
  const part = parsed.attachments.find((a) => a.contentType === 'text/calendar');
  expect(part, 'a text/calendar part').toBeTruthy();
  const cal = new ICAL.Component(ICAL.parse(part!.content.toString('utf8')) as unknown[]);
  return { parsed, cal, vevent: cal.getFirstSubcomponent('vevent')! };
}
const attendeesOf = (vevent: ICAL.Component) => vevent.getAllProperties('attendee').map((p) => ({ email: String(p.getFirstValue()).replace(/^mailto:/i, ''), partstat: p.getParameter('partstat') }));
const mailFor = (address: string, method: string) => until(async () => {
  for (const r of mx.received.filter((x) => x.rcpt.includes(address))) {
    if (new RegExp(`method=${method}\\b`, 'i').test(r.raw.toString('latin1'))) return r;
  }
  return undefined;
});

/** What the SMTP ingress records for an iTIP mail it accepted (apps/smtp/src/itip.ts). */
async function recordAccepted(userId: string, method: string, sender: string, ics: string) {
  const id = randomUUID();
  const box = sealBox({ recipientPublicKey: serverKey.publicKey, purpose: 'calendar-itip', context: new TextEncoder().encode(id), plaintext: new TextEncoder().encode(ics) });
  await tdb.prisma.calendarItip.create({ data: { id, userId, method, sender, verdict: 'accepted', box: new Uint8Array(box) } });
  return id;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealmail-invite-'));
  const tls = await loadOrCreateTls({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
  mx = await startRemoteMx(tls);
  tdb = await createTestDatabase();
  const seed = await seedDemo(tdb.prisma, { domain: 'example.test' });
  passwords = Object.fromEntries(seed.users.map((u) => [u.address, u.password!]));
  app = await buildApp({
    logger: createLogger({ level: 'silent' }),
    db: tdb.prisma,
    version: 't',
    auth: defaultAuthSettings,
    serverKey,
    outbound: {
      connectionString: tdb.connectionString,
      hostname: 'mx.example.test',
      dkim: (domain) => loadOrCreateDkimKey(dir, domain),
      // The stand-in MX is on loopback (a public address in production).
      allowPrivateTargets: true,
      resolveMx: async (domain) => (domain === 'example.org' ? [{ exchange: 'localhost', priority: 10 }] : Promise.reject(Object.assign(new Error('nx'), { code: 'ENOTFOUND' }))),
      port: mx.port,
      tls: { ca: tls.cert },
      sweepSeconds: 0.2,
    },
  });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await mx?.close();
  await tdb?.drop();
  await rm(dir, { recursive: true, force: true });
});

const meeting: EventInput = {
  title: 'Planning',
  start: '2026-12-07T09:00',
  end: '2026-12-07T10:00',
  startTz: 'Europe/Berlin',
  endTz: 'Europe/Berlin',
  rrule: 'FREQ=WEEKLY;BYDAY=MO;COUNT=6',
  location: 'Room 4',
  attendees: [
    { email: 'bob@example.test', role: 'REQ-PARTICIPANT', partstat: 'NEEDS-ACTION' },
    { email: 'carol@example.org', role: 'REQ-PARTICIPANT', partstat: 'NEEDS-ACTION' },
  ],
};

describe('invitations over mail', () => {
  let alice: Device;
  let bob: Device;
  let eventId: string;
  let uid: string;

  it('an internal invitation lands in the attendee’s calendar and inbox; accepting it updates the organizer', { timeout: 120_000 }, async () => {
    alice = await device('alice@example.test');
    bob = await device('bob@example.test');
    const res = await alice.call('POST', `/api/v1/calendars/${alice.cal}/events`, meeting);
    expect(res.status, res.body).toBe(200);
    const ev = eventView.parse(res.json());
    eventId = ev.id;
    uid = ev.uid;

    // Bob's copy: in his default calendar, his answer still open.
    const occ = (await bob.call('GET', '/api/v1/occurrences?from=2026-12-01&to=2026-12-31&tz=Europe/Berlin')).json() as { occurrences: { eventId: string; title: string; localStart: string }[] };
    expect(occ.occurrences.map((o) => o.localStart)).toEqual(['2026-12-07T09:00', '2026-12-14T09:00', '2026-12-21T09:00', '2026-12-28T09:00']);
    const copyId = occ.occurrences[0]!.eventId;
    const copy = eventView.parse((await bob.call('GET', `/api/v1/calendars/${bob.cal}/events/${copyId}`)).json());
    expect(copy).toMatchObject({ uid, title: 'Planning', organizer: { email: 'alice@example.test' } });
    expect(copy.attendees.find((a) => a.email === 'bob@example.test')?.partstat).toBe('NEEDS-ACTION');

    // His invitation mail: server-encrypted, with the text and the iCalendar REQUEST.
    const entry = await until(async () => (await bob.api.listMail({ folder: 'inbox' })).entries.find((e) => e.from === 'alice@example.test'));
    const opened = await bob.mail.open(entry.id);
    expect(opened.mime.subject).toBe('Invitation: Planning');
    expect(opened.mime.text).toContain('Room 4');
    // The recurrence in words, not the rule's syntax.
    expect(opened.mime.text).toContain('Repeats: every week on Monday for 6 times');
    const part = opened.attachments.find((a) => a.contentType === 'text/calendar');
    const ics = new TextDecoder().decode(await bob.mail.attachmentBytes(opened, part!.piece));
    const sent = new ICAL.Component(ICAL.parse(ics) as unknown[]);
    expect(sent.getFirstPropertyValue('method')).toBe('REQUEST');
    expect(sent.getFirstSubcomponent('vevent')!.getFirstPropertyValue('uid')).toBe(uid);

    // The card's view of it: Bob's copy and his answer; then he accepts.
    const card = (await bob.call('POST', '/api/v1/invitations/inspect', { ics })).json() as { method: string; invitation: { event: { id: string }; partstat: string } };
    expect(card).toMatchObject({ method: 'REQUEST', invitation: { event: { id: copyId }, partstat: 'NEEDS-ACTION' } });
    const answered = await bob.call('POST', `/api/v1/calendars/${bob.cal}/events/${copyId}/respond`, { partstat: 'ACCEPTED' });
    expect(answered.status, answered.body).toBe(200);

    const org = eventView.parse((await alice.call('GET', `/api/v1/calendars/${alice.cal}/events/${eventId}`)).json());
    expect(org.attendees.find((a) => a.email === 'bob@example.test')?.partstat).toBe('ACCEPTED');
    expect(org.attendees.find((a) => a.email === 'carol@example.org')?.partstat).toBe('NEEDS-ACTION');
    // And Alice has the REPLY in her inbox.
    const reply = await until(async () => (await alice.api.listMail({ folder: 'inbox' })).entries.find((e) => e.from === 'bob@example.test'));
    expect((await alice.mail.open(reply.id)).mime.subject).toBe('Accepted: Planning');
  });

  it('an outside attendee gets a DKIM-signed iMIP REQUEST through the relay', { timeout: 60_000 }, async () => {
    const got = await mailFor('carol@example.org', 'REQUEST');
    const { parsed, cal, vevent } = await icalOf(got.raw);
    expect(parsed.from?.value[0]?.address).toBe('alice@example.test');
    expect(parsed.text).toContain('Planning');
    // RFC 6047: text/calendar with the method, beside the text in a multipart/alternative.
    expect(got.raw.toString('latin1')).toMatch(/Content-Type: multipart\/alternative/i);
    expect(got.raw.toString('latin1')).toMatch(/Content-Type: text\/calendar; charset=utf-8; method=REQUEST/i);
    expect(cal.getFirstPropertyValue('method')).toBe('REQUEST');
    expect(vevent.getFirstPropertyValue('uid')).toBe(uid);
    expect(String(vevent.getFirstPropertyValue('organizer'))).toBe('mailto:alice@example.test');
    expect(attendeesOf(vevent).map((a) => a.email).sort()).toEqual(['bob@example.test', 'carol@example.org']);
    expect(cal.getFirstSubcomponent('vtimezone')?.getFirstPropertyValue('tzid')).toBe('Europe/Berlin');
    const dkim = await loadOrCreateDkimKey(dir, 'example.test');
    const auth = await authenticate(got.raw, {
      ip: '127.0.0.1',
      helo: 'mx.example.test',
      sender: 'alice@example.test',
      mta: 'mx.example.org',
      resolver: async (name: string, type: string) => (type === 'TXT' && name === `${dkim.selector}._domainkey.example.test` ? [[dkim.dnsRecord]] : Promise.reject(Object.assign(new Error('nx'), { code: 'ENOTFOUND' }))),
    });
    expect(auth.dkim.results[0]?.status.result).toBe('pass');
  });

  it('a REPLY the ingress accepted updates the attendee’s status; one from a non-attendee changes nothing', async () => {
    const request = (await icalOf((await mailFor('carol@example.org', 'REQUEST')).raw)).vevent;
    const reply = (from: string, partstat: string) => {
      const cal = new ICAL.Component('vcalendar');
      cal.addPropertyWithValue('prodid', '-//Remote//EN');
      cal.addPropertyWithValue('version', '2.0');
      cal.addPropertyWithValue('method', 'REPLY');
      const ev = new ICAL.Component('vevent');
      for (const n of ['uid', 'sequence', 'dtstamp', 'dtstart', 'organizer']) ev.addProperty(new ICAL.Property(request.getFirstProperty(n)!.toJSON() as unknown[]));
      const a = new ICAL.Property('attendee', ev);
      a.setValue(`mailto:${from}`);
      a.setParameter('partstat', partstat);
      ev.addProperty(a);
      cal.addSubcomponent(ev);
      return cal.toString();
    };
    const aliceId = (await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'alice' } })).id;
    // Dave is not invited: recorded as accepted by a (hypothetically) aligned mail, still no change.
    const forged = await recordAccepted(aliceId, 'REPLY', 'dave@example.org', reply('dave@example.org', 'DECLINED'));
    const real = await recordAccepted(aliceId, 'REPLY', 'carol@example.org', reply('carol@example.org', 'TENTATIVE'));
    const org = eventView.parse((await alice.call('GET', `/api/v1/calendars/${alice.cal}/events/${eventId}`)).json());
    expect(org.attendees.map((a) => [a.email, a.partstat])).toEqual([
      ['bob@example.test', 'ACCEPTED'],
      ['carol@example.org', 'TENTATIVE'],
    ]);
    const rows = await tdb.prisma.calendarItip.findMany({ where: { id: { in: [forged, real] } } });
    expect(Object.fromEntries(rows.map((r) => [r.id, [r.outcome, r.box]]))).toEqual({ [forged]: ['not-attendee', null], [real]: ['applied', null] });
  });

  it('a COUNTER from outside can be declined: DECLINECOUNTER goes to its sender', { timeout: 60_000 }, async () => {
    const aliceId = (await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'alice' } })).id;
    const counter = [
      'BEGIN:VCALENDAR',
      'VERSION:2.0',
      'PRODID:-//Remote//EN',
      'METHOD:COUNTER',
      'BEGIN:VEVENT',
      `UID:${uid}`,
      'DTSTAMP:20261201T080000Z',
      'DTSTART:20261207T100000Z',
      'DTEND:20261207T110000Z',
      'SUMMARY:Planning',
      'ORGANIZER:mailto:alice@example.test',
      'ATTENDEE;PARTSTAT=TENTATIVE:mailto:carol@example.org',
      'END:VEVENT',
      'END:VCALENDAR',
      '',
    ].join('\r\n');
    const id = await recordAccepted(aliceId, 'COUNTER', 'carol@example.org', counter);
    const list = (await alice.call('GET', '/api/v1/calendar-counters')).json() as { counters: { id: string; from: string; proposedStart: string }[] };
    expect(list.counters).toEqual([expect.objectContaining({ id, from: 'carol@example.org', proposedStart: '2026-12-07T10:00:00.000Z' })]);
    expect((await alice.call('POST', `/api/v1/calendar-counters/${id}/decline`)).status).toBe(200);
    const got = await mailFor('carol@example.org', 'DECLINECOUNTER');
    const { cal, vevent } = await icalOf(got.raw);
    expect(cal.getFirstPropertyValue('method')).toBe('DECLINECOUNTER');
    expect(vevent.getFirstPropertyValue('uid')).toBe(uid);
    expect(attendeesOf(vevent).map((a) => a.email)).toEqual(['carol@example.org']);
    expect(((await alice.call('GET', '/api/v1/calendar-counters')).json() as { counters: unknown[] }).counters).toEqual([]);
  });

  it('a COUNTER from someone who is not a guest is declined without telling them anything of the event', { timeout: 60_000 }, async () => {
    const aliceId = (await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'alice' } })).id;
    const counter = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//Remote//EN', 'METHOD:COUNTER', 'BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20261201T080000Z', 'DTSTART:20261207T100000Z', 'DTEND:20261207T110000Z', 'SUMMARY:?', 'ORGANIZER:mailto:alice@example.test', 'ATTENDEE;PARTSTAT=TENTATIVE:mailto:mallory@example.org', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
    const id = await recordAccepted(aliceId, 'COUNTER', 'mallory@example.org', counter);
    const list = (await alice.call('GET', '/api/v1/calendar-counters')).json() as { counters: { id: string }[] };
    expect(list.counters.map((c) => c.id)).toEqual([id]);
    expect((await alice.call('POST', `/api/v1/calendar-counters/${id}/decline`)).status).toBe(200);
    expect(((await alice.call('GET', '/api/v1/calendar-counters')).json() as { counters: unknown[] }).counters).toEqual([]);
    // A DECLINECOUNTER would carry the event's title, time and location: none goes out.
    await new Promise((r) => setTimeout(r, 1500));
    expect(mx.received.some((x) => x.rcpt.includes('mallory@example.org'))).toBe(false);
  });

  it('an update bumps SEQUENCE and keeps Bob’s answer; the attendee removed gets a CANCEL', { timeout: 60_000 }, async () => {
    const res = await alice.call('PATCH', `/api/v1/calendars/${alice.cal}/events/${eventId}`, { scope: 'all', event: { ...meeting, title: 'Planning (moved)', attendees: [meeting.attendees![0]] } });
    expect(res.status, res.body).toBe(200);
    const occ = (await bob.call('GET', '/api/v1/occurrences?from=2026-12-01&to=2026-12-31&tz=UTC')).json() as { occurrences: { eventId: string; title: string }[] };
    expect(new Set(occ.occurrences.map((o) => o.title))).toEqual(new Set(['Planning (moved)']));
    const copy = eventView.parse((await bob.call('GET', `/api/v1/calendars/${bob.cal}/events/${occ.occurrences[0]!.eventId}`)).json());
    expect(copy.sequence).toBe(1);
    expect(copy.attendees.find((a) => a.email === 'bob@example.test')?.partstat).toBe('ACCEPTED');
    const got = await mailFor('carol@example.org', 'CANCEL');
    const { vevent } = await icalOf(got.raw);
    expect(vevent.getFirstPropertyValue('uid')).toBe(uid);
    expect(vevent.getFirstPropertyValue('status')).toBe('CANCELLED');
  });
});

describe('the invitation text', () => {
  it('says a recurrence in words only where the words say all of it', () => {
    expect(repeatsText('FREQ=DAILY;INTERVAL=2')).toBe('every 2 days');
    expect(repeatsText('FREQ=MONTHLY;BYMONTHDAY=15;UNTIL=20270101T000000Z')).toBe('every month on the 15th until January 1, 2027');
    // "The last Monday in May": rrule's words would drop "last"; the rule stays.
    expect(repeatsText('FREQ=YEARLY;BYMONTH=5;BYDAY=MO;BYSETPOS=-1')).toBe('FREQ=YEARLY;BYMONTH=5;BYDAY=MO;BYSETPOS=-1');
    expect(repeatsText('not a rule')).toBe('not a rule');
  });

  it('says when in words, in the event\'s own zone', () => {
    const at = (s: string) => ICAL.Time.fromString(s, null);
    expect(whenText(at('2026-11-25T10:00:00Z'), at('2026-11-25T11:30:00Z'))).toBe('Wednesday, November 25, 2026, 10:00–11:30 (UTC)');
    expect(whenText(at('2026-11-25T10:00:00'), at('2026-11-25T11:30:00'))).toBe('Wednesday, November 25, 2026, 10:00–11:30');
    expect(whenText(at('2026-11-25T22:00:00Z'), at('2026-11-26T01:00:00Z'))).toBe('Wednesday, November 25, 2026, 22:00 – Thursday, November 26, 2026, 01:00 (UTC)');
    // All day: DTEND is the day after the last day.
    expect(whenText(at('2026-11-25'), at('2026-11-26'))).toBe('Wednesday, November 25, 2026 (all day)');
    expect(whenText(at('2026-11-25'), at('2026-11-28'))).toBe('Wednesday, November 25, 2026 – Friday, November 27, 2026 (all day)');
    expect(whenText(at('2026-11-25T10:00:00Z'), null)).toBe('Wednesday, November 25, 2026, 10:00 (UTC)');
  });
});
