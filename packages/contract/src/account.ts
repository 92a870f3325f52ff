/**
 * Account security (docs/operations.md, "Security"): the user's own sessions, password change,
 * re-authentication for sensitive switches, TOTP removal and recovery codes, and the admin's
 * password reset.
 */
import { z } from 'zod';
import { address, recoveryCode, type RouteContract } from './routes';
import { safeString } from './text';

const uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'expected a session id');
const totpCode = z.string().regex(/^\d{6}$/, 'expected 6 digits');

/** Passwords a user chooses: 12 to 1024 characters. */
export const newPassword = z.string().min(12, 'expected at least 12 characters').max(1024, 'expected at most 1024 characters');

export const sessionSummary = z.object({
  id: z.string(),
  /** The session making this request. */
  current: z.boolean(),
  deviceId: z.string().nullable(),
  /** The device's name from the key history (null: no device set up on this session). */
  deviceName: z.string().nullable(),
  deviceStatus: z.enum(['pending', 'approved', 'revoked']).nullable(),
  userAgent: z.string().nullable(),
  /** The client address at sign-in. */
  ip: z.string().nullable(),
  createdAt: z.string(),
  lastSeenAt: z.string(),
});

/** The caller's live sessions, newest use first. */
export const sessionList = {
  method: 'GET',
  path: '/api/v1/auth/sessions',
  response: z.object({ sessions: z.array(sessionSummary) }),
} as const;

/** Ends one of the caller's sessions (the current one too: that is signing out). */
export const sessionRevoke = {
  method: 'DELETE',
  path: '/api/v1/auth/sessions/:id',
  params: z.object({ id: uuid }),
  response: z.object({ revoked: z.literal(true) }),
} as const;

/** Ends every session of the caller but this one ("sign out everywhere else"). */
export const sessionRevokeOthers = {
  method: 'POST',
  path: '/api/v1/auth/sessions/revoke-others',
  response: z.object({ revoked: z.number() }),
} as const;

/** Changes the caller's password; every other session of theirs ends. */
export const passwordChange = {
  method: 'POST',
  path: '/api/v1/auth/password',
  body: z
    .object({ currentPassword: z.string().min(1).max(1024), newPassword })
    .strict()
    .refine((b) => b.currentPassword !== b.newPassword, { message: 'the new password must differ from the current one', path: ['newPassword'] }),
  response: z.object({ changed: z.literal(true), sessionsEnded: z.number() }),
} as const;

/**
 * Proves the password again (and a TOTP or recovery code when the user has TOTP): sensitive
 * switches accept this session for the next few minutes.
 */
export const reauth = {
  method: 'POST',
  path: '/api/v1/auth/reauth',
  body: z
    .object({ password: z.string().min(1).max(1024), totp: totpCode.optional(), recoveryCode: recoveryCode.optional() })
    .strict(),
  response: z.object({ reauthUntil: z.string() }),
} as const;

/** Removes the caller's TOTP second factor: needs a current code or the password. */
export const totpRemove = {
  method: 'POST',
  path: '/api/v1/auth/totp/remove',
  body: z
    .object({ code: totpCode.optional(), password: z.string().min(1).max(1024).optional() })
    .strict()
    .refine((b) => b.code !== undefined || b.password !== undefined, { message: 'give a code from the app or the password', path: ['code'] }),
  response: z.object({ totpEnabled: z.literal(false) }),
} as const;

/** New recovery codes (the old ones stop working): needs a current code. */
export const totpRecoveryCodes = {
  method: 'POST',
  path: '/api/v1/auth/totp/recovery-codes',
  body: z.object({ code: totpCode }).strict(),
  response: z.object({ recoveryCodes: z.array(z.string()) }),
} as const;

/**
 * Admin: resets a user's password to a temporary one (shown once to the admin). The user's
 * sessions end; at the next sign-in they must choose a new password before anything else.
 */
export const adminPasswordReset = {
  method: 'POST',
  path: '/api/v1/admin/users/:address/password-reset',
  params: z.object({ address }),
  response: z.object({ temporaryPassword: z.string(), sessionsEnded: z.number() }),
} as const;


/** A name a person reads (display name, device name): 1 to 100 characters of safe text. */
const personName = safeString()
  .trim()
  .min(1, 'expected a name: type at least one character')
  .max(100, 'expected at most 100 characters')
  .refine((s) => !/[<>"]/.test(s), 'expected a name without <, > or "');

/** Changes the caller's display name (the name in the From of the mail they send). */
export const profileUpdate = {
  method: 'PATCH',
  path: '/api/v1/account/profile',
  body: z.object({ displayName: personName }).strict(),
  response: z.object({ displayName: z.string() }),
} as const;

export const deviceRecord = z.object({
  /** Hex key id, as in the key history. */
  id: z.string(),
  /** The name the user gave it (null: none; the client shows the signed name from the key history). */
  label: z.string().nullable(),
  createdAt: z.string(),
  /** Last use by a session of this device (null: not since this was recorded). */
  lastSeenAt: z.string().nullable(),
  /** The device of the session making this request. */
  current: z.boolean(),
});

/**
 * The server's records of the caller's devices: the names they gave them, when each was added and
 * last used. Names, keys and states the client reads from the key history, which it verifies.
 */
export const deviceList = {
  method: 'GET',
  path: '/api/v1/account/devices',
  response: z.object({ devices: z.array(deviceRecord) }),
} as const;

/** Names one of the caller's own devices (`name: null` goes back to the signed name). */
export const deviceRename = {
  method: 'PATCH',
  path: '/api/v1/account/devices/:id',
  params: z.object({ id: z.string().regex(/^[0-9a-f]{1,128}$/, 'expected a device id (hex)') }),
  body: z.object({ name: personName.nullable() }).strict(),
  response: deviceRecord,
} as const;

export const accountRoutes = { profileUpdate, deviceList, deviceRename, sessionList, sessionRevoke, sessionRevokeOthers, passwordChange, reauth, totpRemove, totpRecoveryCodes, adminPasswordReset } satisfies Record<string, RouteContract>;
