/**
 * A guest, a delegate and a room booker against the calendar's invitations and rooms (from an
 * adversarial review; real Fastify via inject, real Postgres; invitations between users of this
 * server go through deliverLocal, no remote host is involved and nothing is faked). Each test
 * failed on the code before its fix.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calendarList, eventView, occurrenceList, resourceView, type EventInput } from '@sealmail/contract';
import { bearer, harness, type Harness } from './helpers';

let h: Harness;
let admin: string;
let alice: string;
let bob: string;
let aliceCal: string;
let bobCal: string;
let adminCal: string;

const DAY = 86_400_000;
const call = (method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', url: string, token: string, payload?: unknown) => h.app.inject({ method, url, headers: bearer(token), ...(payload === undefined ? {} : { payload: payload as object }) });
const defaultCalendar = async (token: string) => calendarList.response.parse((await call('GET', '/api/v1/calendars', token)).json()).calendars[0]!.id;
const dayIn = (days: number) => new Date(Date.now() + days * DAY).toISOString().slice(0, 10);
const timed = (title: string, day: string, from: string, to: string, extra: Partial<EventInput> = {}): EventInput => ({ title, start: `${day}T${from}`, end: `${day}T${to}`, startTz: 'UTC', endTz: 'UTC', ...extra });
const guest = (email: string) => ({ email, role: 'REQ-PARTICIPANT' as const, partstat: 'NEEDS-ACTION' as const });
const occurrences = async (token: string, day: string, calendarId?: string) =>
  occurrenceList.response.parse((await call('GET', `/api/v1/occurrences?from=${day}&to=${day}T23:59:00Z&tz=UTC${calendarId ? `&calendarId=${calendarId}` : ''}`, token)).json()).occurrences;

beforeAll(async () => {
  h = await harness();
  admin = (await h.deviceSignIn('admin@example.test')).token;
  alice = (await h.deviceSignIn('alice@example.test')).token;
  bob = (await h.deviceSignIn('bob@example.test')).token;
  aliceCal = await defaultCalendar(alice);
  bobCal = await defaultCalendar(bob);
  adminCal = await defaultCalendar(admin);
}, 120_000);
afterAll(() => h?.close());

describe('invitations between users of this server', () => {
  /** Alice organises a meeting with Bob as her guest; Bob's copy lands in his calendar. */
  async function aliceInvitesBob(title: string, day: string) {
    const res = await call('POST', `/api/v1/calendars/${aliceCal}/events`, alice, timed(title, day, '09:00', '10:00', { location: 'Board room', attendees: [guest('bob@example.test')] }));
    expect(res.statusCode, res.body).toBe(200);
    const ev = eventView.parse(res.json());
    const copy = (await occurrences(bob, day)).find((o) => o.title === title);
    expect(copy, 'Bob has his copy of the invitation').toBeTruthy();
    return { ev, copyId: copy!.eventId };
  }

  it('a guest who deletes his own copy cannot delete the organizer’s event (no CANCEL from a non-organizer)', { timeout: 60_000 }, async () => {
    const day = dayIn(5);
    const { ev, copyId } = await aliceInvitesBob('Board meeting', day);
    // Bob edits his copy (he may: it is his calendar) and names Alice as his guest; the save makes
    // him the ORGANIZER of his copy, which keeps the UID of Alice's event.
    const edit = await call('PATCH', `/api/v1/calendars/${bobCal}/events/${copyId}`, bob, { scope: 'all', event: timed('Board meeting', day, '09:00', '10:00', { attendees: [guest('alice@example.test')] }) });
    expect(edit.statusCode, edit.body).toBe(200);
    // His copy keeps Alice as its organizer: editing an invitation changes his calendar only.
    expect(eventView.parse((edit.json() as { event: unknown }).event).organizer?.email).toBe('alice@example.test');
    // Bob deletes his copy: a CANCEL goes to "his guest" Alice, and the server removes the row of
    // that UID from Alice's calendar — which is Alice's own event, that she organises.
    const del = await call('DELETE', `/api/v1/calendars/${bobCal}/events/${copyId}?scope=all`, bob);
    expect(del.statusCode, del.body).toBe(200);

    const still = await call('GET', `/api/v1/calendars/${aliceCal}/events/${ev.id}`, alice);
    expect(still.statusCode, 'Alice’s own event must survive a guest’s CANCEL').toBe(200);
    expect(eventView.parse(still.json())).toMatchObject({ title: 'Board meeting', organizer: { email: 'alice@example.test' } });
  });

  it('a guest cannot overwrite the organizer’s event by sending a REQUEST with its UID', { timeout: 60_000 }, async () => {
    const day = dayIn(6);
    const { ev, copyId } = await aliceInvitesBob('Budget review', day);
    const hijack = (title: string) => timed(title, day, '09:00', '10:00', { location: 'Cancelled, go home', attendees: [guest('alice@example.test')] });
    // First save: Bob becomes ORGANIZER of his copy (no mail). Second save: he "invites" Alice.
    expect((await call('PATCH', `/api/v1/calendars/${bobCal}/events/${copyId}`, bob, { scope: 'all', event: hijack('Budget review') })).statusCode).toBe(200);
    const second = await call('PATCH', `/api/v1/calendars/${bobCal}/events/${copyId}`, bob, { scope: 'all', event: hijack('Budget review (cancelled)') });
    expect(second.statusCode, second.body).toBe(200);

    const mine = eventView.parse((await call('GET', `/api/v1/calendars/${aliceCal}/events/${ev.id}`, alice)).json());
    expect(mine.organizer?.email, 'Alice still organises her event').toBe('alice@example.test');
    expect(mine.title).toBe('Budget review');
    expect(mine.location).toBe('Board room');
    expect(mine.attendees.map((a) => a.email)).toEqual(['bob@example.test']);
  });

  it('a REQUEST or CANCEL from someone who does not organise the stored event changes nothing (an import reusing its UID)', { timeout: 60_000 }, async () => {
    const day = dayIn(7);
    const { ev } = await aliceInvitesBob('Strategy day', day);
    // Bob imports a series of that UID into a calendar of his own, organised by himself.
    const d = day.replaceAll('-', '');
    const ics = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//review//EN', 'BEGIN:VEVENT', `UID:${ev.uid}`, 'DTSTAMP:20260101T000000Z', 'SEQUENCE:9', `DTSTART:${d}T090000Z`, `DTEND:${d}T100000Z`, 'SUMMARY:Strategy day (moved)', 'ORGANIZER:mailto:bob@example.test', 'ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:alice@example.test', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
    const side = await call('POST', '/api/v1/calendars', bob, { name: 'Side', color: '#aa3300' });
    expect(side.statusCode, side.body).toBe(200);
    const sideId = (side.json() as { id: string }).id;
    expect((await call('POST', `/api/v1/calendars/${sideId}/import`, bob, { ics })).statusCode).toBe(200);
    const mine = (await occurrences(bob, day, sideId)).find((o) => o.title === 'Strategy day (moved)')!;
    // Saved (a REQUEST to "his guest" Alice), then deleted (a CANCEL).
    expect((await call('PATCH', `/api/v1/calendars/${sideId}/events/${mine.eventId}`, bob, { scope: 'all', event: timed('Strategy day (cancelled)', day, '09:00', '10:00', { attendees: [guest('alice@example.test')] }) })).statusCode).toBe(200);
    const kept = eventView.parse((await call('GET', `/api/v1/calendars/${aliceCal}/events/${ev.id}`, alice)).json());
    expect(kept).toMatchObject({ title: 'Strategy day', organizer: { email: 'alice@example.test' } });
    expect((await call('DELETE', `/api/v1/calendars/${sideId}/events/${mine.eventId}?scope=all`, bob)).statusCode).toBe(200);
    expect((await call('GET', `/api/v1/calendars/${aliceCal}/events/${ev.id}`, alice)).statusCode).toBe(200);
  });
});

