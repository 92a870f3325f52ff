/**
 * Blocked senders (MISSION §4 "address blocking", docs/mail.md §7.2): a user blocks an address or
 * a whole domain for their own mailbox; an admin blocks one for every mailbox of the account. The
 * SMTP ingress refuses such mail at RCPT (550 5.7.1).
 */
import { z } from 'zod';
import type { RouteContract } from './routes';
import { hasUnsafeText, SAFE_TEXT_MESSAGE } from './text';

const domainName = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;
const addressPattern = /^[^\s@<>()[\]\\,;:"]{1,64}@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;

/** What to block: `carol@spam.example` (one address) or `spam.example` (the domain and its subdomains). */
export const blockPattern = z
  .string()
  .refine((s) => !hasUnsafeText(s), SAFE_TEXT_MESSAGE)
  .trim()
  .toLowerCase()
  .max(254)
  .refine((v) => addressPattern.test(v) || domainName.test(v), 'expected an e-mail address or a domain name');

export const blockedSender = z.object({
  id: z.string(),
  pattern: z.string(),
  /** 'address' or 'domain', from the pattern's shape. */
  kind: z.enum(['address', 'domain']),
  createdAt: z.string(),
});

/** Most entries one blocklist holds (per user, or per account). */
export const MAX_BLOCKED_SENDERS = 1000;

const blockBody = z.object({ pattern: blockPattern }).strict();
const blockId = z.object({ id: z.uuid() });

/** The caller's own blocked senders. */
export const blockList = {
  method: 'GET',
  path: '/api/v1/blocked-senders',
  response: z.object({ blocked: z.array(blockedSender) }),
} as const;

/** Blocks a sender for the caller's mailbox (blocking one twice answers the existing entry). */
export const blockAdd = {
  method: 'POST',
  path: '/api/v1/blocked-senders',
  body: blockBody,
  response: blockedSender,
} as const;

/** Unblocks. */
export const blockRemove = {
  method: 'DELETE',
  path: '/api/v1/blocked-senders/:id',
  params: blockId,
  response: z.object({ removed: z.literal(true) }),
} as const;

/** Admin: the account-wide blocklist. */
export const adminBlockList = {
  method: 'GET',
  path: '/api/v1/admin/blocked-senders',
  response: z.object({ blocked: z.array(blockedSender) }),
} as const;

/** Admin: blocks a sender for every mailbox of the account (recorded in the change history). */
export const adminBlockAdd = {
  method: 'POST',
  path: '/api/v1/admin/blocked-senders',
  body: blockBody,
  response: blockedSender,
} as const;

/** Admin: lifts an account-wide block (recorded). */
export const adminBlockRemove = {
  method: 'DELETE',
  path: '/api/v1/admin/blocked-senders/:id',
  params: blockId,
  response: z.object({ removed: z.literal(true) }),
} as const;

export const blockingRoutes = { blockList, blockAdd, blockRemove, adminBlockList, adminBlockAdd, adminBlockRemove } satisfies Record<string, RouteContract>;
