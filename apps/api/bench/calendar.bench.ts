/**
 * Occurrence expansion for a month view of 1,000 recurring events (docs/calendar.md "Limits"),
 * printed beside a plain expansion of the same rules with rrule (rrule.js `between`) and with a
 * bare ical.js RecurExpansion, in the same run (shared, noisy machines: compare ratios), and the
 * web month view's render time of those occurrences in Chromium.
 *
 *   pnpm --filter @sealmail/api bench
 *
 * "ours" is what GET /api/v1/occurrences does per series after opening it: ical.js expansion in
 * the event's zone with overrides, caps, UTC and the viewer's dates. Parsing the stored text is
 * measured separately ("open").
 */
import ICAL from 'ical.js';
import rrulePkg from 'rrule';
import { createServer } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { build as viteBuild } from 'vite';
import { preactCompat } from '../../../tools/vite/front-end';
import { expandSeries, parseIcs, seriesOf, viewerDates } from '../src/calendar/ical';
import { wallClock } from '../src/calendar/zones';

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

// The month view's render time: the web's Calendar component (apps/web/bench/month.tsx, built
// with Vite as the web app is) in Chromium at 1280×800 in the viewer's zone, on a clock in the
// viewed month, its API answered in the page with these occurrences. Timed from the click on
// "Month" until the grid holds every chip it will show (and the next frame is painted).
const views = (() => {
  const budget = { occurrences: 1_000_000, iterations: 10_000_000 };
  return parsed.flatMap((s, i) =>
    expandSeries(s, from, to, viewer, budget, fromDate, toDate).occurrences.map((o) => ({
      eventId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      calendarId: '00000000-0000-4000-8000-000000000001',
      recurrenceId: o.recurrenceId,
      title: `Event ${i}`,
      allDay: o.allDay,
      start: o.start,
      end: o.end,
      localStart: o.allDay ? o.start : wallClock(new Date(o.start), viewer),
      localEnd: o.allDay ? o.end : wallClock(new Date(o.end), viewer),
      tz: o.tz,
      recurring: true,
      isException: false,
      transparent: false,
      color: '#3366cc',
    })),
  );
})();
const webRoot = fileURLToPath(new URL('../../web/', import.meta.url));
const outDir = await mkdtemp(join(tmpdir(), 'sealmail-month-bench-'));
await viteBuild({ root: webRoot, configFile: false, logLevel: 'warn', plugins: [preactCompat(webRoot)], build: { outDir, emptyOutDir: true, rollupOptions: { input: join(webRoot, 'bench/month.html') } } });
const server = createServer((req, res) => {
  const path = join(outDir, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
  readFile(path).then(
    (body) => res.writeHead(200, { 'content-type': path.endsWith('.js') ? 'text/javascript' : path.endsWith('.css') ? 'text/css' : path.endsWith('.json') ? 'application/json' : 'text/html' }).end(body),
    () => res.writeHead(404).end(),
  );
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, timezoneId: viewer, locale: 'en' });
  const page = await context.newPage();
  await page.clock.setFixedTime(new Date('2026-05-15T10:00:00Z'));
  // Scripts as text: tsx would wrap named functions in a helper the page does not have.
  await page.addInitScript(`{
    const occurrences = ${JSON.stringify(views)};
    const json = (body) => Promise.resolve(new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } }));
    const calendar = { id: '00000000-0000-4000-8000-000000000001', name: 'Calendar', color: '#3366cc', isDefault: true, hasFeed: false };
    window.fetch = (input) => {
      const url = String(input instanceof Request ? input.url : input);
      if (url.includes('/api/v1/occurrences')) return json({ occurrences, truncated: false });
      if (url.includes('/api/v1/shared-calendars')) return json({ calendars: [] });
      if (url.includes('/api/v1/calendars')) return json({ calendars: [calendar] });
      return Promise.resolve(new Response('{}', { status: 404, headers: { 'content-type': 'application/json' } }));
    };
  }`);
  const port = (server.address() as { port: number }).port;
  await page.goto(`http://127.0.0.1:${port}/bench/month.html`);
  await page.getByRole('button', { name: 'Week' }).waitFor();
  const renders: number[] = [];
  for (let r = 0; r < 3; r++) {
    await page.getByRole('button', { name: 'Week' }).click();
    await page.locator('.cal-week').waitFor();
    const ms = await page.evaluate<number>(`new Promise((resolve) => {
      const t0 = performance.now();
      const done = () => {
        if (document.querySelectorAll('.cal-month .cal-event').length > 0 && document.querySelectorAll('.cal-month .cal-more').length > 0) requestAnimationFrame(() => resolve(performance.now() - t0));
        else requestAnimationFrame(done);
      };
      [...document.querySelectorAll('button')].find((b) => b.textContent === 'Month').click();
      requestAnimationFrame(done);
    })`);
    renders.push(ms);
  }
  const chips = await page.locator('.cal-month .cal-event').count();
  renders.sort((a, b) => a - b);
  console.log(`${'web month view render (Chromium, Calendar.tsx)'.padEnd(44)} median ${renders[1]!.toFixed(1).padStart(8)} ms  (3 runs; ${views.length} occurrences in, ${chips} chips drawn)`);
} finally {
  await browser.close();
  server.close();
  await rm(outDir, { recursive: true, force: true });
}
