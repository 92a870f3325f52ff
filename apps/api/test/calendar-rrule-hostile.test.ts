/**
 * Recurrence rules ical.js cannot step through (calendar/ical.ts, the recurrence guard). A rule
 * whose BY-parts never match (FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30: there is no 30 February) made
 * one `next()` of ical.js loop for ever inside the library — its own give-up counter exists only
 * for MONTHLY and YEARLY — so the API process's event loop blocked for every user, at create (COUNT)
 * or at the first occurrences query (open-ended). Rules ical.js refuses only when stepping
 * (WEEKLY with BYMONTHDAY) threw a plain Error, answered 500, and once stored broke every
 * occurrences query of their owner. Now: refused 400 with what is wrong, promptly; a series stored
 * before the guard stops where it fails and the rest of the query answers.
 *
 * The requests that hung run in a child process (./support/api-child.ts) on this file's database,
 * killed after a deadline, so a regression fails this test instead of hanging the run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { childEnvironment } from '@sealmail/server';
import { join } from 'node:path';
import { bearer, harness, type Harness } from './helpers';
import { expandSeries, IcsError, parseIcs, seriesOf, summarise } from '../src/calendar/ical';

let h: Harness;
let alice: string;
let cal: string;

beforeAll(async () => {
  h = await harness();
  alice = (await h.deviceSignIn('alice@example.test')).token;
  cal = ((await h.app.inject({ method: 'GET', url: '/api/v1/calendars', headers: bearer(alice) })).json() as { calendars: { id: string }[] }).calendars[0]!.id;
}, 60_000);
afterAll(() => h?.close());

const event = (rrule: string) => ({ title: 'Never', start: '2026-01-05T09:00', end: '2026-01-05T10:00', startTz: 'Europe/Berlin', rrule });

/** Runs requests in a child API on this database; null for a request that got no answer before the deadline. */
function inChild(requests: { method: 'GET' | 'POST'; url: string; payload?: object }[], deadlineMs: number): Promise<({ status: number; body: string } | null)[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'support', 'api-child.ts'), h.db.connectionString, JSON.stringify(requests.map((r) => ({ ...r, token: alice })))], {
      cwd: join(import.meta.dirname, '..'),
      env: childEnvironment({}),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
    child.on('error', reject);
    child.on('exit', () => {
      clearTimeout(timer);
      const answers = out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { status: number; body: string });
      resolve(requests.map((_, i) => answers[i] ?? null));
    });
  });
}

const ics = (rrule: string) => ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//test//EN', 'BEGIN:VEVENT', 'UID:stuck@example.test', 'DTSTAMP:20260101T000000Z', 'DTSTART:20260105T090000Z', 'DTEND:20260105T100000Z', `RRULE:${rrule}`, 'SUMMARY:Stuck', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');

