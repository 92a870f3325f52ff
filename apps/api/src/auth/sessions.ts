/**
 * Sessions: a random 256-bit token given to the client (cookie or bearer), stored only as its
 * SHA-256. A session ends at its absolute expiry, after the idle time without use, or when
 * revoked; every request checks all three.
 *
 * What a live session may do depends on its state, worked out on every request:
 *   - `passwordChangeRequired`: an admin reset the password; only the password change (and
 *     session info, sign-out) until the user chose a new one;
 *   - `totpEnrollmentRequired`: the account requires TOTP and the user has none (also for
 *     sessions older than the policy); only enrolment;
 *   - `deviceApproved`: the session is bound to a device the user's sigchain approves; without
 *     one it may only finish device set-up (apps/api/src/auth/plugin.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Db, User } from '@sealmail/db';
import type { AuthSettings } from '@sealmail/server';
import { queryRows } from '../http/sql';

/** Cookie names: one per app, in packages/server/src/cookies.ts (the web hosts need them too). */
export { SESSION_COOKIES } from '@sealmail/server';

export function newSessionToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashToken(token: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(createHash('sha256').update(token).digest());
}

export interface ActiveSession {
  id: string;
  userId: string;
  deviceId: string | null;
  /** The bound device's status in the user's sigchain (null: no device bound). */
  deviceStatus: 'pending' | 'approved' | 'revoked' | null;
  /** Must enrol a second factor the account requires before anything else. */
  restricted: boolean;
  passwordChangeRequired: boolean;
  expiresAt: Date;
  lastSeenAt: Date;
  reauthAt: Date | null;
  user: User & { domain: { name: string }; account: { requireTotp: boolean } };
}

export async function createSession(db: Db, userId: string, opts: { now: Date; settings: AuthSettings; userAgent?: string; ip?: string }) {
  const token = newSessionToken();
  const session = await db.session.create({
    data: {
      userId,
      tokenHash: hashToken(token),
      userAgent: opts.userAgent?.slice(0, 300) ?? null,
      ip: opts.ip?.slice(0, 64) ?? null,
      createdAt: opts.now,
      lastSeenAt: opts.now,
      // Signing in proves the password (and TOTP): a fresh re-authentication.
      reauthAt: opts.now,
      expiresAt: new Date(opts.now.getTime() + opts.settings.sessionMaxMs),
    },
  });
  return { token, session };
}

/** The user's columns, named as Prisma names them (test/session-lookup.test.ts checks they are all here). */
const USER_COLUMNS: Record<keyof User, string> = {
  id: 'id::text',
  accountId: 'account_id::text',
  domainId: 'domain_id::text',
  localPart: 'local_part',
  displayName: 'display_name',
  role: 'role::text',
  status: 'status::text',
  passwordHash: 'password_hash',
  totpSecret: 'totp_secret',
  totpPending: 'totp_pending',
  mustChangePassword: 'must_change_password',
  passwordChangedAt: 'password_changed_at',
  totpLastStep: 'totp_last_step',
  quotaBytes: 'quota_bytes',
  usedBytes: 'used_bytes',
  plan: 'plan',
  legalHoldAt: 'legal_hold_at',
  legalHoldReason: 'legal_hold_reason',
  legalHoldBy: 'legal_hold_by::text',
  undoSendSeconds: 'undo_send_seconds',
  createdAt: 'created_at',
};

const BIGINT_COLUMNS = new Set<string>(['totpLastStep', 'quotaBytes', 'usedBytes'] satisfies (keyof User)[]);

/**
 * The session statement; `extra`, when given, is one more column computed from the session's
 * row (`s.user_id`), read in the same round trip (a route's own first read, e.g. the counts:
 * discarded unless the session turns out live). Exported for the query-plan test.
 */
export const sessionSql = (extra?: string) => `SELECT ${extra ? `${extra} AS extra, ` : ''}s.id::text AS id, s.user_id::text AS user_id, s.device_id, s.expires_at, s.last_seen_at, s.reauth_at, s.revoked_at,
    d.user_id IS NOT NULL AS has_device, d.status::text AS device_status, d.kind AS device_kind, d.last_seen_at AS device_seen_at,
    dom.name AS domain_name, a.require_totp,
    ${Object.entries(USER_COLUMNS).map(([k, c]) => `u.${c} AS "u_${k}"`).join(', ')}
  FROM sessions s
  JOIN users u ON u.id = s.user_id
  JOIN domains dom ON dom.id = u.domain_id
  JOIN accounts a ON a.id = u.account_id
  LEFT JOIN devices d ON d.user_id = s.user_id AND d.id = s.device_id
  WHERE s.token_hash = $1`;
export const SESSION_SQL = sessionSql();
/** The statement text per `extra` (built once: a route passes the same expression every time). */
const withExtra = new Map<string, string>();

interface SessionRow {
  id: string;
  user_id: string;
  device_id: string | null;
  expires_at: Date;
  last_seen_at: Date;
  reauth_at: Date | null;
  revoked_at: Date | null;
  has_device: boolean;
  device_status: 'pending' | 'approved' | 'revoked' | null;
  device_kind: string | null;
  device_seen_at: Date | null;
  domain_name: string;
  require_totp: boolean;
  extra?: unknown;
  [user: `u_${string}`]: unknown;
}

