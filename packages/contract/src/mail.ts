/**
 * Mail routes (docs/mail.md): uploading ciphertext blobs, sending sealed mail, and the mailbox.
 * The server sees only what MISSION §2 allows in plaintext; everything else is base64url
 * ciphertext it stores and hands back.
 */
import { z } from 'zod';
import { address } from './routes';

/** Limits every client and the API share. */
export const mailLimits = Object.freeze({
  /** All attachments of one message together, decoded (plaintext) bytes: 25 MiB. */
  attachmentBytes: 25 * 1024 * 1024,
  attachments: 100,
  /** Ciphertext of the body piece (the MIME text; large inline content goes as attachments). */
  bodyCiphertextBytes: 1024 * 1024,
  /** One uploaded part of a blob. */
  blobPartBytes: 4 * 1024 * 1024,
  /** To + CC + BCC. */
  recipients: 100,
  pageSize: 100,
  /** Bodies up to this size travel inline in list pages (so the list can show subjects). */
  inlineBodyBytes: 32 * 1024,
});

const b64u = (max: number) => z.string().regex(/^[A-Za-z0-9_-]*$/, 'expected base64url').max(Math.ceil((max * 4) / 3));
const uuid = z.string().uuid();

export const folders = ['inbox', 'drafts', 'sent', 'outbox', 'archive', 'trash', 'spam'] as const;
export type FolderName = (typeof folders)[number];
export const folderName = z.enum(folders);

/** Starts an upload of one attachment piece's ciphertext (its final size declared up front). */
export const blobCreate = {
  method: 'POST',
  path: '/api/v1/blobs',
  body: z.object({ size: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER) }).strict(),
  // The part size is the server's to choose; a client accepts only a sane one (a hostile answer of 0 would never end the upload).
  response: z.object({ blobId: z.string(), partBytes: z.number().int().min(64 * 1024).max(64 * 1024 * 1024) }),
} as const;

/**
 * One part of a blob, as `application/octet-stream` (≤ mailLimits.blobPartBytes). Parts are
 * numbered from 0 and may be re-sent (the last copy wins) until the blob is completed.
 */
export const blobPart = {
  method: 'PUT',
  path: '/api/v1/blobs/:blobId/parts/:index',
  params: z.object({ blobId: uuid, index: z.coerce.number().int().min(0).max(10_000) }),
  response: z.object({ blobId: z.string(), index: z.number(), size: z.number() }),
} as const;

/** Seals an upload: every part present, the declared size reached. Answers its SHA-256. */
export const blobComplete = {
  method: 'POST',
  path: '/api/v1/blobs/:blobId/complete',
  params: z.object({ blobId: uuid }),
  response: z.object({ blobId: z.string(), size: z.number(), sha256: z.string() }),
} as const;

/** The ciphertext of a blob, streamed as `application/octet-stream`. */
export const blobDownload = {
  method: 'GET',
  path: '/api/v1/blobs/:blobId',
  params: z.object({ blobId: uuid }),
  response: z.unknown(),
} as const;

const recipientList = z.array(address).max(mailLimits.recipients).default([]);

/** How long an expiring link works: one day, one week, one month (MISSION §3). */
export const linkExpiry = z.enum(['1d', '7d', '30d']);
export type LinkExpiry = z.infer<typeof linkExpiry>;
export const linkExpirySeconds: Record<LinkExpiry, number> = { '1d': 86400, '7d': 7 * 86400, '30d': 30 * 86400 };

/**
 * Sends a sealed mail (or saves a draft: only the sender's own box, filed in Drafts, replacing
 * the draft named by `replacesDraft`). Piece 0 is the body, inline; pieces 1… are completed
 * blobs, in order.
 */
