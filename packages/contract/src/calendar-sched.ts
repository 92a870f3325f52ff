/**
 * Scheduling routes of the calendar (docs/calendar.md "Free/busy and scheduling", "Rooms and
 * equipment", "Delegation"): colleagues' busy blocks, the organisation's rooms and equipment (made
 * by admins, booked as attendees), and calendars shared with another user to view or manage.
 */
import { z } from 'zod';
import type { RouteContract } from './routes';
import { address } from './routes';
import { hasUnsafeText, SAFE_TEXT_MESSAGE } from './text';

const line = (max: number) => z.string().refine((s) => !hasUnsafeText(s), SAFE_TEXT_MESSAGE).trim().max(max);

/** Longest range one free/busy query may ask for. */
export const MAX_FREEBUSY_DAYS = 62;

/** One busy block (UTC instants, end exclusive). Nothing else of the event is ever given. */
export const busyBlock = z.object({ start: z.string(), end: z.string() });
export type BusyBlock = z.infer<typeof busyBlock>;

/**
 * Busy blocks of a colleague, room or equipment of the caller's organisation in [from, to).
 * Anyone else (another organisation, an unknown address) answers NOT_FOUND.
 */
export const freeBusy = {
  method: 'GET',
  path: '/api/v1/freebusy',
  query: z.object({ address, from: z.iso.datetime({ offset: true }), to: z.iso.datetime({ offset: true }) }).strict(),
  response: z.object({ address: z.string(), kind: z.enum(['user', 'room', 'equipment']), busy: z.array(busyBlock) }),
} as const satisfies RouteContract;

export const resourceKind = z.enum(['room', 'equipment']);
export const resourceView = z.object({
  id: z.string(),
  address: z.string(),
  kind: resourceKind,
  name: z.string(),
  capacity: z.number().nullable(),
  location: z.string().nullable(),
  maxBookingMinutes: z.number().nullable(),
  bookingHorizonDays: z.number().nullable(),
});
export type ResourceView = z.infer<typeof resourceView>;

const resourceFields = {
  name: line(200).min(1),
  kind: resourceKind.default('room'),
  capacity: z.number().int().min(1).max(100_000).nullable().default(null),
  location: line(300).nullable().default(null),
  /** Longest booking accepted, in minutes (null: any length). */
  maxBookingMinutes: z.number().int().min(5).max(60 * 24 * 31).nullable().default(null),
  /** How far ahead a booking may start, in days (null: any time). */
  bookingHorizonDays: z.number().int().min(1).max(3650).nullable().default(null),
};

/** The organisation's rooms and equipment, for any user (to book them). */
export const resourceList = { method: 'GET', path: '/api/v1/resources', response: z.object({ resources: z.array(resourceView) }) } as const satisfies RouteContract;
export const adminResourceCreate = {
  method: 'POST',
  path: '/api/v1/admin/resources',
  /** `address`: the resource's address on a domain of the organisation (e.g. room-4@example.com). */
  body: z.object({ address, ...resourceFields }).strict(),
  response: resourceView,
} as const satisfies RouteContract;
export const adminResourceUpdate = {
  method: 'PATCH',
  path: '/api/v1/admin/resources/:id',
  params: z.object({ id: z.uuid() }),
  body: z
    .object({
      name: resourceFields.name.optional(),
      capacity: resourceFields.capacity.removeDefault().optional(),
      location: resourceFields.location.removeDefault().optional(),
      maxBookingMinutes: resourceFields.maxBookingMinutes.removeDefault().optional(),
      bookingHorizonDays: resourceFields.bookingHorizonDays.removeDefault().optional(),
    })
    .strict(),
  response: resourceView,
} as const satisfies RouteContract;
export const adminResourceDelete = { method: 'DELETE', path: '/api/v1/admin/resources/:id', params: z.object({ id: z.uuid() }), response: z.object({ deleted: z.literal(true) }) } as const satisfies RouteContract;

export const grantLevel = z.enum(['view', 'manage']);
export const grantView = z.object({ userId: z.string(), address: z.string(), name: z.string(), level: grantLevel, createdAt: z.string() });
export type GrantView = z.infer<typeof grantView>;

/** Who may view or manage one of the caller's calendars. */
export const calendarGrantList = { method: 'GET', path: '/api/v1/calendars/:id/grants', params: z.object({ id: z.uuid() }), response: z.object({ grants: z.array(grantView) }) } as const satisfies RouteContract;
/** Grants (or changes) a colleague's right to view or manage the calendar. */
export const calendarGrantPut = {
  method: 'PUT',
  path: '/api/v1/calendars/:id/grants',
  params: z.object({ id: z.uuid() }),
  body: z.object({ address, level: grantLevel }).strict(),
  response: grantView,
} as const satisfies RouteContract;
export const calendarGrantRevoke = { method: 'DELETE', path: '/api/v1/calendars/:id/grants/:userId', params: z.object({ id: z.uuid(), userId: z.uuid() }), response: z.object({ revoked: z.literal(true) }) } as const satisfies RouteContract;

export const sharedCalendarView = z.object({
  id: z.string(),
  name: z.string(),
  color: z.string(),
  level: grantLevel,
  owner: z.object({ address: z.string(), name: z.string() }),
});
export type SharedCalendarView = z.infer<typeof sharedCalendarView>;
/** Calendars other users have shared with the caller (delegation). */
export const sharedCalendarList = { method: 'GET', path: '/api/v1/shared-calendars', response: z.object({ calendars: z.array(sharedCalendarView) }) } as const satisfies RouteContract;
