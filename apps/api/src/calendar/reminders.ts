/**
 * Reminders (docs/calendar.md "Reminders"): each event's VALARMs become pg-boss jobs in the same
 * Postgres as the outbound relay's, due at the alarm's instant (`startAfter`), so a restart of the
 * API loses none. One job per event at a time: the next alarm. When it runs it checks the event
 * still has an alarm at that instant (an edit or delete since makes the job a no-op), tells the
 * owner's open web clients through the mail event stream (kind `reminder`) and queues the next.
 * Job ids are derived from (event, instant), so scheduling the same alarm twice queues it once.
 * A sweep (at start and daily) queues alarms that come into the look-ahead window.
 */
import { createHash } from 'node:crypto';
import ICAL from 'ical.js';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { deliverLocal } from '@sealmail/mailstore';
import type { Logger } from '@sealmail/server';
import type { ApiDeps } from '../deps';
import { expandSeries } from './ical';
import type { CalendarStore } from './store';
import { QueueWorker } from '../queue-worker';

const QUEUE = 'sealmail-calendar-reminders';
/** Alarms are looked for this far ahead of now (the daily sweep covers later ones). */
const LOOK_AHEAD_MS = 35 * 86_400_000;
/** The longest reminder the editor offers (4 weeks) plus a day. */
const MAX_OFFSET_MS = 29 * 86_400_000;

export interface RemindersOptions {
  /** Postgres for the job queue (pg-boss's own schema). */
  connectionString: string;
  /** How often to sweep for alarms coming into the look-ahead window (seconds; 0: only at start). */
  sweepSeconds?: number;
}

interface Alarm {
  fireAt: number;
  startsAt: string;
  /** ACTION:EMAIL: also mailed to the calendar's owner. */
  byMail: boolean;
  title: string;
}

/** The alarms of a series firing in (after, until]. Floating and all-day times are read in UTC. */
export function alarmsOf(series: ICAL.Component[], after: number, until: number): Alarm[] {
  const budget = { occurrences: 2000, iterations: 100_000 };
  const from = new Date(after);
  const to = new Date(until + MAX_OFFSET_MS);
  const { occurrences } = expandSeries(series, from, to, 'UTC', budget, from.toISOString().slice(0, 10), to.toISOString().slice(0, 10));
  const out: Alarm[] = [];
  for (const o of occurrences) {
    const start = o.allDay ? Date.parse(`${o.start}T00:00:00Z`) : Date.parse(o.start);
    const end = o.allDay ? Date.parse(`${o.end}T00:00:00Z`) : Date.parse(o.end);
    for (const a of o.component.getAllSubcomponents('valarm')) {
      const prop = a.getFirstProperty('trigger');
      const v = prop?.getFirstValue();
      let fireAt: number;
      if (v instanceof ICAL.Duration) fireAt = (String(prop!.getParameter('related') ?? '').toUpperCase() === 'END' ? end : start) + v.toSeconds() * 1000;
      else if (v instanceof ICAL.Time) fireAt = v.toUnixTime() * 1000;
      else continue;
      if (fireAt > after && fireAt <= until) {
        const title = String(o.component.getFirstPropertyValue('summary') ?? '');
        out.push({ fireAt, startsAt: o.start, byMail: String(a.getFirstPropertyValue('action') ?? '').toUpperCase() === 'EMAIL', title });
      }
    }
  }
  return out.sort((x, y) => x.fireAt - y.fireAt);
}