function sessionOf(r: SessionRow) {
  // int8 comes from the driver as text: back to the bigint Prisma gives.
  const user = Object.fromEntries(Object.keys(USER_COLUMNS).map((k) => [k, BIGINT_COLUMNS.has(k) && r[`u_${k}`] !== null ? BigInt(r[`u_${k}`] as string) : r[`u_${k}`]])) as User;
  return {
    id: r.id,
    userId: r.user_id,
    deviceId: r.device_id,
    expiresAt: r.expires_at,
    lastSeenAt: r.last_seen_at,
    reauthAt: r.reauth_at,
    revokedAt: r.revoked_at,
    user: { ...user, domain: { name: r.domain_name }, account: { requireTotp: r.require_totp } },
  };
}

/** What the per-process cache keeps of a session lookup (cache/store.ts): the row as read, checked on every use. */
export interface CachedSession {
  s: ReturnType<typeof sessionOf>;
  device: { status: 'pending' | 'approved' | 'revoked'; kind: string; lastSeenAt: Date | null } | null;
}

/** The cache a session lookup may use (`ApiCache` when it is active; the key is the token hash). */
export interface SessionCache {
  begin(): number;
  session(tokenKey: string): CachedSession | undefined;
  putSession(tokenKey: string, userId: string, since: number, value: CachedSession): void;
}

/**
 * The live session for a token, or null (unknown, revoked, expired, idle, or user suspended).
 * With `cache`, a lookup this process made in the last seconds is reused (the cache drops it when
 * Postgres says the session, its user or device changed); every check below runs on every use.
 * `extra` is then not read: the caller gets none and reads what it needs itself.
 */
export async function findActiveSession(db: Db, token: string, now: Date, settings: AuthSettings, extra?: string, cache?: SessionCache): Promise<(ActiveSession & { extra?: unknown }) | null> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
  const hash = hashToken(token);
  const key = cache ? Buffer.from(hash).toString('base64') : '';
  let found = cache?.session(key);
  let r: SessionRow | undefined;
  if (!found) {
    const since = cache?.begin() ?? 0;
    // One statement by the token hash's unique index, the user, domain, account and device joined
    // by primary key: no slower than a primary-key read (docs/performance.md).
    let sql = SESSION_SQL;
    if (extra) {
      sql = withExtra.get(extra) ?? sessionSql(extra);
      withExtra.set(extra, sql);
    }
    const rows = await queryRows<SessionRow>(db, sql, [Buffer.from(hash)]);
    r = rows[0];
    if (!r) return null;
    found = { s: sessionOf(r), device: r.has_device ? { status: r.device_status!, kind: r.device_kind!, lastSeenAt: r.device_seen_at } : null };
    cache?.putSession(key, found.s.userId, since, found);
  }
  const { s, device } = found;
  if (s.revokedAt || s.expiresAt <= now || s.lastSeenAt.getTime() + settings.sessionIdleMs <= now.getTime()) return null;
  if (s.user.status !== 'active') return null;
  // Touch at most once a minute: idle expiry needs no finer grain, and reads stay reads. (A cached
  // lookup is touched the same way: the time is set first, so concurrent requests write once.)
  if (now.getTime() - s.lastSeenAt.getTime() > 60_000) {
    s.lastSeenAt = now;
    await db.session.update({ where: { id: s.id }, data: { lastSeenAt: now } });
  }
  // The device's last use (Settings → Devices), touched like the session: at most once a minute.
  if (device && s.deviceId && (!device.lastSeenAt || now.getTime() - device.lastSeenAt.getTime() > 60_000)) {
    device.lastSeenAt = now;
    await db.device.update({ where: { userId_id: { userId: s.userId, id: s.deviceId } }, data: { lastSeenAt: now } });
  }
  return {
    id: s.id,
    userId: s.userId,
    deviceId: s.deviceId,
    // Only a real device (browser, CLI) is a session's device; virtual ones never bind.
    deviceStatus: device && (device.kind === 'browser' || device.kind === 'cli') ? device.status : null,
    restricted: s.user.account.requireTotp && s.user.totpSecret === null,
    passwordChangeRequired: s.user.mustChangePassword,
    expiresAt: s.expiresAt,
    lastSeenAt: s.lastSeenAt,
    reauthAt: s.reauthAt,
    user: s.user,
    ...(extra && r ? { extra: r.extra } : {}),
  };
}

/** True when `token` belongs to a session that ended because its device was revoked. */
export async function sessionOfRevokedDevice(db: Db, token: string): Promise<boolean> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return false;
  const s = await db.session.findUnique({ where: { tokenHash: hashToken(token) }, select: { deviceId: true, userId: true } });
  if (!s?.deviceId) return false;
  const d = await db.device.findUnique({ where: { userId_id: { userId: s.userId, id: s.deviceId } }, select: { status: true } });
  return d?.status === 'revoked';
}

export async function revokeSession(db: Db, id: string, now: Date): Promise<void> {
  await db.session.updateMany({ where: { id, revokedAt: null }, data: { revokedAt: now } });
}

/** Ends every live session of a user but `keepId`; answers how many ended. */
export async function revokeOtherSessions(db: Pick<Db, 'session'>, userId: string, keepId: string | null, now: Date): Promise<number> {
  const r = await db.session.updateMany({ where: { userId, revokedAt: null, ...(keepId ? { id: { not: keepId } } : {}) }, data: { revokedAt: now } });
  return r.count;
}
