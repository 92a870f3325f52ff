/**
 * Mail moving in and out (docs/mail.md §10–§11):
 *  - a user's import: a message their own device parsed and sealed to them alone, filed with its
 *    original date in the folder they chose, joined to the thread the device matched;
 *  - an outside recipient's secure reply through an expiring link: sealed in their browser to the
 *    sender's per-user key (the server cannot read it), filed in the sender's Inbox in the thread
 *    of the mail the link carried; the link's expiry, revocation and a rate limit hold;
 *  - the sender withdrawing a mail's links early.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { ApiError, linkReply, linkReplyLimits, mailImportMessage, mailLimits, mailLinksRevoke } from '@sealmail/contract';
import { decodeEnvelope, decodeRecipientBox, fromBase64Url, piecePlaintextLength, type MailEnvelope } from '@sealmail/crypto';
import { BlobTakenError, charge, DuplicateMailError, QuotaExceededError, storeMessage } from '@sealmail/mailstore';
import { defineRoute } from '../http/route';
import { requireSession } from '../auth/plugin';
import { hitRateLimit, peekRateLimit } from '../auth/rate-limit';
import type { ApiDeps } from '../deps';
import { decodeOr, invalidMail as invalid, sameBytes as equal, sha256 } from '../mail/sealed-input';

const REPLY_WINDOW_MS = 60 * 60_000;

/** Envelope, manifest and body of a sealed upload, checked to fit together. */
function sealedParts(b: { envelope: string; manifest: string; body: string }) {
  const envelope = decodeOr(() => fromBase64Url(b.envelope), 'the envelope does not decode');
  const manifest = decodeOr(() => fromBase64Url(b.manifest), 'the manifest does not decode');
  const body = decodeOr(() => fromBase64Url(b.body), 'the body does not decode');
  if (body.length > mailLimits.bodyCiphertextBytes) throw new ApiError('MESSAGE_TOO_LARGE', 'body.body');
  decodeOr(() => piecePlaintextLength(body.length), 'the body is not a sealed piece');
  const env: MailEnvelope = decodeOr(() => decodeEnvelope(envelope), 'the envelope does not decode');
  if (!equal(sha256(manifest), env.manifestHash)) throw invalid('the manifest is not the one the envelope names');
  return { envelope, manifest, body, env };
}

