/**
 * Completing an upload uses the SHA-256 hashed as the parts arrived (apps/api/src/blobs/running-hash.ts)
 * instead of reading every part back from the blob store — and still answers the hash of exactly
 * the bytes stored: parts in order or out of order, and (read back) after a part was sent again
 * with other bytes. Real API and Postgres blob store; the store is wrapped only to count reads.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '@sealmail/client';
import { Identity, memoryKeyStore } from '@sealmail/client/identity';
import { postgresBlobStore, type BlobStore } from '@sealmail/mailstore';
import { RunningHashes } from '../src/blobs/running-hash';
import { harness, injectFetch, type Harness } from './helpers';

let h: Harness;
let api: ApiClient;
const reads = { whole: 0 };
const PART = 4 * 1024 * 1024;

beforeAll(async () => {
  h = await harness({}, {
    blobs: (db) => {
      const store: BlobStore = postgresBlobStore(db);
      return { ...store, read: (id, parts) => (reads.whole++, store.read(id, parts)) };
    },
  });
  const res = await h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address: 'alice@example.test', password: h.password('alice@example.test') } });
  api = new ApiClient({ baseUrl: 'http://api.invalid', fetch: injectFetch(h.app), token: (res.json() as { token: string }).token });
  await new Identity(api, memoryKeyStore()).setUpThisDevice({ address: 'alice@example.test', name: 'Laptop', kind: 'cli' });
}, 60_000);
afterAll(() => h?.close());

const sha = (...parts: Uint8Array[]) => {
  const x = createHash('sha256');
  for (const p of parts) x.update(p);
  return x.digest('hex');
};

describe('upload completion', () => {
  it('parts in order: the hash of the bytes, without reading them back', async () => {
    const bytes = new Uint8Array(randomBytes(2 * PART + 1000));
    const { blobId } = await api.createBlob(bytes.length);
    for (let i = 0; i * PART < bytes.length; i++) await api.uploadPart(blobId, i, bytes.subarray(i * PART, (i + 1) * PART));
    const before = reads.whole;
    const done = await api.completeBlob(blobId);
    expect(done.sha256).toBe(sha(bytes));
    expect(reads.whole).toBe(before);
  }, 60_000);

  it('parts out of order (several in flight): the same hash, still without reading back', async () => {
    const bytes = new Uint8Array(randomBytes(2 * PART + 5));
    const { blobId } = await api.createBlob(bytes.length);
    const part = (i: number) => bytes.subarray(i * PART, (i + 1) * PART);
    await api.uploadPart(blobId, 2, part(2));
    await api.uploadPart(blobId, 1, part(1));
    await api.uploadPart(blobId, 0, part(0));
    const before = reads.whole;
    expect((await api.completeBlob(blobId)).sha256).toBe(sha(bytes));
    expect(reads.whole).toBe(before);
  }, 60_000);

  it('a part sent again with other bytes: read back, and the hash is of what is stored now', async () => {
    const bytes = new Uint8Array(randomBytes(PART + 7));
    const other = new Uint8Array(randomBytes(PART));
    const { blobId } = await api.createBlob(bytes.length);
    await api.uploadPart(blobId, 0, bytes.subarray(0, PART));
    await api.uploadPart(blobId, 1, bytes.subarray(PART));
    await api.uploadPart(blobId, 0, other);
    const before = reads.whole;
    expect((await api.completeBlob(blobId)).sha256).toBe(sha(other, bytes.subarray(PART)));
    expect(reads.whole).toBe(before + 1);
  }, 60_000);
});

describe('RunningHashes', () => {
  const a = new Uint8Array([1, 2, 3]);
  const b = new Uint8Array([4, 5]);
  const c = new Uint8Array([6]);
  const put = (r: RunningHashes, id: string, i: number, bytes: Uint8Array) => (r.begin(id, i), r.stored(id, i, bytes));

  it('hashes in index order whatever order the parts are stored in', async () => {
    const r = new RunningHashes();
    r.start('x');
    put(r, 'x', 2, c);
    put(r, 'x', 0, a);
    put(r, 'x', 1, b);
    expect(Buffer.from((await r.take('x', 3))!).toString('hex')).toBe(sha(a, b, c));
    expect(r.heldBytes).toBe(0);
  });

  it('gives up (null: read back) on a part sent twice, a failed store, a missing part, or an upload it did not start', async () => {
    const r = new RunningHashes();
    for (const id of ['twice', 'failed', 'gap']) r.start(id);
    put(r, 'twice', 0, a);
    put(r, 'twice', 0, b);
    expect(await r.take('twice', 1)).toBeNull();
    r.begin('failed', 0);
    r.failed('failed');
    expect(await r.take('failed', 1)).toBeNull();
    put(r, 'gap', 0, a);
    put(r, 'gap', 2, c);
    expect(await r.take('gap', 3)).toBeNull();
    put(r, 'elsewhere', 0, a);
    put(r, 'elsewhere', 1, b);
    expect(await r.take('elsewhere', 2)).toBeNull();
    expect(r.heldBytes).toBe(0);
  });

  it('parts waiting for earlier ones stay within the memory budget; over it, the upload is read back instead', async () => {
    const r = new RunningHashes({ maxWaitingBytes: 4, maxUploads: 10 });
    r.start('x');
    r.start('y');
    put(r, 'x', 0, a);
    put(r, 'x', 2, c); // waits: 1 byte
    put(r, 'y', 0, a);
    put(r, 'y', 2, b); // waits: 3 bytes in all
    expect(r.heldBytes).toBe(3);
    put(r, 'y', 3, b); // would be 5 > 4: y is dropped, its waiting bytes freed
    expect(r.heldBytes).toBe(1);
    put(r, 'y', 1, b);
    expect(await r.take('y', 4)).toBeNull();
    put(r, 'x', 1, b);
    expect(Buffer.from((await r.take('x', 3))!).toString('hex')).toBe(sha(a, b, c));
    expect(r.heldBytes).toBe(0);
  });

  it('keeps at most maxUploads uploads; the oldest is forgotten and read back', async () => {
    const r = new RunningHashes({ maxWaitingBytes: 1024, maxUploads: 2 });
    for (const id of ['one', 'two', 'three']) r.start(id);
    put(r, 'one', 0, a);
    put(r, 'two', 0, a);
    put(r, 'three', 0, a);
    put(r, 'one', 1, b);
    expect(await r.take('one', 2)).toBeNull();
    expect(Buffer.from((await r.take('three', 1))!).toString('hex')).toBe(sha(a));
  });
});
