/**
 * Calendar routes (MISSION §5, docs/calendar.md): calendars, events with recurrence and the three
 * edit scopes, occurrences of a range, .ics import/export and a read-only subscription feed.
 * Events are iCalendar VEVENTs on the server (sealed at rest); these schemas are their JSON form.
 */
import { z } from 'zod';
import type { RouteContract } from './routes';
import { address } from './routes';
import { hasUnsafeText, hasUnstorableText, SAFE_TEXT_MESSAGE } from './text';

const line = (max: number) => z.string().refine((s) => !hasUnsafeText(s), SAFE_TEXT_MESSAGE).trim().max(max);
const text = (max: number) => z.string().refine((s) => !hasUnstorableText(s), 'expected text without NUL characters').max(max);

/** Largest .ics accepted by import (bytes of text). */
export const MAX_ICS_BYTES = 2 * 1024 * 1024;
/** Longest range one occurrences query may ask for. */
export const MAX_OCCURRENCE_RANGE_DAYS = 400;
/** Most calendars one user may have. */
export const MAX_CALENDARS = 50;
/** Most events (series) one calendar may hold: bounds the rows an export, the subscription feed or a copy of invitations can make the server read. */
export const MAX_EVENTS_PER_CALENDAR = 20_000;

/** An IANA time zone name (checked against the zone database by the server). */
export const timeZoneName = z.string().max(64).regex(/^[A-Za-z][A-Za-z0-9_+\-/]*$/, 'expected an IANA time zone name such as Europe/Berlin');
const color = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'expected a colour like #3366cc');
const calendarId = z.object({ id: z.uuid() });
const eventIds = z.object({ id: z.uuid(), eventId: z.uuid() });

export const calendarView = z.object({
  id: z.string(),
  name: z.string(),
  color: z.string(),
  isDefault: z.boolean(),
  /** True when a subscription feed exists (its token is shown once, when made). */
  hasFeed: z.boolean(),
});
export type CalendarView = z.infer<typeof calendarView>;

/** Wall-clock date-time `YYYY-MM-DDTHH:mm[:ss]` (timed events) or date `YYYY-MM-DD` (all-day). */
const wallTime = z.string().regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?$/, 'expected YYYY-MM-DD or YYYY-MM-DDTHH:mm');

export const attendee = z.object({
  email: address,
  name: line(200).optional(),
  role: z.enum(['CHAIR', 'REQ-PARTICIPANT', 'OPT-PARTICIPANT', 'NON-PARTICIPANT']).default('REQ-PARTICIPANT'),
  partstat: z.enum(['NEEDS-ACTION', 'ACCEPTED', 'DECLINED', 'TENTATIVE', 'DELEGATED']).default('NEEDS-ACTION'),
  /** ROOM / RESOURCE: a room or equipment of the organisation (the server answers for it). */
  cutype: z.enum(['INDIVIDUAL', 'GROUP', 'RESOURCE', 'ROOM', 'UNKNOWN']).optional(),
  /** Why a room or equipment declined (set by the server; ignored on input). */
  reason: line(300).optional(),
});

export const eventInput = z
  .object({
    title: line(500),
    location: line(1000).optional(),
    description: text(20_000).optional(),
    meetingUrl: z.url({ protocol: /^https?$/ }).max(2000).optional(),
    allDay: z.boolean().default(false),
    start: wallTime,
    end: wallTime,
    /** Zones of start and end (timed events); absent: floating time. */
    startTz: timeZoneName.optional(),
    endTz: timeZoneName.optional(),
    /** An RRULE value, e.g. `FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20261231T230000Z`. */
    rrule: z.string().max(500).regex(/^[A-Z0-9=;,:+-]+$/, 'expected an RRULE value such as FREQ=WEEKLY;BYDAY=MO').optional(),
    transparency: z.enum(['opaque', 'transparent']).default('opaque'),
    visibility: z.enum(['public', 'private']).default('public'),
    // byMail: also delivered as a mail to the calendar's owner (VALARM ACTION:EMAIL).
    reminders: z.array(z.object({ minutesBefore: z.number().int().min(0).max(40_320), byMail: z.boolean().optional() })).max(10).default([]),
    attendees: z.array(attendee).max(200).default([]),
  })
  .strict();
export type EventInput = z.input<typeof eventInput>;

export const eventView = eventInput.extend({
  id: z.string(),
  calendarId: z.string(),
  uid: z.string(),
  sequence: z.number(),
  organizer: z.object({ email: z.string(), name: z.string().optional() }).nullable(),
  /** RECURRENCE-IDs with their own edits (overrides). */
  exceptions: z.array(z.string()),
});
export type EventView = z.infer<typeof eventView>;

