/**
 * Sign-in, sign-out, the current session, TOTP enrolment, and the admin switch that makes TOTP
 * mandatory. Every change is recorded in the account's change history.
 */
import type { FastifyInstance } from 'fastify';
import { ApiError, adminSecurity, adminSecurityGet, currentSession, signIn, signOut, totpConfirm, totpEnroll } from '@sealmail/contract';
import { findUserByAddress, recordAudit, splitAddress } from '@sealmail/db';
import { verifyNothing, verifyPassword } from '@sealmail/server';
import { defineRoute } from '../http/route';
import type { ApiDeps } from '../deps';
import { hitRateLimit, peekRateLimit, resetRateLimit } from '../auth/rate-limit';
import { clearedSessionCookie, requireSession, sessionCookie } from '../auth/plugin';
import { appForNewSession, sessionCookieOf } from '../http/csrf';
import { createSession, revokeSession, type ActiveSession } from '../auth/sessions';
import { matchTotp, newTotpSecret, otpauthUrl } from '../auth/totp';

function view(s: Pick<ActiveSession, 'id' | 'restricted' | 'expiresAt' | 'lastSeenAt' | 'user' | 'deviceId'>, deps: ApiDeps) {
  return {
    id: s.id,
    user: { id: s.user.id, accountId: s.user.accountId, address: `${s.user.localPart}@${s.user.domain.name}`, displayName: s.user.displayName, role: s.user.role },
    expiresAt: s.expiresAt.toISOString(),
    idleExpiresAt: new Date(Math.min(s.expiresAt.getTime(), s.lastSeenAt.getTime() + deps.auth.sessionIdleMs)).toISOString(),
    totpEnrollmentRequired: s.restricted,
    totpEnabled: s.user.totpSecret !== null,
    deviceId: s.deviceId,
  };
}

export async function authRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  defineRoute(app, signIn, async (req, reply) => {
    const now = deps.now();
    const { address, password, totp } = req.body;
    // Limits first, before any password work. Per address every attempt counts (so parallel
    // guessing cannot outrun the counter) and success clears it; per organisation (by domain)
    // only failures count, so one busy morning of sign-ins does not lock everyone out.
    const domain = splitAddress(address)?.domain ?? '';
    const addressKey = `signin:address:${address}`;
    const domainKey = `signin:domain:${domain}`;
    const limited = (r: { retryAfterSeconds: number }) => {
      void reply.header('Retry-After', String(r.retryAfterSeconds));
      return new ApiError('RATE_LIMITED');
    };
    const perAddress = await hitRateLimit(deps.db, addressKey, deps.auth.signInLimitPerAddress, deps.auth.signInWindowMs, now);
    if (!perAddress.allowed) throw limited(perAddress);
    const perDomain = await peekRateLimit(deps.db, domainKey, deps.auth.signInLimitPerAccount, deps.auth.signInWindowMs, now);
    if (!perDomain.allowed) throw limited(perDomain);
    const fail = async (code: 'INVALID_CREDENTIALS' | 'TOTP_INVALID') => {
      await hitRateLimit(deps.db, domainKey, deps.auth.signInLimitPerAccount, deps.auth.signInWindowMs, now);
      return new ApiError(code);
    };

    const user = await findUserByAddress(deps.db, address);
    const ok = user ? await verifyPassword(user.passwordHash, password) : await verifyNothing(password);
    if (!user || !ok) throw await fail('INVALID_CREDENTIALS');
    if (user.status !== 'active') throw new ApiError('USER_SUSPENDED');
    if (user.totpSecret) {
      if (!totp) throw new ApiError('TOTP_REQUIRED');
      const step = matchTotp(user.totpSecret, totp, now, user.totpLastStep);
      if (step === null) throw await fail('TOTP_INVALID');
      // Conditional update: of two requests with the same code, only one wins.
      const won = await deps.db.user.updateMany({
        where: { id: user.id, OR: [{ totpLastStep: null }, { totpLastStep: { lt: step } }] },
        data: { totpLastStep: step },
      });
      if (won.count === 0) throw await fail('TOTP_INVALID');
    }
    await resetRateLimit(deps.db, addressKey);
    const account = await deps.db.account.findUniqueOrThrow({ where: { id: user.accountId } });
    const restricted = account.requireTotp && !user.totpSecret;
    const userAgent = req.headers['user-agent'];
    const { token, session } = await createSession(deps.db, user.id, { now, settings: deps.auth, restricted, ...(userAgent ? { userAgent } : {}) });
    await recordAudit(deps.db, { accountId: user.accountId, actorUserId: user.id, action: 'auth.sign_in', details: { sessionId: session.id } });
    void reply.header('Set-Cookie', sessionCookie(token, Math.floor(deps.auth.sessionMaxMs / 1000), appForNewSession(deps.origins, req)));
    const domainRow = await deps.db.domain.findUniqueOrThrow({ where: { id: user.domainId }, select: { name: true } });
    return { token, session: view({ ...session, user: { ...user, domain: domainRow, account } }, deps) };
  });

  defineRoute(
    app,
    signOut,
    async (req, reply) => {
      await revokeSession(deps.db, req.session!.id, deps.now());
      void reply.header('Set-Cookie', clearedSessionCookie(sessionCookieOf(req)?.app ?? appForNewSession(deps.origins, req)));
      return { signedOut: true as const };
    },
    { preHandler: requireSession(deps, { allowRestricted: true }) },
  );

  defineRoute(app, currentSession, async (req) => view(req.session!, deps), { preHandler: requireSession(deps, { allowRestricted: true }) });

  defineRoute(
    app,
    totpEnroll,
    async (req) => {
      const s = req.session!;
      if (s.user.totpSecret) throw new ApiError('CONFLICT', undefined, 'A second factor is already set up.');
      const secret = newTotpSecret();
      await deps.db.user.update({ where: { id: s.userId }, data: { totpPending: secret } });
      return { secret, otpauthUrl: otpauthUrl(secret, `${s.user.localPart}@${s.user.domain.name}`) };
    },
    { preHandler: requireSession(deps, { allowRestricted: true }) },
  );

  defineRoute(
    app,
    totpConfirm,
    async (req) => {
      const s = req.session!;
      const user = await deps.db.user.findUniqueOrThrow({ where: { id: s.userId } });
      if (!user.totpPending) throw new ApiError('CONFLICT', undefined, 'Start the enrolment first.');
      const step = matchTotp(user.totpPending, req.body.code, deps.now(), null);
      if (step === null) throw new ApiError('TOTP_INVALID');
      await deps.db.$transaction([
        deps.db.user.update({ where: { id: user.id }, data: { totpSecret: user.totpPending, totpPending: null, totpLastStep: step } }),
        deps.db.session.updateMany({ where: { userId: user.id, restricted: true }, data: { restricted: false } }),
      ]);
      await recordAudit(deps.db, { accountId: user.accountId, actorUserId: user.id, action: 'auth.totp_enabled' });
      return { totpEnabled: true as const };
    },
    { preHandler: requireSession(deps, { allowRestricted: true }) },
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
      const account = await deps.db.account.update({ where: { id: s.user.accountId }, data: { requireTotp: req.body.requireTotp } });
      await recordAudit(deps.db, { accountId: account.id, actorUserId: s.userId, action: 'admin.security_changed', details: { requireTotp: account.requireTotp } });
      return { requireTotp: account.requireTotp };
    },
    { preHandler: requireSession(deps, { role: 'admin' }) },
  );
}
