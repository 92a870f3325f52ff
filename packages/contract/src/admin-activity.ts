/**
 * Admin console: the change history (hash-chained, filterable, exportable, verifiable), mail
 * activity (message trace and metadata search: addresses, times, sizes and delivery states, never
 * content) and reports (docs/admin.md, "Change history", "Mail activity", "Reports").
 */
import { z } from 'zod';
import { address, type RouteContract } from './routes';
import { hasUnsafeText, SAFE_TEXT_MESSAGE } from './text';

const isoTime = z.iso.datetime({ offset: true });
const seqCursor = z.string().regex(/^[1-9][0-9]{0,17}$/, 'expected an entry number');

/** Filters of the change history (all optional; combined with AND). */
export const historyFilters = z
  .object({
    /** Who acted (an address of this account). */
    actor: address.optional(),
    /** An action name (`auth.sign_in`) or a prefix ending in a dot (`auth.`). */
    action: z
      .string()
      .max(100)
      .regex(/^[a-z0-9_.]+$/, 'expected an action name such as auth.sign_in, or a prefix such as auth.')
      .optional(),
    /** The user the action was about (`details.user`), e.g. whose password an admin reset. */
    target: address.optional(),
    from: isoTime.optional(),
    to: isoTime.optional(),
  })
  .strict();

const historyEntry = z.object({
  seq: z.string(),
  at: z.string(),
  /** The actor's address (null: the server itself, or a deleted user, see actorId). */
  actor: z.string().nullable(),
  actorId: z.string().nullable(),
  action: z.string(),
  details: z.record(z.string(), z.unknown()),
  prevHash: z.string().nullable(),
  hash: z.string().nullable(),
});
export type HistoryEntry = z.infer<typeof historyEntry>;

/** Admin: the change history, newest first, a page at a time (`before`: the last page's lowest seq). */
export const adminHistoryList = {
  method: 'GET',
  path: '/api/v1/admin/history',
  query: historyFilters.extend({ before: seqCursor.optional(), limit: z.coerce.number().int().min(1).max(500).default(100) }).strict(),
  response: z.object({ entries: z.array(historyEntry), nextBefore: z.string().nullable() }),
} as const;

/**
 * Admin: the filtered change history as a file, oldest first, every entry with its hashes:
 * `csv` (RFC 4180) or `jsonl` (one JSON object a line). The response is the file, not JSON.
 */
export const adminHistoryExport = {
  method: 'GET',
  path: '/api/v1/admin/history/export',
  query: historyFilters.extend({ format: z.enum(['csv', 'jsonl']).default('jsonl') }).strict(),
  response: z.string(),
} as const;

const historyProblem = z.object({
  seq: z.string(),
  id: z.string().nullable(),
  kind: z.enum(['edited', 'missing', 'relinked', 'unchained', 'truncated']),
  message: z.string(),
});

/** Admin: walks the account's whole chain and reports where it is broken (edited, deleted, reordered). */
export const adminHistoryVerify = {
  method: 'POST',
  path: '/api/v1/admin/history/verify',
  response: z.object({
    intact: z.boolean(),
    checked: z.number(),
    head: z.object({ seq: z.string(), hash: z.string().nullable() }),
    firstBroken: historyProblem.nullable(),
    problems: z.array(historyProblem),
    verifiedAt: z.string(),
  }),
} as const;

/** What a trace or metadata search looks for (all optional; combined with AND). */
const mailFilters = z.object({
  sender: address.optional(),
  /** A recipient: To, Cc, a mailbox that holds it (Bcc too), or an outside delivery. */
  recipient: address.optional(),
  from: isoTime.optional(),
  to: isoTime.optional(),
  /** The message's id here (a UUID) or its sealed message id (`…@host`). */
  messageId: z
    .string()
    .trim()
    .min(1)
    .max(300)
    .refine((s) => !hasUnsafeText(s), SAFE_TEXT_MESSAGE)
    .optional(),
  /** `before` of the previous page: `<sentAt ISO>_<id>`. */
  before: z
    .string()
    .regex(/^[0-9TZ:.+-]{20,35}_[0-9a-f-]{36}$/, 'expected the nextBefore of a previous page')
    .optional(),
});