export const occurrenceView = z.object({
  eventId: z.string(),
  calendarId: z.string(),
  /** Original start of this occurrence (the RECURRENCE-ID); pass it to edit or delete one occurrence. */
  recurrenceId: z.string(),
  title: z.string(),
  location: z.string().optional(),
  allDay: z.boolean(),
  /** Timed: UTC instants (ISO 8601); all-day: dates, end exclusive. */
  start: z.string(),
  end: z.string(),
  /** Timed: wall-clock times in the viewer's zone (`tz` of the query), `YYYY-MM-DDTHH:mm`. */
  localStart: z.string(),
  localEnd: z.string(),
  /** The event's own zone. */
  tz: z.string().nullable(),
  recurring: z.boolean(),
  isException: z.boolean(),
  transparent: z.boolean(),
  color: z.string(),
});
export type OccurrenceView = z.infer<typeof occurrenceView>;

export const calendarList = { method: 'GET', path: '/api/v1/calendars', response: z.object({ calendars: z.array(calendarView) }) } as const satisfies RouteContract;
export const calendarCreate = { method: 'POST', path: '/api/v1/calendars', body: z.object({ name: line(100).min(1), color: color.default('#3366cc') }).strict(), response: calendarView } as const satisfies RouteContract;
export const calendarUpdate = { method: 'PATCH', path: '/api/v1/calendars/:id', params: calendarId, body: z.object({ name: line(100).min(1).optional(), color: color.optional() }).strict(), response: calendarView } as const satisfies RouteContract;
/** Deletes a calendar and its events (not the default calendar). */
export const calendarDelete = { method: 'DELETE', path: '/api/v1/calendars/:id', params: calendarId, response: z.object({ deleted: z.literal(true) }) } as const satisfies RouteContract;

export const eventCreate = { method: 'POST', path: '/api/v1/calendars/:id/events', params: calendarId, body: eventInput, response: eventView } as const satisfies RouteContract;
export const eventGet = { method: 'GET', path: '/api/v1/calendars/:id/events/:eventId', params: eventIds, response: eventView } as const satisfies RouteContract;

const recurrenceId = z.string().max(40).regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}Z?)?$/, 'expected an occurrence recurrenceId');
/** Edit scope of a recurring event: every occurrence, one occurrence, or this and the following ones. */
export const editScope = z.enum(['all', 'this', 'following']);
export const eventUpdate = {
  method: 'PATCH',
  path: '/api/v1/calendars/:id/events/:eventId',
  params: eventIds,
  body: z.object({ scope: editScope.default('all'), recurrenceId: recurrenceId.optional(), event: eventInput }).strict(),
  /** The series edited; for `following`, `created` is the new series that starts at the occurrence. */
  response: z.object({ event: eventView, created: eventView.nullable() }),
} as const satisfies RouteContract;
export const eventDelete = {
  method: 'DELETE',
  path: '/api/v1/calendars/:id/events/:eventId',
  params: eventIds,
  query: z.object({ scope: editScope.default('all'), recurrenceId: recurrenceId.optional() }).strict(),
  response: z.object({ deleted: z.literal(true) }),
} as const satisfies RouteContract;

/** Occurrences of all the caller's calendars (or one) in [from, to), at most 400 days. */
export const occurrenceList = {
  method: 'GET',
  path: '/api/v1/occurrences',
  query: z
    .object({
      /** `YYYY-MM-DD` (midnight in `tz`) or an ISO 8601 instant with offset. */
      from: z.string().max(40),
      to: z.string().max(40),
      tz: timeZoneName.default('UTC'),
      calendarId: z.uuid().optional(),
    })
    .strict(),
  response: z.object({ occurrences: z.array(occurrenceView), truncated: z.boolean() }),
} as const satisfies RouteContract;

export const calendarImport = {
  method: 'POST',
  path: '/api/v1/calendars/:id/import',
  params: calendarId,
  body: z.object({ ics: z.string().max(MAX_ICS_BYTES, `an .ics file may be at most ${MAX_ICS_BYTES / 1024 / 1024} MiB`) }).strict(),
  response: z.object({ imported: z.number(), updated: z.number() }),
} as const satisfies RouteContract;

/** The calendar as an .ics file (text/calendar). */
export const calendarExport = { method: 'GET', path: '/api/v1/calendars/:id/export', params: calendarId, response: z.string() } as const satisfies RouteContract;

/** Makes (or replaces) the calendar's secret feed URL; the token is shown only now. */
export const calendarFeedCreate = { method: 'POST', path: '/api/v1/calendars/:id/feed', params: calendarId, response: z.object({ url: z.string(), token: z.string() }) } as const satisfies RouteContract;
export const calendarFeedRevoke = { method: 'DELETE', path: '/api/v1/calendars/:id/feed', params: calendarId, response: z.object({ revoked: z.literal(true) }) } as const satisfies RouteContract;
/** The read-only .ics feed, by its secret token (no session). */
export const calendarFeed = { method: 'GET', path: '/api/v1/calendar-feeds/:token', params: z.object({ token: z.string().regex(/^[A-Za-z0-9_-]{43}\.ics$/, 'expected a feed token') }), response: z.string() } as const satisfies RouteContract;
