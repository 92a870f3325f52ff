/**
 * Scheduling routes of the calendar (packages/contract/src/calendar-sched.ts, docs/calendar.md):
 * free/busy of colleagues, rooms and equipment of the organisation; rooms and equipment made by
 * admins (docs/admin.md "Resources"); delegation of a calendar to a colleague. Free/busy answers
 * busy instants only, and only within the caller's organisation: anyone else is NOT_FOUND, the
 * same as an address nobody has.
 */
import type { FastifyInstance } from 'fastify';
import {
  adminResourceCreate,
  adminResourceDelete,
  adminResourceUpdate,
  ApiError,
  calendarGrantList,
  calendarGrantPut,
  calendarGrantRevoke,
  freeBusy,
  MAX_FREEBUSY_DAYS,
  resourceList,
  sharedCalendarList,
} from '@sealmail/contract';
import { addressInUse, recordAudit, splitAddress } from '@sealmail/db';
import { defineRoute } from '../http/route';
import { requireSession } from '../auth/plugin';
import type { ApiDeps } from '../deps';
import { CalendarStore } from '../calendar/store';
import { blocksOf, busyIntervals } from '../calendar/busy';
import { resourceAddress } from '../calendar/resources';

const DEFAULT_NAME = 'Calendar';

export async function calendarSchedRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const store = new CalendarStore(deps);
  const session = { preHandler: requireSession(deps) };
  const admin = { preHandler: requireSession(deps, { role: 'admin' }) };
  const resourceInclude = { domain: { select: { name: true } } };
  const resourceView = (r: { id: string; localPart: string; kind: string; name: string; capacity: number | null; location: string | null; maxBookingMinutes: number | null; bookingHorizonDays: number | null; domain: { name: string } }) => ({
    id: r.id,
    address: resourceAddress(r),
    kind: r.kind === 'equipment' ? ('equipment' as const) : ('room' as const),
    name: r.name,
    capacity: r.capacity,
    location: r.location,
    maxBookingMinutes: r.maxBookingMinutes,
    bookingHorizonDays: r.bookingHorizonDays,
  });

  /** Busy series within [from, to) of some event rows (clear span first, then sealed text). */
  const seriesIn = async (where: object, from: Date, to: Date) => {
    const rows = await deps.db.calendarEvent.findMany({
      where: { AND: [where, { transparent: false }, { startUtc: { lt: new Date(to.getTime() + 2 * 86_400_000) } }, { OR: [{ endUtc: null }, { endUtc: { gt: new Date(from.getTime() - 2 * 86_400_000) } }] }] },
      take: 20_000,
    });
    return rows.map((r) => store.open(r));
  };

  defineRoute(
    app,
    freeBusy,
    async (req) => {
      const me = req.session!.user;
      const from = new Date(req.query.from);
      const to = new Date(req.query.to);
      if (to <= from) throw new ApiError('VALIDATION_FAILED', 'query.to', 'query.to: must be after query.from');
      if (to.getTime() - from.getTime() > MAX_FREEBUSY_DAYS * 86_400_000) throw new ApiError('VALIDATION_FAILED', 'query.to', `query.to: ask for at most ${MAX_FREEBUSY_DAYS} days of free/busy at once`);
      const parts = splitAddress(req.query.address)!;
      const where = { localPart: parts.localPart, domain: { name: parts.domain }, accountId: me.accountId };
      const user = await deps.db.user.findFirst({ where, select: { id: true } });
      if (user) {
        const series = await seriesIn({ calendar: { userId: user.id } }, from, to);
        return { address: req.query.address, kind: 'user' as const, busy: blocksOf(busyIntervals(series, from, to).intervals) };
      }
      const resource = await deps.db.calendarResource.findFirst({ where, select: { id: true, kind: true } });
      if (!resource) throw new ApiError('NOT_FOUND');
      const series = await seriesIn({ bookings: { some: { resourceId: resource.id, accepted: true } } }, from, to);
      return { address: req.query.address, kind: resource.kind === 'equipment' ? ('equipment' as const) : ('room' as const), busy: blocksOf(busyIntervals(series, from, to).intervals) };
    },
    session,
  );

  defineRoute(app, resourceList, async (req) => ({ resources: (await deps.db.calendarResource.findMany({ where: { accountId: req.session!.user.accountId }, include: resourceInclude, orderBy: { name: 'asc' }, take: 5000 })).map(resourceView) }), session);

  defineRoute(
    app,
    adminResourceCreate,
    async (req) => {
      const s = req.session!;
      const { localPart, domain: domainName } = splitAddress(req.body.address)!;
      const domain = await deps.db.domain.findUnique({ where: { name: domainName } });
      if (!domain || domain.accountId !== s.user.accountId) throw new ApiError('VALIDATION_FAILED', 'body.address', `body.address: ${domainName} is not a domain of your organisation.`);
      if (!domain.verifiedAt) throw new ApiError('DOMAIN_UNVERIFIED', 'body.address', `${domainName} is not verified yet: prove it is yours (Domains) before adding addresses to it.`);
      const { address: _address, ...fields } = req.body;
      if (await addressInUse(deps.db, domain.id, localPart)) throw new ApiError('ADDRESS_TAKEN', 'body.address');
      const r = await deps.db.calendarResource
        .create({ data: { accountId: s.user.accountId, domainId: domain.id, localPart, ...fields }, include: resourceInclude })
        .catch((err: unknown) => {
          if ((err as { code?: string }).code === 'P2002') throw new ApiError('ADDRESS_TAKEN', 'body.address');
          throw err;
        });
      await recordAudit(deps.db, { accountId: s.user.accountId, actorUserId: s.userId, action: 'calendar.resource.create', details: { address: req.body.address, kind: r.kind } });
      return resourceView(r);
    },
    admin,
  );
  const ownedResource = async (id: string, accountId: string) => {
    const r = await deps.db.calendarResource.findFirst({ where: { id, accountId }, include: resourceInclude });
    if (!r) throw new ApiError('NOT_FOUND');
    return r;
  };
  defineRoute(
    app,
    adminResourceUpdate,
    async (req) => {
      const s = req.session!;
      const r = await ownedResource(req.params.id, s.user.accountId);
      const updated = await deps.db.calendarResource.update({ where: { id: r.id }, data: req.body, include: resourceInclude });
      await recordAudit(deps.db, { accountId: s.user.accountId, actorUserId: s.userId, action: 'calendar.resource.update', details: { address: resourceAddress(r), ...req.body } });
      return resourceView(updated);
    },
    admin,
  );
  defineRoute(
    app,
    adminResourceDelete,
    async (req) => {
      const s = req.session!;
      const r = await ownedResource(req.params.id, s.user.accountId);
      await deps.db.calendarResource.delete({ where: { id: r.id } });
      await recordAudit(deps.db, { accountId: s.user.accountId, actorUserId: s.userId, action: 'calendar.resource.delete', details: { address: resourceAddress(r) } });
      return { deleted: true as const };
    },
    admin,
  );

  const grantView = (g: { level: string; createdAt: Date; grantee: { id: string; localPart: string; displayName: string; domain: { name: string } } }) => ({
    userId: g.grantee.id,
    address: `${g.grantee.localPart}@${g.grantee.domain.name}`,
    name: g.grantee.displayName,
    level: g.level === 'manage' ? ('manage' as const) : ('view' as const),
    createdAt: g.createdAt.toISOString(),
  });
  const granteeInclude = { grantee: { select: { id: true, localPart: true, displayName: true, domain: { select: { name: true } } } } };

  defineRoute(
    app,
    calendarGrantList,
    async (req) => {
      const c = await store.own(req.session!.userId, req.params.id);
      return { grants: (await deps.db.calendarGrant.findMany({ where: { calendarId: c.id }, include: granteeInclude, orderBy: { createdAt: 'asc' } })).map(grantView) };
    },
    session,
  );
  defineRoute(
    app,
    calendarGrantPut,
    async (req) => {
      const s = req.session!;
      const c = await store.own(s.userId, req.params.id);
      const parts = splitAddress(req.body.address)!;
      const grantee = await deps.db.user.findFirst({ where: { localPart: parts.localPart, domain: { name: parts.domain }, accountId: s.user.accountId }, select: { id: true } });
      if (!grantee || grantee.id === s.userId) throw new ApiError('CALENDAR_GRANTEE_INVALID', 'body.address', grantee ? 'body.address: that is you; name a colleague.' : `body.address: ${req.body.address} is not a user of your organisation.`);
      const g = await deps.db.calendarGrant.upsert({ where: { calendarId_granteeId: { calendarId: c.id, granteeId: grantee.id } }, create: { calendarId: c.id, granteeId: grantee.id, level: req.body.level }, update: { level: req.body.level }, include: granteeInclude });
      await recordAudit(deps.db, { accountId: s.user.accountId, actorUserId: s.userId, action: 'calendar.grant', details: { calendarId: c.id, grantee: req.body.address, level: req.body.level } });
      return grantView(g);
    },
    session,
  );
  defineRoute(
    app,
    calendarGrantRevoke,
    async (req) => {
      const s = req.session!;
      const c = await store.own(s.userId, req.params.id);
      const g = await deps.db.calendarGrant.findUnique({ where: { calendarId_granteeId: { calendarId: c.id, granteeId: req.params.userId } }, include: granteeInclude });
      if (!g) throw new ApiError('NOT_FOUND');
      await deps.db.calendarGrant.delete({ where: { calendarId_granteeId: { calendarId: c.id, granteeId: g.grantee.id } } });
      await recordAudit(deps.db, { accountId: s.user.accountId, actorUserId: s.userId, action: 'calendar.revoke', details: { calendarId: c.id, grantee: grantView(g).address, level: g.level } });
      return { revoked: true as const };
    },
    session,
  );
  defineRoute(
    app,
    sharedCalendarList,
    async (req) => {
      const userId = req.session!.userId;
      const grants = await deps.db.calendarGrant.findMany({ where: { granteeId: userId }, include: { calendar: { include: { user: { select: { localPart: true, displayName: true, domain: { select: { name: true } } } } } } }, orderBy: { createdAt: 'asc' } });
      return {
        calendars: grants.map((g) => ({
          id: g.calendar.id,
          name: store.openName(g.calendar) || DEFAULT_NAME,
          color: g.calendar.color,
          level: g.level === 'manage' ? ('manage' as const) : ('view' as const),
          owner: { address: `${g.calendar.user.localPart}@${g.calendar.user.domain.name}`, name: g.calendar.user.displayName },
        })),
      };
    },
    session,
  );
}
