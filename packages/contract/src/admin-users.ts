/**
 * The admin console's users (MISSION §6, docs/admin.md "Users" and "Legal hold"): create one or
 * many (CSV), invite with a one-time set-up link, suspend, delete, roles, plan quotas, aliases,
 * legal hold; and the health overview. Every route is for admins of the caller's own account.
 */
import { z } from 'zod';
import { address, type RouteContract } from './routes';
import { hasUnsafeText, SAFE_TEXT_MESSAGE } from './text';

const GiB = 1024 ** 3;
/** The plans MISSION §6 lists, with their quotas (binary gigabytes, as mailbox sizes are shown). */
export const PLANS = {
  pro: { label: 'Pro', quotaBytes: 50 * GiB },
  business: { label: 'Business', quotaBytes: 100 * GiB },
  business_plus: { label: 'Business Plus', quotaBytes: 1024 * GiB },
  enterprise: { label: 'Enterprise', quotaBytes: 5 * 1024 * GiB },
} as const;
export type PlanId = keyof typeof PLANS;
export const planId = z.enum(['pro', 'business', 'business_plus', 'enterprise']);
export const userRole = z.enum(['user', 'admin', 'escrow_admin']);
/** Most one custom quota may be (10 TiB). */
export const MAX_QUOTA_BYTES = 10 * 1024 * GiB;
/** Most rows one CSV upload creates. */
export const MAX_CSV_ROWS = 1000;
/** How long a set-up link stays valid. */
export const INVITATION_TTL_MS = 7 * 24 * 3600_000;

