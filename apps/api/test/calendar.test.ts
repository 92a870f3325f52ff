/**
 * The calendar API (real Fastify via inject, real Postgres): calendars and events are the owner's
 * alone (another user, of this or another organisation, gets 404); events are sealed at rest with
 * only span, recurrence and transparency in the clear; the three edit scopes; occurrences across
 * zones; Google and Outlook exports import; the export parses with Python's icalendar +
 * recurring_ical_events (Debian packages) to the same occurrences; hostile input is refused
 * promptly; a feed token works until revoked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { calendarList, eventUpdate, eventView, occurrenceList, type EventInput } from '@sealmail/contract';
import { hashPassword } from '@sealmail/server';
import { bearer, harness, type Harness } from './helpers';

let h: Harness;
let alice: string;
let bob: string;
let mallory: string;
let cal: string;

const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8');
const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, token: string, payload?: unknown) => h.app.inject({ method, url, headers: bearer(token), ...(payload === undefined ? {} : { payload: payload as object }) });
const occurrences = async (token: string, q: string) => {
  const res = await call('GET', `/api/v1/occurrences?${q}`, token);
  expect(res.statusCode, res.body).toBe(200);
  return occurrenceList.response.parse(res.json());
};
const newCalendar = async (token: string, name: string) => (await call('POST', '/api/v1/calendars', token, { name })).json() as { id: string };
const weekly: EventInput = { title: 'Weekly sync', start: '2026-03-23T09:00', end: '2026-03-23T10:00', startTz: 'Europe/Berlin', endTz: 'Europe/Berlin', rrule: 'FREQ=WEEKLY;BYDAY=MO;COUNT=4', location: 'Room 1', description: 'Agenda:\nnumbers', reminders: [{ minutesBefore: 10 }], attendees: [{ email: 'bob@example.test', role: 'REQ-PARTICIPANT', partstat: 'NEEDS-ACTION' }] };

beforeAll(async () => {
  h = await harness();
  alice = (await h.deviceSignIn('alice@example.test')).token;
  bob = (await h.deviceSignIn('bob@example.test')).token;
  // A user of another organisation.
  const account = await h.db.prisma.account.create({ data: { name: 'Other' } });
  const domain = await h.db.prisma.domain.create({ data: { accountId: account.id, name: 'other.test' } });
  const password = 'mallory-long-password-1';
  await h.db.prisma.user.create({ data: { accountId: account.id, domainId: domain.id, localPart: 'mallory', displayName: 'Mallory', passwordHash: await hashPassword(password) } });
  (h.seed.users as { address: string; password: string }[]).push({ address: 'mallory@other.test', password });
  mallory = (await h.deviceSignIn('mallory@other.test')).token;
  const list = calendarList.response.parse((await call('GET', '/api/v1/calendars', alice)).json());
  expect(list.calendars).toHaveLength(1);
  expect(list.calendars[0]).toMatchObject({ isDefault: true, hasFeed: false });
  cal = list.calendars[0]!.id;
});
afterAll(() => h?.close());

describe('calendars and events', () => {
  it('creates a weekly event, stores it sealed, and expands it for viewers in two zones', async () => {
    const res = await call('POST', `/api/v1/calendars/${cal}/events`, alice, weekly);
    expect(res.statusCode, res.body).toBe(200);
    const ev = eventView.parse(res.json());
    expect(ev).toMatchObject({ title: 'Weekly sync', startTz: 'Europe/Berlin', rrule: 'FREQ=WEEKLY;COUNT=4;BYDAY=MO', organizer: { email: 'alice@example.test' }, reminders: [{ minutesBefore: 10 }] });
    const row = await h.db.prisma.calendarEvent.findUniqueOrThrow({ where: { id: ev.id } });
    expect(row.ics.startsWith('v1.')).toBe(true);
    expect(row.ics).not.toContain('Weekly sync');
    expect(row.recurrence).toBe('RRULE:FREQ=WEEKLY;COUNT=4;BYDAY=MO');
    expect(row.startUtc.toISOString()).toBe('2026-03-23T08:00:00.000Z');
    expect(row.endUtc!.toISOString()).toBe('2026-04-13T08:00:00.000Z');
    const name = await h.db.prisma.calendar.findUniqueOrThrow({ where: { id: cal } });
    expect(name.name.startsWith('v1.')).toBe(true);

    const berlin = await occurrences(alice, 'from=2026-03-01&to=2026-05-01&tz=Europe/Berlin');
    expect(berlin.occurrences.map((o) => o.localStart)).toEqual(['2026-03-23T09:00', '2026-03-30T09:00', '2026-04-06T09:00', '2026-04-13T09:00']);
    const ny = await occurrences(alice, 'from=2026-03-01&to=2026-05-01&tz=America/New_York');
    expect(ny.occurrences.map((o) => o.localStart)).toEqual(['2026-03-23T04:00', '2026-03-30T03:00', '2026-04-06T03:00', '2026-04-13T03:00']);
    expect(ny.truncated).toBe(false);
  });

  it('keeps calendars to their owner: another user or another organisation gets 404', async () => {
    const ev = eventView.parse((await call('POST', `/api/v1/calendars/${cal}/events`, alice, { title: 'Private', start: '2026-06-01', end: '2026-06-02', allDay: true })).json());
    for (const token of [bob, mallory]) {
      expect((await call('GET', `/api/v1/calendars/${cal}/events/${ev.id}`, token)).statusCode).toBe(404);
      expect((await call('PATCH', `/api/v1/calendars/${cal}/events/${ev.id}`, token, { event: { title: 'x', start: '2026-06-01', end: '2026-06-02', allDay: true } })).statusCode).toBe(404);
      expect((await call('DELETE', `/api/v1/calendars/${cal}/events/${ev.id}`, token)).statusCode).toBe(404);
      expect((await call('POST', `/api/v1/calendars/${cal}/events`, token, weekly)).statusCode).toBe(404);
      expect((await call('GET', `/api/v1/calendars/${cal}/export`, token)).statusCode).toBe(404);
      expect((await call('POST', `/api/v1/calendars/${cal}/import`, token, { ics: fixture('google-export.ics') })).statusCode).toBe(404);
      expect((await call('PATCH', `/api/v1/calendars/${cal}`, token, { name: 'Mine' })).statusCode).toBe(404);
      expect((await call('GET', `/api/v1/occurrences?from=2026-06-01&to=2026-06-02&calendarId=${cal}`, token)).statusCode).toBe(404);
      expect((await occurrences(token, 'from=2026-06-01&to=2026-06-02')).occurrences).toEqual([]);
    }
    expect((await call('GET', `/api/v1/calendars/${cal}/events/${ev.id}`, alice)).statusCode).toBe(200);
  });

  it('edits one occurrence, this-and-following, and all; deletes one occurrence', async () => {
    const c = await newCalendar(alice, 'Scopes');
    const ev = eventView.parse((await call('POST', `/api/v1/calendars/${c.id}/events`, alice, { ...weekly, attendees: [], title: 'Series' })).json());
    const q = `from=2026-03-01&to=2026-05-01&tz=Europe/Berlin&calendarId=${c.id}`;
    // This occurrence: the second one moves to Tuesday 14:00.
    let res = await call('PATCH', `/api/v1/calendars/${c.id}/events/${ev.id}`, alice, { scope: 'this', recurrenceId: '2026-03-30T09:00:00', event: { ...weekly, attendees: [], rrule: undefined, title: 'Moved', start: '2026-03-31T14:00', end: '2026-03-31T15:00' } });
    expect(res.statusCode, res.body).toBe(200);
    let o = (await occurrences(alice, q)).occurrences;
    expect(o.map((x) => `${x.localStart} ${x.title}`)).toEqual(['2026-03-23T09:00 Series', '2026-03-31T14:00 Moved', '2026-04-06T09:00 Series', '2026-04-13T09:00 Series']);
    expect(o[1]).toMatchObject({ isException: true, recurrenceId: '2026-03-30T09:00:00' });
    // This and following: from 6 April at 11:00; COUNT carries over as what is left (2).
    res = await call('PATCH', `/api/v1/calendars/${c.id}/events/${ev.id}`, alice, { scope: 'following', recurrenceId: '2026-04-06T09:00:00', event: { ...weekly, attendees: [], title: 'Later', start: '2026-04-06T11:00', end: '2026-04-06T12:00' } });
    expect(res.statusCode, res.body).toBe(200);
    const split = eventUpdate.response.parse(res.json());
    expect(split.created).not.toBeNull();
    expect(split.created!.rrule).toBe('FREQ=WEEKLY;COUNT=2;BYDAY=MO');
    o = (await occurrences(alice, q)).occurrences;
    expect(o.map((x) => `${x.localStart} ${x.title}`)).toEqual(['2026-03-23T09:00 Series', '2026-03-31T14:00 Moved', '2026-04-06T11:00 Later', '2026-04-13T11:00 Later']);
    // Delete one occurrence of the new series.
    res = await call('DELETE', `/api/v1/calendars/${c.id}/events/${split.created!.id}?scope=this&recurrenceId=2026-04-13T11:00:00`, alice);
    expect(res.statusCode, res.body).toBe(200);
    o = (await occurrences(alice, q)).occurrences;
    expect(o.map((x) => x.localStart)).toEqual(['2026-03-23T09:00', '2026-03-31T14:00', '2026-04-06T11:00']);
    // All: renaming the first series keeps its moved occurrence.
    res = await call('PATCH', `/api/v1/calendars/${c.id}/events/${ev.id}`, alice, { scope: 'all', event: { ...weekly, attendees: [], title: 'Renamed', rrule: split.event.rrule } });
    expect(res.statusCode, res.body).toBe(200);
    o = (await occurrences(alice, q)).occurrences;
    expect(o.map((x) => `${x.localStart} ${x.title}`)).toEqual(['2026-03-23T09:00 Renamed', '2026-03-31T14:00 Moved', '2026-04-06T11:00 Later']);
    // A recurrence id that is not an occurrence is named.
    res = await call('DELETE', `/api/v1/calendars/${c.id}/events/${ev.id}?scope=this&recurrenceId=2026-03-24T09:00:00`, alice);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: 'CALENDAR_ICS_INVALID' } });
    expect(res.json().error.message).toContain('not an occurrence');
    // Deleting a calendar takes its events; the default one cannot be deleted.
    expect((await call('DELETE', `/api/v1/calendars/${c.id}`, alice)).statusCode).toBe(200);
    expect(await h.db.prisma.calendarEvent.count({ where: { calendarId: c.id } })).toBe(0);
    expect((await call('DELETE', `/api/v1/calendars/${cal}`, alice)).json()).toMatchObject({ error: { code: 'CALENDAR_DEFAULT_UNDELETABLE' } });
  });
});

describe('import and export', () => {
  it('imports a Google Calendar export (overrides, EXDATE, all-day, UTC) and re-import updates', async () => {
    const c = await newCalendar(alice, 'Google');
    let res = await call('POST', `/api/v1/calendars/${c.id}/import`, alice, { ics: fixture('google-export.ics') });
    expect(res.json()).toEqual({ imported: 3, updated: 0 });
    const o = (await occurrences(alice, `from=2026-03-16&to=2026-04-08&tz=Europe/Berlin&calendarId=${c.id}`)).occurrences;
    expect(o.map((x) => `${x.localStart} ${x.title}`)).toEqual([
      '2026-04-06 Easter Monday (day off)',
      '2026-03-16T09:30 Team stand-up',
      '2026-03-19T11:00 Team stand-up (moved)',
      '2026-03-20T16:00 Call with New York',
      '2026-03-23T09:30 Team stand-up',
      '2026-03-30T09:30 Team stand-up',
      '2026-04-01T09:30 Team stand-up',
      '2026-04-06T09:30 Team stand-up',
    ]);
    expect(o.find((x) => x.allDay)).toMatchObject({ transparent: true, end: '2026-04-07' });
    res = await call('POST', `/api/v1/calendars/${c.id}/import`, alice, { ics: fixture('google-export.ics') });
    expect(res.json()).toEqual({ imported: 0, updated: 3 });
  });

  it('imports an Outlook export with Windows zone names', async () => {
    const c = await newCalendar(alice, 'Outlook');
    const res = await call('POST', `/api/v1/calendars/${c.id}/import`, alice, { ics: fixture('outlook-export.ics') });
    expect(res.statusCode, res.body).toBe(200);
    const o = (await occurrences(alice, `from=2026-03-01&to=2026-06-01&tz=UTC&calendarId=${c.id}`)).occurrences;
    expect(o.map((x) => `${x.start} ${x.tz} ${x.title}`)).toEqual([
      '2026-03-10T13:00:00.000Z America/New_York Sync with the Boston office',
      '2026-03-27T13:00:00.000Z Europe/Berlin Monthly review',
      '2026-04-24T12:00:00.000Z Europe/Berlin Monthly review',
      '2026-05-29T12:00:00.000Z Europe/Berlin Monthly review',
    ]);
  });

  it('exports .ics that Python’s icalendar + recurring_ical_events expand to the same occurrences', { timeout: 60_000 }, async () => {
    const c = await newCalendar(alice, 'Export');
    await call('POST', `/api/v1/calendars/${c.id}/import`, alice, { ics: fixture('google-export.ics') });
    await call('POST', `/api/v1/calendars/${c.id}/import`, alice, { ics: fixture('outlook-export.ics') });
    await call('POST', `/api/v1/calendars/${c.id}/events`, alice, { ...weekly, title: 'Berlin weekly', rrule: 'FREQ=WEEKLY;BYDAY=MO,TH;UNTIL=20260601T000000Z' });
    await call('POST', `/api/v1/calendars/${c.id}/events`, alice, { title: 'Month end', start: '2026-01-31T18:00', end: '2026-01-31T19:00', startTz: 'America/New_York', rrule: 'FREQ=MONTHLY;BYMONTHDAY=31;COUNT=6' });
    const exported = await call('GET', `/api/v1/calendars/${c.id}/export`, alice);
    expect(exported.statusCode).toBe(200);
    expect(exported.headers['content-type']).toContain('text/calendar');
    expect(exported.body).toContain('BEGIN:VTIMEZONE');
    const python = JSON.parse(execFileSync('/usr/bin/python3', [join(import.meta.dirname, 'fixtures', 'occurrences.py'), '2026-01-01', '2026-07-01'], { input: exported.body, encoding: 'utf8' })) as string[];
    const ours = (await occurrences(alice, `from=2026-01-01&to=2026-07-01&tz=UTC&calendarId=${c.id}`)).occurrences;
    const events = await h.db.prisma.calendarEvent.findMany({ where: { calendarId: c.id } });
    const uidOf = new Map<string, string>();
    for (const e of events) uidOf.set(e.id, (await call('GET', `/api/v1/calendars/${c.id}/events/${e.id}`, alice)).json().uid as string);
    const mine = ours.map((o) => `${uidOf.get(o.eventId)}|${o.start}`).sort();
    expect(mine.length).toBeGreaterThan(20);
    expect(python).toEqual(mine);
  });

  it('refuses a 10 MB file, malformed text, unknown zones and a 1-second rule, promptly and by name', { timeout: 60_000 }, async () => {
    const c = await newCalendar(alice, 'Bad input');
    const url = `/api/v1/calendars/${c.id}/import`;
    const big = await call('POST', url, alice, { ics: 'X'.repeat(10 * 1024 * 1024) });
    expect(big.statusCode).toBe(413);
    expect(big.json()).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
    const bad = await call('POST', url, alice, { ics: 'BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:2026-13-45\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('CALENDAR_ICS_INVALID');
    const zone = await call('POST', url, alice, { ics: 'BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART;TZID=Atlantis/Capital:20260101T090000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n' });
    expect(zone.json()).toMatchObject({ error: { code: 'CALENDAR_UNKNOWN_TIME_ZONE', field: 'body.ics' } });
    expect(zone.json().error.message).toContain('Atlantis/Capital');
    const secondly = await call('POST', url, alice, { ics: 'BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20260101T090000Z\r\nRRULE:FREQ=SECONDLY;INTERVAL=1\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n' });
    expect(secondly.json()).toMatchObject({ error: { code: 'CALENDAR_RECURRENCE_INVALID' } });
    // An hourly rule with no end from 1970 imports; a query far later stops at the cap, flagged.
    const hourly = await call('POST', url, alice, { ics: 'BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:h\r\nDTSTART:19700101T000000Z\r\nDTEND:19700101T000100Z\r\nRRULE:FREQ=HOURLY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n' });
    expect(hourly.json()).toEqual({ imported: 1, updated: 0 });
    const capped = await occurrences(alice, `from=2026-01-01&to=2026-01-02&tz=UTC&calendarId=${c.id}`);
    expect(capped.truncated).toBe(true);
    expect((await call('GET', '/api/v1/occurrences?from=2026-01-01&to=2026-01-02&tz=Nowhere/Else', alice)).json()).toMatchObject({ error: { code: 'CALENDAR_UNKNOWN_TIME_ZONE', field: 'query.tz' } });
    expect((await call('POST', `/api/v1/calendars/${c.id}/events`, alice, { title: 'x', start: '2026-02-30T09:00', end: '2026-02-30T10:00', startTz: 'UTC' })).json()).toMatchObject({ error: { code: 'CALENDAR_ICS_INVALID' } });
  });

  it('answers odd and broken iCalendar with 200 or a named 400, never a 500', { timeout: 60_000 }, async () => {
    const c = await newCalendar(alice, 'Odd input');
    const wrap = (lines: string) => `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:odd\r\n${lines.split('\n').join('\r\n')}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n`;
    const cases = [
      'DTSTART:20260101T090000Z\nRRULE:FREQ=WEEKLY;BYDAY=XX',
      'DTSTART:20260101T090000Z\nRRULE:garbage',
      'DTSTART:20260101T090000Z\nRRULE:FREQ=DAILY;INTERVAL=0',
      'DTSTART:20260101T090000Z\nDURATION:soon',
      'DTSTART:20260101T090000Z\nEXDATE:yesterday',
      'DTSTART;VALUE=DATE:20260101\nDTEND:20260101T100000Z\nRRULE:FREQ=DAILY;COUNT=3',
      'RECURRENCE-ID:20260101T090000Z\nDTSTART:20260102T090000Z',
      'DTSTART:20260101T090000Z\nDTEND:20251231T090000Z',
      'DTSTART:99991231T235959Z\nRRULE:FREQ=YEARLY',
      'DTSTART;TZID=:20260101T090000',
    ];
    for (const lines of cases) {
      const res = await call('POST', `/api/v1/calendars/${c.id}/import`, alice, { ics: wrap(lines) });
      expect([200, 400], `${lines}: ${res.body}`).toContain(res.statusCode);
      if (res.statusCode === 400) expect(res.json().error.code).toMatch(/^CALENDAR_/);
    }
    const listed = await call('GET', `/api/v1/occurrences?from=2025-12-01&to=2026-02-01&tz=UTC&calendarId=${c.id}`, alice);
    expect(listed.statusCode, listed.body).toBe(200);
    expect((await call('GET', `/api/v1/calendars/${c.id}/export`, alice)).statusCode).toBe(200);
  });

  it('serves a feed by secret token until it is revoked; the token is stored hashed', async () => {
    const made = (await call('POST', `/api/v1/calendars/${cal}/feed`, alice)).json() as { url: string; token: string };
    expect(made.url).toMatch(/\/api\/v1\/calendar-feeds\/[A-Za-z0-9_-]{43}\.ics$/);
    const row = await h.db.prisma.calendar.findUniqueOrThrow({ where: { id: cal } });
    expect(row.feedTokenHash).not.toContain(made.token);
    const path = new URL(made.url).pathname;
    const feed = await h.app.inject({ method: 'GET', url: path });
    expect(feed.statusCode).toBe(200);
    expect(feed.body).toContain('SUMMARY:Weekly sync');
    expect((await h.app.inject({ method: 'GET', url: path.replace(/.{5}\.ics$/, 'AAAAA.ics') })).statusCode).toBe(404);
    expect((await call('DELETE', `/api/v1/calendars/${cal}/feed`, alice)).statusCode).toBe(200);
    expect((await h.app.inject({ method: 'GET', url: path })).statusCode).toBe(404);
  });
});
