/**
 * Moving blobs between stores (`migrateBlobs`, and the operator command `scripts/blob-migrate.ts`;
 * docs/operations.md, "Object storage"): Postgres → S3 and back, byte for byte; idempotent (a
 * second run moves nothing); resumable after a run that stopped half-way, even inside a blob; and
 * a copy that does not verify leaves the source as it was. Real Postgres, and `@20minutes/s3rver`
 * on loopback standing in for S3/MinIO (why this server: src/testing/index.ts).
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { childEnvironment } from '@sealmail/server';
import { postgresBlobStore, type BlobStore } from '../src/blob-store';
import { migrateBlobs } from '../src/blob-migrate';
import { s3BlobStore } from '../src/s3-blob-store';
import { diskBlobStore } from '../src/disk-blob-store';
import { startTestS3Server, type TestS3Server } from '../src/testing';

let tdb: TestDatabase;
let s3: TestS3Server;
let pg: BlobStore;
let bucket: BlobStore;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  [tdb, s3] = await Promise.all([createTestDatabase(), startTestS3Server()]);
  pg = postgresBlobStore(tdb.prisma);
  bucket = s3BlobStore({ db: tdb.prisma, client: s3.client(), bucket: s3.settings.bucket, prefix: s3.settings.prefix });
}, 60_000);

afterAll(async () => {
  await Promise.all([tdb?.drop(), s3?.close()]);
});

/** Blobs as the API and the ingress leave them: complete (hash recorded), an upload under way, one with no bytes yet. */
async function makeBlobs(store: BlobStore) {
  const db = tdb.prisma;
  const parts = [randomBytes(50_000), randomBytes(123)];
  const complete = await db.blob.create({ data: { declaredSize: 50_123 } });
  for (const [i, p] of parts.entries()) await store.putPart(complete.id, i, p);
  await db.blob.update({ where: { id: complete.id }, data: { size: 50_123, parts: 2, completedAt: new Date(), sha256: createHash('sha256').update(parts[0]!).update(parts[1]!).digest() } });
  const partial = await db.blob.create({ data: { declaredSize: 9_000 } });
  const partialPart = randomBytes(4_000);
  await store.putPart(partial.id, 0, partialPart);
  const empty = await db.blob.create({ data: { declaredSize: 10 } });
  return { ids: [complete.id, partial.id, empty.id], expected: new Map([[complete.id, parts.map(sha)], [partial.id, [sha(partialPart)]], [empty.id, []]]) };
}

async function holdings(store: BlobStore, ids: readonly string[]) {
  const out = new Map<string, string[]>();
  for (const id of ids) {
    const indexes = [...(await store.partSizes(id)).keys()].sort((a, b) => a - b);
    out.set(id, await Promise.all(indexes.map(async (i) => sha((await store.readPart(id, i))!))));
  }
  return out;
}

const none = (ids: readonly string[]) => new Map(ids.map((id) => [id, [] as string[]]));

