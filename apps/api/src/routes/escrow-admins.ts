/**
 * Escrow admins and eDiscovery (MISSION §6, docs/admin.md "Escrow & discovery").
 *
 * Admins designate several escrow admins (fresh re-authentication; recorded), so that escrow does
 * not die with one person's devices. An escrow admin on a device that holds the escrow key boxes
 * it to the other escrow admins' approved devices (the server stores boxes only; it never sees the
 * key). Ending a designation deletes the boxes of that person's devices; the last escrow admin
 * holding the key cannot be removed while escrow is on.
 *
 * Discovery: an escrow admin's device lists a user's mail received in a date range, under a
 * stated case reference, as ciphertext (the same views the user's own client gets); opening it
 * takes the user's per-user keys through escrow (puk-boxes, purpose discovery) and happens on the
 * escrow admin's device, as does filtering by search terms. The opening is recorded in the change
 * history and shown in the user's own escrow openings list with its case reference.
 */
import type { FastifyInstance } from 'fastify';
import { adminDiscoveryMessages, adminDiscoveryPiece, adminEscrowAdmins, adminEscrowDesignate, adminEscrowShare, adminEscrowUndesignate, ApiError } from '@sealmail/contract';
import { Readable } from 'node:stream';
import { fromBase64Url } from '@sealmail/crypto';
import { findUserByAddress, recordAudit, type Db } from '@sealmail/db';
import { defineRoute } from '../http/route';
import { requireSession } from '../auth/plugin';
import { activeEscrow, escrowAdminWhere, holdsEscrowKey, latestEscrow } from '../keys/escrow';
import { loadEntries } from '../mail/views';
import type { ActiveSession } from '../auth/sessions';
import type { ApiDeps } from '../deps';

const PAGE = 50;
const addressOf = (u: { localPart: string; domain: { name: string } }) => `${u.localPart}@${u.domain.name}`;

async function adminViews(db: Db, accountId: string, onlyUserId?: string) {
  const e = await latestEscrow(db, accountId);
  const users = await db.user.findMany({
    where: { accountId, ...(onlyUserId ? { id: onlyUserId } : {}), ...escrowAdminWhere },
    include: { escrowAdmin: true, domain: true, devices: { where: { status: 'approved', kind: { in: ['browser', 'cli'] } }, orderBy: { createdAt: 'asc' } } },
    take: 1000,
  });
  const at = (u: (typeof users)[number]) => u.escrowAdmin?.designatedAt ?? u.createdAt;
  users.sort((a, b) => at(a).getTime() - at(b).getTime());
  const boxes = e ? await db.escrowBox.findMany({ where: { escrowId: e.id, userId: { in: users.map((u) => u.id) } }, select: { deviceId: true } }) : [];
  const held = new Set(boxes.map((b) => b.deviceId));
  const by = await db.user.findMany({ where: { id: { in: users.flatMap((u) => (u.escrowAdmin?.designatedById ? [u.escrowAdmin.designatedById] : [])) } }, include: { domain: true } });
  const byId = new Map(by.map((u) => [u.id, addressOf(u)]));
  return users.map((u) => ({
    address: addressOf(u),
    displayName: u.displayName,
    role: u.role,
    designatedAt: at(u).toISOString(),
    designatedBy: u.escrowAdmin?.designatedById ? (byId.get(u.escrowAdmin.designatedById) ?? null) : null,
    devices: u.devices.map((d) => ({ deviceId: d.id, name: d.name, holdsKey: held.has(d.id) })),
  }));
}

