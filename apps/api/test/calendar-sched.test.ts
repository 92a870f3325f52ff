/**
 * Calendar scheduling (real Fastify via inject, real Postgres): free/busy gives colleagues' busy
 * blocks only (no titles, transparent events free, private ones busy) and nothing across
 * organisations; an admin's room auto-accepts a booking, then declines a clash, an over-long
 * booking and one too far ahead, with the reason on the organizer's attendee; delegation lets an
 * assistant create an event in the manager's calendar (organizer the manager, SENT-BY the
 * assistant), refuses others and ends when revoked, every step in the audit chain.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calendarList, eventView, freeBusy, grantView, occurrenceList, resourceView, sharedCalendarList, type EventInput } from '@sealmail/contract';
import { hashPassword } from '@sealmail/server';
import { bearer, harness, type Harness } from './helpers';

let h: Harness;
let admin: string;
let alice: string;
let bob: string;
let mallory: string;
let aliceCal: string;
let bobCal: string;

const call = (method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', url: string, token: string, payload?: unknown) => h.app.inject({ method, url, headers: bearer(token), ...(payload === undefined ? {} : { payload: payload as object }) });
const defaultCalendar = async (token: string) => calendarList.response.parse((await call('GET', '/api/v1/calendars', token)).json()).calendars[0]!.id;
/** A day a week ahead, so room horizons of 30 days accept it. */
const day = new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10);
const at = (hm: string) => `${day}T${hm}`;
const timed = (title: string, from: string, to: string, extra: Partial<EventInput> = {}): EventInput => ({ title, start: at(from), end: at(to), startTz: 'UTC', endTz: 'UTC', ...extra });
const busy = async (token: string, address: string) => {
  const res = await call('GET', `/api/v1/freebusy?address=${encodeURIComponent(address)}&from=${day}T00:00:00Z&to=${day}T23:59:59Z`, token);
  return res;
};

beforeAll(async () => {
  h = await harness();
  admin = (await h.deviceSignIn('admin@example.test')).token;
  alice = (await h.deviceSignIn('alice@example.test')).token;
  bob = (await h.deviceSignIn('bob@example.test')).token;
  const account = await h.db.prisma.account.create({ data: { name: 'Other' } });
  const domain = await h.db.prisma.domain.create({ data: { accountId: account.id, name: 'other.test' } });
  const password = 'mallory-long-password-1';
  await h.db.prisma.user.create({ data: { accountId: account.id, domainId: domain.id, localPart: 'mallory', displayName: 'Mallory', passwordHash: await hashPassword(password) } });
  (h.seed.users as { address: string; password: string }[]).push({ address: 'mallory@other.test', password });
  mallory = (await h.deviceSignIn('mallory@other.test')).token;
  aliceCal = await defaultCalendar(alice);
  bobCal = await defaultCalendar(bob);
}, 120_000);
afterAll(() => h?.close());

describe('the default calendar', () => {
  it('is made once when the first requests come at the same time', async () => {
    const lists = await Promise.all(Array.from({ length: 6 }, () => call('GET', '/api/v1/calendars', mallory)));
    const ids = lists.map((r) => calendarList.response.parse(r.json()).calendars.map((c) => c.id));
    for (const l of ids) expect(l).toEqual(ids[0]);
    expect(ids[0]).toHaveLength(1);
  });
});

