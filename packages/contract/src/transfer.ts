/**
 * Moving mail in and out (docs/mail.md §10–§11): importing a message the user's own device parsed
 * and sealed to the user (nothing in plaintext but what MISSION §2 allows), a secure reply from
 * an expiring link's outside recipient, and withdrawing a mail's links early.
 */
import { z } from 'zod';
import { mailLimits, folderName } from './mail';

const b64u = (max: number) => z.string().regex(/^[A-Za-z0-9_-]*$/, 'expected base64url').max(Math.ceil((max * 4) / 3));
const uuid = z.string().uuid();
/** Addresses as an imported file names them (foreign mail may hold odd ones): plain text, bounded. */
const loose = z.string().trim().toLowerCase().max(254);

/** Limits of a secure reply through a link (the outside recipient uploads it in one request). */
export const linkReplyLimits = Object.freeze({
  /** All attachments of one reply together, plaintext. */
  attachmentBytes: 10 * 1024 * 1024,
  attachments: 10,
  /** Replies per link per hour. */
  perHour: 5,
});

/**
 * Files one imported message: sealed on the user's device to the user alone (one `sender-copy`
 * box; the envelope names no recipient), attachments as the user's completed uploads. The
 * plaintext fields are those MISSION §2 lets the server see (sender, recipients, the time).
 * `inReplyTo` names the user's own entry this message answers (the device matched Message-ID and
 * References), so the thread survives.
 */
export const mailImportMessage = {
  method: 'POST',
  path: '/api/v1/mail/import',
  body: z
    .object({
      folder: folderName.exclude(['drafts', 'outbox']),
      envelope: b64u(1_200_000),
      manifest: b64u(200_000),
      body: b64u(mailLimits.bodyCiphertextBytes),
      box: b64u(8192),
      attachments: z.array(uuid).max(mailLimits.attachments).default([]),
      from: loose,
      to: z.array(loose).max(mailLimits.recipients).default([]),
      cc: z.array(loose).max(mailLimits.recipients).default([]),
      receivedAt: z.string().datetime({ offset: true }),
      read: z.boolean().default(true),
      inReplyTo: uuid.optional(),
    })
    .strict(),
  response: z.object({ entryId: z.string(), threadId: z.string() }),
} as const;

/**
 * Public (no session): an outside recipient's secure reply through an expiring link, sealed in
 * their browser to the sender's per-user key named inside the link's sealed mail (docs/crypto.md
 * §7.6). Pieces 1… travel inline (base64url ciphertext). 410 LINK_EXPIRED / LINK_REVOKED when the
 * link no longer works; 429 RATE_LIMITED past `linkReplyLimits.perHour`.
 */
export const linkReply = {
  method: 'POST',
  path: '/api/v1/links/:linkId/replies',
  params: z.object({ linkId: z.string().regex(/^[A-Za-z0-9_-]{22}$/) }),
  body: z
    .object({
      envelope: b64u(1_200_000),
      manifest: b64u(200_000),
      body: b64u(mailLimits.bodyCiphertextBytes),
      box: b64u(8192),
      attachments: z.array(b64u(linkReplyLimits.attachmentBytes + 65_536)).max(linkReplyLimits.attachments).default([]),
    })
    .strict(),
  response: z.object({ received: z.literal(true) }),
} as const;

/** The sender withdraws every link of one of their sent mails now (the public copy is deleted). */
export const mailLinksRevoke = {
  method: 'POST',
  path: '/api/v1/mail/messages/:entryId/links/revoke',
  params: z.object({ entryId: uuid }),
  response: z.object({ revoked: z.number() }),
} as const;

export const transferRoutes = { mailImportMessage, linkReply, mailLinksRevoke };