const displayName = z.string().refine((s) => !hasUnsafeText(s), SAFE_TEXT_MESSAGE).trim().min(1).max(100).regex(/^[^\r\n<>"\\]*$/, 'expected a name without line breaks, quotes or angle brackets');
const reason = z.string().refine((s) => !hasUnsafeText(s), SAFE_TEXT_MESSAGE).trim().min(3).max(500);
const quotaBytes = z.number().int().min(1024 ** 2).max(MAX_QUOTA_BYTES);

export const adminUser = z.object({
  address: z.string(),
  displayName: z.string(),
  role: userRole,
  status: z.enum(['active', 'suspended']),
  /** Null: a custom quota. */
  plan: planId.nullable(),
  quotaBytes: z.number(),
  usedBytes: z.number(),
  /** Whether the user has set up a device (keys) yet. */
  hasKeys: z.boolean(),
  aliases: z.array(z.string()),
  legalHold: z.object({ reason: z.string(), since: z.string(), by: z.string().nullable() }).nullable(),
  /** The newest set-up link, while it is unused. */
  invitation: z.object({ expiresAt: z.string(), expired: z.boolean() }).nullable(),
  createdAt: z.string(),
});
export type AdminUser = z.infer<typeof adminUser>;

const byAddress = z.object({ address });

/** The account's users. */
export const adminUserList = {
  method: 'GET',
  path: '/api/v1/admin/users',
  response: z.object({ users: z.array(adminUser) }),
} as const;

const newUser = z
  .object({ address, displayName, role: userRole.default('user'), plan: planId.nullable().default('business'), quotaBytes: quotaBytes.optional() })
  .strict()
  .refine((u) => u.plan !== null || u.quotaBytes !== undefined, { message: 'a custom quota (no plan) needs quotaBytes', path: ['quotaBytes'] });

/**
 * One new user on one of the account's domains. The user has no password anyone knows: they
 * choose it through a set-up link (adminUserInvite). ADDRESS_TAKEN when a user, list or alias has it.
 */
export const adminUserCreate = {
  method: 'POST',
  path: '/api/v1/admin/users',
  body: newUser,
  response: adminUser,
} as const;

/**
 * Users from a CSV file (header row: address, name, and optionally role, plan, quota_gb). Each
 * row is created whole or not at all; the answer says per row what happened.
 */
export const adminUserImport = {
  method: 'POST',
  path: '/api/v1/admin/users/import',
  body: z.object({ csv: z.string().min(1).max(1_000_000) }).strict(),
  response: z.object({
    results: z.array(z.object({ line: z.number(), address: z.string(), status: z.enum(['created', 'refused']), reason: z.string().optional() })),
  }),
} as const;

/** Changes a user's name, role or quota (a role change needs a fresh re-authentication). */
export const adminUserUpdate = {
  method: 'PATCH',
  path: '/api/v1/admin/users/:address',
  params: byAddress,
  body: z.object({ displayName: displayName.optional(), role: userRole.optional(), plan: planId.nullable().optional(), quotaBytes: quotaBytes.optional() }).strict(),
  response: adminUser,
} as const;

/** Suspends (sessions end, sign-in refused, inbound mail refused) or reactivates a user. */
export const adminUserStatus = {
  method: 'POST',
  path: '/api/v1/admin/users/:address/status',
  params: byAddress,
  body: z.object({ status: z.enum(['active', 'suspended']) }).strict(),
  response: adminUser,
} as const;

/** Deletes a user and their mailbox (mail others also hold stays theirs). Refused under legal hold. */
export const adminUserDelete = {
  method: 'DELETE',
  path: '/api/v1/admin/users/:address',
  params: byAddress,
  response: z.object({ deleted: z.literal(true), messagesDeleted: z.number() }),
} as const;

/**
 * A new one-time set-up link for a user (earlier unused ones stop working), shown once; mailed
 * to `sendTo` (an address outside, e.g. the person's private one) when given.
 */
export const adminUserInvite = {
  method: 'POST',
  path: '/api/v1/admin/users/:address/invitation',
  params: byAddress,
  body: z.object({ sendTo: address.optional() }).strict(),
  response: z.object({ link: z.string(), expiresAt: z.string(), mailedTo: z.string().nullable(), mailProblem: z.string().nullable() }),
} as const;

/** Adds an address that delivers to this user. ADDRESS_TAKEN when a user, list or alias has it. */
export const adminAliasAdd = {
  method: 'POST',
  path: '/api/v1/admin/users/:address/aliases',
  params: byAddress,
  body: z.object({ alias: address }).strict(),
  response: adminUser,
} as const;

export const adminAliasRemove = {
  method: 'DELETE',
  path: '/api/v1/admin/users/:address/aliases/:alias',
  params: z.object({ address, alias: address }),
  response: adminUser,
} as const;

/** Puts a user under legal hold, with the reason (fresh re-authentication). */
export const adminLegalHoldSet = {
  method: 'PUT',
  path: '/api/v1/admin/users/:address/legal-hold',
  params: byAddress,
  body: z.object({ reason }).strict(),
  response: adminUser,
} as const;

/** Lifts a hold: what the user deleted for good while held is then deleted (fresh re-authentication). */
export const adminLegalHoldLift = {
  method: 'DELETE',
  path: '/api/v1/admin/users/:address/legal-hold',
  params: byAddress,
  response: z.object({ user: adminUser, entriesDeleted: z.number() }),
} as const;

/** The users under legal hold, and how much deleted mail each hold keeps. */
export const adminLegalHoldList = {
  method: 'GET',
  path: '/api/v1/admin/legal-holds',
  response: z.object({ holds: z.array(z.object({ address: z.string(), displayName: z.string(), reason: z.string(), since: z.string(), by: z.string().nullable(), keptEntries: z.number() })) }),
} as const;

/** What a set-up link is for (no session; the token travels in the body, never a URL). */
export const invitationLookup = {
  method: 'POST',
  path: '/api/v1/invitations/lookup',
  body: z.object({ token: z.string().min(20).max(100) }).strict(),
  response: z.object({ address: z.string(), displayName: z.string(), expiresAt: z.string() }),
} as const;

/** Chooses the password through a set-up link; the link is then used up. Sign in next. */
export const invitationAccept = {
  method: 'POST',
  path: '/api/v1/invitations/accept',
  body: z.object({ token: z.string().min(20).max(100), password: z.string().min(12).max(1024) }).strict(),
  response: z.object({ address: z.string() }),
} as const;

/** The service's health for the console's overview. */
export const adminHealth = {
  method: 'GET',
  path: '/api/v1/admin/health',
  response: z.object({
    version: z.string(),
    uptimeSeconds: z.number(),
    database: z.object({ ok: z.boolean() }),
    /** Outbound deliveries waiting (the pg-boss queue and the delivery rows it works on). */
    queue: z.object({ ok: z.boolean(), waiting: z.number(), failed: z.number() }),
    smtp: z.object({ ok: z.boolean(), host: z.string(), port: z.number(), detail: z.string() }),
    certificate: z.object({ ok: z.boolean(), subject: z.string(), expiresAt: z.string(), daysLeft: z.number() }).nullable(),
    storage: z.object({ usedBytes: z.number(), quotaBytes: z.number(), users: z.number() }),
  }),
} as const;

export const adminUserRoutes = {
  adminUserList,
  adminUserCreate,
  adminUserImport,
  adminUserUpdate,
  adminUserStatus,
  adminUserDelete,
  adminUserInvite,
  adminAliasAdd,
  adminAliasRemove,
  adminLegalHoldSet,
  adminLegalHoldLift,
  adminLegalHoldList,
  invitationLookup,
  invitationAccept,
  adminHealth,
} satisfies Record<string, RouteContract>;