describe('delegation', () => {
  it('an event a manage delegate saves with guests invites them on the owner’s behalf', { timeout: 60_000 }, async () => {
    const day = dayIn(8);
    expect((await call('PUT', `/api/v1/calendars/${aliceCal}/grants`, alice, { address: 'bob@example.test', level: 'manage' })).statusCode).toBe(200);
    const made = await call('POST', `/api/v1/calendars/${aliceCal}/events`, bob, timed('Quarterly sync', day, '11:00', '12:00', { attendees: [guest('admin@example.test')] }));
    expect(made.statusCode, made.body).toBe(200);
    expect(eventView.parse(made.json()).organizer?.email).toBe('alice@example.test');
    // The guest gets the invitation: the series in their calendar (docs/calendar.md "Delegation":
    // "so invitations go out on the owner's behalf").
    const theirs = (await occurrences(admin, day, adminCal)).map((o) => o.title);
    expect(theirs, 'the guest of a delegate-made event is invited').toContain('Quarterly sync');
  });
});

describe('rooms', () => {
  let room: { id: string; address: string };
  beforeAll(async () => {
    const res = await call('POST', '/api/v1/admin/resources', admin, { address: 'room-green@example.test', name: 'Green room', kind: 'room', capacity: 6, maxBookingMinutes: 120, bookingHorizonDays: 30 });
    expect(res.statusCode, res.body).toBe(200);
    room = resourceView.parse(res.json());
  });
  const withRoom = (e: EventInput): EventInput => ({ ...e, attendees: [{ email: room.address, role: 'NON-PARTICIPANT', partstat: 'NEEDS-ACTION', cutype: 'ROOM' }] });

  it('splitting a booked weekly series ("this and following") keeps the room for the new part', { timeout: 60_000 }, async () => {
    const day = dayIn(2);
    const series = withRoom(timed('Standup', day, '08:00', '08:30', { rrule: 'FREQ=WEEKLY;COUNT=3' }));
    const made = await call('POST', `/api/v1/calendars/${aliceCal}/events`, alice, series);
    expect(made.statusCode, made.body).toBe(200);
    const ev = eventView.parse(made.json());
    expect(ev.attendees[0]).toMatchObject({ partstat: 'ACCEPTED' });
    // The second occurrence and those after it get a new title; the room is otherwise free.
    const second = dayIn(9);
    const rid = (await occurrences(alice, second)).find((o) => o.eventId === ev.id)!.recurrenceId!;
    const split = await call('PATCH', `/api/v1/calendars/${aliceCal}/events/${ev.id}`, alice, { scope: 'following', recurrenceId: rid, event: { ...series, title: 'Standup (new format)', start: `${second}T08:00`, end: `${second}T08:30` } });
    expect(split.statusCode, split.body).toBe(200);
    const body = split.json() as { event: { attendees: { partstat: string }[] }; created: { attendees: { partstat: string; reason?: string }[] } };
    expect(body.event.attendees[0]).toMatchObject({ partstat: 'ACCEPTED' });
    // The new series clashes only with the old series' booking as it was before the split.
    expect(body.created.attendees[0], `the room is free for the rest of the series (reason given: ${body.created.attendees[0]?.reason})`).toMatchObject({ partstat: 'ACCEPTED' });
  });

  it('re-importing a booked event with another time does not keep the room booked for it without asking the room', { timeout: 60_000 }, async () => {
    const day = dayIn(4);
    const made = await call('POST', `/api/v1/calendars/${bobCal}/events`, bob, withRoom(timed('Interview', day, '15:00', '16:00')));
    expect(made.statusCode, made.body).toBe(200);
    const ev = eventView.parse(made.json());
    expect(ev.attendees[0]).toMatchObject({ partstat: 'ACCEPTED' });
    // The same UID imported again (import updates the series of that UID): ten hours every day,
    // for ever — longer than the room's 120 minutes, past its 30-day horizon.
    const d = day.replaceAll('-', '');
    const ics = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//review//EN', 'BEGIN:VEVENT', `UID:${ev.uid}`, 'DTSTAMP:20260101T000000Z', `DTSTART:${d}T080000Z`, `DTEND:${d}T180000Z`, 'RRULE:FREQ=DAILY', 'SUMMARY:Interview', 'ORGANIZER:mailto:bob@example.test', `ATTENDEE;CUTYPE=ROOM;PARTSTAT=ACCEPTED:mailto:${room.address}`, 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
    const imp = await call('POST', `/api/v1/calendars/${bobCal}/import`, bob, { ics });
    expect(imp.statusCode, imp.body).toBe(200);
    expect(imp.json()).toMatchObject({ updated: 1 });
    // Sixty days on, the room must be free: it never accepted a booking then.
    const later = dayIn(60);
    const fb = await call('GET', `/api/v1/freebusy?address=${encodeURIComponent(room.address)}&from=${later}T00:00:00Z&to=${later}T23:59:59Z`, alice);
    expect(fb.statusCode, fb.body).toBe(200);
    expect((fb.json() as { busy: unknown[] }).busy, 'the room is not booked by an import it never answered').toEqual([]);
  });

  it('a finite series with an occurrence beyond the booking horizon is declined', { timeout: 60_000 }, async () => {
    // Two yearly occurrences: one in 3 days, the next in 368 days — far past the 30-day horizon
    // (and past the 366 days the clash check looks at).
    const day = dayIn(3);
    const res = await call('POST', `/api/v1/calendars/${bobCal}/events`, bob, withRoom(timed('Anniversary', day, '13:00', '14:00', { rrule: 'FREQ=YEARLY;COUNT=2' })));
    expect(res.statusCode, res.body).toBe(200);
    expect(eventView.parse(res.json()).attendees[0]).toMatchObject({ partstat: 'DECLINED', reason: 'more than 30 days ahead, the furthest Green room may be booked' });
  });
});
