/**
 * Calendar routes (packages/contract/src/calendar.ts, docs/calendar.md). Every calendar belongs to
 * one user; another user's (of this or another organisation) answers NOT_FOUND.
 */
import type { FastifyInstance } from 'fastify';
import ICAL from 'ical.js';
import type {
  eventInput} from '@sealmail/contract';
import {
  ApiError,
  calendarCreate,
  calendarDelete,
  calendarExport,
  calendarFeed,
  calendarFeedCreate,
  calendarFeedRevoke,
  calendarImport,
  calendarList,
  calendarUpdate,
  eventCreate,
  eventDelete,
  eventGet,
  eventUpdate,
  MAX_CALENDARS,
  MAX_ICS_BYTES,
  MAX_OCCURRENCE_RANGE_DAYS,
  type OccurrenceView,
} from '@sealmail/contract';
import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { defineRoute } from '../http/route';
import { requireSession } from '../auth/plugin';
import type { ApiDeps } from '../deps';
import { calendarOf, DEFAULT_BUDGET, expandSeries, parseIcs, seriesOf, viewerDates, zonesUsed } from '../calendar/ical';
import { deleteFromSeries, editSeries, veventFromInput, viewOf } from '../calendar/event';
import { CalendarStore, feedTokenHash, icsApiError, newFeedToken } from '../calendar/store';
import { Invitations, storedOrganizer } from '../calendar/imip';
import { isViewerZone, vtimezoneText, wallClock, zoneFor } from '../calendar/zones';
import { occurrenceList } from '@sealmail/contract';
import { answerForResources } from '../calendar/resources';
import { actingFor, delegateAudit, inviterFor } from '../calendar/delegation';

const DEFAULT_NAME = 'Calendar';
type Input = z.output<typeof eventInput>;

