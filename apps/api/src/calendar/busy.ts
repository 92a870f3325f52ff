/**
 * Busy time (docs/calendar.md "Free/busy and scheduling"): the occurrences of event series reduced
 * to merged [start, end) blocks. Transparent occurrences (TRANSP:TRANSPARENT) are free; private
 * ones are busy like any other. Nothing but the instants leaves this module.
 */
import ICAL from 'ical.js';
import type { BusyBlock } from '@sealmail/contract';
import { DEFAULT_BUDGET, expandSeries, viewerDates } from './ical';
import { zoneFor } from './zones';

export interface Interval {
  start: number;
  end: number;
}

/** The busy intervals of some series in [from, to); all-day occurrences are whole days in `tz`. */
export function busyIntervals(seriesList: ICAL.Component[][], from: Date, to: Date, tz = 'UTC'): { intervals: Interval[]; truncated: boolean } {
  const budget = { occurrences: DEFAULT_BUDGET.maxOccurrences, iterations: DEFAULT_BUDGET.maxIterations };
  const { fromDate, toDate } = viewerDates(from, to, tz);
  const out: Interval[] = [];
  let truncated = false;
  for (const series of seriesList) {
    const r = expandSeries(series, from, to, tz, budget, fromDate, toDate);
    truncated ||= r.truncated;
    for (const o of r.occurrences) {
      if (String(o.component.getFirstPropertyValue('transp') ?? '').toUpperCase() === 'TRANSPARENT') continue;
      const start = o.allDay ? wallClockToUtc(o.start, tz) : Date.parse(o.start);
      const end = o.allDay ? wallClockToUtc(o.end, tz) : Date.parse(o.end);
      const s = Math.max(start, from.getTime());
      const e = Math.min(end, to.getTime());
      if (e > s) out.push({ start: s, end: e });
    }
  }
  return { intervals: merge(out), truncated };
}

/** Sorted, non-overlapping intervals (touching ones joined). */
export function merge(list: Interval[]): Interval[] {
  const sorted = [...list].sort((a, b) => a.start - b.start);
  const out: Interval[] = [];
  for (const i of sorted) {
    const last = out[out.length - 1];
    if (last && i.start <= last.end) last.end = Math.max(last.end, i.end);
    else out.push({ ...i });
  }
  return out;
}

/** The first instant where two merged interval lists overlap, or null. */
export function firstOverlap(a: Interval[], b: Interval[]): Interval | null {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x.start < y.end && y.start < x.end) return { start: Math.max(x.start, y.start), end: Math.min(x.end, y.end) };
    if (x.end <= y.end) i++;
    else j++;
  }
  return null;
}

export const blocksOf = (list: Interval[]): BusyBlock[] => list.map((i) => ({ start: new Date(i.start).toISOString(), end: new Date(i.end).toISOString() }));

/** Midnight of a date `YYYY-MM-DD` in `tz`, as epoch milliseconds. */
function wallClockToUtc(date: string, tz: string): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const t = ICAL.Time.fromData({ year: y, month: m, day: d, hour: 0, minute: 0, second: 0, isDate: false }, zoneFor(tz) ?? ICAL.Timezone.utcTimezone);
  return t.toUnixTime() * 1000;
}

/** True when the zone database knows `tz` (free/busy's all-day days are read in it). */
export const knownZone = (tz: string) => zoneFor(tz) !== null;
