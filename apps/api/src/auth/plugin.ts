/**
 * Authentication for routes: `requireSession` reads the session token from the
 * `Authorization: Bearer` header (CLI) or the HttpOnly session cookie of the app the request
 * comes from (browsers: `__Host-sealmail-web` or `__Host-sealmail-admin`, see
 * packages/server/src/cookies.ts), and attaches the live session to the request, or answers 401.
 *
 * Cookies are `__Host-` prefixed, `Path=/; Secure; HttpOnly; SameSite=Strict`; cookie-authenticated
 * state-changing requests must come from the cookie's own app's origin (http/csrf.ts).
 *
 * A session without an approved device may only finish device set-up; sensitive switches also
 * need a fresh re-authentication (`SessionRule`).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '@sealmail/contract';
import type { ApiDeps } from '../deps';
import { SESSION_COOKIES, type SessionApp } from '@sealmail/server';
import { sessionCookieOf } from '../http/csrf';
import { findActiveSession, sessionOfRevokedDevice, type ActiveSession } from './sessions';
import { onlyReads } from '../cache/hooks';

declare module 'fastify' {
  interface FastifyRequest {
    session: ActiveSession | null;
    /** The value of `SessionRule.with`, read with the session (undefined without it, or when the session came from the cache). */
    sessionExtra?: unknown;
    /** Where this request's reads from Postgres began, for storing their answers in the cache (cache/store.ts). */
    cacheSince?: number;
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

/** What a route asks of the session (see the module comment of ./sessions.ts). */
export interface SessionRule {
  /** The user's role must be this one, or one of these (an escrow admin is not an admin). */
  role?: 'admin' | readonly ('admin' | 'escrow_admin')[];
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
  /**
   * A SQL expression over the session's row (`s.user_id`) read in the session lookup's own
   * statement, given to the route as `req.sessionExtra` once the session passed every check (one
   * round trip instead of two for a route whose whole work is one read, like the counts).
   */
  with?: string;
}

/** preHandler factory: attaches the live session to the request, or refuses with a registry code. */
export function requireSession(deps: ApiDeps, opts: SessionRule = {}) {
  return async (req: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const token = readToken(req);
    req.cacheSince = deps.cache.begin();
    // Reads may use a session lookup cached in this process (cache/store.ts); anything that writes
    // is authorised by Postgres's current answer.
    const cache = deps.cache.active && onlyReads(req) ? deps.cache : undefined;
    const session = token ? await findActiveSession(deps.db, token, deps.now(), deps.auth, opts.with, cache) : null;
    if (!session) {
      // Say why when the device was revoked: the client should drop its keys and start over.
      if (token && (await sessionOfRevokedDevice(deps.db, token))) throw new ApiError('DEVICE_REVOKED');
      throw new ApiError('UNAUTHENTICATED');
    }
    if (session.passwordChangeRequired && !opts.allowPasswordChange) throw new ApiError('PASSWORD_CHANGE_REQUIRED');
    if (session.restricted && !opts.allowRestricted) throw new ApiError('TOTP_ENROLLMENT_REQUIRED');
    if (opts.role && !(typeof opts.role === 'string' ? [opts.role] : opts.role).includes(session.user.role as 'admin')) throw new ApiError('FORBIDDEN');
    if (!opts.setup) assertApprovedDevice(session);
    else if (opts.device && !session.deviceId) throw new ApiError('DEVICE_REQUIRED');
    if (opts.fresh) assertFresh(deps, session);
    if (opts.with) {
      const { extra, ...rest } = session;
      req.sessionExtra = extra;
      req.session = rest;
    } else req.session = session;
  };
}

/** Refuses (REAUTH_REQUIRED) a session that has not re-authenticated within the last few minutes. */
export function assertFresh(deps: ApiDeps, session: { reauthAt?: Date | null }): void {
  const at = session.reauthAt?.getTime();
  if (at === undefined || deps.now().getTime() - at > deps.auth.reauthWindowMs) throw new ApiError('REAUTH_REQUIRED');
}

/** Refuses a session that is not bound to a device its user's sigchain approves. */
export function assertApprovedDevice(session: ActiveSession): void {
  if (!session.deviceId || session.deviceStatus === null) throw new ApiError('DEVICE_REQUIRED');
  if (session.deviceStatus !== 'approved') throw new ApiError('DEVICE_NOT_APPROVED');
}
