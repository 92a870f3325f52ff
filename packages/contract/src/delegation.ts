/**
 * Delegation and shared mailboxes (docs/mail.md "Delegation", docs/sigchain.md §3.2). Grants and
 * revocations are signed links in the manager's key history; with them come the mailbox's key
 * generations boxed to the delegates' per-user keys (docs/crypto.md §5.14). A delegate reads the
 * mailbox through these routes while a grant is in force, and sends as the manager through the
 * ordinary send route with a kind-4 envelope.
 */
import { z } from 'zod';
import { entryView, folderName, mailLimits } from './mail';
import { address } from './routes';
import { hasUnsafeText, SAFE_TEXT_MESSAGE } from './text';

const b64u = (max: number) => z.string().regex(/^[A-Za-z0-9_-]*$/, 'expected base64url').max(Math.ceil((max * 4) / 3));
const deviceIdHex = z.string().regex(/^[0-9a-f]{64}$/, 'expected a 64-hex-digit device id');
const uuid = z.uuid();
const generation = z.number().int().min(1).max(0xffffffff);

/** One mailbox key generation boxed to one delegate's per-user key generation. */
export const mailboxKeyBoxIn = z.object({ delegateUserId: uuid, generation, delegateGeneration: generation, box: b64u(4096) }).strict();

/** A delegate-grant or delegate-revoke link of the caller's (or a shared mailbox's) chain, with its boxes. */
export const delegationAppend = {
  method: 'POST',
  path: '/api/v1/delegation/links',
  body: z
    .object({
      /** The mailbox whose chain the link extends: the caller's own, or a shared mailbox the caller administers. */
      mailboxUserId: uuid.optional(),
      link: b64u(20000),
      /** With a delegate-revoke: the new generation boxed to every approved device of the mailbox. */
      pukBoxes: z.array(z.object({ deviceId: deviceIdHex, generation, box: b64u(4096) }).strict()).max(64).default([]),
      mailboxBoxes: z.array(mailboxKeyBoxIn).max(1024).default([]),
    })
    .strict(),
  response: z.object({ seqno: z.number(), headHash: z.string() }),
} as const;

/** More mailbox key boxes for delegates in force (after a rotation of the manager's keys). */
export const delegationBoxes = {
  method: 'POST',
  path: '/api/v1/delegation/boxes',
  body: z.object({ mailboxUserId: uuid.optional(), mailboxBoxes: z.array(mailboxKeyBoxIn).min(1).max(1024) }).strict(),
  response: z.object({ stored: z.number() }),
} as const;

const grantView = z.object({ delegateUserId: z.string(), address: z.string(), rights: z.enum(['read', 'send']), grantedSeqno: z.number(), generations: z.array(z.number()) });
const mailboxView = z.object({ userId: z.string(), address: z.string(), displayName: z.string(), rights: z.enum(['read', 'send']), shared: z.boolean() });

/** The caller's grants (who may use their mailbox) and the mailboxes delegated to them. */
export const delegationOverview = {
  method: 'GET',
  path: '/api/v1/delegation',
  response: z.object({ grants: z.array(grantView), mailboxes: z.array(mailboxView) }),
} as const;

const mailboxParams = z.object({ mailboxUserId: uuid });

/** The mailbox's key generations boxed to the caller (a delegate in force). */
export const delegatedKeys = {
  method: 'GET',
  path: '/api/v1/delegation/mailboxes/:mailboxUserId/keys',
  params: mailboxParams,
  response: z.object({ address: z.string(), boxes: z.array(z.object({ generation: z.number(), delegateGeneration: z.number(), box: z.string() })) }),
} as const;

/** A page of a delegated mailbox's folder (as `mailList`). */
export const delegatedMailList = {
  method: 'GET',
  path: '/api/v1/delegation/mailboxes/:mailboxUserId/messages',
  params: mailboxParams,
  query: z
    .object({
      folder: folderName.optional(),
      limit: z.coerce.number().int().min(1).max(mailLimits.pageSize).default(50),
      cursor: z.string().max(200).regex(/^[A-Za-z0-9_-]+$/, 'expected a cursor this API gave out').optional(),
    })
    .strict(),
  response: z.object({ entries: z.array(entryView), cursor: z.string().nullable() }),
} as const;

/** One entry of a delegated mailbox, with its body. */
export const delegatedMailGet = {
  method: 'GET',
  path: '/api/v1/delegation/mailboxes/:mailboxUserId/messages/:entryId',
  params: z.object({ mailboxUserId: uuid, entryId: uuid }),
  response: entryView,
} as const;

/** Admin: the account's shared mailboxes and their members (from each mailbox's grants). */
export const sharedMailboxList = {
  method: 'GET',
  path: '/api/v1/admin/shared-mailboxes',
  response: z.object({
    mailboxes: z.array(z.object({ userId: z.string(), address: z.string(), displayName: z.string(), createdBy: z.string(), members: z.array(z.object({ address: z.string(), rights: z.enum(['read', 'send']) })) })),
  }),
} as const;

/** Admin: creates a shared mailbox (its address); the admin's device then posts its key history's root. */
export const sharedMailboxCreate = {
  method: 'POST',
  path: '/api/v1/admin/shared-mailboxes',
  body: z.object({ address, displayName: z.string().refine((s) => !hasUnsafeText(s), SAFE_TEXT_MESSAGE).trim().max(100).regex(/^[^\r\n<>"\\]*$/, 'expected a name without line breaks, quotes or angle brackets').default('') }).strict(),
  response: z.object({ userId: z.string(), address: z.string() }),
} as const;

/** Admin: a shared mailbox's root (and backup-free first links), posted by the creating admin's device, with the device key sealed to that admin. */
export const sharedMailboxLinks = {
  method: 'POST',
  path: '/api/v1/admin/shared-mailboxes/:mailboxUserId/sigchain',
  params: mailboxParams,
  body: z.object({ link: b64u(20000), pukBoxes: z.array(z.object({ deviceId: deviceIdHex, generation, box: b64u(4096) }).strict()).max(64).default([]), deviceBox: b64u(8192).optional() }).strict(),
  response: z.object({ seqno: z.number() }),
} as const;

/** Admin: the sealed device key of a shared mailbox the caller created (to sign its grants). */
export const sharedMailboxDevice = {
  method: 'GET',
  path: '/api/v1/admin/shared-mailboxes/:mailboxUserId/device',
  params: mailboxParams,
  response: z.object({ address: z.string(), deviceBox: z.string(), pukBoxes: z.array(z.object({ generation: z.number(), box: z.string() })) }),
} as const;

export const delegationRoutes = { delegationAppend, delegationBoxes, delegationOverview, delegatedKeys, delegatedMailList, delegatedMailGet, sharedMailboxList, sharedMailboxCreate, sharedMailboxLinks, sharedMailboxDevice };
