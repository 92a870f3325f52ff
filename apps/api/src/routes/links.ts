/**
 * Expiring password links (MISSION §3, docs/mail.md §10). Public routes for the viewer: only the
 * link id reaches the server (password and digest stay in the URL fragment); they hand out the
 * public copy's ciphertext, which the viewer checks against the digest and decrypts in the
 * browser. Opening the link (GET of the link) is one visit, which the sender sees and which
 * counts against the link's visit budget; the attachment pieces fetched with that visit's token
 * belong to it (each piece a few times), so a mail with many attachments opens in one sitting.
 * HEAD requests (link scanners, prefetchers) are free, and read nothing but the link row. After expiry the public copy is gone and
 * the link answers 410 LINK_EXPIRED. Logs name a link only by a hash of its id (logger.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, LINK_VISIT_HEADER, linkGet, linkPiece, mailLinks } from '@sealmail/contract';
import { toBase64Url } from '@sealmail/crypto';
import { defineRoute } from '../http/route';
import { requireSession } from '../auth/plugin';
import { hitRateLimit } from '../auth/rate-limit';
import { clientKey } from '../auth/throttle';
import type { ApiDeps } from '../deps';

/**
 * Visits per link per 10 minutes from one client (an IPv4 address, an IPv6 /64): a person opens
 * it a few times; a scraper is slowed.
 */
export const LINK_FETCH_LIMIT = 30;
/**
 * Visits per link per 10 minutes from all clients together (a scraper spread over many
 * addresses): high enough that one client using up its own budget does not lock out the
 * recipient, who comes from another address.
 */
export const LINK_FETCH_LIMIT_ALL = 10 * LINK_FETCH_LIMIT;
const LINK_WINDOW_MS = 10 * 60_000;
/** How long a visit's token fetches pieces, and how often each piece may be fetched in it. */
export const LINK_VISIT_MS = 60 * 60_000;
export const LINK_PIECE_FETCHES_PER_VISIT = 3;

/** The rate-limit row of one visit (the token itself is not stored, nor the link id in clear). */
const visitKey = (linkId: string, token: string) => `linkvisit:${createHash('sha256').update(`${linkId}:${token}`).digest('base64url')}`;

export async function linkRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const session = requireSession(deps);

  /** A live link's public copy (not counted: see countVisit and countPiece). */
  async function live(linkId: string, reply: FastifyReply) {
    void reply.header('referrer-policy', 'no-referrer').header('cache-control', 'no-store').header('x-robots-tag', 'noindex, nofollow');
    const link = await deps.db.mailLink.findUnique({ where: { id: linkId } });
    if (!link) throw new ApiError('NOT_FOUND');
    // Withdrawn by the sender before its expiry (routes/transfer.ts).
    if (link.expiredAt && link.expiredAt < link.expiresAt) throw new ApiError('LINK_REVOKED');
    if (!link.messageId || link.expiredAt || link.expiresAt <= deps.now()) throw new ApiError('LINK_EXPIRED');
    return link as typeof link & { messageId: string };
  }

  /**
   * One visit against the link's budgets: the client's own (its address kept only as a keyed hash
   * with the link), then the link's over all clients. Before, one budget for the link meant that
   * anyone holding its id could use it up and lock the recipient out for the window.
   */
  async function countVisit(req: FastifyRequest, linkId: string, reply: FastifyReply) {
    const client = createHash('sha256').update(`${linkId}:${clientKey(req.ip)}`).digest('base64url');
    for (const [key, max] of [[`linkclient:${client}`, LINK_FETCH_LIMIT], [`link:${linkId}`, LINK_FETCH_LIMIT_ALL]] as const) {
      const limit = await hitRateLimit(deps.db, key, max, LINK_WINDOW_MS, deps.now());
      if (!limit.allowed) {
        void reply.header('retry-after', String(limit.retryAfterSeconds));
        throw new ApiError('RATE_LIMITED');
      }
    }
  }

  /**
   * A piece fetch: part of the visit its token names (each piece a few times per visit), or,
   * without a live visit token (an older viewer, an expired visit), a visit of its own.
   */
  async function countPiece(req: FastifyRequest, linkId: string, messageId: string, reply: FastifyReply) {
    const token = req.headers[LINK_VISIT_HEADER];
    const now = deps.now();
    if (typeof token === 'string' && /^[A-Za-z0-9_-]{22}$/.test(token)) {
      const key = visitKey(linkId, token);
      const row = await deps.db.rateLimit.findUnique({ where: { key } });
      if (row && row.windowStart.getTime() > now.getTime() - LINK_VISIT_MS) {
        const pieces = await deps.db.blob.count({ where: { messageId } });
        const limit = await hitRateLimit(deps.db, key, Math.max(1, pieces) * LINK_PIECE_FETCHES_PER_VISIT, LINK_VISIT_MS, now);
        if (!limit.allowed) {
          void reply.header('retry-after', String(limit.retryAfterSeconds));
          throw new ApiError('RATE_LIMITED');
        }
        return;
      }
    }
    await countVisit(req, linkId, reply);
  }

  defineRoute(app, linkGet, async (req, reply) => {
    const link = await live(req.params.linkId, reply);
    // A HEAD (scanners, prefetchers) is free: it neither counts nor is a visit the sender sees. So
    // it must cost nothing either: the answer's headers only, without reading the message (up to
    // 2 MiB of envelope, manifest and body) only for Fastify to throw the JSON away.
    if (req.method === 'HEAD') return reply.type('application/json; charset=utf-8').send(Readable.from([])) as never;
    await countVisit(req, link.id, reply);
    const visit = randomBytes(16).toString('base64url');
    await deps.db.rateLimit.create({ data: { key: visitKey(link.id, visit), windowStart: deps.now(), count: 0 } });
    const msg = await deps.db.message.findUniqueOrThrow({ where: { id: link.messageId }, include: { blobs: { orderBy: { pieceIndex: 'asc' }, select: { size: true, pieceIndex: true } } } });
    const now = deps.now();
    // A visit for the sender.
    await deps.db.mailLink.update({ where: { id: link.id }, data: { openCount: { increment: 1 }, firstOpenedAt: link.firstOpenedAt ?? now, lastOpenedAt: now } });
    return {
      sender: msg.senderAddress,
      recipient: link.recipient,
      expiresAt: link.expiresAt.toISOString(),
      envelope: toBase64Url(msg.envelope),
      manifest: toBase64Url(msg.manifest),
      passwordBox: toBase64Url(link.passwordBox),
      body: toBase64Url(msg.body),
      attachments: msg.blobs.map((b, i) => ({ index: b.pieceIndex ?? i + 1, size: Number(b.size) })),
      visit,
    };
  });

  defineRoute(app, linkPiece, async (req, reply) => {
    const link = await live(req.params.linkId, reply);
    const blob = await deps.db.blob.findFirst({ where: { messageId: link.messageId, pieceIndex: req.params.index } });
    if (!blob) throw new ApiError('NOT_FOUND');
    void reply.header('content-type', 'application/octet-stream').header('content-length', String(blob.size));
    // A HEAD is free, so it must cost nothing: no stream is opened (Fastify's HEAD route would
    // read the whole ciphertext from the store only to throw it away).
    if (req.method === 'HEAD') return reply.send(Readable.from([])) as never;
    await countPiece(req, link.id, link.messageId, reply);
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
