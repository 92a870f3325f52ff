/**
 * Runs the blob-store conformance suite (blob-store-suite.ts) against both stores: the Postgres
 * store, and the S3-compatible store talking to a real S3-protocol server on loopback —
 * `@20minutes/s3rver`, standing in for S3 or MinIO (why this server: src/testing/index.ts and
 * docs/operations.md, "Object storage"). Each with its own real Postgres database for the metadata.
 */
import { afterAll, beforeAll } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { postgresBlobStore, type BlobStore } from '../src/blob-store';
import { s3BlobStore } from '../src/s3-blob-store';
import { startTestS3Server, type TestS3Server } from '../src/testing';
import { blobStoreConformance } from './blob-store-suite';

let pgDb: TestDatabase;
let s3Db: TestDatabase;
let s3: TestS3Server;
let pgStore: BlobStore;
let s3Store: BlobStore;

beforeAll(async () => {
  [pgDb, s3Db, s3] = await Promise.all([createTestDatabase(), createTestDatabase(), startTestS3Server()]);
  pgStore = postgresBlobStore(pgDb.prisma);
  s3Store = s3BlobStore({ db: s3Db.prisma, client: s3.client(), bucket: s3.settings.bucket, prefix: s3.settings.prefix });
}, 60_000);

afterAll(async () => {
  await Promise.all([pgDb?.drop(), s3Db?.drop(), s3?.close()]);
});

blobStoreConformance('postgres', () => ({ db: pgDb.prisma, store: pgStore }), { bytesOutliveRows: false });
blobStoreConformance('s3', () => ({ db: s3Db.prisma, store: s3Store }), { bytesOutliveRows: true });
