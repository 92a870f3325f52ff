/**
 * Calendar reminders from the pg-boss queue (real Postgres): an event's VALARM becomes a job due at
 * the alarm; the API process that scheduled it is shut down before it is due, a new one starts on
 * the same database, and the reminder still reaches the owner's event stream (kind `reminder`).
 * The alarm is a near-future real time (pg-boss reads Postgres's clock): up to ~80 s of waiting.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { calendarList, eventView } from '@sealmail/contract';
import type { MailEvent } from '@sealmail/mailstore';
import { createLogger } from '@sealmail/server';
import { alarmsOf } from '../src/calendar/reminders';
import { buildApp } from '../src/app';
import { bearer, harness, userIdOf, type Harness } from './helpers';

let h: Harness;
let second: FastifyInstance | null = null;

beforeAll(async () => {
  h = await harness({}, { reminders: true });
}, 120_000);
afterAll(async () => {
  await second?.close();
  await h?.close();
});

it('a reminder scheduled before a restart fires from the queue after it', { timeout: 240_000 }, async () => {
  const { token } = await h.deviceSignIn('alice@example.test');
  const aliceId = await userIdOf(h, 'alice@example.test');
  const cal = calendarList.response.parse((await h.app.inject({ method: 'GET', url: '/api/v1/calendars', headers: bearer(token) })).json()).calendars[0]!.id;
  // The next whole minute at least 25 s away; the reminder is "at the start" (0 minutes before).
  const start = new Date(Math.ceil((Date.now() + 25_000) / 60_000) * 60_000);
  const wall = (d: Date) => d.toISOString().slice(0, 16);
  const res = await h.app.inject({
    method: 'POST',
    url: `/api/v1/calendars/${cal}/events`,
    headers: bearer(token),
    payload: { title: 'Dentist', start: wall(start), end: wall(new Date(start.getTime() + 1_800_000)), startTz: 'UTC', endTz: 'UTC', reminders: [{ minutesBefore: 0, byMail: true }] },
  });
  expect(res.statusCode, res.body).toBe(200);
  const ev = eventView.parse(res.json());
  expect(ev.reminders).toEqual([{ minutesBefore: 0, byMail: true }]);
  // The job waits in pg-boss's tables, due at the alarm.
  const jobs = await h.db.prisma.$queryRawUnsafe<{ start_after: Date; data: { eventId: string } }[]>(`SELECT start_after, data FROM pgboss.job WHERE name = 'sealmail-calendar-reminders'`);
  expect(jobs).toHaveLength(1);
  expect(jobs[0]!.data.eventId).toBe(ev.id);
  expect(jobs[0]!.start_after.getTime()).toBe(start.getTime());

  // Restart: this process goes away before the alarm; another starts on the same database.
  await h.app.close();
  expect(Date.now()).toBeLessThan(start.getTime());
  const seen: MailEvent[] = [];
  h.events.subscribe(aliceId, (e) => seen.push(e));
  second = await buildApp({ logger: createLogger({ level: 'silent' }), db: h.db.prisma, version: '1.2.3', serverKey: h.serverKey, events: h.events, mailHosts: { smtp: 'mx.example.test', public: 'mail.example.test' }, reminders: { connectionString: h.db.connectionString, sweepSeconds: 0 } });
  await expect.poll(() => seen.find((e) => e.kind === 'reminder'), { timeout: 150_000, interval: 500 }).toEqual({ kind: 'reminder', entryId: ev.id, folder: cal, at: start.toISOString() });
  expect(seen.filter((e) => e.kind === 'reminder')).toHaveLength(1);
  // Asked for by mail too: a mail in Alice's Inbox, sealed by the server to her key (no plaintext stored).
  await expect.poll(() => h.db.prisma.mailboxEntry.count({ where: { userId: aliceId, folder: 'inbox' } }), { timeout: 30_000 }).toBe(1);
  const entry = await h.db.prisma.mailboxEntry.findFirstOrThrow({ where: { userId: aliceId, folder: 'inbox' }, include: { message: true } });
  expect(entry.message.senderAddress).toBe('calendar-reminders@mx.example.test');
  expect(entry.message.protection).toBe('server');
  expect(Buffer.from(entry.message.body).includes('Dentist')).toBe(false);
});

it('alarm times follow the occurrences and the trigger (before the start, or after the end)', async () => {
  const { parseIcs, seriesOf } = await import('../src/calendar/ical');
  const series = seriesOf(
    parseIcs(
      'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART;TZID=Europe/Berlin:20260323T090000\r\nDTEND;TZID=Europe/Berlin:20260323T100000\r\nRRULE:FREQ=WEEKLY;COUNT=3\r\n' +
        'BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\nEND:VALARM\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER;RELATED=END:PT0M\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n',
    ),
  )[0]!;
  const alarms = alarmsOf(series, Date.parse('2026-03-23T00:00:00Z'), Date.parse('2026-04-30T00:00:00Z')).map((a) => new Date(a.fireAt).toISOString());
  // 09:00 Berlin is 08:00 UTC before 29 March and 07:00 UTC after (DST).
  expect(alarms).toEqual(['2026-03-23T07:45:00.000Z', '2026-03-23T09:00:00.000Z', '2026-03-30T06:45:00.000Z', '2026-03-30T08:00:00.000Z', '2026-04-06T06:45:00.000Z', '2026-04-06T08:00:00.000Z']);
});
