/**
 * Mail that runs itself (MISSION §4, docs/mail.md "Filters", "Out-of-office", "Aliases and
 * send-as"): metadata filters the server runs at delivery, verified forward addresses, content
 * filters sealed to the user (the server stores bytes it cannot read), out-of-office replies
 * (texts server-encrypted at rest) and the addresses a user may send from.
 */
import { z } from 'zod';
import type { RouteContract } from './routes';
import { hasUnsafeText, SAFE_TEXT_MESSAGE } from './text';

const domainName = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;
const addressPattern = /^[^\s@<>()[\]\\,;:"]{1,64}@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;
const safe = (max: number) =>
  z
    .string()
    .refine((s) => !hasUnsafeText(s), SAFE_TEXT_MESSAGE)
    .trim()
    .max(max);
const mailAddress = safe(254)
  .toLowerCase()
  .refine((v) => addressPattern.test(v), 'expected an e-mail address');
/** An address (`carol@x.example`) or a domain (`x.example`, its subdomains too). */
const senderPattern = safe(254)
  .toLowerCase()
  .refine((v) => addressPattern.test(v) || domainName.test(v), 'expected an e-mail address or a domain name');

/** Folders a server filter may file into (the built-in ones mail arrives in or is moved to). */
export const filterFolders = ['inbox', 'archive', 'trash', 'spam'] as const;

/** What a metadata filter looks at: every condition given must hold (at least one is required). */
export const filterConditions = z
  .object({
    from: senderPattern.optional(),
    /** The address the mail came to: yours, an alias, or a +tag form. */
    to: mailAddress.optional(),
    /** The List-Id of mail from outside (`team.lists.example`); E2EE mail has none the server sees. */
    listId: safe(200).toLowerCase().min(1).optional(),
    /** Bytes of the message as it arrived (ciphertext for mail between users). */
    sizeOver: z.number().int().min(0).max(1_000_000_000).optional(),
    hasAttachment: z.boolean().optional(),
  })
  .strict()
  .refine((c) => Object.values(c).some((v) => v !== undefined), 'name at least one condition');

/** What it does: file, label, star, mark read, forward to a verified address (mail from outside only). */
export const filterActions = z
  .object({
    folder: z.enum(filterFolders).optional(),
    /**
     * Custom folders (mail-organise) are addressed by their opaque id here once they exist: the seam
     * is this field's type; names stay sealed on the device.
     */
    labelIds: z.array(z.uuid()).max(20).optional(),
    star: z.boolean().optional(),
    markRead: z.boolean().optional(),
    /** The id of one of the caller's verified forward addresses. */
    forwardTo: z.uuid().optional(),
  })
  .strict()
  .refine((a) => a.folder !== undefined || !!a.labelIds?.length || a.star || a.markRead || a.forwardTo !== undefined, 'name at least one action');

export const mailFilter = z.object({ id: z.string(), conditions: filterConditions, actions: filterActions });
export type MailFilterView = z.infer<typeof mailFilter>;
export const MAX_MAIL_FILTERS = 100;

export const filterList = {
  method: 'GET',
  path: '/api/v1/mail/filters',
  response: z.object({ filters: z.array(mailFilter) }),
} as const;

/** Replaces the caller's metadata filters (in order: for the folder, the first that files wins). */
export const filterReplace = {
  method: 'PUT',
  path: '/api/v1/mail/filters',
  body: z.object({ filters: z.array(z.object({ conditions: filterConditions, actions: filterActions }).strict()).max(MAX_MAIL_FILTERS) }).strict(),
  response: z.object({ filters: z.array(mailFilter) }),
} as const;

export const forwardAddress = z.object({ id: z.string(), address: z.string(), verified: z.boolean(), createdAt: z.string() });

export const forwardList = {
  method: 'GET',
  path: '/api/v1/mail/forward-addresses',
  response: z.object({ addresses: z.array(forwardAddress) }),
} as const;

/** Adds an outside address and mails it a code; it is usable once the code comes back. */
export const forwardAdd = {
  method: 'POST',
  path: '/api/v1/mail/forward-addresses',
  body: z.object({ address: mailAddress }).strict(),
  response: forwardAddress,
} as const;

export const forwardVerify = {
  method: 'POST',
  path: '/api/v1/mail/forward-addresses/:id/verify',
  params: z.object({ id: z.uuid() }),
  body: z.object({ code: z.string().trim().regex(/^[A-Za-z0-9_-]{6,64}$/, 'expected the code from the mail') }).strict(),
  response: forwardAddress,
} as const;

export const forwardRemove = {
  method: 'DELETE',
  path: '/api/v1/mail/forward-addresses/:id',
  params: z.object({ id: z.uuid() }),
  response: z.object({ removed: z.literal(true) }),
} as const;

const b64u = (max: number) => z.string().max(max).regex(/^[A-Za-z0-9_-]*$/, 'expected base64url');

/** The caller's content filters, sealed to their own per-user key (a self box); null: none yet. */
export const contentRulesGet = {
  method: 'GET',
  path: '/api/v1/mail/content-rules',
  response: z.object({ record: z.string().nullable(), updatedAt: z.string().nullable() }),
} as const;

export const contentRulesPut = {
  method: 'PUT',
  path: '/api/v1/mail/content-rules',
  body: z.object({ record: b64u(256 * 1024).min(1) }).strict(),
  response: z.object({ updatedAt: z.string() }),
} as const;

export const outOfOffice = z.object({
  enabled: z.boolean(),
  /** ISO instants; null: from now / until turned off. */
  startsAt: z.string().nullable(),
  endsAt: z.string().nullable(),
  subject: z.string(),
  text: z.string(),
  /** A separate text for senders outside the organisation; null: the same text for everyone. */
  outsideText: z.string().nullable(),
});

export const outOfOfficeGet = {
  method: 'GET',
  path: '/api/v1/mail/out-of-office',
  response: outOfOffice,
} as const;

/** Sets the reply; every save starts a new period (each sender gets one reply per period). */
export const outOfOfficePut = {
  method: 'PUT',
  path: '/api/v1/mail/out-of-office',
  body: z
    .object({
      enabled: z.boolean(),
      startsAt: z.iso.datetime({ offset: true }).nullable().default(null),
      endsAt: z.iso.datetime({ offset: true }).nullable().default(null),
      subject: safe(200).default('Out of office'),
      text: z.string().max(10_000).refine((s) => !/[\0]/.test(s), 'no NUL characters'),
      outsideText: z.string().max(10_000).refine((s) => !/[\0]/.test(s), 'no NUL characters').nullable().default(null),
    })
    .strict(),
  response: outOfOffice,
} as const;

/** The addresses the caller may send from: their own first, then their aliases (given by an admin). */
export const sendAddresses = {
  method: 'GET',
  path: '/api/v1/mail/addresses',
  response: z.object({ primary: z.string(), aliases: z.array(z.string()) }),
} as const;

export const rulesRoutes = { filterList, filterReplace, forwardList, forwardAdd, forwardVerify, forwardRemove, contentRulesGet, contentRulesPut, outOfOfficeGet, outOfOfficePut, sendAddresses } satisfies Record<string, RouteContract>;