export const mailSend = {
  method: 'POST',
  path: '/api/v1/mail/messages',
  body: z
    .object({
      draft: z.boolean().default(false),
      replacesDraft: uuid.optional(),
      envelope: b64u(1_200_000),
      manifest: b64u(200_000),
      body: b64u(mailLimits.bodyCiphertextBytes),
      /** The sealed summary a list opens without the body (docs/crypto.md §5.15). */
      summary: b64u(16_384).optional(),
      attachments: z.array(uuid).max(mailLimits.attachments).default([]),
      to: recipientList,
      cc: recipientList,
      bcc: recipientList,
      /** One box record per holder: each recipient and the sender's own copy (docs/crypto.md §5.9). */
      boxes: z.array(z.object({ address, record: b64u(8192) }).strict()).min(1).max(mailLimits.recipients + 1),
      /** The caller's mailbox entry this mail answers (threads it). */
      inReplyTo: uuid.optional(),
      /** Send as one of the caller's own addresses (an alias or a +tag form); default their own. */
      from: address.optional(),
      /**
       * Addresses among To/Cc/Bcc outside this server, sent as standard mail: the manifest is
       * marked not-E2EE and `serverBox` gives the server the message key to relay it.
       */
      external: z.array(address).max(mailLimits.recipients).default([]),
      serverBox: b64u(4096).optional(),
      /**
       * Addresses among To/Cc/Bcc outside this server that get an expiring password link
       * (MISSION §3): a public copy sealed separately (no recipient boxes), one password box per
       * recipient, and the password itself, which the server boxes to its own key until the
       * notice is mailed and then erases.
       */
      links: z
        .object({
          expiresIn: linkExpiry,
          envelope: b64u(1_200_000),
          manifest: b64u(200_000),
          body: b64u(mailLimits.bodyCiphertextBytes),
          attachments: z.array(uuid).max(mailLimits.attachments).default([]),
          recipients: z
            .array(z.object({ address, passwordBox: b64u(128), password: z.string().regex(/^[A-Za-z0-9_-]{22}$/, 'expected a 128-bit base64url password') }).strict())
            .min(1)
            .max(mailLimits.recipients),
        })
        .strict()
        .optional(),
      /**
       * Scheduled send (and undo send): held in the sender's Outbox and released by the server at
       * this time (docs/mail.md "Scheduled send"); sealed exactly as for sending now.
       */
      sendAt: z.iso.datetime({ offset: true }).optional(),
    })
    .strict(),
  response: z.object({
    entryId: z.string(),
    messageId: z.string(),
    threadId: z.string(),
    /** Set for a scheduled send: its id (cancel it with DELETE /api/v1/mail/scheduled/:id). */
    scheduledId: z.string().optional(),
    delivered: z.array(z.string()),
    /** Recipients whose mailbox could not take it (e.g. MAILBOX_FULL); everyone else got it. */
    refused: z.array(z.object({ address: z.string(), code: z.string() })),
  }),
} as const;

/** One mailbox entry as clients see it: plaintext metadata plus the ciphertext to open it. */
export const entryView = z.object({
  id: z.string(),
  messageId: z.string(),
  mailId: z.string(),
  threadId: z.string(),
  folder: folderName,
  role: z.enum(['to', 'cc', 'bcc', 'sender-copy']),
  read: z.boolean(),
  starred: z.boolean(),
  labelIds: z.array(z.string()),
  /** The custom folder it is filed in (with folder archive), or came from (in Trash). */
  folderId: z.string().nullable().optional(),
  receivedAt: z.string(),
  sentAt: z.string(),
  from: z.string(),
  to: z.array(z.string()),
  cc: z.array(z.string()),
  protection: z.enum(['e2ee', 'server']),
  size: z.number(),
  attachmentSizes: z.array(z.number()),
  envelope: z.string(),
  manifest: z.string(),
  box: z.string(),
  /** The body ciphertext when small (list pages) or always (single entry); null: fetch the entry. */
  body: z.string().nullable(),
  /** The sealed summary (docs/crypto.md §5.15); null for mail sealed without one (open the body). */
  summary: z.string().nullable().optional(),
  /** Attachment blob ids, in piece order (1…). */
  attachments: z.array(z.string()),
});
export type EntryView = z.infer<typeof entryView>;

/** A page of a folder, newest first; `cursor` continues after the last entry. */
export const mailList = {
  method: 'GET',
  path: '/api/v1/mail/messages',
  query: z
    .object({
      folder: folderName.optional(),
      label: uuid.optional(),
      /** A custom folder (docs/mail.md "Organising mail"). */
      folderId: uuid.optional(),
      starred: z.enum(['true']).optional(),
      unread: z.enum(['true']).optional(),
      limit: z.coerce.number().int().min(1).max(mailLimits.pageSize).default(50),
      cursor: z.string().max(200).regex(/^[A-Za-z0-9_-]+$/, 'expected a cursor this API gave out').optional(),
    })
    .strict(),
  response: z.object({ entries: z.array(entryView), cursor: z.string().nullable() }),
} as const;