export async function transferRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const device = requireSession(deps, { device: true });

  defineRoute(
    app,
    mailImportMessage,
    async (req) => {
      const s = req.session!;
      const b = req.body;
      const self = `${s.user.localPart}@${s.user.domain.name}`;
      const { envelope, manifest, body, env } = sealedParts(b);
      if (env.sender.kind !== 'device' || env.sender.userId !== s.userId || env.sender.deviceId !== s.deviceId) throw invalid('the envelope is not sealed by this device');
      if (env.recipients.length) throw invalid('an imported mail is sealed to you alone');
      const record = decodeOr(() => fromBase64Url(b.box), 'the box does not decode');
      const rec = decodeOr(() => decodeRecipientBox(record), 'the box does not decode');
      if (rec.role !== 'sender-copy' || rec.userId !== s.userId) throw invalid('the box is not your own copy');
      const receivedAt = new Date(b.receivedAt);
      if (receivedAt.getTime() < 0 || receivedAt.getTime() > deps.now().getTime() + 86_400_000) throw new ApiError('VALIDATION_FAILED', 'body.receivedAt', 'body.receivedAt: a date between 1970 and tomorrow.');
      const blobs = b.attachments.length ? await deps.db.blob.findMany({ where: { id: { in: b.attachments }, ownerUserId: s.userId, completedAt: { not: null }, messageId: null } }) : [];
      if (new Set(b.attachments).size !== b.attachments.length || blobs.length !== b.attachments.length) throw invalid('an attachment is not a completed upload of yours');
      const byId = new Map(blobs.map((x) => [x.id, x]));
      const attachmentSizes = b.attachments.map((id) => decodeOr(() => piecePlaintextLength(Number(byId.get(id)!.size)), 'an attachment is not a sealed piece'));
      if (attachmentSizes.reduce((a, n) => a + n, 0) > mailLimits.attachmentBytes) throw new ApiError('MESSAGE_TOO_LARGE', 'body.attachments');
      const blobBytes = blobs.reduce((a, x) => a + x.size, 0n);
      const parent = b.inReplyTo ? await deps.db.mailboxEntry.findUnique({ where: { id: b.inReplyTo } }) : null;
      if (b.inReplyTo && (!parent || parent.userId !== s.userId)) throw new ApiError('NOT_FOUND', 'body.inReplyTo');
      try {
        const stored = await storeMessage(deps.db, {
          mailId: env.messageId,
          senderUserId: null,
          senderAddress: b.from || self,
          to: b.to,
          cc: b.cc,
          protection: 'e2ee',
          envelope,
          manifest,
          body,
          attachments: b.attachments,
          attachmentSizes,
          blobBytes,
          parentId: parent?.messageId ?? null,
          sentAt: receivedAt,
          holders: [{ userId: s.userId, address: self, kind: 'sender-copy', box: record, folder: b.folder, read: b.read, required: true, alreadyCharged: blobBytes, threadId: parent?.threadId ?? randomUUID() }],
        });
        const mine = stored.entries[0]!;
        void deps.events.publish(deps.db, s.userId, { entryId: mine.entryId, folder: mine.folder, kind: 'new' }).catch((err: unknown) => app.log.warn({ err }, 'mail event not published'));
        return { entryId: mine.entryId, threadId: mine.threadId };
      } catch (err) {
        if (err instanceof QuotaExceededError) throw new ApiError('QUOTA_EXCEEDED');
        if (err instanceof DuplicateMailError) throw new ApiError('CONFLICT', 'body.envelope', 'A mail with this message id exists already.');
        if (err instanceof BlobTakenError) throw invalid('an attachment was used by another mail meanwhile');
        throw err;
      }
    },
    { preHandler: device },
  );

  /** The link a reply goes through, live (not revoked, not expired). */
  async function replyLink(linkId: string) {
    const link = /^[A-Za-z0-9_-]{22}$/.test(linkId) ? await deps.db.mailLink.findUnique({ where: { id: linkId } }) : null;
    if (!link) throw new ApiError('NOT_FOUND');
    if (link.expiredAt && link.expiredAt < link.expiresAt) throw new ApiError('LINK_REVOKED');
    if (!link.messageId || link.expiredAt || link.expiresAt <= deps.now()) throw new ApiError('LINK_EXPIRED');
    return link;
  }
  const replyBudgetKey = (linkId: string) => `linkreply:${createHash('sha256').update(linkId).digest('base64url')}`;

  defineRoute(
    app,
    linkReply,
    async (req, reply) => {
      void reply.header('referrer-policy', 'no-referrer').header('cache-control', 'no-store');
      const link = await replyLink(req.params.linkId);
      const b = req.body;
      const { envelope, manifest, body, env } = sealedParts(b);
      // Sealed by nobody's device (the outside recipient has no key), from the link's recipient,
      // to the sender alone, in a box of role `to`.
      if (env.sender.kind !== 'external' || env.sender.address.toLowerCase() !== link.recipient) throw invalid('a reply through a link comes from the link’s recipient, unsigned');
      if (env.recipients.length !== 1 || env.recipients[0]!.userId !== link.senderUserId) throw invalid('a reply through a link is sealed to the sender alone');
      const record = decodeOr(() => fromBase64Url(b.box), 'the box does not decode');
      const rec = decodeOr(() => decodeRecipientBox(record), 'the box does not decode');
      if (rec.role !== 'to' || rec.userId !== link.senderUserId) throw invalid('the box is not the sender’s');
      const pieces = b.attachments.map((a) => decodeOr(() => fromBase64Url(a), 'an attachment does not decode'));
      const attachmentSizes = pieces.map((p) => decodeOr(() => piecePlaintextLength(p.length), 'an attachment is not a sealed piece'));
      if (attachmentSizes.reduce((a, n) => a + n, 0) > linkReplyLimits.attachmentBytes) throw new ApiError('MESSAGE_TOO_LARGE', 'body.attachments', `A reply through a link may carry at most ${linkReplyLimits.attachmentBytes / 1048576} MiB of attachments.`);
      // Counted only once the reply is well formed: requests refused above (junk from anyone who
      // knows the link id) used up the hour's budget and shut the real recipient out.
      const limit = await hitRateLimit(deps.db, replyBudgetKey(link.id), linkReplyLimits.perHour, REPLY_WINDOW_MS, deps.now());
      if (!limit.allowed) {
        void reply.header('retry-after', String(limit.retryAfterSeconds));
        throw new ApiError('RATE_LIMITED');
      }
      const sender = await deps.db.user.findUnique({ where: { id: link.senderUserId }, select: { localPart: true, domain: { select: { name: true } } } });
      if (!sender) throw new ApiError('LINK_EXPIRED');
      const senderAddress = `${sender.localPart}@${sender.domain.name}`;
      // The attachment pieces become blobs of the sender's (charged with the mail).
      const blobIds: string[] = [];
      const now = deps.now();
      try {
        for (const p of pieces) {
          const blob = await deps.db.blob.create({ data: { ownerUserId: link.senderUserId, declaredSize: p.length } });
          blobIds.push(blob.id);
          let parts = 0;
          for (let at = 0; at < p.length || parts === 0; at += mailLimits.blobPartBytes) await deps.blobs.putPart(blob.id, parts++, p.subarray(at, at + mailLimits.blobPartBytes));
          await deps.db.blob.update({ where: { id: blob.id }, data: { size: p.length, parts, completedAt: now, sha256: sha256(p) } });
        }
        const stored = await storeMessage(deps.db, {
          mailId: env.messageId,
          senderUserId: null,
          senderAddress: link.recipient,
          to: [senderAddress],
          cc: [],
          protection: 'server',
          envelope,
          manifest,
          body,
          attachments: blobIds,
          attachmentSizes,
          blobBytes: pieces.reduce((a, p) => a + BigInt(p.length), 0n),
          parentId: link.sourceMessageId,
          sentAt: now,
          holders: [{ userId: link.senderUserId, address: senderAddress, kind: 'to', box: record, folder: 'inbox', required: true }],
        });
        for (const e of stored.entries) void deps.events.publish(deps.db, e.userId, { entryId: e.entryId, folder: e.folder, kind: 'new' }).catch((err: unknown) => app.log.warn({ err }, 'mail event not published'));
        return { received: true as const };
      } catch (err) {
        await deps.db.blob.deleteMany({ where: { id: { in: blobIds }, messageId: null } });
        await deps.blobs.delete(blobIds);
        if (err instanceof QuotaExceededError) throw new ApiError('QUOTA_EXCEEDED', undefined, 'The sender’s mailbox is full: your reply could not be delivered.');
        if (err instanceof DuplicateMailError) throw new ApiError('CONFLICT', 'body.envelope', 'This reply was received already.');
        throw err;
      }
    },
    {
      bodyLimit: Math.ceil(((linkReplyLimits.attachmentBytes + mailLimits.bodyCiphertextBytes) * 4) / 3) + 2 * 1024 * 1024,
      // Before the body (up to 17 MiB) is read and parsed: the link must be live and have budget
      // left. Without a session, anyone could make the process parse 17 MiB of JSON for a 404.
      onRequest: async (req, reply) => {
        const link = await replyLink((req.params as { linkId: string }).linkId);
        const budget = await peekRateLimit(deps.db, replyBudgetKey(link.id), linkReplyLimits.perHour, REPLY_WINDOW_MS, deps.now());
        if (!budget.allowed) {
          void reply.header('retry-after', String(budget.retryAfterSeconds));
          throw new ApiError('RATE_LIMITED');
        }
      },
    },
  );

  defineRoute(
    app,
    mailLinksRevoke,
    async (req) => {
      const s = req.session!;
      const e = await deps.db.mailboxEntry.findUnique({ where: { id: req.params.entryId } });
      if (!e || e.userId !== s.userId || e.role !== 'sender-copy') throw new ApiError('NOT_FOUND');
      const now = deps.now();
      const live = await deps.db.mailLink.findMany({ where: { sourceMessageId: e.messageId, messageId: { not: null }, expiredAt: null, expiresAt: { gt: now } }, select: { id: true, messageId: true } });
      const copies = [...new Set(live.map((l) => l.messageId!))];
      for (const copyId of copies) {
        const blobIds = await deps.db.$transaction(async (tx) => {
          await tx.mailLink.updateMany({ where: { messageId: copyId }, data: { expiredAt: now, secretBox: null } });
          const msg = await tx.message.findUnique({ where: { id: copyId }, select: { id: true, size: true, senderUserId: true, blobs: { select: { id: true } } } });
          if (!msg || (await tx.mailboxEntry.count({ where: { messageId: msg.id } }))) return [];
          await tx.message.delete({ where: { id: msg.id } });
          if (msg.senderUserId) await charge(tx, msg.senderUserId, -msg.size);
          return msg.blobs.map((x) => x.id);
        });
        await deps.blobs.delete(blobIds);
      }
      return { revoked: live.length };
    },
    { preHandler: device },
  );
}
