/**
 * Sign-in, sign-out, the current session, re-authentication, TOTP enrolment and removal, and
 * the admin switch that makes TOTP mandatory. Every change, and every failed sign-in of a known
 * user, is recorded in the account's change history.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, adminSecurity, adminSecurityGet, currentSession, reauth, signIn, signOut, totpConfirm, totpEnroll, totpRecoveryCodes, totpRemove } from '@sealmail/contract';
import { findUserByAddress, recordAudit, type User } from '@sealmail/db';
import { verifyNothing, verifyPassword } from '@sealmail/server';
import { defineRoute } from '../http/route';
import type { ApiDeps } from '../deps';
import { clearedSessionCookie, requireSession, sessionCookie } from '../auth/plugin';
import { appForNewSession, sessionCookieOf } from '../http/csrf';
import { createSession, revokeSession, type ActiveSession } from '../auth/sessions';
import { matchTotp, newTotpSecret, otpauthUrl } from '../auth/totp';
import { checkSecondFactor, newRecoveryCodes, openTotpSecret, sealTotpSecret } from '../auth/second-factor';

type SessionLike = Pick<ActiveSession, 'id' | 'restricted' | 'expiresAt' | 'lastSeenAt' | 'user' | 'deviceId' | 'deviceStatus' | 'passwordChangeRequired' | 'reauthAt'>;

function view(s: SessionLike, deps: ApiDeps) {
  return {
    id: s.id,
    user: { id: s.user.id, accountId: s.user.accountId, address: `${s.user.localPart}@${s.user.domain.name}`, displayName: s.user.displayName, role: s.user.role },
    expiresAt: s.expiresAt.toISOString(),
    idleExpiresAt: new Date(Math.min(s.expiresAt.getTime(), s.lastSeenAt.getTime() + deps.auth.sessionIdleMs)).toISOString(),
    totpEnrollmentRequired: s.restricted,
    totpEnabled: s.user.totpSecret !== null,
    deviceId: s.deviceId,
    deviceStatus: s.deviceStatus,
    passwordChangeRequired: s.passwordChangeRequired,
    reauthUntil: s.reauthAt ? new Date(s.reauthAt.getTime() + deps.auth.reauthWindowMs).toISOString() : null,
  };
}

/**
 * For a signed-in user proving their password again (re-authentication, password change, TOTP
 * removal): 429 with Retry-After while this client address must wait for this user. Others'
 * failures from the same address do not count here: the caller already holds a session.
 */
export async function assertNotThrottled(deps: ApiDeps, req: FastifyRequest, reply: FastifyReply, userId: string): Promise<void> {
  const wait = (await deps.throttle.waits(req.ip, userId)).ipUser;
  if (wait > 0) {
    void reply.header('Retry-After', String(wait));
    throw new ApiError('RATE_LIMITED', undefined, `Too many failed attempts from your network: wait ${wait} s and try again.`);
  }
}

/** Counts a failed proof of a known user's password or second factor, and records it. */
export async function recordFailure(deps: ApiDeps, req: FastifyRequest, user: Pick<User, 'id' | 'accountId'>, action: string, reason: string): Promise<void> {
  await deps.throttle.failure(req.ip, user.id);
  const ua = req.headers['user-agent'];
  await recordAudit(deps.db, { accountId: user.accountId, actorUserId: user.id, action, details: { reason, ip: req.ip, ...(ua ? { userAgent: ua.slice(0, 200) } : {}) } });
}