/** A UUID derived from the event and instant (pg-boss ignores a second job with the same id). */
const jobId = (eventId: string, fireAt: number) => {
  const h = createHash('sha256').update(`${eventId}|${fireAt}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

export class Reminders {
  private readonly queue: QueueWorker<{ eventId: string; fireAt: number }>;

  constructor(
    private readonly deps: ApiDeps,
    private readonly store: CalendarStore,
    private readonly logger: Logger,
    opts: RemindersOptions,
  ) {
    this.queue = new QueueWorker(logger, {
      connectionString: opts.connectionString,
      queue: QUEUE,
      label: 'reminder',
      work: (job) => this.fire(job.eventId, job.fireAt),
      sweep: () => this.sweep(),
      sweepSeconds: opts.sweepSeconds ?? 86_400,
      sweepAtStart: true,
    });
  }

  start(): Promise<void> {
    return this.queue.start();
  }

  stop(): Promise<void> {
    return this.queue.stop();
  }

  /** Queues the event's next alarm after `after` (default now); nothing when it has none soon. */
  async schedule(eventId: string, after = this.deps.now().getTime()): Promise<void> {
    if (!this.queue.started) return;
    const row = await this.deps.db.calendarEvent.findUnique({ where: { id: eventId } });
    if (!row) return;
    const next = alarmsOf(this.store.open(row), after, after + LOOK_AHEAD_MS)[0];
    if (!next) return;
    await this.queue.send({ eventId, fireAt: next.fireAt }, { id: jobId(eventId, next.fireAt), startAfter: new Date(next.fireAt), retryLimit: 3, retryDelay: 30 });
  }

  /** Queues the next alarm of every event that may have one within the look-ahead window. */
  async sweep(): Promise<void> {
    const now = this.deps.now().getTime();
    const rows = await this.deps.db.calendarEvent.findMany({
      where: { startUtc: { lt: new Date(now + LOOK_AHEAD_MS + MAX_OFFSET_MS) }, OR: [{ endUtc: null }, { endUtc: { gt: new Date(now - 86_400_000) } }] },
      select: { id: true },
      take: 100_000,
    });
    for (const r of rows) await this.schedule(r.id, now).catch((err: unknown) => this.logger.warn({ err, eventId: r.id }, 'reminder not scheduled'));
  }

  /** The job: deliver the alarm if the event still has it, then queue the next. */
  async fire(eventId: string, fireAt: number): Promise<void> {
    const row = await this.deps.db.calendarEvent.findUnique({ where: { id: eventId }, include: { calendar: { select: { userId: true } } } });
    if (!row) return;
    const alarm = alarmsOf(this.store.open(row), fireAt - 1, fireAt).find((a) => a.fireAt === fireAt);
    if (alarm) {
      await this.deps.events.publish(this.deps.db, row.calendar.userId, { entryId: eventId, folder: row.calendarId, kind: 'reminder', at: alarm.startsAt });
      if (alarm.byMail) await this.mail(row.calendar.userId, alarm).catch((err: unknown) => this.logger.warn({ err: (err as Error).message, eventId }, 'calendar reminder mail not delivered'));
      this.logger.info({ eventId, byMail: alarm.byMail }, 'calendar reminder delivered');
    }
    await this.schedule(eventId, fireAt);
  }

  /** The reminder as a mail into the owner's Inbox, sealed by the server to their key like any mail it writes. */
  private async mail(userId: string, alarm: Alarm): Promise<void> {
    const user = await this.deps.db.user.findUnique({ where: { id: userId }, select: { localPart: true, domain: { select: { name: true } } } });
    if (!user) return;
    const to = `${user.localPart}@${user.domain.name}`;
    const host = this.deps.mailHosts.smtp;
    const when = alarm.startsAt.length === 10 ? alarm.startsAt : `${alarm.startsAt.replace('T', ' ').slice(0, 16)} UTC`;
    const title = alarm.title || 'Event';
    const raw = await new MailComposer({
      from: { name: 'Sealmail Calendar', address: `calendar-reminders@${host}` },
      to,
      subject: `Reminder: ${title} (${when})`,
      text: `${title}\nStarts: ${when}\n\nThis reminder was set on the event in your Sealmail calendar.`,
      date: this.deps.now(),
      headers: { 'Auto-Submitted': 'auto-generated' },
    })
      .compile()
      .build();
    await deliverLocal({ db: this.deps.db, blobs: this.deps.blobs, hostname: host, now: this.deps.now, logger: this.logger, serverPublicKey: this.deps.serverKey.publicKey }, raw, { mailFrom: '', recipients: [{ address: to, userId }] });
  }
}