describe('recurrence rules ical.js cannot step through', () => {
  it('rules that match no date are refused 400 at once, never left blocking the process', { timeout: 120_000 }, async () => {
    const rules = ['FREQ=DAILY;COUNT=2;BYMONTH=2;BYMONTHDAY=30', 'FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30', 'FREQ=WEEKLY;BYMONTH=4;BYMONTHDAY=31;BYDAY=MO', 'FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=31', 'FREQ=DAILY;BYMONTHDAY=-1'];
    const answers = await inChild(
      [
        ...rules.map((r) => ({ method: 'POST' as const, url: `/api/v1/calendars/${cal}/events`, payload: event(r) })),
        { method: 'POST', url: `/api/v1/calendars/${cal}/import`, payload: { ics: ics('FREQ=DAILY;BYMONTH=11;BYMONTHDAY=31') } },
        { method: 'GET', url: '/api/v1/occurrences?from=2026-01-01&to=2026-03-01&tz=UTC' },
      ],
      60_000,
    );
    // Before the guard: no answer at all (the child's event loop stuck in ical.js, killed at the deadline).
    answers.forEach((a, i) => expect(a, `request ${i} got no answer within 60 s`).not.toBeNull());
    for (const [i, rule] of rules.entries()) {
      expect(answers[i]!.status, `${rule}: ${answers[i]!.body}`).toBe(400);
      expect(answers[i]!.body).toContain('CALENDAR_RECURRENCE_INVALID');
    }
    expect(answers[0]!.body).toMatch(/matches no date in 4000 days/);
    expect(answers[rules.length]!.status).toBe(400);
    expect(answers[rules.length + 1]!.status).toBe(200);
  });

  it('a WEEKLY rule with BYMONTHDAY (which ical.js refuses only when stepping) is refused 400, open-ended or not, and the occurrences query still answers', async () => {
    for (const rule of ['FREQ=WEEKLY;COUNT=3;BYMONTHDAY=1', 'FREQ=WEEKLY;BYMONTHDAY=1']) {
      const res = await h.app.inject({ method: 'POST', url: `/api/v1/calendars/${cal}/events`, headers: bearer(alice), payload: event(rule) });
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json()).toMatchObject({ error: { code: 'CALENDAR_RECURRENCE_INVALID', message: expect.stringContaining('BYMONTHDAY') } });
    }
    const occ = await h.app.inject({ method: 'GET', url: '/api/v1/occurrences?from=2026-01-01&to=2026-03-01&tz=UTC', headers: bearer(alice) });
    expect(occ.statusCode, occ.body).toBe(200);
  });

  it('rare but real rules are kept: every 29 February, every Friday the 13th', async () => {
    const leap = await h.app.inject({ method: 'POST', url: `/api/v1/calendars/${cal}/events`, headers: bearer(alice), payload: { ...event('FREQ=DAILY;COUNT=2;BYMONTH=2;BYMONTHDAY=29'), title: 'Leap day' } });
    expect(leap.statusCode, leap.body).toBe(200);
    const friday = await h.app.inject({ method: 'POST', url: `/api/v1/calendars/${cal}/events`, headers: bearer(alice), payload: { ...event('FREQ=DAILY;BYDAY=FR;BYMONTHDAY=13'), title: 'Friday 13th' } });
    expect(friday.statusCode, friday.body).toBe(200);
    const starts = async (title: string, from: string, to: string) => {
      const occ = await h.app.inject({ method: 'GET', url: `/api/v1/occurrences?from=${from}&to=${to}&tz=UTC`, headers: bearer(alice) });
      expect(occ.statusCode, occ.body).toBe(200);
      return (occ.json() as { occurrences: { title: string; start: string }[] }).occurrences.filter((o) => o.title === title).map((o) => o.start.slice(0, 10));
    };
    // DTSTART (a Monday, 5 January 2026) is the first instance, as RFC 5545 has it.
    expect(await starts('Leap day', '2028-01-01', '2028-12-31')).toEqual(['2028-02-29']);
    expect(await starts('Friday 13th', '2026-01-01', '2026-12-31')).toEqual(['2026-01-05', '2026-02-13', '2026-03-13', '2026-11-13']);
  });
});

describe('a series stored before the guard', () => {
  it('stops where its rule fails, truncated, and the other series of the query still expand', () => {
    const stuck = seriesOf(parseIcs(ics('FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30')))[0]!;
    const weekly = seriesOf(parseIcs(ics('FREQ=WEEKLY;BYMONTHDAY=1')))[0]!;
    const fine = seriesOf(parseIcs(ics('FREQ=WEEKLY;COUNT=3')))[0]!;
    const from = new Date('2026-01-01T00:00:00Z');
    const to = new Date('2026-03-01T00:00:00Z');
    const budget = () => ({ occurrences: 1000, iterations: 100_000 });
    for (const series of [stuck, weekly]) {
      const r = expandSeries(series, from, to, 'UTC', budget(), '2026-01-01', '2026-03-01');
      expect(r.truncated).toBe(true);
      expect(r.occurrences.length).toBeLessThanOrEqual(1);
      expect(() => summarise(series)).toThrow(IcsError);
    }
    expect(expandSeries(fine, from, to, 'UTC', budget(), '2026-01-01', '2026-03-01').occurrences).toHaveLength(3);
  });
});
