/**
 * Authentication for routes: `requireSession` reads the session token from the
 * `Authorization: Bearer` header (CLI) or the HttpOnly `sealmail_session` cookie (browsers),
 * and attaches the live session to the request, or answers 401.
 *
 * Cookies are `SameSite=Strict; Secure; HttpOnly`, and every state-changing route takes JSON,
 * which a cross-site form cannot send without a CORS preflight that this API never grants.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '@sealmail/contract';
import type { ApiDeps } from '../deps';
import { findActiveSession, sessionOfRevokedDevice, SESSION_COOKIE, type ActiveSession } from './sessions';

declare module 'fastify' {
  interface FastifyRequest {
    session: ActiveSession | null;
  }
}

export function readToken(req: FastifyRequest): string | null {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  const cookie = req.headers.cookie;
  if (!cookie) return null;
  for (const part of cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === SESSION_COOKIE) return v.join('=');
  }
  return null;
}

export function sessionCookie(token: string, maxAgeSeconds: number): string {
  return `${SESSION_COOKIE}=${token}; Path=/api; HttpOnly; Secure; SameSite=Strict; Max-Age=${maxAgeSeconds}`;
}

export function clearedSessionCookie(): string {
  return `${SESSION_COOKIE}=; Path=/api; HttpOnly; Secure; SameSite=Strict; Max-Age=0`;
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