describe('free/busy', () => {
  it('gives a colleague busy blocks only: transparent events free, private ones busy, recurring ones expanded', async () => {
    for (const e of [
      timed('Secret board meeting', '09:00', '10:00', { visibility: 'private', location: 'Hidden room' }),
      timed('Focus time (free)', '11:00', '12:00', { transparency: 'transparent' }),
      timed('Lunch', '12:30', '13:30'),
      timed('Overlapping lunch', '13:00', '14:00'),
      timed('Daily stand-up', '08:00', '08:15', { rrule: 'FREQ=DAILY;COUNT=30', start: `${new Date(Date.parse(day) - 3 * 86_400_000).toISOString().slice(0, 10)}T08:00`, end: `${new Date(Date.parse(day) - 3 * 86_400_000).toISOString().slice(0, 10)}T08:15` }),
    ]) {
      const res = await call('POST', `/api/v1/calendars/${aliceCal}/events`, alice, e);
      expect(res.statusCode, res.body).toBe(200);
    }
    const res = await busy(bob, 'alice@example.test');
    expect(res.statusCode, res.body).toBe(200);
    const body = freeBusy.response.parse(res.json());
    expect(body.kind).toBe('user');
    expect(body.busy).toEqual([
      { start: `${day}T08:00:00.000Z`, end: `${day}T08:15:00.000Z` },
      { start: `${day}T09:00:00.000Z`, end: `${day}T10:00:00.000Z` },
      { start: `${day}T12:30:00.000Z`, end: `${day}T14:00:00.000Z` },
    ]);
    // Nothing but instants: no title, location or event id of any kind.
    for (const word of ['Secret', 'Hidden', 'Lunch', 'Focus', 'stand-up', 'eventId', 'title']) expect(res.body).not.toContain(word);
    expect(Object.keys(res.json() as object).sort()).toEqual(['address', 'busy', 'kind']);
  });

  it('answers nothing across organisations, nor for unknown addresses', async () => {
    expect((await busy(mallory, 'alice@example.test')).statusCode).toBe(404);
    expect((await busy(alice, 'mallory@other.test')).statusCode).toBe(404);
    expect((await busy(alice, 'nobody@example.test')).statusCode).toBe(404);
    const outside = await busy(mallory, 'alice@example.test');
    expect(outside.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
    expect(outside.body).not.toContain('09:00');
  });
});

describe('rooms and equipment', () => {
  let room: { id: string; address: string };

  it('an admin creates a room with rules; a user may not', async () => {
    const refused = await call('POST', '/api/v1/admin/resources', alice, { address: 'room-blue@example.test', name: 'Blue room' });
    expect(refused.statusCode).toBe(403);
    const taken = await call('POST', '/api/v1/admin/resources', admin, { address: 'bob@example.test', name: 'Bob?' });
    expect(taken.json()).toMatchObject({ error: { code: 'ADDRESS_TAKEN' } });
    const foreign = await call('POST', '/api/v1/admin/resources', admin, { address: 'room@other.test', name: 'Theirs' });
    expect(foreign.statusCode).toBe(400);
    const res = await call('POST', '/api/v1/admin/resources', admin, { address: 'room-blue@example.test', name: 'Blue room', kind: 'room', capacity: 8, location: 'Floor 2', maxBookingMinutes: 120, bookingHorizonDays: 30 });
    expect(res.statusCode, res.body).toBe(200);
    room = resourceView.parse(res.json());
    expect(room).toMatchObject({ address: 'room-blue@example.test', capacity: 8, maxBookingMinutes: 120, bookingHorizonDays: 30 });
    const list = (await call('GET', '/api/v1/resources', bob)).json() as { resources: { address: string }[] };
    expect(list.resources.map((r) => r.address)).toEqual(['room-blue@example.test']);
    expect(((await call('GET', '/api/v1/resources', mallory)).json() as { resources: unknown[] }).resources).toEqual([]);
    const audit = await h.db.prisma.auditEvent.findFirst({ where: { action: 'calendar.resource.create' } });
    expect(audit?.details).toMatchObject({ address: 'room-blue@example.test' });
  });

  it('auto-accepts a free slot, then declines a clash with the reason on the attendee', async () => {
    const withRoom = (title: string, from: string, to: string, extra: Partial<EventInput> = {}) => timed(title, from, to, { attendees: [{ email: room.address, role: 'NON-PARTICIPANT', partstat: 'NEEDS-ACTION', cutype: 'ROOM' }], ...extra });
    const first = await call('POST', `/api/v1/calendars/${aliceCal}/events`, alice, withRoom('Planning', '15:00', '16:00'));
    expect(first.statusCode, first.body).toBe(200);
    expect(eventView.parse(first.json()).attendees[0]).toMatchObject({ email: room.address, partstat: 'ACCEPTED', cutype: 'ROOM' });

    const clash = await call('POST', `/api/v1/calendars/${bobCal}/events`, bob, withRoom('Retro', '15:30', '16:30'));
    expect(clash.statusCode, clash.body).toBe(200);
    const declined = eventView.parse(clash.json()).attendees[0]!;
    expect(declined).toMatchObject({ partstat: 'DECLINED', cutype: 'ROOM' });
    expect(declined.reason).toMatch(/^busy at .* 15:30 UTC: Blue room is booked then$/);
    // The organizer sees it when the event is read again; the other booking's title is never named.
    const again = eventView.parse((await call('GET', `/api/v1/calendars/${bobCal}/events/${eventView.parse(clash.json()).id}`, bob)).json());
    expect(again.attendees[0]).toMatchObject({ partstat: 'DECLINED', reason: declined.reason });
    expect(declined.reason).not.toContain('Planning');

    // Rules: longer than 120 minutes, further ahead than 30 days.
    const long = eventView.parse((await call('POST', `/api/v1/calendars/${bobCal}/events`, bob, withRoom('Workshop', '17:00', '20:00'))).json());
    expect(long.attendees[0]).toMatchObject({ partstat: 'DECLINED', reason: 'longer than 120 minutes, the most Blue room may be booked for' });
    const farDay = new Date(Date.now() + 60 * 86_400_000).toISOString().slice(0, 10);
    const far = eventView.parse((await call('POST', `/api/v1/calendars/${bobCal}/events`, bob, withRoom('Later', '10:00', '11:00', { start: `${farDay}T10:00`, end: `${farDay}T11:00` }))).json());
    expect(far.attendees[0]).toMatchObject({ partstat: 'DECLINED', reason: 'more than 30 days ahead, the furthest Blue room may be booked' });
    const forever = eventView.parse((await call('POST', `/api/v1/calendars/${bobCal}/events`, bob, withRoom('Weekly', '07:00', '07:30', { rrule: 'FREQ=WEEKLY' }))).json());
    expect(forever.attendees[0]).toMatchObject({ partstat: 'DECLINED' });

    // Moving Bob's retro to a free slot: accepted on save.
    const moved = await call('PATCH', `/api/v1/calendars/${bobCal}/events/${again.id}`, bob, { scope: 'all', event: withRoom('Retro', '16:00', '17:00') });
    expect(moved.statusCode, moved.body).toBe(200);
    expect((moved.json() as { event: { attendees: unknown[] } }).event.attendees[0]).toMatchObject({ partstat: 'ACCEPTED' });

    // The room's free/busy: the accepted bookings only, nothing more.
    const res = await busy(bob, room.address);
    expect(res.statusCode, res.body).toBe(200);
    expect(freeBusy.response.parse(res.json())).toEqual({ address: room.address, kind: 'room', busy: [{ start: `${day}T15:00:00.000Z`, end: `${day}T17:00:00.000Z` }] });
    expect((await busy(mallory, room.address)).statusCode).toBe(404);
  });
});

describe('delegation', () => {
  it('lets an assistant with a manage grant create an event in the manager’s calendar, refuses others, and ends on revoke', async () => {
    const event = timed('Booked by the assistant', '18:00', '18:30', { attendees: [{ email: 'admin@example.test', role: 'REQ-PARTICIPANT', partstat: 'NEEDS-ACTION' }] });
    // Before any grant: Bob cannot see Alice's calendar at all.
    expect((await call('POST', `/api/v1/calendars/${aliceCal}/events`, bob, event)).statusCode).toBe(404);

    const grant = await call('PUT', `/api/v1/calendars/${aliceCal}/grants`, alice, { address: 'bob@example.test', level: 'view' });
    expect(grant.statusCode, grant.body).toBe(200);
    expect(grantView.parse(grant.json())).toMatchObject({ address: 'bob@example.test', level: 'view' });
    expect((await call('POST', `/api/v1/calendars/${aliceCal}/events`, bob, event)).json()).toMatchObject({ error: { code: 'CALENDAR_READ_ONLY' } });
    const viewed = occurrenceList.response.parse((await call('GET', `/api/v1/occurrences?from=${day}&to=${day}T23:59:00Z&tz=UTC&calendarId=${aliceCal}`, bob)).json());
    expect(viewed.occurrences.map((o) => o.title)).toContain('Lunch');

    expect((await call('PUT', `/api/v1/calendars/${aliceCal}/grants`, alice, { address: 'bob@example.test', level: 'manage' })).statusCode).toBe(200);
    const shared = sharedCalendarList.response.parse((await call('GET', '/api/v1/shared-calendars', bob)).json());
    expect(shared.calendars).toEqual([expect.objectContaining({ id: aliceCal, level: 'manage', owner: { address: 'alice@example.test', name: 'Alice Example' } })]);

    const made = await call('POST', `/api/v1/calendars/${aliceCal}/events`, bob, event);
    expect(made.statusCode, made.body).toBe(200);
    const ev = eventView.parse(made.json());
    expect(ev.organizer).toMatchObject({ email: 'alice@example.test' });
    // In Alice's own calendar, with SENT-BY the assistant in the stored iCalendar.
    const mine = occurrenceList.response.parse((await call('GET', `/api/v1/occurrences?from=${day}&to=${day}T23:59:00Z&tz=UTC`, alice)).json());
    expect(mine.occurrences.find((o) => o.eventId === ev.id)?.title).toBe('Booked by the assistant');
    const row = await h.db.prisma.calendarEvent.findUniqueOrThrow({ where: { id: ev.id } });
    expect(row.calendarId).toBe(aliceCal);
    expect((await call('GET', `/api/v1/calendars/${aliceCal}/export`, alice)).body.replace(/\r\n[ \t]/g, '')).toMatch(/ORGANIZER;CN=Alice Example;SENT-BY="?mailto:bob@example\.test"?:mailto:alice@example\.test/);

    // Someone without a grant (same organisation or not) is refused as if the calendar did not exist.
    expect((await call('POST', `/api/v1/calendars/${aliceCal}/events`, admin, event)).statusCode).toBe(404);
    expect((await call('POST', `/api/v1/calendars/${aliceCal}/events`, mallory, event)).statusCode).toBe(404);
    expect((await call('PUT', `/api/v1/calendars/${aliceCal}/grants`, alice, { address: 'mallory@other.test', level: 'manage' })).json()).toMatchObject({ error: { code: 'CALENDAR_GRANTEE_INVALID' } });
    // Only the owner shares: the delegate cannot pass it on.
    expect((await call('PUT', `/api/v1/calendars/${aliceCal}/grants`, bob, { address: 'admin@example.test', level: 'manage' })).statusCode).toBe(404);

    const bobId = grantView.parse(grant.json()).userId;
    expect((await call('DELETE', `/api/v1/calendars/${aliceCal}/grants/${bobId}`, alice)).statusCode).toBe(200);
    expect((await call('POST', `/api/v1/calendars/${aliceCal}/events`, bob, event)).statusCode).toBe(404);
    expect((await call('GET', `/api/v1/calendars/${aliceCal}/events/${ev.id}`, bob)).statusCode).toBe(404);
    expect(sharedCalendarList.response.parse((await call('GET', '/api/v1/shared-calendars', bob)).json()).calendars).toEqual([]);

    const actions = (await h.db.prisma.auditEvent.findMany({ where: { action: { startsWith: 'calendar.' } }, orderBy: { seq: 'asc' } })).map((a) => a.action);
    expect(actions).toEqual(expect.arrayContaining(['calendar.grant', 'calendar.delegate.event.create', 'calendar.revoke']));
    expect(actions.filter((a) => a === 'calendar.grant')).toHaveLength(2);
  });
});