describe('blob migration', () => {
  it('moves every blob Postgres → S3 and back, byte for byte, and a second run moves nothing', { timeout: 60_000 }, async () => {
    const { ids, expected } = await makeBlobs(pg);
    const there = await migrateBlobs({ db: tdb.prisma, from: pg, to: bucket });
    expect(there).toMatchObject({ moved: 2, parts: 3, bytes: 54_123, failed: [] });
    expect(await holdings(bucket, ids)).toEqual(expected);
    expect(await holdings(pg, ids)).toEqual(none(ids));
    expect(await tdb.prisma.blobPart.count({ where: { blobId: { in: ids } } })).toBe(0);

    const again = await migrateBlobs({ db: tdb.prisma, from: pg, to: bucket });
    expect(again).toMatchObject({ moved: 0, failed: [] });
    expect(await holdings(bucket, ids)).toEqual(expected);

    const back = await migrateBlobs({ db: tdb.prisma, from: bucket, to: pg });
    expect(back).toMatchObject({ moved: 2, parts: 3, failed: [] });
    expect(await holdings(pg, ids)).toEqual(expected);
    expect(await holdings(bucket, ids)).toEqual(none(ids));
    await tdb.prisma.blob.deleteMany({ where: { id: { in: ids } } });
  });

  it('resumes after a run that stopped half-way, even in the middle of a blob', { timeout: 60_000 }, async () => {
    const first = await makeBlobs(pg);
    const second = await makeBlobs(pg);
    const ids = [...first.ids, ...second.ids];
    const expected = new Map([...first.expected, ...second.expected]);
    // The target fails on the second part of the first multi-part blob it meets (a crash there):
    // that blob stays in the source with part 0 already copied.
    let puts = 0;
    const crashing: BlobStore = { ...bucket, putPart: async (id, i, b) => (++puts === 2 ? Promise.reject(new Error('connection reset')) : bucket.putPart(id, i, b)) };
    // And the run itself stops after looking at two blobs (the process killed).
    let seen = 0;
    await expect(
      migrateBlobs({ db: tdb.prisma, from: pg, to: crashing, batch: 1, onBlob: () => {
        if (++seen === 2) throw new Error('killed');
      } }),
    ).rejects.toThrow('killed');
    const mid = await holdings(pg, ids);
    expect([...mid.values()].filter((h) => h.length).length).toBeGreaterThanOrEqual(3); // most still in Postgres

    const rest = await migrateBlobs({ db: tdb.prisma, from: pg, to: bucket });
    expect(rest.failed).toEqual([]);
    expect(await holdings(bucket, ids)).toEqual(expected);
    expect(await holdings(pg, ids)).toEqual(none(ids));
    await bucket.delete(ids);
    await tdb.prisma.blob.deleteMany({ where: { id: { in: ids } } });
  });

  it('leaves the source as it was when the copy does not verify', { timeout: 60_000 }, async () => {
    const { ids, expected } = await makeBlobs(pg);
    // A target that hands back other bytes than it was given.
    const lying: BlobStore = { ...bucket, readPart: async (id, i) => ((await bucket.readPart(id, i)) ? randomBytes(16) : null) };
    const r = await migrateBlobs({ db: tdb.prisma, from: pg, to: lying });
    expect(r.moved).toBe(0);
    expect(r.failed.map((f) => f.reason)).toEqual([expect.stringMatching(/reads back differently/), expect.stringMatching(/reads back differently/)]);
    expect(await holdings(pg, ids)).toEqual(expected);

    // A complete blob whose bytes no longer match the hash recorded at upload is not moved either.
    await tdb.prisma.blob.update({ where: { id: ids[0]! }, data: { sha256: new Uint8Array(32) } });
    const r2 = await migrateBlobs({ db: tdb.prisma, from: pg, to: bucket });
    expect(r2.failed).toEqual([{ blobId: ids[0], reason: expect.stringMatching(/hash recorded at upload/) }]);
    expect((await holdings(pg, ids)).get(ids[0]!)).toEqual(expected.get(ids[0]!));
    await bucket.delete(ids);
    await tdb.prisma.blob.deleteMany({ where: { id: { in: ids } } });
  });

  it('the operator command moves the blobs and says what it did', { timeout: 300_000 }, async () => {
    const { ids, expected } = await makeBlobs(pg);
    // The command builds its own S3 client, without the test client's path fix for s3rver
    // (src/testing/index.ts), so this server accepts any signature from the right key.
    const lenient = await startTestS3Server({ allowMismatchedSignatures: true });
    const lenientStore = s3BlobStore({ db: tdb.prisma, client: lenient.client(), bucket: lenient.settings.bucket, prefix: lenient.settings.prefix });
    try {
      const root = fileURLToPath(new URL('../../../', import.meta.url));
      const run = (args: string[], env: Record<string, string> = {}) =>
        new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
          const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/blob-migrate.ts', ...args], { cwd: root, env: childEnvironment({ DATABASE_URL: tdb.connectionString, LOG_LEVEL: 'silent', ...lenient.env, ...env }), stdio: ['ignore', 'pipe', 'pipe'] });
          let out = '';
          let err = '';
          child.stdout.on('data', (c) => (out += c));
          child.stderr.on('data', (c) => (err += c));
          child.on('close', (code) => resolve({ code, out, err }));
        });
      const bad = await run(['--from', 'postgres', '--to', 'postgres']);
      expect(bad.code).toBe(64);
      expect(bad.err).toMatch(/two different stores/);

      const ok = await run(['--from', 'postgres', '--to', 's3']);
      expect(ok.err.replace(/\(node:\d+\) Warning: NodeVersionSupportWarning[\s\S]*?show where the warning was created\)\n?/g, '').trim()).toBe('');
      expect(ok.code).toBe(0);
      expect(ok.out).toMatch(/blob-migrate postgres → s3: 2 blobs moved \(3 parts, 54123 bytes\), 1 with nothing to move, 0 failed/);
      expect(await holdings(lenientStore, ids)).toEqual(expected);
      expect(await holdings(pg, ids)).toEqual(none(ids));

      const again = await run(['--from', 'postgres', '--to', 's3']);
      expect(again.code).toBe(0);
      expect(again.out).toMatch(/: 0 blobs moved/);

      // On to the disk store (SEALMAIL_BLOB_DIR), byte for byte.
      const dir = await mkdtemp(join(tmpdir(), 'sealmail-migrate-disk-'));
      try {
        const toDisk = await run(['--from', 's3', '--to', 'disk'], { SEALMAIL_BLOB_DIR: dir });
        expect(toDisk.code).toBe(0);
        expect(toDisk.out).toMatch(/blob-migrate s3 → disk: 2 blobs moved \(3 parts, 54123 bytes\)/);
        expect(await holdings(diskBlobStore({ db: tdb.prisma, dir }), ids)).toEqual(expected);
        expect(await holdings(lenientStore, ids)).toEqual(none(ids));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    } finally {
      await lenient.close();
    }
  });
});
