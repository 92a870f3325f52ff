/**
 * Ciphertext uploads (docs/mail.md §2): a client declares an attachment piece's size, sends it in
 * parts of at most 4 MiB as the piece encryptor produces them, and completes it; the blob is then
 * named in a send. Uploads count against the uploader's quota from the first byte. Downloads
 * stream part by part to the uploader and to every holder of the message the blob belongs to, whole
 * or as one byte range (`Range`, answered 206, so a download can resume; blobs/range.ts).
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError, blobComplete, blobCreate, blobDownload, blobPart, mailLimits } from '@sealmail/contract';
import { pieceCiphertextLength, toHex } from '@sealmail/crypto';
import { defineRoute } from '../http/route';
import { requireSession } from '../auth/plugin';
import { charge, hasRoom } from '@sealmail/mailstore';
import type { ApiDeps } from '../deps';
import { RunningHashes } from '../blobs/running-hash';
import { parseRange, readRange } from '../blobs/range';

/** The largest ciphertext of one attachment piece: 25 MiB of plaintext, sealed. */
export const maxBlobBytes = pieceCiphertextLength(mailLimits.attachmentBytes);

const partCount = (size: number) => Math.ceil(size / mailLimits.blobPartBytes);
const expectedPartSize = (size: number, index: number) => Math.min(mailLimits.blobPartBytes, size - index * mailLimits.blobPartBytes);