export async function calendarRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const store = new CalendarStore(deps);
  /** iMIP mails after an organizer's writes (docs/calendar.md "Invitations"). */
  const invitations = new Invitations(deps, store);
  const session = { preHandler: requireSession(deps) };
  const view = (c: { id: string; name: string; color: string; isDefault: boolean; feedTokenHash: string | null }) => ({ id: c.id, name: store.openName(c), color: c.color, isDefault: c.isDefault, hasFeed: c.feedTokenHash !== null });
  const organizerOf = (u: { localPart: string; displayName: string; domain: { name: string } }) => ({ email: `${u.localPart}@${u.domain.name}`, name: u.displayName });
  const guard = <T>(fn: () => T, field = 'body'): T => {
    try {
      return fn();
    } catch (err) {
      return icsApiError(err, field);
    }
  };
  /** The VEVENTs to store as one row (no VTIMEZONE: zones come from the IANA database on load). */
  const wrap = (events: ICAL.Component[]) => calendarOf(events);

  defineRoute(app, calendarList, async (req) => ({ calendars: (await store.calendars(req.session!.userId, DEFAULT_NAME)).map(view) }), session);
  defineRoute(
    app,
    calendarCreate,
    async (req) => {
      const userId = req.session!.userId;
      await store.calendars(userId, DEFAULT_NAME);
      if ((await deps.db.calendar.count({ where: { userId } })) >= MAX_CALENDARS) throw new ApiError('VALIDATION_FAILED', 'body.name', `body.name: at most ${MAX_CALENDARS} calendars; delete one first.`);
      const id = randomUUID();
      return view(await deps.db.calendar.create({ data: { id, userId, name: store.sealName(id, req.body.name), color: req.body.color } }));
    },
    session,
  );
  defineRoute(
    app,
    calendarUpdate,
    async (req) => {
      const c = await store.own(req.session!.userId, req.params.id);
      return view(await deps.db.calendar.update({ where: { id: c.id }, data: { ...(req.body.name ? { name: store.sealName(c.id, req.body.name) } : {}), ...(req.body.color ? { color: req.body.color } : {}) } }));
    },
    session,
  );
  defineRoute(
    app,
    calendarDelete,
    async (req) => {
      const c = await store.own(req.session!.userId, req.params.id);
      if (c.isDefault) throw new ApiError('CALENDAR_DEFAULT_UNDELETABLE');
      await deps.db.calendar.delete({ where: { id: c.id } });
      return { deleted: true as const };
    },
    session,
  );

  defineRoute(
    app,
    eventCreate,
    async (req) => {
      const s = req.session!;
      const c = await store.access(s.userId, req.params.id, 'manage');
      const organizer = await actingFor(deps, c, s.user, organizerOf);
      const vevent = guard(() => veventFromInput(req.body as Input, { organizer, now: deps.now() }));
      const id = randomUUID();
      const rooms = await answerForResources(deps.db, store, s.user.accountId, id, [vevent], deps.now());
      const row = guard(() => store.row(id, [vevent], wrap));
      const inviter = await inviterFor(deps, c, s.user);
      await invitations.precheck(inviter, req.body.attendees ?? []);
      await store.assertRoom(c.id);
      await deps.db.calendarEvent.create({ data: { id, calendarId: c.id, ...row } });
      await rooms.commit();
      await deps.reminders?.schedule(id);
      if (c.delegated) await delegateAudit(deps, s, c, 'calendar.delegate.event.create', id);
      await invitations.afterWrite(inviter, null, [vevent]);
      return viewOf([vevent], { id, calendarId: c.id });
    },
    session,
  );
  defineRoute(
    app,
    eventGet,
    async (req) => {
      const c = await store.access(req.session!.userId, req.params.id, 'view');
      await invitations.applyPending(req.session!.userId);
      const e = await store.event(c.id, req.params.eventId);
      return viewOf(store.open(e), { id: e.id, calendarId: c.id });
    },
    session,
  );
  defineRoute(
    app,
    eventUpdate,
    async (req) => {
      const s = req.session!;
      const c = await store.access(s.userId, req.params.id, 'manage');
      const e = await store.event(c.id, req.params.eventId);
      const acting = await actingFor(deps, c, s.user, organizerOf);
      // A copy of someone else's invitation keeps its ORGANIZER: editing it changes this calendar
      // only and mails nobody (the guest does not become the organizer of the meeting's UID).
      const invitedBy = storedOrganizer(store.open(e));
      const organizer = invitedBy && invitedBy.email !== acting.email.toLowerCase() ? invitedBy : acting;
      const result = guard(() => editSeries(store.open(e), req.body.event as Input, req.body.scope, req.body.recurrenceId, { organizer, now: deps.now() }));
      const createdId = randomUUID();
      const rooms = await answerForResources(deps.db, store, s.user.accountId, e.id, result.series, deps.now());
      const createdRooms = result.created ? await answerForResources(deps.db, store, s.user.accountId, createdId, result.created, deps.now(), [e.id]) : null;
      const row = guard(() => store.row(e.id, result.series, wrap));
      const createdRow = result.created ? guard(() => store.row(createdId, result.created!, wrap)) : null;
      const inviter = await inviterFor(deps, c, s.user);
      if (organizer === acting) await invitations.precheck(inviter, req.body.event.attendees ?? []);
      if (createdRow) await store.assertRoom(c.id);
      const before = store.open(e);
      await deps.db.$transaction(async (tx) => {
        await tx.calendarEvent.update({ where: { id: e.id }, data: row });
        if (createdRow) await tx.calendarEvent.create({ data: { id: createdId, calendarId: c.id, ...createdRow } });
      });
      await rooms.commit();
      await createdRooms?.commit();
      await deps.reminders?.schedule(e.id);
      if (result.created) await deps.reminders?.schedule(createdId);
      if (c.delegated) await delegateAudit(deps, s, c, 'calendar.delegate.event.update', e.id);
      await invitations.afterWrite(inviter, before, result.series);
      if (result.created) await invitations.afterWrite(inviter, null, result.created);
      return { event: viewOf(result.series, { id: e.id, calendarId: c.id }), created: result.created ? viewOf(result.created, { id: createdId, calendarId: c.id }) : null };
    },
    session,
  );
  defineRoute(
    app,
    eventDelete,
    async (req) => {
      const c = await store.access(req.session!.userId, req.params.id, 'manage');
      const e = await store.event(c.id, req.params.eventId);
      const before = store.open(e);
      const left = guard(() => deleteFromSeries(store.open(e), req.query.scope, req.query.recurrenceId), 'query');
      if (left === null) await deps.db.calendarEvent.delete({ where: { id: e.id } });
      else await deps.db.calendarEvent.update({ where: { id: e.id }, data: store.row(e.id, left, wrap) });
      if (c.delegated) await delegateAudit(deps, req.session!, c, 'calendar.delegate.event.delete', e.id);
      await invitations.afterWrite(await inviterFor(deps, c, req.session!.user), before, left);
      return { deleted: true as const };
    },
    session,
  );

  defineRoute(
    app,
    occurrenceList,
    async (req) => {
      const userId = req.session!.userId;
      await invitations.applyPending(userId);
      const tz = req.query.tz;
      if (!isViewerZone(tz)) throw new ApiError('CALENDAR_UNKNOWN_TIME_ZONE', 'query.tz', `query.tz: unknown time zone "${tz}"`);
      const from = instant(req.query.from, tz, 'query.from');
      const to = instant(req.query.to, tz, 'query.to');
      if (to <= from) throw new ApiError('VALIDATION_FAILED', 'query.to', 'query.to: must be after query.from');
      if (to.getTime() - from.getTime() > MAX_OCCURRENCE_RANGE_DAYS * 86_400_000 + 3_600_000) throw new ApiError('CALENDAR_RANGE_TOO_LONG', 'query.to');
      // One calendar (own or shared with the caller: docs/calendar.md "Delegation"), or all own ones.
      const calendars = req.query.calendarId ? [await store.access(userId, req.query.calendarId, 'view')] : await store.calendars(userId, DEFAULT_NAME);
      const colors = new Map(calendars.map((c) => [c.id, c.color]));
      // Candidate rows by the clear span (all-day and floating rows are widened by a day each side).
      const rows = await deps.db.calendarEvent.findMany({
        where: { calendarId: { in: calendars.map((c) => c.id) }, startUtc: { lt: new Date(to.getTime() + 86_400_000 * 2) }, OR: [{ endUtc: null }, { endUtc: { gt: new Date(from.getTime() - 86_400_000 * 2) } }] },
        orderBy: { startUtc: 'asc' },
        take: 20_000,
      });
      const budget = { occurrences: DEFAULT_BUDGET.maxOccurrences, iterations: DEFAULT_BUDGET.maxIterations };
      const { fromDate, toDate } = viewerDates(from, to, tz);
      const out: OccurrenceView[] = [];
      let truncated = rows.length === 20_000;
      for (const row of rows) {
        if (budget.occurrences <= 0 || budget.iterations <= 0) {
          truncated = true;
          break;
        }
        const series = store.open(row);
        const r = expandSeries(series, from, to, tz, budget, fromDate, toDate);
        truncated ||= r.truncated;
        for (const o of r.occurrences) {
          const get = (n: string) => {
            const v = o.component.getFirstPropertyValue(n);
            return v === null || v === undefined ? undefined : String(v);
          };
          const location = get('location');
          out.push({
            eventId: row.id,
            calendarId: row.calendarId,
            recurrenceId: o.recurrenceId,
            title: get('summary') ?? '',
            ...(location ? { location } : {}),
            allDay: o.allDay,
            start: o.start,
            end: o.end,
            localStart: o.allDay ? o.start : wallClock(new Date(o.start), tz),
            localEnd: o.allDay ? o.end : wallClock(new Date(o.end), tz),
            tz: o.tz,
            recurring: o.recurring,
            isException: o.isException,
            transparent: get('transp')?.toUpperCase() === 'TRANSPARENT',
            color: colors.get(row.calendarId) ?? '#3366cc',
          });
        }
      }
      out.sort((a, b) => (a.allDay === b.allDay ? a.localStart.localeCompare(b.localStart) : a.allDay ? -1 : 1));
      return { occurrences: out, truncated };
    },
    session,
  );

  defineRoute(
    app,
    calendarImport,
    async (req) => {
      const c = await store.own(req.session!.userId, req.params.id);
      const all = guard(() => seriesOf(parseIcs(req.body.ics)), 'body.ics');
      let imported = 0;
      let updated = 0;
      // A series of a UID the calendar holds already is updated under its row's id (the seal is
      // bound to it); the others get new ids.
      const uids = all.map((series) => store.uidDigest(String((series.find((v) => !v.hasProperty('recurrence-id')) ?? series[0]!).getFirstPropertyValue('uid') ?? '')));
      const held = new Map((await deps.db.calendarEvent.findMany({ where: { calendarId: c.id, uidDigest: { in: uids } }, select: { id: true, uidDigest: true } })).map((r) => [r.uidDigest, r.id]));
      // Rooms and equipment an imported series names are asked as when it is saved (an import
      // books nothing by itself, and an update keeps no booking the room did not answer for).
      const rooms: Awaited<ReturnType<typeof answerForResources>>[] = [];
      const rows: { id: string; existing: boolean; row: ReturnType<typeof store.row> }[] = [];
      for (const [i, series] of all.entries()) {
        const existing = held.get(uids[i]!);
        const id = existing ?? randomUUID();
        if (existing || series.some((v) => v.hasProperty('attendee'))) rooms.push(await answerForResources(deps.db, store, req.session!.user.accountId, id, series, deps.now()).catch((err: unknown) => icsApiError(err, 'body.ics')));
        rows.push({ id, existing: !!existing, row: guard(() => store.row(id, series, wrap), 'body.ics') });
      }
      await deps.db.$transaction(async (tx) => {
        // Series not in the calendar yet must fit in it (updates of ones it holds always do).
        await store.assertRoom(c.id, rows.filter((r) => !r.existing).length, tx);
        for (const { id, existing, row } of rows) {
          if (existing) {
            await tx.calendarEvent.update({ where: { id }, data: row });
            updated++;
          } else {
            await tx.calendarEvent.create({ data: { id, calendarId: c.id, ...row } });
            imported++;
          }
        }
      });
      for (const r of rooms) await r.commit();
      if (deps.reminders) for (const { id } of rows) await deps.reminders.schedule(id).catch(() => undefined);
      return { imported, updated };
    },
    { ...session, bodyLimit: MAX_ICS_BYTES + 64 * 1024 },
  );

  async function exportText(calendar: { id: string; name: string }) {
    const rows = await deps.db.calendarEvent.findMany({ where: { calendarId: calendar.id }, orderBy: { startUtc: 'asc' } });
    const events = rows.flatMap((r) => store.open(r));
    const zones = [...zonesUsed(events)].map(vtimezoneText).filter((t): t is string => t !== null);
    return calendarOf(events, zones, store.openName(calendar));
  }
  defineRoute(
    app,
    calendarExport,
    async (req, reply) => {
      const c = await store.own(req.session!.userId, req.params.id);
      void reply.header('content-type', 'text/calendar; charset=utf-8').header('content-disposition', 'attachment; filename="calendar.ics"').header('cache-control', 'no-store');
      return exportText(c);
    },
    session,
  );
  defineRoute(
    app,
    calendarFeedCreate,
    async (req) => {
      const c = await store.own(req.session!.userId, req.params.id);
      const { token, hash } = newFeedToken();
      await deps.db.calendar.update({ where: { id: c.id }, data: { feedTokenHash: hash } });
      const origin = deps.origins.web[0] ?? '';
      return { token, url: `${origin}/api/v1/calendar-feeds/${token}.ics` };
    },
    session,
  );
  defineRoute(
    app,
    calendarFeedRevoke,
    async (req) => {
      const c = await store.own(req.session!.userId, req.params.id);
      await deps.db.calendar.update({ where: { id: c.id }, data: { feedTokenHash: null } });
      return { revoked: true as const };
    },
    session,
  );
  defineRoute(app, calendarFeed, async (req, reply) => {
    const token = req.params.token.slice(0, -'.ics'.length);
    const c = await deps.db.calendar.findUnique({ where: { feedTokenHash: feedTokenHash(token) } });
    if (!c) throw new ApiError('NOT_FOUND');
    void reply.header('content-type', 'text/calendar; charset=utf-8').header('cache-control', 'no-store');
    return exportText(c);
  });
}

/** `YYYY-MM-DD` (midnight in tz) or an ISO instant with offset. */
function instant(value: string, tz: string, field: string): Date {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const [y, m, d] = value.split('-').map(Number) as [number, number, number];
    const t = new ICAL.Time({ year: y, month: m, day: d, hour: 0, minute: 0, second: 0, isDate: false }, zoneFor(tz) ?? ICAL.Timezone.utcTimezone);
    if (t.month !== m || t.day !== d) throw new ApiError('VALIDATION_FAILED', field, `${field}: ${value} is not a calendar date`);
    return new Date(t.toUnixTime() * 1000);
  }
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value)) throw new ApiError('VALIDATION_FAILED', field, `${field}: expected YYYY-MM-DD or an ISO 8601 instant with offset`);
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new ApiError('VALIDATION_FAILED', field, `${field}: not a valid instant`);
  return d;
}


