/**
 * Rooms and equipment (docs/calendar.md "Rooms and equipment", docs/admin.md "Resources"). A
 * resource is booked by naming its address as an attendee of an event; when the event is saved the
 * server answers for the resource: ACCEPTED when it is free and the booking keeps its rules,
 * DECLINED with a reason otherwise. The answer is written on the event's ATTENDEE (PARTSTAT,
 * CUTYPE, X-SEALMAIL-REASON) and kept as a booking row; accepted bookings are the resource's busy
 * time. Nothing of another booking but its time is read (a clash names only the instant).
 */
import ICAL from 'ical.js';
import type { Db } from '@sealmail/db';
import type { CalendarStore } from './store';
import { busyIntervals, firstOverlap, type Interval } from './busy';

/** How far ahead clashes are looked for when a series has no end (or an end further away). */
const CLASH_WINDOW_DAYS = 366;
const DAY = 86_400_000;
export const REASON_PARAM = 'x-sealmail-reason';

export interface ResourceRow {
  id: string;
  localPart: string;
  kind: string;
  name: string;
  maxBookingMinutes: number | null;
  bookingHorizonDays: number | null;
  domain: { name: string };
}
export const resourceAddress = (r: { localPart: string; domain: { name: string } }) => `${r.localPart}@${r.domain.name}`;

const mail = (v: unknown) => String(v).replace(/^mailto:/i, '').toLowerCase();
const fmt = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';

/** Why the resource cannot take this series, or null when it can. */
async function refusal(db: Db, store: CalendarStore, r: ResourceRow, eventIds: readonly string[], series: ICAL.Component[], now: Date): Promise<string | null> {
  const master = series.find((c) => !c.hasProperty('recurrence-id')) ?? series[0]!;
  const ev = new ICAL.Event(master);
  const horizon = r.bookingHorizonDays === null ? null : now.getTime() + r.bookingHorizonDays * DAY;
  const windowStart = now.getTime() - DAY;
  let windowEnd = now.getTime() + CLASH_WINDOW_DAYS * DAY;
  const mine = busyIntervals([series], new Date(windowStart), new Date(windowEnd));
  const occurrences = mine.intervals;
  if (r.maxBookingMinutes !== null) {
    for (const c of series) {
      const e = new ICAL.Event(c);
      const minutes = e.duration ? e.duration.toSeconds() / 60 : 0;
      if (minutes > r.maxBookingMinutes) return `longer than ${r.maxBookingMinutes} minutes, the most ${r.name} may be booked for`;
    }
  }
  if (horizon !== null) {
    const recurringForever = ev.isRecurring() && !master.getAllProperties('rrule').every((p) => {
      const rule = p.getFirstValue() as ICAL.Recur;
      return rule.isFinite();
    });
    if (recurringForever || startsAfter(series, horizon))
      return `more than ${r.bookingHorizonDays} days ahead, the furthest ${r.name} may be booked`;
    windowEnd = Math.min(windowEnd, horizon + DAY);
  }
  const others = await db.resourceBooking.findMany({ where: { resourceId: r.id, accepted: true, eventId: { notIn: [...eventIds] } }, include: { event: true } });
  const theirs = busyIntervals(
    others.filter((b) => b.event.startUtc.getTime() < windowEnd && (b.event.endUtc === null || b.event.endUtc.getTime() > windowStart)).map((b) => store.open(b.event)),
    new Date(windowStart),
    new Date(windowEnd),
  ).intervals;
  const clash: Interval | null = firstOverlap(occurrences, theirs);
  if (clash) return `busy at ${fmt(clash.start)}: ${r.name} is booked then`;
  return null;
}

/** Most occurrences of a finite series walked to find whether one starts past a horizon. */
const HORIZON_WALK = 20_000;

/**
 * Whether any occurrence of a finite series (its rule and RDATEs less EXDATEs, and any override
 * moved later) starts after `horizon`: a walk from the first, stopped at the first one past it. A
 * series with more occurrences than the walk takes counts as past it (such a series reaches far).
 */
function startsAfter(series: ICAL.Component[], horizon: number): boolean {
  const master = series.find((c) => !c.hasProperty('recurrence-id')) ?? series[0]!;
  for (const c of series) if (c !== master && new ICAL.Event(c).startDate.toUnixTime() * 1000 > horizon) return true;
  const it = new ICAL.Event(master).iterator();
  for (let n = 0; n < HORIZON_WALK; n++) {
    const next = it.next();
    if (!next) return false;
    if (next.toUnixTime() * 1000 > horizon) return true;
  }
  return true;
}

/**
 * Answers for every resource of the organisation the series names as an attendee, writing the
 * answer on the master's ATTENDEE lines (the series is changed in place). Returns the bookings to
 * store once the event row is written (`commit`). `ignore`: further events whose bookings do not
 * count as clashes (the series a "this and following" edit splits this one from).
 */
export async function answerForResources(db: Db, store: CalendarStore, accountId: string, eventId: string, series: ICAL.Component[], now: Date, ignore: readonly string[] = []) {
  const master = series.find((c) => !c.hasProperty('recurrence-id')) ?? series[0]!;
  const attendees = master.getAllProperties('attendee');
  const answers: { resourceId: string; accepted: boolean; reason: string | null }[] = [];
  if (attendees.length > 0) {
    const resources = await db.calendarResource.findMany({ where: { accountId }, include: { domain: { select: { name: true } } }, take: 5000 });
    const byAddress = new Map(resources.map((r) => [resourceAddress(r), r]));
    for (const p of attendees) {
      const r = byAddress.get(mail(p.getFirstValue()));
      if (!r || answers.some((a) => a.resourceId === r.id)) continue;
      const reason = await refusal(db, store, r, [eventId, ...ignore], series, now);
      p.setParameter('cutype', r.kind === 'room' ? 'ROOM' : 'RESOURCE');
      p.setParameter('partstat', reason ? 'DECLINED' : 'ACCEPTED');
      p.removeParameter('rsvp');
      if (reason) p.setParameter(REASON_PARAM, reason);
      else p.removeParameter(REASON_PARAM);
      answers.push({ resourceId: r.id, accepted: reason === null, reason });
    }
  }
  return {
    answers,
    /** Stores the answers (after the event row exists); bookings of resources no longer named go. */
    commit: async () => {
      await db.$transaction([
        db.resourceBooking.deleteMany({ where: { eventId, resourceId: { notIn: answers.map((a) => a.resourceId) } } }),
        ...answers.map((a) => db.resourceBooking.upsert({ where: { resourceId_eventId: { resourceId: a.resourceId, eventId } }, create: { eventId, ...a }, update: { accepted: a.accepted, reason: a.reason } })),
      ]);
    },
  };
}
