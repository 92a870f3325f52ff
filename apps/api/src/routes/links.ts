/**
 * Expiring password links (MISSION §3, docs/mail.md §10). Public routes for the viewer: only the
 * link id reaches the server (password and digest stay in the URL fragment); they hand out the
 * public copy's ciphertext, which the viewer checks against the digest and decrypts in the
 * browser. Each fetch counts as a visit the sender can see; fetches are rate-limited per link.
 * After expiry the public copy is gone and the link answers 410 LINK_EXPIRED.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ApiError, linkGet, linkPiece, mailLinks } from '@sealmail/contract';
import { toBase64Url } from '@sealmail/crypto';
import { defineRoute } from '../http/route';
import { requireSession } from '../auth/plugin';
import { hitRateLimit } from '../auth/rate-limit';
import type { ApiDeps } from '../deps';

/** Ciphertext fetches per link per 10 minutes (a person opens it a few times; a scraper is slowed). */
export const LINK_FETCH_LIMIT = 30;
const LINK_WINDOW_MS = 10 * 60_000;

export async function linkRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const session = requireSession(deps);

  /** A live link's public copy, counted against the link's rate limit. */
  async function live(linkId: string, reply: FastifyReply) {
    void reply.header('referrer-policy', 'no-referrer').header('cache-control', 'no-store').header('x-robots-tag', 'noindex, nofollow');
    const link = await deps.db.mailLink.findUnique({ where: { id: linkId } });
    if (!link) throw new ApiError('NOT_FOUND');
    if (!link.messageId || link.expiredAt || link.expiresAt <= deps.now()) throw new ApiError('LINK_EXPIRED');
    const limit = await hitRateLimit(deps.db, `link:${link.id}`, LINK_FETCH_LIMIT, LINK_WINDOW_MS, deps.now());
    if (!limit.allowed) throw new ApiError('RATE_LIMITED');
    return link as typeof link & { messageId: string };
  }

  defineRoute(app, linkGet, async (req, reply) => {
    const link = await live(req.params.linkId, reply);
    const msg = await deps.db.message.findUniqueOrThrow({ where: { id: link.messageId }, include: { blobs: { orderBy: { pieceIndex: 'asc' }, select: { size: true, pieceIndex: true } } } });
    const now = deps.now();
    // A visit for the sender (a HEAD, which scanners send, is not one).
    if (req.method === 'GET') await deps.db.mailLink.update({ where: { id: link.id }, data: { openCount: { increment: 1 }, firstOpenedAt: link.firstOpenedAt ?? now, lastOpenedAt: now } });
    return {
      sender: msg.senderAddress,
      expiresAt: link.expiresAt.toISOString(),
      envelope: toBase64Url(msg.envelope),
      manifest: toBase64Url(msg.manifest),
      passwordBox: toBase64Url(link.passwordBox),
      body: toBase64Url(msg.body),
      attachments: msg.blobs.map((b, i) => ({ index: b.pieceIndex ?? i + 1, size: Number(b.size) })),
    };
  });

  defineRoute(app, linkPiece, async (req, reply) => {
    const link = await live(req.params.linkId, reply);
    const blob = await deps.db.blob.findFirst({ where: { messageId: link.messageId, pieceIndex: req.params.index } });
    if (!blob) throw new ApiError('NOT_FOUND');
    void reply.header('content-type', 'application/octet-stream').header('content-length', String(blob.size));
    return reply.send(Readable.from(deps.blobs.read(blob.id, blob.parts))) as never;
  });

  defineRoute(
    app,
    mailLinks,
    async (req) => {
      const e = await deps.db.mailboxEntry.findUnique({ where: { id: req.params.entryId } });
      if (!e || e.userId !== req.session!.userId || e.role !== 'sender-copy') throw new ApiError('NOT_FOUND');
      const links = await deps.db.mailLink.findMany({ where: { sourceMessageId: e.messageId }, include: { delivery: { select: { status: true } } }, orderBy: { recipient: 'asc' } });
      const now = deps.now();
      return {
        links: links.map((l) => ({
          recipient: l.recipient,
          expiresAt: l.expiresAt.toISOString(),
          expired: !l.messageId || l.expiresAt <= now,
          openCount: l.openCount,
          firstOpenedAt: l.firstOpenedAt?.toISOString() ?? null,
          lastOpenedAt: l.lastOpenedAt?.toISOString() ?? null,
          // The notice's delivery row goes with the public copy at expiry; by then it was final.
          notice: l.delivery?.status ?? 'delivered',
        })),
      };
    },
    { preHandler: session },
  );
}
