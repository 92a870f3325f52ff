/**
 * HEAD of a link's attachment piece is free (no visit, no budget: routes/links.ts), but the handler
 * used to hand Fastify a stream of the whole piece anyway, and Fastify's automatic HEAD route
 * resumes a stream payload to throw it away: every HEAD read the full ciphertext (up to 25 MiB) out
 * of the blob store. Anyone holding a link id could pull 25 MiB from the database per request,
 * without limit. Now a HEAD answers the headers (the piece's length included) and opens nothing.
 * The real Postgres blob store, counting the bytes it hands out.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo } from '@sealmail/db';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { postgresBlobStore, type BlobStore } from '@sealmail/mailstore';
import { createLogger } from '@sealmail/server';
import { pgPoolOf } from '@sealmail/db';
import { buildApp } from '../src/app';

let tdb: TestDatabase;
let app: FastifyInstance;
let ownerId: string;
let bytesRead = 0;

beforeAll(async () => {
  tdb = await createTestDatabase();
  await seedDemo(tdb.prisma, { domain: 'example.test' });
  ownerId = (await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'alice' } })).id;
  const inner = postgresBlobStore(tdb.prisma);
  // The real Postgres blob store, counting the bytes it hands out.
  const blobs: BlobStore = {
    ...inner,
    putPart: inner.putPart.bind(inner),
    partSizes: inner.partSizes.bind(inner),
    delete: inner.delete.bind(inner),
    readPart: inner.readPart.bind(inner),
    listBlobs: inner.listBlobs.bind(inner),
    async *read(blobId, parts) {
      for await (const chunk of inner.read(blobId, parts)) {
        bytesRead += chunk.length;
        yield chunk;
      }
    },
  };
  app = await buildApp({ logger: createLogger({ level: 'silent' }), db: tdb.prisma, version: 't', blobs });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await tdb?.drop();
});

describe('HEAD of a link piece', () => {
  it('does not read the piece out of the blob store', { timeout: 60_000 }, async () => {
    const size = 4 * 1024 * 1024;
    const message = await tdb.prisma.message.create({
      data: { mailId: `<${randomUUID()}@example.test>`, senderAddress: 'alice@example.test', toAddresses: ['carol@example.org'], ccAddresses: [], protection: 'e2ee', envelope: new Uint8Array(8), manifest: new Uint8Array(8), body: new Uint8Array(8), bodySize: 8, attachmentSizes: [BigInt(size)], size: BigInt(size) },
    });
    const blob = await tdb.prisma.blob.create({ data: { ownerUserId: ownerId, declaredSize: BigInt(size), size: BigInt(size), parts: 1, messageId: message.id, pieceIndex: 1, completedAt: new Date() } });
    await postgresBlobStore(tdb.prisma).putPart(blob.id, 0, randomBytes(size));
    const id = randomBytes(16).toString('base64url');
    await tdb.prisma.mailLink.create({ data: { id, messageId: message.id, sourceMessageId: randomUUID(), senderUserId: ownerId, recipient: 'carol@example.org', passwordBox: new Uint8Array(74), expiresAt: new Date(Date.now() + 86400_000) } });

    const heads = 10;
    for (let i = 0; i < heads; i++) {
      const res = await app.inject({ method: 'HEAD', url: `/api/v1/links/${id}/pieces/1` });
      expect(res.statusCode).toBe(200);
      expect(res.rawPayload.length).toBe(0);
      expect(res.headers['content-length']).toBe(String(size));
    }
    // Let a resumed stream finish draining.
    await new Promise((r) => setTimeout(r, 1000));
    expect(await tdb.prisma.rateLimit.count(), 'HEAD is free: no visit counted').toBe(0);
    expect(bytesRead, `bytes read from the blob store for ${heads} HEAD requests of a ${size}-byte piece`).toBe(0);
  });

  it('a GET still reads and sends the piece (and counts as a visit)', { timeout: 60_000 }, async () => {
    const link = await tdb.prisma.mailLink.findFirstOrThrow();
    bytesRead = 0;
    const res = await app.inject({ method: 'GET', url: `/api/v1/links/${link.id}/pieces/1` });
    expect(res.statusCode).toBe(200);
    expect(res.rawPayload.length).toBe(4 * 1024 * 1024);
    expect(bytesRead).toBe(4 * 1024 * 1024);
    // One visit: the link's budget and this client's.
    expect(await tdb.prisma.rateLimit.count()).toBe(2);
  });
});

describe('HEAD of a link', () => {
  it('does not read the message (envelope, manifest, body: up to 2 MiB) out of the database', { timeout: 60_000 }, async () => {
    // Every SQL statement the API sends to Postgres that reads a message's body.
    let messageReads = 0;
    const patched = new WeakSet<object>();
    const pool = pgPoolOf(tdb.prisma)!;
    const count = (client: { query: (...a: unknown[]) => unknown }) => {
      if (patched.has(client)) return;
      patched.add(client);
      const query = client.query.bind(client);
      client.query = (...args: unknown[]) => {
        const text = typeof args[0] === 'string' ? args[0] : String((args[0] as { text?: string } | undefined)?.text ?? '');
        if (/"messages"/.test(text) && /"body"/.test(text)) messageReads++;
        return query(...args);
      };
    };
    pool.on('acquire', count);
    const headApp = app;
    try {
      const body = randomBytes(1024 * 1024);
      const message = await tdb.prisma.message.create({
        data: { mailId: `<${randomUUID()}@example.test>`, senderAddress: 'alice@example.test', toAddresses: ['carol@example.org'], ccAddresses: [], protection: 'e2ee', envelope: new Uint8Array(8), manifest: new Uint8Array(8), body, bodySize: body.length, attachmentSizes: [], size: BigInt(body.length) },
      });
      const id = randomBytes(16).toString('base64url');
      await tdb.prisma.mailLink.create({ data: { id, messageId: message.id, sourceMessageId: randomUUID(), senderUserId: ownerId, recipient: 'carol@example.org', passwordBox: new Uint8Array(74), expiresAt: new Date(Date.now() + 86400_000) } });
      messageReads = 0;
      for (let i = 0; i < 10; i++) {
        const res = await headApp.inject({ method: 'HEAD', url: `/api/v1/links/${id}` });
        expect(res.statusCode).toBe(200);
        expect(res.rawPayload.length).toBe(0);
        expect(res.headers['cache-control']).toBe('no-store');
      }
      expect(messageReads, 'message reads for 10 HEAD requests').toBe(0);
      // A GET still reads it (and is a visit).
      const get = await headApp.inject({ method: 'GET', url: `/api/v1/links/${id}` });
      expect(get.statusCode).toBe(200);
      expect(Buffer.from((get.json() as { body: string }).body, 'base64url').equals(body)).toBe(true);
      expect(messageReads).toBe(1);
      // An expired link's HEAD still answers 410.
      await tdb.prisma.mailLink.update({ where: { id }, data: { expiresAt: new Date(Date.now() - 1000) } });
      expect((await headApp.inject({ method: 'HEAD', url: `/api/v1/links/${id}` })).statusCode).toBe(410);
    } finally {
      pool.off('acquire', count);
    }
  });
});
