/**
 * Runs the blob-store conformance suite (blob-store-suite.ts) against every store: the Postgres
 * store, the disk store (a temporary directory), and the S3-compatible store talking to a real S3-protocol server on loopback —
 * `@20minutes/s3rver`, standing in for S3 or MinIO (why this server: src/testing/index.ts and
 * docs/operations.md, "Object storage"). Each with its own real Postgres database for the metadata.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { postgresBlobStore, type BlobStore } from '../src/blob-store';
import { parseBinaryCopyOfOneField, readPartBinary } from '../src/pg-part-reader';
import { pgPoolOf } from '@sealmail/db';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diskBlobStore } from '../src/disk-blob-store';
import { s3BlobStore } from '../src/s3-blob-store';
import { startTestS3Server, type TestS3Server } from '../src/testing';
import { blobStoreConformance } from './blob-store-suite';

let pgDb: TestDatabase;
let s3Db: TestDatabase;
let diskDb: TestDatabase;
let diskDir: string;
let diskStore: BlobStore;
let s3: TestS3Server;
let pgStore: BlobStore;
let s3Store: BlobStore;

beforeAll(async () => {
  [pgDb, s3Db, diskDb, s3, diskDir] = await Promise.all([createTestDatabase(), createTestDatabase(), createTestDatabase(), startTestS3Server(), mkdtemp(join(tmpdir(), 'sealmail-disk-blobs-'))]);
  diskStore = diskBlobStore({ db: diskDb.prisma, dir: diskDir });
  pgStore = postgresBlobStore(pgDb.prisma);
  s3Store = s3BlobStore({ db: s3Db.prisma, client: s3.client(), bucket: s3.settings.bucket, prefix: s3.settings.prefix });
}, 60_000);

afterAll(async () => {
  await Promise.all([pgDb?.drop(), s3Db?.drop(), diskDb?.drop(), s3?.close(), diskDir ? rm(diskDir, { recursive: true, force: true }) : undefined]);
});

blobStoreConformance('postgres', () => ({ db: pgDb.prisma, store: pgStore }), { bytesOutliveRows: false });
blobStoreConformance('s3', () => ({ db: s3Db.prisma, store: s3Store }), { bytesOutliveRows: true });
blobStoreConformance('disk', () => ({ db: diskDb.prisma, store: diskStore }), { bytesOutliveRows: true });

describe('postgres blob store', () => {
  it('stores parts without compression (ciphertext does not compress: STORAGE EXTERNAL)', async () => {
    const rows = await pgDb.prisma.$queryRaw<{ storage: string }[]>`SELECT attstorage::text AS storage FROM pg_attribute WHERE attrelid = 'blob_parts'::regclass AND attname = 'data'`;
    expect(rows).toEqual([{ storage: 'e' }]);
  });

  it('reads parts as raw bytes through a binary COPY (no hex), and no row as null', async () => {
    const pool = pgPoolOf(pgDb.prisma)!;
    const id = (await pgDb.prisma.blob.create({ data: { declaredSize: 0 } })).id;
    const bytes = randomBytes(300_000);
    await pgStore.putPart(id, 0, bytes);
    expect(Buffer.from((await readPartBinary(pool, id, 0))!).equals(bytes)).toBe(true);
    expect(await readPartBinary(pool, id, 1)).toBeNull();
    const empty = (await pgDb.prisma.blob.create({ data: { declaredSize: 0 } })).id;
    await pgStore.putPart(empty, 0, new Uint8Array(0));
    expect((await readPartBinary(pool, empty, 0))!.length).toBe(0);
    // Values are inlined into COPY: only a UUID and an index get there.
    await expect(readPartBinary(pool, "x' OR true --", 0)).rejects.toThrow(/not a blob id/);
    await expect(readPartBinary(pool, id, -1)).rejects.toThrow(/not a part index/);
    expect(() => parseBinaryCopyOfOneField(Buffer.from('not a copy at all, but long enough'))).toThrow(/signature/);
  });
});

describe('disk blob store', () => {
  it('keeps one directory per blob with one file per part, and no temporary file once a part is acknowledged', async () => {
    const id = (await diskDb.prisma.blob.create({ data: { declaredSize: 0 } })).id;
    const bytes = randomBytes(5000);
    await diskStore.putPart(id, 0, bytes);
    await diskStore.putPart(id, 0, bytes); // replaced by a rename: still one file
    await diskStore.putPart(id, 1, bytes.subarray(0, 10));
    expect((await readdir(join(diskDir, id.slice(0, 2), id))).sort()).toEqual(['0', '1']);
  });

  it('refuses an id that is not a UUID (ids name paths)', async () => {
    await expect(diskStore.readPart('../etc', 0)).rejects.toThrow(/not a blob id/);
    await expect(diskStore.delete(['a/../../b'])).rejects.toThrow(/not a blob id/);
  });
});
