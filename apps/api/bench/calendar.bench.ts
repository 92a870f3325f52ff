/**
 * Occurrence expansion for a month view of 1,000 recurring events (docs/calendar.md "Limits"),
 * printed beside a plain expansion of the same rules with rrule (rrule.js `between`) and with a
 * bare ical.js RecurExpansion, in the same run (shared, noisy machines: compare ratios).
 *
 *   pnpm --filter @sealmail/api bench
 *
 * "ours" is what GET /api/v1/occurrences does per series after opening it: ical.js expansion in
 * the event's zone with overrides, caps, UTC and the viewer's dates. Parsing the stored text is
 * measured separately ("open").
 */
import ICAL from 'ical.js';
import rrulePkg from 'rrule';
import { expandSeries, parseIcs, seriesOf, viewerDates } from '../src/calendar/ical';

const { rrulestr } = rrulePkg;
const ZONES = ['Europe/Berlin', 'America/New_York', 'Asia/Tokyo', 'Australia/Sydney', 'UTC'];
const RULES = ['FREQ=WEEKLY;BYDAY=MO,WE,FR', 'FREQ=DAILY', 'FREQ=WEEKLY;INTERVAL=2;BYDAY=TU', 'FREQ=MONTHLY;BYDAY=-1FR', 'FREQ=MONTHLY;BYMONTHDAY=15', 'FREQ=YEARLY', 'FREQ=DAILY;INTERVAL=3;COUNT=200', 'FREQ=WEEKLY;BYDAY=TH;UNTIL=20271231T230000Z'];
const N = 1000;

const pad = (n: number) => String(n).padStart(2, '0');
const events = Array.from({ length: N }, (_, i) => {
  const tz = ZONES[i % ZONES.length]!;
  const rule = RULES[i % RULES.length]!;
  // Series started 0–365 days before the viewed month.
  const start = new Date(Date.UTC(2025, 4, 1) + (i * 37 % 365) * 86_400_000);
  const d = `${start.getUTCFullYear()}${pad(start.getUTCMonth() + 1)}${pad(start.getUTCDate())}T${pad(8 + (i % 10))}0000`;
  const dtstart = tz === 'UTC' ? `DTSTART:${d}Z` : `DTSTART;TZID=${tz}:${d}`;
  return { tz, rule, dtstart, ics: `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:bench-${i}\r\nDTSTAMP:20250101T000000Z\r\n${dtstart}\r\nDURATION:PT1H\r\nRRULE:${rule}\r\nSUMMARY:Event ${i}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n` };
});

const viewer = 'Europe/Berlin';
const from = new Date('2026-04-30T22:00:00Z');
const to = new Date('2026-05-31T22:00:00Z');
const { fromDate, toDate } = viewerDates(from, to, viewer);

function time<T>(label: string, fn: () => T, runs = 3): T {
  let out!: T;
  const ms: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    out = fn();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  console.log(`${label.padEnd(44)} median ${ms[Math.floor(runs / 2)]!.toFixed(1).padStart(8)} ms  (${runs} runs)`);
  return out;
}

console.log(`month view: ${N} recurring events, ${fromDate} to ${toDate} in ${viewer}`);
const parsed = time('open (ical.js parse + zone mapping)', () => events.map((e) => seriesOf(parseIcs(e.ics))[0]!));
const ours = time('ours: expandSeries (caps, overrides, zones)', () => {
  const budget = { occurrences: 1_000_000, iterations: 10_000_000 };
  let n = 0;
  for (const s of parsed) n += expandSeries(s, from, to, viewer, budget, fromDate, toDate).occurrences.length;
  return n;
});
const bare = time('plain ical.js RecurExpansion', () => {
  let n = 0;
  for (const s of parsed) {
    const ev = new ICAL.Event(s[0]!);
    const it = ev.iterator();
    let t: ICAL.Time | null;
    while ((t = it.next())) {
      const ms = t.toUnixTime() * 1000;
      if (ms >= to.getTime()) break;
      if (ms + 3_600_000 > from.getTime()) n++;
    }
  }
  return n;
});
// rrule.js is slower by an order of magnitude: one run.
const plain = time(
  'plain rrule.js between()',
  () => {
    let n = 0;
    for (const e of events) {
      const rule = rrulestr(`${e.dtstart}\nRRULE:${e.rule}`);
      n += rule.between(new Date(from.getTime() - 3_600_000), to, false).length;
    }
    return n;
  },
  1,
);
console.log(`occurrences: ours ${ours}, ical.js ${bare}, rrule.js ${plain} (rrule.js counts by start only; boundary events may differ)`);
