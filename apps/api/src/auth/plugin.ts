/**
 * Authentication for routes: `requireSession` reads the session token from the
 * `Authorization: Bearer` header (CLI) or the HttpOnly `sealmail_session` cookie (browsers),
 * and attaches the live session to the request, or answers 401.
 *
 * Cookies are `SameSite=Strict; Secure; HttpOnly`, and every state-changing route takes JSON,
 * which a cross-site form cannot send without a CORS preflight that this API never grants.
 *
 * A session without an approved device may only finish device set-up; sensitive switches also
 * need a fresh re-authentication (`SessionRule`).
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

/** What a route asks of the session (see the module comment of ./sessions.ts). */
export interface SessionRule {
  role?: 'admin';
  /**
   * A route that finishes device set-up (own sigchain, posting links, binding the session,
   * escrow info, session info, sign-out, TOTP enrolment): open to sessions without an approved
   * device. Every other route needs a session bound to a device its sigchain approves.
   */
  setup?: boolean;
  /** The session must be bound to a device (pending allowed on set-up routes). */
  device?: boolean;
  /** Open to a session that must still enrol the TOTP the account requires. */
  allowRestricted?: boolean;
  /** Open to a session whose password an admin reset (it must choose a new one first). */
  allowPasswordChange?: boolean;
  /** A sensitive switch: the session must have re-authenticated within the last few minutes. */
  fresh?: boolean;
}

/** preHandler factory: attaches the live session to the request, or refuses with a registry code. */
export function requireSession(deps: ApiDeps, opts: SessionRule = {}) {
  return async (req: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const token = readToken(req);
    const session = token ? await findActiveSession(deps.db, token, deps.now(), deps.auth) : null;
    if (!session) {
      // Say why when the device was revoked: the client should drop its keys and start over.
      if (token && (await sessionOfRevokedDevice(deps.db, token))) throw new ApiError('DEVICE_REVOKED');
      throw new ApiError('UNAUTHENTICATED');
    }
    if (session.passwordChangeRequired && !opts.allowPasswordChange) throw new ApiError('PASSWORD_CHANGE_REQUIRED');
    if (session.restricted && !opts.allowRestricted) throw new ApiError('TOTP_ENROLLMENT_REQUIRED');
    if (opts.role && session.user.role !== opts.role) throw new ApiError('FORBIDDEN');
    if (!opts.setup) assertApprovedDevice(session);
    else if (opts.device && !session.deviceId) throw new ApiError('DEVICE_REQUIRED');
    if (opts.fresh) {
      const at = session.reauthAt?.getTime();
      if (at === undefined || deps.now().getTime() - at > deps.auth.reauthWindowMs) throw new ApiError('REAUTH_REQUIRED');
    }
    req.session = session;
  };
}

/** Refuses a session that is not bound to a device its user's sigchain approves. */
export function assertApprovedDevice(session: ActiveSession): void {
  if (!session.deviceId || session.deviceStatus === null) throw new ApiError('DEVICE_REQUIRED');
  if (session.deviceStatus !== 'approved') throw new ApiError('DEVICE_NOT_APPROVED');
}