export async function blobRoutes(app: FastifyInstance, deps: ApiDeps, hashes = new RunningHashes()): Promise<void> {
  const running = hashes;
  const device = requireSession(deps, { device: true });
  const anySession = requireSession(deps);
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: mailLimits.blobPartBytes }, (_req, body, done) => done(null, body));

  async function ownUpload(userId: string, blobId: string) {
    const blob = await deps.db.blob.findUnique({ where: { id: blobId } });
    if (!blob || blob.ownerUserId !== userId) throw new ApiError('NOT_FOUND');
    if (blob.completedAt) throw new ApiError('CONFLICT', undefined, 'This upload is already complete.');
    return blob;
  }

  defineRoute(
    app,
    blobCreate,
    async (req) => {
      const s = req.session!;
      if (req.body.size > maxBlobBytes) throw new ApiError('MESSAGE_TOO_LARGE', 'body.size');
      if (!(await hasRoom(deps.db, s.userId, req.body.size))) throw new ApiError('QUOTA_EXCEEDED');
      const blob = await deps.db.blob.create({ data: { ownerUserId: s.userId, declaredSize: req.body.size, uploaded: true } });
      running.start(blob.id);
      return { blobId: blob.id, partBytes: mailLimits.blobPartBytes };
    },
    { preHandler: device },
  );

  /**
   * A part's session, looked up as soon as its headers came (onRequest, not awaited there), so
   * the lookup overlaps the 4 MiB body still arriving instead of following it (docs/performance.md
   * "Third round"); the preHandler waits for it, so nothing is stored, charged or answered before
   * the session is checked. The upload row is still read after the body (a part never lands in an
   * upload completed while its body was on the way).
   */
  const earlySession = new WeakMap<FastifyRequest, Promise<void>>();
  defineRoute(
    app,
    blobPart,
    async (req) => {
      const s = req.session!;
      const { blobId, index } = req.params;
      const bytes = req.body as unknown;
      if (!Buffer.isBuffer(bytes)) throw new ApiError('UNSUPPORTED_MEDIA_TYPE', undefined, 'Blob parts are sent as application/octet-stream.');
      const blob = await ownUpload(s.userId, blobId);
      const size = Number(blob.declaredSize);
      if (index >= partCount(size)) throw new ApiError('VALIDATION_FAILED', 'params.index', `params.index: this upload has ${partCount(size)} parts.`);
      if (bytes.length !== expectedPartSize(size, index)) {
        throw new ApiError('VALIDATION_FAILED', 'body', `body: part ${index} must be ${expectedPartSize(size, index)} bytes, not ${bytes.length}.`);
      }
      // Charge first (refunding what a re-sent part replaces), so a full mailbox stores nothing.
      if (!(await charge(deps.db, s.userId, bytes.length))) throw new ApiError('QUOTA_EXCEEDED');
      const part = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
      const partSize = bytes.length;
      running.begin(blobId, index);
      try {
        const replaced = await deps.blobs.putPart(blobId, index, part);
        running.stored(blobId, index, part); // hands the bytes to the running hash: not read after this
        if (replaced) await charge(deps.db, s.userId, -replaced);
      } catch (err) {
        running.failed(blobId);
        await charge(deps.db, s.userId, -partSize);
        throw err;
      }
      return { blobId, index, size: partSize };
    },
    {
      onRequest: (req, reply, done) => {
        const session = device(req, reply);
        session.catch(() => {}); // a request refused before its preHandler (body type or size) never awaits it
        earlySession.set(req, session);
        done();
      },
      preHandler: async (req, reply) => {
        await (earlySession.get(req) ?? device(req, reply));
      },
    },
  );

  defineRoute(
    app,
    blobComplete,
    async (req) => {
      const s = req.session!;
      const blob = await ownUpload(s.userId, req.params.blobId);
      const size = Number(blob.declaredSize);
      const sizes = await deps.blobs.partSizes(blob.id);
      const n = partCount(size);
      for (let i = 0; i < n; i++) {
        if (sizes.get(i) !== expectedPartSize(size, i)) throw new ApiError('UPLOAD_INCOMPLETE', undefined, `The upload is not complete: part ${i} is missing.`);
      }
      // Hashed as the parts came (blobs/running-hash.ts); read back and hashed only when that could not vouch for every part.
      let sha256 = await running.take(blob.id, n);
      if (!sha256) {
        const hash = createHash('sha256');
        for await (const part of deps.blobs.read(blob.id, n)) hash.update(part);
        sha256 = new Uint8Array(hash.digest());
      }
      const done = await deps.db.blob.updateMany({ where: { id: blob.id, completedAt: null }, data: { completedAt: deps.now(), size, parts: n, sha256 } });
      if (done.count !== 1) throw new ApiError('CONFLICT', undefined, 'This upload is already complete.');
      return { blobId: blob.id, size, sha256: toHex(sha256) };
    },
    { preHandler: device },
  );

  defineRoute(
    app,
    blobDownload,
    async (req, reply) => {
      const s = req.session!;
      const blob = await deps.db.blob.findUnique({ where: { id: req.params.blobId } });
      if (!blob?.completedAt) throw new ApiError('NOT_FOUND');
      const mayRead =
        (blob.ownerUserId === s.userId && !blob.messageId) ||
        (!!blob.messageId && (await deps.db.mailboxEntry.count({ where: { userId: s.userId, messageId: blob.messageId } })) > 0) ||
        // A delegate in force of a mailbox holding the mail (docs/mail.md, Delegation).
        (!!blob.messageId && (await deps.db.mailboxEntry.count({ where: { messageId: blob.messageId, user: { delegationsGiven: { some: { delegateUserId: s.userId, revokedSeqno: null } } } } })) > 0);
      if (!mayRead) throw new ApiError('NOT_FOUND');
      const size = Number(blob.size);
      const sha256 = blob.sha256 ? toHex(blob.sha256) : '';
      void reply
        .header('content-type', 'application/octet-stream')
        .header('cache-control', 'private, no-store')
        .header('accept-ranges', 'bytes')
        .header('x-content-sha256', sha256);
      // A completed blob never changes: its hash is its entity tag, so a resumed download can
      // send If-Range and get the whole blob again should it ever differ (blobs/range.ts).
      if (sha256) void reply.header('etag', `"${sha256}"`);
      const ifRange = req.headers['if-range'];
      const range = ifRange === undefined || ifRange === `"${sha256}"` ? parseRange(req.headers.range, size) : null;
      if (range === 'unsatisfiable') {
        void reply.header('content-range', `bytes */${size}`);
        throw new ApiError('RANGE_NOT_SATISFIABLE', 'headers.range');
      }
      if (range) {
        void reply
          .code(206)
          .header('content-range', `bytes ${range.first}-${range.last}/${size}`)
          .header('content-length', String(range.last - range.first + 1));
        return reply.send(Readable.from(readRange(deps.blobs, blob.id, range))) as never;
      }
      void reply.header('content-length', String(size));
      return reply.send(Readable.from(deps.blobs.read(blob.id, blob.parts))) as never;
    },
    { preHandler: anySession },
  );
}