/**
 * One row of a list without its ciphertexts (the JMAP Email/query ↔ Email/get split): plaintext
 * metadata and `digest`, which names the exact sealed parts a client verifies the row from.
 * `digest` is base64url SHA-256 over `u32 length | bytes` of the envelope, the holder's box, the
 * manifest and the sealed summary (empty when none), in that order (docs/mail.md §4). A client
 * that verified those parts for this entry before shows its own verified row; others it fetches
 * with {@link mailSealed} and verifies (the digest only picks a cache slot: what is shown is
 * always what the device verified for this entry).
 */
export const entryRow = entryView.omit({ envelope: true, manifest: true, box: true, body: true, summary: true }).extend({ digest: z.string() });
export type EntryRow = z.infer<typeof entryRow>;

/** A page of a folder as rows without ciphertexts; same query, order and cursor as {@link mailList}. */
export const mailRows = {
  method: 'GET',
  path: '/api/v1/mail/rows',
  query: mailList.query,
  response: z.object({ rows: z.array(entryRow), cursor: z.string().nullable() }),
} as const;

/**
 * The sealed parts of up to a page of the caller's entries in one request, as {@link mailList}
 * gives them (a small body inline only for mail without a summary, and drafts); ids that are not
 * the caller's entries are left out.
 */
export const mailSealed = {
  method: 'POST',
  path: '/api/v1/mail/sealed',
  body: z.object({ ids: z.array(uuid).min(1).max(mailLimits.pageSize) }).strict(),
  response: z.object({ entries: z.array(entryView) }),
} as const;

export const mailGet = {
  method: 'GET',
  path: '/api/v1/mail/messages/:entryId',
  params: z.object({ entryId: uuid }),
  response: entryView,
} as const;

/** Every entry of the caller's in one thread, oldest first. */
export const mailThread = {
  method: 'GET',
  path: '/api/v1/mail/threads/:threadId',
  params: z.object({ threadId: uuid }),
  response: z.object({ entries: z.array(entryView) }),
} as const;

/** Moves, marks, stars or labels an entry. Drafts and Sent are kept by the server, not moved into. */
export const mailUpdate = {
  method: 'PATCH',
  path: '/api/v1/mail/messages/:entryId',
  params: z.object({ entryId: uuid }),
  body: z
    .object({
      folder: z.enum(['inbox', 'archive', 'trash', 'spam']).optional(),
      read: z.boolean().optional(),
      starred: z.boolean().optional(),
      labelIds: z.array(uuid).max(50).optional(),
    })
    .strict()
    .refine((b) => Object.keys(b).length > 0, 'expected at least one change'),
  response: entryView,
} as const;

/** Moves an entry to Trash; an entry already in Trash (or a draft) is deleted for good. */
export const mailDelete = {
  method: 'DELETE',
  path: '/api/v1/mail/messages/:entryId',
  params: z.object({ entryId: uuid }),
  response: z.object({ id: z.string(), deleted: z.enum(['trash', 'permanently']) }),
} as const;

/** Per folder: how many entries and how many unread; and the caller's storage. */
export const mailSummary = {
  method: 'GET',
  path: '/api/v1/mail/summary',
  response: z.object({
    folders: z.array(z.object({ folder: folderName, total: z.number(), unread: z.number() })),
    /** Maintained counts (docs/performance.md): custom folders, labels (outside Trash and Spam), starred. */
    customFolders: z.array(z.object({ id: z.string(), total: z.number(), unread: z.number() })).optional(),
    labels: z.array(z.object({ id: z.string(), total: z.number(), unread: z.number() })).optional(),
    starred: z.object({ total: z.number(), unread: z.number() }).optional(),
    quota: z.object({ usedBytes: z.number(), quotaBytes: z.number() }),
  }),
} as const;

/** Custom labels; names are boxes sealed to the user's own keys. */
export const labelList = {
  method: 'GET',
  path: '/api/v1/mail/labels',
  response: z.object({ labels: z.array(z.object({ id: z.string(), name: z.string() })) }),
} as const;

