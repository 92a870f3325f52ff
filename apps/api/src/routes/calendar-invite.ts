/**
 * Invitation routes (packages/contract/src/calendar-invite.ts, docs/calendar.md "Invitations"):
 * answering an invitation, the reader's invitation card, and proposals from outside (COUNTER).
 * The mails themselves are written by src/calendar/imip.ts when the organizer saves the event.
 */
import type { FastifyInstance } from 'fastify';
import type ICAL from 'ical.js';
import type { z } from 'zod';
import { counterDecline, counterList, eventRespond, invitationInspect, MAX_INVITATION_ICS_BYTES, type invitationConflict } from '@sealmail/contract';
import { defineRoute } from '../http/route';
import { requireSession } from '../auth/plugin';
import type { ApiDeps } from '../deps';
import { DEFAULT_BUDGET, expandSeries } from '../calendar/ical';
import { viewOf } from '../calendar/event';
import { Invitations } from '../calendar/imip';
import { CalendarStore, icsApiError } from '../calendar/store';

const DAY = 86_400_000;
type Conflict = z.infer<typeof invitationConflict>;

export async function calendarInviteRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const store = new CalendarStore(deps);
  const invitations = new Invitations(deps, store);
  const session = { preHandler: requireSession(deps) };

  defineRoute(
    app,
    eventRespond,
    async (req) => {
      const s = req.session!;
      const c = await store.own(s.userId, req.params.id);
      const e = await store.event(c.id, req.params.eventId);
      const series = await invitations.respond(s.user, e, req.body.partstat);
      return viewOf(series, { id: e.id, calendarId: c.id });
    },
    session,
  );

  /** The user's busy events overlapping the next occurrences (up to 10, within 60 days) of a series. */
  async function conflicts(userId: string, row: { id: string; startUtc: Date }, series: ICAL.Component[]): Promise<Conflict[]> {
    const from = new Date(Math.max(deps.now().getTime(), row.startUtc.getTime()) - DAY);
    const to = new Date(from.getTime() + 60 * DAY);
    const span = (o: { start: string; end: string; allDay: boolean }) => [new Date(o.allDay ? `${o.start}T00:00:00Z` : o.start).getTime(), new Date(o.allDay ? `${o.end}T00:00:00Z` : o.end).getTime()] as const;
    const dates = { fromDate: from.toISOString().slice(0, 10), toDate: to.toISOString().slice(0, 10) };
    const budget = () => ({ occurrences: 200, iterations: DEFAULT_BUDGET.maxIterations / 10 });
    const mine = expandSeries(series, from, to, 'UTC', budget(), dates.fromDate, dates.toDate).occurrences.slice(0, 10).map(span);
    if (!mine.length) return [];
    const cals = await store.calendars(userId, 'Calendar');
    const rows = await deps.db.calendarEvent.findMany({ where: { calendarId: { in: cals.map((c) => c.id) }, id: { not: row.id }, transparent: false, startUtc: { lt: to }, OR: [{ endUtc: null }, { endUtc: { gt: from } }] }, take: 500 });
    const out: Conflict[] = [];
    for (const r of rows) {
      for (const o of expandSeries(store.open(r), from, to, 'UTC', budget(), dates.fromDate, dates.toDate).occurrences) {
        const [s, e] = span(o);
        if (o.component.getFirstPropertyValue('transp')?.toString().toUpperCase() === 'TRANSPARENT') continue;
        if (mine.some(([ms, me]) => s < me && ms < e)) out.push({ title: String(o.component.getFirstPropertyValue('summary') ?? ''), start: o.start, end: o.end, allDay: o.allDay });
        if (out.length >= 10) return out;
      }
    }
    return out;
  }

  defineRoute(
    app,
    invitationInspect,
    async (req) => {
      const s = req.session!;
      await invitations.applyPending(s.userId);
      const { method, copy } = await invitations.inspect(s.userId, req.body.ics).catch((err: unknown) => icsApiError(err, 'body.ics'));
      if (!copy) return { method, invitation: null };
      const series = store.open(copy);
      const event = viewOf(series, { id: copy.id, calendarId: copy.calendarId });
      const me = `${s.user.localPart}@${s.user.domain.name}`.toLowerCase();
      const partstat = event.organizer?.email.toLowerCase() === me ? null : (event.attendees.find((a) => a.email.toLowerCase() === me)?.partstat ?? null);
      return { method, invitation: { event, partstat, conflicts: await conflicts(s.userId, copy, series) } };
    },
    { ...session, bodyLimit: MAX_INVITATION_ICS_BYTES + 16 * 1024 },
  );

  defineRoute(app, counterList, async (req) => ({ counters: await invitations.counters(req.session!.userId) }), session);
  defineRoute(
    app,
    counterDecline,
    async (req) => {
      await invitations.declineCounter(req.session!.user, req.params.id);
      return { declined: true as const };
    },
    session,
  );
}
