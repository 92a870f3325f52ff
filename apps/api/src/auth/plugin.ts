/**
 * Authentication for routes: `requireSession` reads the session token from the
 * `Authorization: Bearer` header (CLI) or the HttpOnly session cookie of the app the request
 * comes from (browsers: `__Host-sealmail-web` or `__Host-sealmail-admin`, see
 * packages/server/src/cookies.ts), and attaches the live session to the request, or answers 401.
 *
 * Cookies are `__Host-` prefixed, `Path=/; Secure; HttpOnly; SameSite=Strict`; cookie-authenticated
 * state-changing requests must come from the cookie's own app's origin (http/csrf.ts).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '@sealmail/contract';
import type { ApiDeps } from '../deps';
import { SESSION_COOKIES, type SessionApp } from '@sealmail/server';
import { sessionCookieOf } from '../http/csrf';
import { findActiveSession, sessionOfRevokedDevice, type ActiveSession } from './sessions';

declare module 'fastify' {
  interface FastifyRequest {
    session: ActiveSession | null;
  }
}

export function readToken(req: FastifyRequest): string | null {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  return sessionCookieOf(req)?.token ?? null;
}

/** `__Host-` cookies must be Secure with Path=/ and no Domain: they stay on the host that set them. */
export function sessionCookie(token: string, maxAgeSeconds: number, app: SessionApp = 'web'): string {
  return `${SESSION_COOKIES[app]}=${token}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=${maxAgeSeconds}`;
}

export function clearedSessionCookie(app: SessionApp = 'web'): string {
  return `${SESSION_COOKIES[app]}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0`;
}

/**
 * preHandler factory. `allowRestricted` lets a session that still has to enrol a second factor
 * through (for the enrolment routes and sign-out only).
 */
export function requireSession(deps: ApiDeps, opts: { allowRestricted?: boolean; role?: 'admin'; device?: boolean } = {}) {
  return async (req: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const token = readToken(req);
    const session = token ? await findActiveSession(deps.db, token, deps.now(), deps.auth) : null;
    if (!session) {
      // Say why when the device was revoked: the client should drop its keys and start over.
      if (token && (await sessionOfRevokedDevice(deps.db, token))) throw new ApiError('DEVICE_REVOKED');
      throw new ApiError('UNAUTHENTICATED');
    }
    if (session.restricted && !opts.allowRestricted) throw new ApiError('TOTP_ENROLLMENT_REQUIRED');
    if (opts.role && session.user.role !== opts.role) throw new ApiError('FORBIDDEN');
    if (opts.device && !session.deviceId) throw new ApiError('DEVICE_REQUIRED');
    req.session = session;
  };
}