export async function authRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  // Session info and sign-out: open to every live session. Enrolment: also before the device is set up.
  const anySession = requireSession(deps, { setup: true, allowRestricted: true, allowPasswordChange: true });
  const enrolment = requireSession(deps, { setup: true, allowRestricted: true });

  defineRoute(app, signIn, async (req, reply) => {
    const now = deps.now();
    const { address, password, totp, recoveryCode } = req.body;
    const user = await findUserByAddress(deps.db, address);
    // One check at a time per client and user, taken before the counts are read: the next one
    // reads this one's failure already counted.
    const end = deps.throttle.begin(req.ip, user?.id ?? null);
    if (!end) {
      void reply.header('Retry-After', '1');
      throw new ApiError('RATE_LIMITED', undefined, 'A sign-in from your network is already being checked: wait for its answer, then try again.');
    }
    try {
      // Before any password work: this client address with this user, and this client address
      // for everyone, may have to wait after earlier failures. Unknown addresses count only
      // against the client address, never against an organisation.
      const waits = await deps.throttle.waits(req.ip, user?.id ?? null);
      const wait = (secs: number) => {
        void reply.header('Retry-After', String(secs));
        return new ApiError('RATE_LIMITED', undefined, `Too many failed attempts from your network: wait ${secs} s and try again${waits.ipUser ? '' : ', or sign in with your authenticator code'}.`);
      };
      if (waits.ipUser > 0) throw wait(waits.ipUser);
      // Others' failures from this address (a shared network) slow it down for everyone, except a
      // user who proves a second factor as well: the right password with a valid code gets in.
      // Any failure then answers the same wait, so it tells nothing about the password.
      const othersWait = waits.ip;
      if (othersWait > 0 && !(user?.totpSecret && (totp || recoveryCode))) throw wait(othersWait);
      const ok = user ? await verifyPassword(user.passwordHash, password) : await verifyNothing(password);
      if (!user || !ok) {
        if (user) await recordFailure(deps, req, user, 'auth.sign_in_failed', 'password');
        else {
          await deps.throttle.failure(req.ip, null);
          req.log.info({ ip: req.ip }, 'sign-in for an unknown address');
        }
        throw othersWait ? wait(othersWait) : new ApiError('INVALID_CREDENTIALS');
      }
      if (user.status !== 'active') throw new ApiError('USER_SUSPENDED');
      const second = await checkSecondFactor(deps.db, deps.secrets, user, { totp, recoveryCode }, now);
      if (second === 'missing') throw new ApiError('TOTP_REQUIRED');
      if (second === 'invalid') {
        await recordFailure(deps, req, user, 'auth.sign_in_failed', recoveryCode ? 'recovery_code' : 'totp');
        throw othersWait ? wait(othersWait) : new ApiError('TOTP_INVALID');
      }
      await deps.throttle.success(req.ip, user.id);
      const account = await deps.db.account.findUniqueOrThrow({ where: { id: user.accountId } });
      const userAgent = req.headers['user-agent'];
      const { token, session } = await createSession(deps.db, user.id, { now, settings: deps.auth, ip: req.ip, ...(userAgent ? { userAgent } : {}) });
      await recordAudit(deps.db, { accountId: user.accountId, actorUserId: user.id, action: 'auth.sign_in', details: { sessionId: session.id, ip: req.ip, ...(recoveryCode ? { recoveryCodeUsed: true } : {}) } });
      void reply.header('Set-Cookie', sessionCookie(token, Math.floor(deps.auth.sessionMaxMs / 1000), appForNewSession(deps.origins, req)));
      const domainRow = await deps.db.domain.findUniqueOrThrow({ where: { id: user.domainId }, select: { name: true } });
      return {
        token,
        session: view(
          { ...session, deviceStatus: null, restricted: account.requireTotp && !user.totpSecret, passwordChangeRequired: user.mustChangePassword, user: { ...user, domain: domainRow, account } },
          deps,
        ),
      };
    } finally {
      end();
    }
  });

  defineRoute(
    app,
    signOut,
    async (req, reply) => {
      await revokeSession(deps.db, req.session!.id, deps.now());
      void reply.header('Set-Cookie', clearedSessionCookie(sessionCookieOf(req)?.app ?? appForNewSession(deps.origins, req)));
      return { signedOut: true as const };
    },
    { preHandler: anySession },
  );

  defineRoute(app, currentSession, async (req) => view(req.session!, deps), { preHandler: anySession });

  defineRoute(
    app,
    reauth,
    async (req, reply) => {
      const s = req.session!;
      const now = deps.now();
      await assertNotThrottled(deps, req, reply, s.userId);
      const user = await deps.db.user.findUniqueOrThrow({ where: { id: s.userId } });
      if (!(await verifyPassword(user.passwordHash, req.body.password))) {
        await recordFailure(deps, req, user, 'auth.reauth_failed', 'password');
        throw new ApiError('PASSWORD_INCORRECT');
      }
      const second = await checkSecondFactor(deps.db, deps.secrets, user, req.body, now);
      if (second === 'missing') throw new ApiError('TOTP_REQUIRED');
      if (second === 'invalid') {
        await recordFailure(deps, req, user, 'auth.reauth_failed', req.body.recoveryCode ? 'recovery_code' : 'totp');
        throw new ApiError('TOTP_INVALID');
      }
      await deps.db.session.update({ where: { id: s.id }, data: { reauthAt: now } });
      await recordAudit(deps.db, { accountId: user.accountId, actorUserId: user.id, action: 'auth.reauth', details: { sessionId: s.id, actorDeviceId: s.deviceId } });
      return { reauthUntil: new Date(now.getTime() + deps.auth.reauthWindowMs).toISOString() };
    },
    { preHandler: requireSession(deps) },
  );

  defineRoute(
    app,
    totpEnroll,
    async (req) => {
      const s = req.session!;
      if (s.user.totpSecret) throw new ApiError('CONFLICT', undefined, 'A second factor is already set up.');
      const secret = newTotpSecret();
      await deps.db.user.update({ where: { id: s.userId }, data: { totpPending: sealTotpSecret(deps.secrets, s.userId, secret) } });
      return { secret, otpauthUrl: otpauthUrl(secret, `${s.user.localPart}@${s.user.domain.name}`) };
    },
    { preHandler: enrolment },
  );

  defineRoute(
    app,
    totpConfirm,
    async (req) => {
      const s = req.session!;
      const user = await deps.db.user.findUniqueOrThrow({ where: { id: s.userId } });
      if (user.totpSecret) throw new ApiError('CONFLICT', undefined, 'A second factor is already set up.');
      const pending = user.totpPending && openTotpSecret(deps.secrets, user.id, user.totpPending);
      if (!pending) throw new ApiError('CONFLICT', undefined, 'Start the enrolment first.');
      const step = matchTotp(pending, req.body.code, deps.now(), null);
      if (step === null) throw new ApiError('TOTP_INVALID');
      const recoveryCodes = await deps.db.$transaction(async (tx) => {
        const done = await tx.user.updateMany({ where: { id: user.id, totpSecret: null }, data: { totpSecret: sealTotpSecret(deps.secrets, user.id, pending), totpPending: null, totpLastStep: step } });
        if (done.count !== 1) throw new ApiError('CONFLICT', undefined, 'A second factor is already set up.');
        return newRecoveryCodes(tx, user.id);
      });
      await recordAudit(deps.db, { accountId: user.accountId, actorUserId: user.id, action: 'auth.totp_enabled', details: { actorDeviceId: s.deviceId } });
      return { totpEnabled: true as const, recoveryCodes };
    },
    { preHandler: enrolment },
  );

  defineRoute(
    app,
    totpRemove,
    async (req, reply) => {
      const s = req.session!;
      const now = deps.now();
      const user = await deps.db.user.findUniqueOrThrow({ where: { id: s.userId } });
      if (!user.totpSecret) throw new ApiError('CONFLICT', undefined, 'No second factor is set up.');
      // Code or password: either proof waits out this client's earlier failures first.
      await assertNotThrottled(deps, req, reply, user.id);
      if (req.body.code) {
        const second = await checkSecondFactor(deps.db, deps.secrets, user, { totp: req.body.code }, now);
        if (second !== 'ok') {
          await recordFailure(deps, req, user, 'auth.totp_remove_failed', 'totp');
          throw new ApiError('TOTP_INVALID');
        }
      } else {
        if (!(await verifyPassword(user.passwordHash, req.body.password!))) {
          await recordFailure(deps, req, user, 'auth.totp_remove_failed', 'password');
          throw new ApiError('PASSWORD_INCORRECT');
        }
      }
      await deps.db.$transaction([
        deps.db.user.update({ where: { id: user.id }, data: { totpSecret: null, totpPending: null, totpLastStep: null } }),
        deps.db.totpRecoveryCode.deleteMany({ where: { userId: user.id } }),
      ]);
      await recordAudit(deps.db, { accountId: user.accountId, actorUserId: user.id, action: 'auth.totp_removed', details: { actorDeviceId: s.deviceId } });
      return { totpEnabled: false as const };
    },
    { preHandler: requireSession(deps) },
  );

  defineRoute(
    app,
    totpRecoveryCodes,
    async (req, reply) => {
      const s = req.session!;
      const user = await deps.db.user.findUniqueOrThrow({ where: { id: s.userId } });
      if (!user.totpSecret) throw new ApiError('CONFLICT', undefined, 'No second factor is set up.');
      await assertNotThrottled(deps, req, reply, user.id);
      if ((await checkSecondFactor(deps.db, deps.secrets, user, { totp: req.body.code }, deps.now())) !== 'ok') {
        await recordFailure(deps, req, user, 'auth.recovery_codes_failed', 'totp');
        throw new ApiError('TOTP_INVALID');
      }
      const recoveryCodes = await deps.db.$transaction((tx) => newRecoveryCodes(tx, user.id));
      await recordAudit(deps.db, { accountId: user.accountId, actorUserId: user.id, action: 'auth.recovery_codes_renewed', details: { actorDeviceId: s.deviceId } });
      return { recoveryCodes };
    },
    { preHandler: requireSession(deps) },
  );

  defineRoute(
    app,
    adminSecurityGet,
    async (req) => {
      const account = await deps.db.account.findUniqueOrThrow({ where: { id: req.session!.user.accountId } });
      return { requireTotp: account.requireTotp };
    },
    { preHandler: requireSession(deps, { role: 'admin' }) },
  );

  defineRoute(
    app,
    adminSecurity,
    async (req) => {
      const s = req.session!;
      // The policy restricts every session of a user without TOTP at its next request: an admin
      // who has none would shut their own console out, so they set theirs up first.
      if (req.body.requireTotp && !s.user.totpSecret) {
        throw new ApiError('CONFLICT', 'body.requireTotp', 'Set up your own authenticator app first (web client: Settings → Authenticator app), then require it for everyone.');
      }
      const account = await deps.db.account.update({ where: { id: s.user.accountId }, data: { requireTotp: req.body.requireTotp } });
      await recordAudit(deps.db, { accountId: account.id, actorUserId: s.userId, action: 'admin.security_changed', details: { requireTotp: account.requireTotp, actorDeviceId: s.deviceId } });
      return { requireTotp: account.requireTotp };
    },
    // A sensitive switch: an approved device and a fresh re-authentication.
    { preHandler: requireSession(deps, { role: 'admin', fresh: true }) },
  );
}
