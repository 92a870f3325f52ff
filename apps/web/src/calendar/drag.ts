/**
 * Direct manipulation in the week and day views (docs/calendar.md "Web client"): the pointer
 * arithmetic of the time grid and saving a moved or resized occurrence. Keyboard users do the same
 * with the editor's start and end fields.
 */
import { eventGet, eventUpdate, type EventInput, type OccurrenceView } from '@sealmail/contract';
import { api } from '../SignIn';

/** Height of one hour in the grid (px); the grid snaps to quarter hours. */
export const HOUR_PX = 40;
export const SNAP_MIN = 15;
const pad = (n: number) => String(n).padStart(2, '0');

/** Minutes since midnight of a pointer's y inside a day column, snapped (0…1440). */
export function minuteAt(clientY: number, column: HTMLElement): number {
  const y = clientY - column.getBoundingClientRect().top;
  const m = Math.round((y / HOUR_PX) * 60 / SNAP_MIN) * SNAP_MIN;
  return Math.max(0, Math.min(24 * 60, m));
}
/** `HH:mm` of minutes since midnight (1440 → 23:59, the last minute of the day). */
export const clock = (m: number) => (m >= 1440 ? '23:59' : `${pad(Math.floor(m / 60))}:${pad(m % 60)}`);
/** Minutes since midnight of a local `YYYY-MM-DDTHH:mm`. */
export const minutesOf = (local: string) => Number(local.slice(11, 13)) * 60 + Number(local.slice(14, 16));

/** The day column under a pointer (columns carry `data-day`). */
export function columnAt(x: number, y: number): HTMLElement | null {
  const el = document.elementFromPoint(x, y);
  return (el?.closest('[data-day]') as HTMLElement | null) ?? null;
}

/** The event's editable fields, from its view (so saving keeps attendees, reminders, …). */
const inputOf = (e: Awaited<ReturnType<typeof loadEvent>>): EventInput => ({
  title: e.title,
  ...(e.location ? { location: e.location } : {}),
  ...(e.description ? { description: e.description } : {}),
  ...(e.meetingUrl ? { meetingUrl: e.meetingUrl } : {}),
  allDay: e.allDay,
  start: e.start,
  end: e.end,
  ...(e.startTz ? { startTz: e.startTz } : {}),
  ...(e.endTz ? { endTz: e.endTz } : {}),
  ...(e.rrule ? { rrule: e.rrule } : {}),
  transparency: e.transparency,
  visibility: e.visibility,
  reminders: e.reminders,
  attendees: e.attendees,
});
const loadEvent = (o: OccurrenceView) => api.request(eventGet, { params: { id: o.calendarId, eventId: o.eventId } });

/**
 * Saves new wall-clock times (the viewer's zone) for an occurrence: a single event moves, one
 * occurrence of a series becomes an exception ("this occurrence", as Google Calendar does on drag).
 */
export async function saveTimes(o: OccurrenceView, start: string, end: string, zone: string): Promise<void> {
  const e = await loadEvent(o);
  const event: EventInput = { ...inputOf(e), start, end, startTz: zone, endTz: zone };
  if (o.recurring) {
    delete event.rrule;
    await api.request(eventUpdate, { params: { id: o.calendarId, eventId: o.eventId }, body: { scope: 'this', recurrenceId: o.recurrenceId, event } });
  } else await api.request(eventUpdate, { params: { id: o.calendarId, eventId: o.eventId }, body: { scope: 'all', event } });
}
