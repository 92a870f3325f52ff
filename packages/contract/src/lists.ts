/**
 * Mailing lists (MISSION §4/§6, docs/mail.md §7.3): an admin makes a list address on one of the
 * account's domains and names its members. Mail from outside to the list is expanded by the
 * SMTP ingress to every local member, sealed by the server: mail to lists is not E2EE. Members
 * outside this server may be listed; they are not delivered to yet.
 */
import { z } from 'zod';
import { address, type RouteContract } from './routes';
import { hasUnsafeText, SAFE_TEXT_MESSAGE } from './text';

/** Most members one list has. */
export const MAX_LIST_MEMBERS = 1000;

/**
 * Who may post to a list: anyone; organisation — the organisation's own users (and mail from
 * outside only when it comes from one of the organisation's domains and SPF or DKIM vouches for
 * it); members — its members alone (from outside: a member's address, vouched for likewise).
 */
export const listPosting = z.enum(['anyone', 'organisation', 'members']);
export type ListPosting = z.infer<typeof listPosting>;

export const mailingList = z.object({
  id: z.string(),
  address: z.string(),
  name: z.string(),
  posting: listPosting,
  members: z.array(z.object({ address: z.string(), local: z.boolean() })),
  createdAt: z.string(),
});

const listName = z.string().refine((s) => !hasUnsafeText(s), SAFE_TEXT_MESSAGE).trim().min(1).max(100).regex(/^[^\r\n<>"\\]*$/, 'expected a name without line breaks, quotes or angle brackets');
const members = z.array(address).max(MAX_LIST_MEMBERS);

/** Admin: the account's lists. */
export const adminListList = {
  method: 'GET',
  path: '/api/v1/admin/lists',
  response: z.object({ lists: z.array(mailingList) }),
} as const;

/** Admin: a new list address on one of the account's domains (ADDRESS_TAKEN when a user or list has it). */
export const adminListCreate = {
  method: 'POST',
  path: '/api/v1/admin/lists',
  body: z.object({ address, name: listName, members, posting: listPosting.default('anyone') }).strict(),
  response: mailingList,
} as const;

/** Admin: renames a list, replaces its members, or changes who may post. */
export const adminListUpdate = {
  method: 'PATCH',
  path: '/api/v1/admin/lists/:id',
  params: z.object({ id: z.uuid() }),
  body: z.object({ name: listName.optional(), members: members.optional(), posting: listPosting.optional() }).strict(),
  response: mailingList,
} as const;

/** Admin: deletes a list (its address then refuses mail: 550 5.1.1). */
export const adminListDelete = {
  method: 'DELETE',
  path: '/api/v1/admin/lists/:id',
  params: z.object({ id: z.uuid() }),
  response: z.object({ removed: z.literal(true) }),
} as const;

export const listRoutes = { adminListList, adminListCreate, adminListUpdate, adminListDelete } satisfies Record<string, RouteContract>;
