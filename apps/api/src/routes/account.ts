/**
 * Containing a leaked password (docs/operations.md, "Security"): the user's own sessions (list,
 * end one, end all others), password change (ends every other session), and the admin's
 * password reset (ends all the user's sessions and forces a new password at the next sign-in).
 * The profile (display name) and the server's records of the user's own devices (the names they
 * gave them, added and last used): only ever the caller's own, found by (user, device) together.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { adminPasswordReset, ApiError, deviceList, deviceRename, passwordChange, profileUpdate, sessionList, sessionRevoke, sessionRevokeOthers } from '@sealmail/contract';
import { findUserByAddress, recordAudit } from '@sealmail/db';
import { hashPassword, verifyPassword } from '@sealmail/server';
import { defineRoute } from '../http/route';
import type { ApiDeps } from '../deps';
import { assertApprovedDevice, clearedSessionCookie, requireSession } from '../auth/plugin';
import { revokeOtherSessions } from '../auth/sessions';
import { assertNotThrottled, recordFailure } from './auth';

export async function accountRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  defineRoute(
    app,
    profileUpdate,
    async (req) => {
      const s = req.session!;
      const user = await deps.db.user.update({ where: { id: s.userId }, data: { displayName: req.body.displayName } });
      await recordAudit(deps.db, { accountId: s.user.accountId, actorUserId: s.userId, action: 'account.display_name_changed', details: { actorDeviceId: s.deviceId } });
      return { displayName: user.displayName };
    },
    { preHandler: requireSession(deps) },
  );

  const record = (d: { id: string; label: string | null; createdAt: Date; lastSeenAt: Date | null }, current: string | null) => ({
    id: d.id,
    label: d.label,
    createdAt: d.createdAt.toISOString(),
    lastSeenAt: d.lastSeenAt?.toISOString() ?? null,
    current: d.id === current,
  });

  defineRoute(
    app,
    deviceList,
    async (req) => {
      const s = req.session!;
      const rows = await deps.db.device.findMany({ where: { userId: s.userId }, orderBy: { createdAt: 'asc' }, take: 500 });
      return { devices: rows.map((d) => record(d, s.deviceId)) };
    },
    { preHandler: requireSession(deps) },
  );

  defineRoute(
    app,
    deviceRename,
    async (req) => {
      const s = req.session!;
      // Only the caller's own device: another user's (an admin's too) is "not found", never renamed.
      const r = await deps.db.device.updateMany({ where: { userId: s.userId, id: req.params.id }, data: { label: req.body.name } });
      if (r.count !== 1) throw new ApiError('NOT_FOUND', undefined, 'No such device of yours.');
      await recordAudit(deps.db, { accountId: s.user.accountId, actorUserId: s.userId, action: 'account.device_renamed', details: { deviceId: req.params.id, actorDeviceId: s.deviceId } });
      return record(await deps.db.device.findUniqueOrThrow({ where: { userId_id: { userId: s.userId, id: req.params.id } } }), s.deviceId);
    },
    { preHandler: requireSession(deps) },
  );

  defineRoute(
    app,
    sessionList,
    async (req) => {
      const s = req.session!;
      const now = deps.now();
      const rows = await deps.db.session.findMany({
        where: { userId: s.userId, revokedAt: null, expiresAt: { gt: now }, lastSeenAt: { gt: new Date(now.getTime() - deps.auth.sessionIdleMs) } },
        orderBy: { lastSeenAt: 'desc' },
        take: 200,
      });
      const ids = [...new Set(rows.map((r) => r.deviceId).filter((d): d is string => d !== null))];
      const devices = new Map((await deps.db.device.findMany({ where: { userId: s.userId, id: { in: ids } } })).map((d) => [d.id, d]));
      return {
        sessions: rows.map((r) => {
          const d = r.deviceId ? devices.get(r.deviceId) : undefined;
          return {
            id: r.id,
            current: r.id === s.id,
            deviceId: r.deviceId,
            deviceName: d?.label ?? d?.name ?? null,
            deviceStatus: d?.status ?? null,
            userAgent: r.userAgent,
            ip: r.ip,
            createdAt: r.createdAt.toISOString(),
            lastSeenAt: r.lastSeenAt.toISOString(),
          };
        }),
      };
    },
    { preHandler: requireSession(deps) },
  );

  defineRoute(
    app,
    sessionRevoke,
    async (req, reply) => {
      const s = req.session!;
      const r = await deps.db.session.updateMany({ where: { id: req.params.id, userId: s.userId, revokedAt: null }, data: { revokedAt: deps.now() } });
      if (r.count !== 1) throw new ApiError('NOT_FOUND', undefined, 'No such session of yours.');
      if (req.params.id === s.id) void reply.header('Set-Cookie', clearedSessionCookie());
      await recordAudit(deps.db, { accountId: s.user.accountId, actorUserId: s.userId, action: 'auth.session_revoked', details: { sessionId: req.params.id, actorDeviceId: s.deviceId } });
      return { revoked: true as const };
    },
    { preHandler: requireSession(deps) },
  );

  defineRoute(
    app,
    sessionRevokeOthers,
    async (req) => {
      const s = req.session!;
      const revoked = await revokeOtherSessions(deps.db, s.userId, s.id, deps.now());
      await recordAudit(deps.db, { accountId: s.user.accountId, actorUserId: s.userId, action: 'auth.sessions_revoked', details: { count: revoked, actorDeviceId: s.deviceId } });
      return { revoked };
    },
    { preHandler: requireSession(deps) },
  );

  defineRoute(
    app,
    passwordChange,
    async (req, reply) => {
      const s = req.session!;
      // After an admin's reset the change comes first, even before this device is set up;
      // otherwise it needs an approved device like every other setting.
      if (!s.passwordChangeRequired) assertApprovedDevice(s);
      await assertNotThrottled(deps, req, reply, s.userId);
      const user = await deps.db.user.findUniqueOrThrow({ where: { id: s.userId } });
      if (!(await verifyPassword(user.passwordHash, req.body.currentPassword))) {
        await recordFailure(deps, req, user, 'auth.password_change_failed', 'password');
        throw new ApiError('PASSWORD_INCORRECT');
      }
      const now = deps.now();
      const passwordHash = await hashPassword(req.body.newPassword);
      const sessionsEnded = await deps.db.$transaction(async (tx) => {
        await tx.user.update({ where: { id: user.id }, data: { passwordHash, mustChangePassword: false, passwordChangedAt: now } });
        await tx.session.update({ where: { id: s.id }, data: { reauthAt: now } });
        return revokeOtherSessions(tx, user.id, s.id, now);
      });
      await recordAudit(deps.db, { accountId: user.accountId, actorUserId: user.id, action: 'auth.password_changed', details: { sessionsEnded, actorDeviceId: s.deviceId } });
      return { changed: true as const, sessionsEnded };
    },
    { preHandler: requireSession(deps, { setup: true, allowPasswordChange: true }) },
  );

  defineRoute(
    app,
    adminPasswordReset,
    async (req) => {
      const s = req.session!;
      const user = await findUserByAddress(deps.db, req.params.address);
      if (!user || user.accountId !== s.user.accountId) throw new ApiError('NOT_FOUND');
      if (user.id === s.userId) throw new ApiError('FORBIDDEN', undefined, 'Change your own password in your account settings.');
      // 120 random bits, in groups of five: read out or pasted once, then replaced by the user.
      const temporaryPassword = randomBytes(15).toString('base64url').replace(/[-_]/g, 'x').match(/.{5}/g)!.join('-');
      const passwordHash = await hashPassword(temporaryPassword);
      const now = deps.now();
      const sessionsEnded = await deps.db.$transaction(async (tx) => {
        await tx.user.update({ where: { id: user.id }, data: { passwordHash, mustChangePassword: true, passwordChangedAt: now } });
        return revokeOtherSessions(tx, user.id, null, now);
      });
      await recordAudit(deps.db, { accountId: s.user.accountId, actorUserId: s.userId, action: 'admin.password_reset', details: { user: req.params.address, sessionsEnded, actorDeviceId: s.deviceId } });
      return { temporaryPassword, sessionsEnded };
    },
    { preHandler: requireSession(deps, { role: 'admin', fresh: true }) },
  );
}
