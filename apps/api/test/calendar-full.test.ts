/**
 * A calendar holds at most MAX_EVENTS_PER_CALENDAR events (series). Before, nothing bounded them:
 * imports of 2 MiB each could be repeated without end, a colleague's invitations copied into a
 * guest's calendar without end, and the export and the unauthenticated subscription feed read
 * every row at once. Now a create, an edit that splits a series and an import past the cap get
 * 409 CALENDAR_FULL (which clears once events are deleted), and a guest's full calendar takes no
 * more copies (the invitation mail still reaches them). The calendar is filled with placeholder
 * rows in one statement: only their count matters here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_EVENTS_PER_CALENDAR } from '@sealmail/contract';
import { bearer, harness, type Harness } from './helpers';

let h: Harness;
let alice: string;
let bob: string;
beforeAll(async () => {
  h = await harness();
  alice = (await h.deviceSignIn('alice@example.test')).token;
  bob = (await h.deviceSignIn('bob@example.test')).token;
}, 60_000);
afterAll(() => h?.close());

const call = (token: string, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) => h.app.inject({ method, url, headers: bearer(token), ...(payload ? { payload } : {}) });
const fill = (calendarId: string, n: number) =>
  h.db.prisma.$executeRaw`INSERT INTO calendar_events (id, calendar_id, uid_digest, ics, start_utc, updated_at) SELECT gen_random_uuid(), ${calendarId}::uuid, 'filler-' || i, 'x', now(), now() FROM generate_series(1, ${n}) AS i`;
const event = (title: string) => ({ title, start: '2026-12-01T09:00', end: '2026-12-01T10:00', startTz: 'Europe/Berlin' });
const ics = (uids: string[]) => ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//test//EN', ...uids.flatMap((u) => ['BEGIN:VEVENT', `UID:${u}`, 'DTSTAMP:20260101T000000Z', 'DTSTART:20261202T090000Z', 'DTEND:20261202T100000Z', `SUMMARY:${u}`, 'END:VEVENT']), 'END:VCALENDAR', ''].join('\r\n');

describe('a full calendar', () => {
  it('refuses a new event and an import of new events with CALENDAR_FULL, and takes them again once events are deleted', async () => {
    const cal = (await call(alice, 'POST', '/api/v1/calendars', { name: 'Full' })).json() as { id: string };
    await fill(cal.id, MAX_EVENTS_PER_CALENDAR - 1);
    const last = await call(alice, 'POST', `/api/v1/calendars/${cal.id}/events`, event('The last one'));
    expect(last.statusCode, last.body).toBe(200);
    const over = await call(alice, 'POST', `/api/v1/calendars/${cal.id}/events`, event('One too many'));
    expect(over.statusCode).toBe(409);
    expect(over.json()).toMatchObject({ error: { code: 'CALENDAR_FULL', message: expect.stringContaining('20,000') } });
    const imported = await call(alice, 'POST', `/api/v1/calendars/${cal.id}/import`, { ics: ics(['a@test', 'b@test']) });
    expect(imported.statusCode, imported.body).toBe(409);
    expect(imported.json().error.code).toBe('CALENDAR_FULL');
    expect(await h.db.prisma.calendarEvent.count({ where: { calendarId: cal.id } })).toBe(MAX_EVENTS_PER_CALENDAR);

    // Room for one again: a create works.
    const id = (last.json() as { id: string }).id;
    expect((await call(alice, 'DELETE', `/api/v1/calendars/${cal.id}/events/${id}`)).statusCode).toBe(200);
    expect((await call(alice, 'POST', `/api/v1/calendars/${cal.id}/events`, event('Fits again'))).statusCode).toBe(200);
  });

  it('a guest whose calendar is full gets the invitation mail but no copy in the calendar', async () => {
    const bobs = ((await call(bob, 'GET', '/api/v1/calendars')).json() as { calendars: { id: string; isDefault: boolean }[] }).calendars.find((c) => c.isDefault)!;
    await fill(bobs.id, MAX_EVENTS_PER_CALENDAR - (await h.db.prisma.calendarEvent.count({ where: { calendarId: bobs.id } })));
    const bobUser = await h.db.prisma.user.findFirstOrThrow({ where: { localPart: 'bob' } });
    const inboxBefore = await h.db.prisma.mailboxEntry.count({ where: { userId: bobUser.id, folder: 'inbox' } });
    const aliceCal = ((await call(alice, 'GET', '/api/v1/calendars')).json() as { calendars: { id: string; isDefault: boolean }[] }).calendars.find((c) => c.isDefault)!;
    const made = await call(alice, 'POST', `/api/v1/calendars/${aliceCal.id}/events`, { ...event('Planning'), attendees: [{ email: 'bob@example.test' }] });
    expect(made.statusCode, made.body).toBe(200);
    expect(await h.db.prisma.calendarEvent.count({ where: { calendarId: bobs.id } })).toBe(MAX_EVENTS_PER_CALENDAR);
    expect(await h.db.prisma.mailboxEntry.count({ where: { userId: bobUser.id, folder: 'inbox' } })).toBe(inboxBefore + 1);
  });
});