export async function escrowAdminRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const readers = requireSession(deps, { role: ['admin', 'escrow_admin'] });
  // Designating and removing escrow admins: an admin, freshly re-authenticated.
  const sensitive = requireSession(deps, { role: 'admin', fresh: true });
  const escrowDevice = requireSession(deps, { role: ['admin', 'escrow_admin'], device: true });
  const audit = (s: ActiveSession, action: string, details: Record<string, unknown>) => recordAudit(deps.db, { accountId: s.user.accountId, actorUserId: s.userId, action, details: { ...details, actorDeviceId: s.deviceId } });

  /** A user of the caller's own account, or NOT_FOUND (other accounts do not exist for it). */
  async function userOfAccount(s: ActiveSession, address: string) {
    const user = await findUserByAddress(deps.db, address);
    if (!user || user.accountId !== s.user.accountId) throw new ApiError('NOT_FOUND');
    return user;
  }
  /** The escrow key this session's device may use, or FORBIDDEN. */
  async function usableEscrow(s: ActiveSession) {
    const e = await latestEscrow(deps.db, s.user.accountId);
    if (!e || !(await holdsEscrowKey(deps.db, e.id, s))) throw new ApiError('FORBIDDEN', undefined, 'Only a designated escrow admin’s device that holds the escrow key can do this.');
    return e;
  }

  defineRoute(app, adminEscrowAdmins, async (req) => ({ admins: await adminViews(deps.db, req.session!.user.accountId) }), { preHandler: readers });

  defineRoute(
    app,
    adminEscrowDesignate,
    async (req) => {
      const s = req.session!;
      const user = await userOfAccount(s, req.body.address);
      if (user.status !== 'active') throw new ApiError('CONFLICT', 'body.address', 'A suspended user cannot be an escrow admin; reactivate them first.');
      const created = await deps.db.$transaction(async (tx) => {
        if (await tx.escrowAdmin.findUnique({ where: { userId: user.id } })) return false;
        await tx.escrowAdmin.create({ data: { userId: user.id, accountId: s.user.accountId, designatedById: s.userId, designatedAt: deps.now() } });
        // A plain user gets the escrow admin role (the console lets them in); an admin stays admin.
        if (user.role === 'user') await tx.user.update({ where: { id: user.id }, data: { role: 'escrow_admin' } });
        return true;
      });
      if (created) await audit(s, 'escrow.admin_designated', { user: req.body.address });
      return (await adminViews(deps.db, s.user.accountId, user.id))[0]!;
    },
    { preHandler: sensitive },
  );

  defineRoute(
    app,
    adminEscrowUndesignate,
    async (req) => {
      const s = req.session!;
      const user = await userOfAccount(s, req.params.address);
      const e = await activeEscrow(deps.db, s.user.accountId);
      const deleted = await deps.db.$transaction(async (tx) => {
        await tx.$queryRaw`SELECT id FROM accounts WHERE id = ${s.user.accountId}::uuid FOR UPDATE`;
        if (!(await tx.escrowAdmin.findUnique({ where: { userId: user.id } })) && user.role !== 'escrow_admin') throw new ApiError('NOT_FOUND', 'params.address', 'This user is not an escrow admin.');
        if (e) {
          const others = await tx.escrowBox.count({ where: { escrowId: e.id, userId: { not: user.id }, user: { status: 'active', ...escrowAdminWhere } } });
          if (others === 0) throw new ApiError('CONFLICT', 'params.address', 'This is the last escrow admin who holds the escrow key: share it with another escrow admin’s device first, or turn escrow off.');
        }
        await tx.escrowAdmin.deleteMany({ where: { userId: user.id } });
        if (user.role === 'escrow_admin') await tx.user.update({ where: { id: user.id }, data: { role: 'user' } });
        return (await tx.escrowBox.deleteMany({ where: { userId: user.id } })).count;
      });
      await audit(s, 'escrow.admin_removed', { user: req.params.address, boxesDeleted: deleted });
      return { removed: true as const, boxesDeleted: deleted };
    },
    { preHandler: sensitive },
  );

  defineRoute(
    app,
    adminEscrowShare,
    async (req) => {
      const s = req.session!;
      const e = await usableEscrow(s);
      if (e.status !== 'active') throw new ApiError('CONFLICT', undefined, 'Escrow is off for this account.');
      const devices = await deps.db.device.findMany({
        where: { id: { in: req.body.boxes.map((b) => b.deviceId) }, status: 'approved', kind: { in: ['browser', 'cli'] }, user: { accountId: s.user.accountId, status: 'active', ...escrowAdminWhere } },
        include: { user: { include: { domain: true } } },
      });
      const owner = new Map(devices.map((d) => [d.id, d.user]));
      req.body.boxes.forEach((b, i) => {
        if (!owner.has(b.deviceId)) throw new ApiError('ESCROW_INVALID', `body.boxes.${i}.deviceId`, 'Not an approved device of a designated escrow admin of this account.');
      });
      const existing = new Set((await deps.db.escrowBox.findMany({ where: { escrowId: e.id, deviceId: { in: [...owner.keys()] } }, select: { deviceId: true } })).map((b) => b.deviceId));
      const fresh = req.body.boxes.filter((b) => !existing.has(b.deviceId));
      await deps.db.escrowBox.createMany({ data: fresh.map((b) => ({ escrowId: e.id, deviceId: b.deviceId, userId: owner.get(b.deviceId)!.id, box: new Uint8Array(fromBase64Url(b.box)) })), skipDuplicates: true });
      const added = fresh.map((b) => ({ address: addressOf(owner.get(b.deviceId)!), deviceId: b.deviceId }));
      if (added.length) await audit(s, 'escrow.key_shared', { escrowId: e.id, to: added });
      return { added };
    },
    { preHandler: escrowDevice },
  );

  defineRoute(
    app,
    adminDiscoveryMessages,
    async (req) => {
      const s = req.session!;
      const user = await userOfAccount(s, req.params.address);
      const e = await usableEscrow(s);
      if (e.status !== 'active') throw new ApiError('CONFLICT', undefined, 'Escrow is off for this account.');
      const from = new Date(req.body.from);
      const to = new Date(req.body.to);
      if (!(from < to)) throw new ApiError('VALIDATION_FAILED', 'body.to', 'The end of the date range must come after its start.');
      if (!req.body.cursor) await audit(s, 'escrow.discovery_opened', { escrowId: e.id, user: req.params.address, caseRef: req.body.caseRef, from: from.toISOString(), to: to.toISOString() });
      const after = req.body.cursor ? await deps.db.mailboxEntry.findFirst({ where: { id: req.body.cursor, userId: user.id }, select: { receivedAt: true, id: true } }) : null;
      if (req.body.cursor && !after) throw new ApiError('VALIDATION_FAILED', 'body.cursor', 'Unknown cursor.');
      // Every folder but drafts and the outbox (not mail the user received or sent), oldest first.
      const rows = await deps.db.mailboxEntry.findMany({
        where: {
          userId: user.id,
          folder: { notIn: ['drafts', 'outbox'] },
          receivedAt: { gte: from, lt: to },
          ...(after ? { OR: [{ receivedAt: { gt: after.receivedAt } }, { receivedAt: after.receivedAt, id: { gt: after.id } }] } : {}),
        },
        orderBy: [{ receivedAt: 'asc' }, { id: 'asc' }],
        take: PAGE + 1,
        select: { id: true },
      });
      const page = rows.slice(0, PAGE).map((r) => r.id);
      return { escrowId: e.id, entries: await loadEntries(deps.db, user.id, page, 'all'), nextCursor: rows.length > PAGE ? page[page.length - 1]! : null };
    },
    { preHandler: escrowDevice },
  );

  defineRoute(
    app,
    adminDiscoveryPiece,
    async (req, reply) => {
      const s = req.session!;
      const user = await userOfAccount(s, req.params.address);
      await usableEscrow(s);
      // Only a blob of a message this user holds.
      const blob = await deps.db.blob.findFirst({ where: { id: req.params.blobId, completedAt: { not: null }, message: { entries: { some: { userId: user.id } } } }, select: { id: true, parts: true, size: true } });
      if (!blob) throw new ApiError('NOT_FOUND');
      void reply.header('content-type', 'application/octet-stream').header('content-length', String(blob.size)).header('cache-control', 'private, no-store');
      return reply.send(Readable.from(deps.blobs.read(blob.id, blob.parts))) as never;
    },
    { preHandler: escrowDevice },
  );
}