export const labelCreate = {
  method: 'POST',
  path: '/api/v1/mail/labels',
  /** The id is chosen by the client: the sealed name is bound to it (docs/crypto.md §5.12). */
  body: z.object({ id: uuid, name: b64u(4096) }).strict(),
  response: z.object({ id: z.string(), name: z.string() }),
} as const;

export const labelDelete = {
  method: 'DELETE',
  path: '/api/v1/mail/labels/:labelId',
  params: z.object({ labelId: uuid }),
  response: z.object({ id: z.string() }),
} as const;

/**
 * Server-sent events for the caller's mailbox (`text/event-stream`): `event: mail` with
 * `{ entryId, folder }` when an entry arrives or changes.
 */
export const mailEvents = {
  method: 'GET',
  path: '/api/v1/mail/events',
  response: z.unknown(),
} as const;

/** The server's public mail key (for standard mail to the outside, docs/crypto.md §7.4). */
export const serverMailKey = {
  method: 'GET',
  path: '/api/v1/keys/server',
  response: z.object({ publicKey: z.string(), keyId: z.string() }),
} as const;

/** Delivery state of a sent message's outside recipients (the sender only). */
export const deliveryStatus = z.enum(['queued', 'delivered', 'failed', 'cancelled']);

/** One outside delivery as an admin sees it (addresses and state; never content). */
export const outboundItem = z.object({
  id: z.string(),
  kind: z.enum(['mail', 'link-notice']),
  sender: z.string(),
  recipient: z.string(),
  status: deliveryStatus,
  attempts: z.number(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  nextAttemptAt: z.string().nullable(),
  bouncedAt: z.string().nullable(),
});

export const mailDeliveries = {
  method: 'GET',
  path: '/api/v1/mail/messages/:entryId/deliveries',
  params: z.object({ entryId: uuid }),
  response: z.object({
    deliveries: z.array(
      z.object({
        recipient: z.string(),
        status: deliveryStatus,
        attempts: z.number(),
        lastError: z.string().nullable(),
        /** While queued: when the relay tries again. */
        nextAttemptAt: z.string().nullable(),
        /** Set when the sender was sent a delivery status notification for this recipient. */
        bouncedAt: z.string().nullable(),
      }),
    ),
  }),
} as const;

/** The sender's view of a mail's expiring links: expiry, whether and when each was opened. */
export const mailLinks = {
  method: 'GET',
  path: '/api/v1/mail/messages/:entryId/links',
  params: z.object({ entryId: uuid }),
  response: z.object({
    links: z.array(
      z.object({
        recipient: z.string(),
        expiresAt: z.string(),
        expired: z.boolean(),
        openCount: z.number(),
        firstOpenedAt: z.string().nullable(),
        lastOpenedAt: z.string().nullable(),
        notice: deliveryStatus,
      }),
    ),
  }),
} as const;

/**
 * Public (no session): the ciphertext behind an expiring link, for the viewer. Only the link id
 * travels; password and digest stay in the URL fragment. 410 LINK_EXPIRED after expiry.
 * Each GET is one visit, counted against the link's visit budget; `visit` names it, and the
 * attachment pieces fetched with it (header LINK_VISIT_HEADER) belong to that visit rather than
 * count as visits of their own. HEAD is free.
 */
export const linkGet = {
  method: 'GET',
  path: '/api/v1/links/:linkId',
  params: z.object({ linkId: z.string().regex(/^[A-Za-z0-9_-]{22}$/) }),
  response: z.object({
    sender: z.string(),
    /** The outside recipient the link was mailed to (a secure reply comes from this address). */
    recipient: z.string().optional(),
    expiresAt: z.string(),
    envelope: z.string(),
    manifest: z.string(),
    passwordBox: z.string(),
    body: z.string(),
    /** Attachment pieces 1…, by ciphertext size (fetched one by one from linkPiece). */
    attachments: z.array(z.object({ index: z.number(), size: z.number() })),
    /** This visit: send it as LINK_VISIT_HEADER when fetching the pieces. */
    visit: z.string(),
  }),
} as const;

/** The request header that ties a piece fetch to the visit that opened the link. */
export const LINK_VISIT_HEADER = 'x-sealmail-visit';

/** Public: one attachment piece's ciphertext behind a link, as application/octet-stream. */
export const linkPiece = {
  method: 'GET',
  path: '/api/v1/links/:linkId/pieces/:index',
  params: z.object({ linkId: z.string().regex(/^[A-Za-z0-9_-]{22}$/), index: z.coerce.number().int().min(1).max(mailLimits.attachments) }),
  response: z.unknown(),
} as const;

/** Admin: the outbound queue of the admin's account (standard mail and link notices). */
export const adminOutboundList = {
  method: 'GET',
  path: '/api/v1/admin/outbound',
  query: z.object({ status: z.enum(['queued', 'delivered', 'failed', 'cancelled', 'all']).default('queued'), limit: z.coerce.number().int().min(1).max(500).default(100) }).strict(),
  response: z.object({ deliveries: z.array(outboundItem) }),
} as const;

/** Admin: try a queued (or failed) delivery again now. */
export const adminOutboundRetry = {
  method: 'POST',
  path: '/api/v1/admin/outbound/:id/retry',
  params: z.object({ id: uuid }),
  response: outboundItem,
} as const;

/** Admin: stop a queued delivery for good (the sender is sent a notification saying so). */
export const adminOutboundCancel = {
  method: 'POST',
  path: '/api/v1/admin/outbound/:id/cancel',
  params: z.object({ id: uuid }),
  response: outboundItem,
} as const;

/**
 * A domain's default for mail to people who cannot get it end to end (MISSION §3, §6):
 * secure_only — expiring links only, never standard mail; secure_default — links unless the
 * sender picks standard mail; standard_default — standard mail unless the sender picks a link.
 */
export const encryptionPolicy = z.enum(['secure_only', 'secure_default', 'standard_default']);
export type EncryptionPolicy = z.infer<typeof encryptionPolicy>;

/** Admin: the account's domains and their mail settings. */

export const adminDomainList = {
  method: 'GET',
  path: '/api/v1/admin/domains',
  response: z.object({
    /** verifiedAt: when ownership was proven (DNS TXT), null while unverified (docs/admin.md, Domains). */
    domains: z.array(z.object({ name: z.string(), crossDomainE2ee: z.boolean(), encryptionPolicy: encryptionPolicy.nullable(), verifiedAt: z.string().nullable() })),
  }),
} as const;

/**
 * Admin: a domain's cross-domain E2EE switch (MISSION §4: both domains must turn it on), and its
 * default encryption policy — chosen once, then immutable (MISSION §6; 409 POLICY_IMMUTABLE).
 */
export const adminDomainUpdate = {
  method: 'PATCH',
  path: '/api/v1/admin/domains/:name',
  params: z.object({ name: z.string().toLowerCase().max(253).regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/, 'expected a domain name') }),
  body: z
    .object({ crossDomainE2ee: z.boolean().optional(), encryptionPolicy: encryptionPolicy.optional() })
    .strict()
    .refine((b) => b.crossDomainE2ee !== undefined || b.encryptionPolicy !== undefined, { message: 'name crossDomainE2ee or encryptionPolicy' }),
  response: z.object({ name: z.string(), crossDomainE2ee: z.boolean(), encryptionPolicy: encryptionPolicy.nullable() }),
} as const;

/**
 * The caller's domain policy for mail to recipients who cannot get it end to end: the compose
 * window follows it. Null: not chosen yet (treated as secure_default).
 */
export const mailPolicy = {
  method: 'GET',
  path: '/api/v1/mail/policy',
  response: z.object({ encryptionPolicy: encryptionPolicy.nullable() }),
} as const;

export const mailRoutes = {
  blobCreate,
  blobPart,
  blobComplete,
  blobDownload,
  mailSend,
  mailList,
  mailRows,
  mailSealed,
  mailGet,
  mailThread,
  mailUpdate,
  mailDelete,
  mailSummary,
  labelList,
  labelCreate,
  labelDelete,
  mailEvents,
  adminDomainList,
  adminDomainUpdate,
  serverMailKey,
  mailDeliveries,
  adminOutboundList,
  adminOutboundRetry,
  adminOutboundCancel,
  mailLinks,
  mailPolicy,
  linkGet,
  linkPiece,
};
