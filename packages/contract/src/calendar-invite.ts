/**
 * Invitations (iMIP, docs/calendar.md "Invitations"): answering an invitation, the reader's
 * invitation card, and proposals (COUNTER) from outside that the organizer may decline.
 */
import { z } from 'zod';
import type { RouteContract } from './routes';
import { eventView } from './calendar';

/** Largest iCalendar part the invitation card sends to be looked up. */
export const MAX_INVITATION_ICS_BYTES = 256 * 1024;

export const partstatAnswer = z.enum(['ACCEPTED', 'TENTATIVE', 'DECLINED']);
export type PartstatAnswer = z.infer<typeof partstatAnswer>;

/** Answer an invitation in your calendar: your PARTSTAT, and a REPLY to the organizer. */
export const eventRespond = {
  method: 'POST',
  path: '/api/v1/calendars/:id/events/:eventId/respond',
  params: z.object({ id: z.uuid(), eventId: z.uuid() }),
  body: z.object({ partstat: partstatAnswer }).strict(),
  response: eventView,
} as const satisfies RouteContract;

export const invitationConflict = z.object({ title: z.string(), start: z.string(), end: z.string(), allDay: z.boolean() });

/** The card of an invitation mail: the iCalendar part of the mail in, the user's copy and clashes out. */
export const invitationInspect = {
  method: 'POST',
  path: '/api/v1/invitations/inspect',
  body: z.object({ ics: z.string().max(MAX_INVITATION_ICS_BYTES, 'an invitation may be at most 256 KiB') }).strict(),
  response: z.object({
    /** REQUEST, CANCEL, REPLY, … of the mail. */
    method: z.string(),
    /** The event in the user's calendar (null: not there, e.g. cancelled or never delivered here). */
    invitation: z
      .object({
        event: eventView,
        /** The user's own answer (null: the user organises it). */
        partstat: z.string().nullable(),
        /** The user's other (busy) events overlapping the next occurrences of this one. */
        conflicts: z.array(invitationConflict),
      })
      .nullable(),
  }),
} as const satisfies RouteContract;

export const counterView = z.object({ id: z.string(), from: z.string(), uid: z.string(), title: z.string(), proposedStart: z.string(), proposedEnd: z.string(), receivedAt: z.string() });
/** Proposals of a new time (COUNTER) that arrived for the user's events. */
export const counterList = { method: 'GET', path: '/api/v1/calendar-counters', response: z.object({ counters: z.array(counterView) }) } as const satisfies RouteContract;
/** Declines a proposal: a DECLINECOUNTER goes to its sender. */
export const counterDecline = { method: 'POST', path: '/api/v1/calendar-counters/:id/decline', params: z.object({ id: z.uuid() }), response: z.object({ declined: z.literal(true) }) } as const satisfies RouteContract;