const direction = z.enum(['inbound', 'outbound', 'internal']);

const traceItem = z.object({
  id: z.string(),
  mailId: z.string(),
  direction,
  sender: z.string(),
  to: z.array(z.string()),
  cc: z.array(z.string()),
  sentAt: z.string(),
  /** Ciphertext bytes of the message (body and attachments). */
  size: z.number(),
  attachments: z.number(),
  protection: z.enum(['e2ee', 'server']),
  /** For mail from outside: how it came in. SPF/DKIM/DMARC results are sealed inside the message (not kept as metadata). */
  received: z.object({ via: z.literal('smtp'), authentication: z.literal('sealed-in-message') }).nullable(),
  /** This account's mailboxes that hold it, and where it is filed now. */
  mailboxes: z.array(z.object({ address: z.string(), role: z.string(), folder: z.string(), deliveredAt: z.string() })),
  /** Deliveries to outside recipients (standard mail, or the notice of an expiring link). */
  outbound: z.array(
    z.object({
      recipient: z.string(),
      kind: z.enum(['mail', 'link-notice']),
      status: z.enum(['queued', 'delivered', 'failed', 'cancelled']),
      attempts: z.number(),
      lastError: z.string().nullable(),
      bouncedAt: z.string().nullable(),
      updatedAt: z.string(),
    }),
  ),
  /** Expiring links sent for it. */
  links: z.array(z.object({ recipient: z.string(), expiresAt: z.string(), expiredAt: z.string().nullable(), openCount: z.number(), lastOpenedAt: z.string().nullable() })),
});
export type TraceItem = z.infer<typeof traceItem>;

/** Admin: message trace — each matching message's route (metadata only), newest first. */
export const adminMailTrace = {
  method: 'GET',
  path: '/api/v1/admin/mail/trace',
  query: mailFilters.extend({ limit: z.coerce.number().int().min(1).max(100).default(25) }).strict(),
  response: z.object({ messages: z.array(traceItem), nextBefore: z.string().nullable() }),
} as const;

/**
 * Admin: metadata search across the account — who mailed whom, when, and sizes. Every search is
 * recorded in the change history with its query (`admin.metadata_search`).
 */
export const adminMailSearch = {
  method: 'GET',
  path: '/api/v1/admin/mail/search',
  query: mailFilters
    .extend({
      /** Part of an address or domain, matched against the sender and every recipient. */
      party: z
        .string()
        .trim()
        .toLowerCase()
        .min(2)
        .max(254)
        .regex(/^[^\s<>()[\]\\,;:"]+$/, 'expected part of an address or domain')
        .optional(),
      minSize: z.coerce.number().int().min(0).optional(),
      limit: z.coerce.number().int().min(1).max(500).default(100),
    })
    .strict(),
  response: z.object({
    results: z.array(z.object({ id: z.string(), sentAt: z.string(), direction, sender: z.string(), recipients: z.array(z.string()), size: z.number(), attachments: z.number() })),
    nextBefore: z.string().nullable(),
  }),
} as const;

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a day as YYYY-MM-DD');

/** Admin: reports for a range of days (UTC, at most 366): volume, spam, bounces, and storage now. */
export const adminReports = {
  method: 'GET',
  path: '/api/v1/admin/reports',
  query: z.object({ from: day.optional(), to: day.optional() }).strict(),
  response: z.object({
    from: z.string(),
    to: z.string(),
    days: z.array(z.object({ day: z.string(), inbound: z.number(), outbound: z.number(), spam: z.number(), bounces: z.number() })),
    storage: z.object({
      users: z.array(z.object({ address: z.string(), usedBytes: z.number(), quotaBytes: z.number() })),
      domains: z.array(z.object({ domain: z.string(), usedBytes: z.number(), users: z.number() })),
    }),
  }),
} as const;

export const adminActivityRoutes = { adminHistoryList, adminHistoryExport, adminHistoryVerify, adminMailTrace, adminMailSearch, adminReports } satisfies Record<string, RouteContract>;

export type HistoryVerification = z.infer<typeof adminHistoryVerify.response>;
export type MailSearchResult = z.infer<typeof adminMailSearch.response>['results'][number];
export type AdminReport = z.infer<typeof adminReports.response>;
