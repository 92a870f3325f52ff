/**
 * Blob downloads with HTTP byte ranges (apps/api/src/blobs/range.ts): one range answered 206 with
 * Content-Range and only the parts it touches read from the store; a bad range answered 416 with
 * RANGE_NOT_SATISFIABLE and `Content-Range: bytes *\/size`; If-Range with another entity tag gets
 * the whole blob. Uploads and downloads are byte-identical through the real API, with the default
 * Postgres store and with the disk store (a temporary directory), each on its own real Postgres.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '@sealmail/client';
import { Identity, memoryKeyStore } from '@sealmail/client/identity';
import { mailLimits } from '@sealmail/contract';
import { diskBlobStore, postgresBlobStore, type BlobStore } from '@sealmail/mailstore';
import { bearer, harness, injectFetch, type Harness } from './helpers';
import { parseRange } from '../src/blobs/range';

const PART = mailLimits.blobPartBytes;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('parseRange', () => {
  it('reads one range of the forms RFC 9110 names, clamped to the blob', () => {
    expect(parseRange(undefined, 100)).toBeNull();
    expect(parseRange('bytes=0-9', 100)).toEqual({ first: 0, last: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ first: 90, last: 99 });
    expect(parseRange('bytes=90-1000', 100)).toEqual({ first: 90, last: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ first: 90, last: 99 });
    expect(parseRange('bytes=-1000', 100)).toEqual({ first: 0, last: 99 });
  });

  it('refuses what is not one range within the blob', () => {
    for (const bad of ['bytes=100-', 'bytes=100-200', 'bytes=10-5', 'bytes=-0', 'bytes=-', 'bytes=0-1,5-6', 'items=0-1', 'bytes=a-b', '']) expect(parseRange(bad, 100), bad).toBe('unsatisfiable');
    expect(parseRange('bytes=0-', 0)).toBe('unsatisfiable');
  });
});

for (const kind of ['postgres', 'disk'] as const) {
  describe(`blob downloads with byte ranges (${kind} store)`, () => {
    let h: Harness;
    let api: ApiClient;
    let token: string;
    let dir: string;
    const reads = { parts: [] as number[], whole: 0 };
    const bytes = new Uint8Array(randomBytes(2 * PART + 1000));
    let blobId: string;
    let etag: string;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'sealmail-range-'));
      h = await harness({}, {
        blobs: (db) => {
          const store: BlobStore = kind === 'disk' ? diskBlobStore({ db, dir }) : postgresBlobStore(db);
          // Counts what the route reads, to show a range reads only the parts it touches.
          return { ...store, read: (id, n) => (reads.whole++, store.read(id, n)), readPart: (id, i) => (reads.parts.push(i), store.readPart(id, i)) };
        },
      });
      const res = await h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address: 'alice@example.test', password: h.password('alice@example.test') } });
      token = (res.json() as { token: string }).token;
      api = new ApiClient({ baseUrl: 'http://api.invalid', fetch: injectFetch(h.app), token });
      await new Identity(api, memoryKeyStore()).setUpThisDevice({ address: 'alice@example.test', name: 'Laptop', kind: 'cli' });
      ({ blobId } = await api.createBlob(bytes.length));
      // Out of order, as several parts in flight arrive.
      for (const i of [2, 0, 1]) await api.uploadPart(blobId, i, bytes.subarray(i * PART, (i + 1) * PART));
      expect((await api.completeBlob(blobId)).sha256).toBe(sha(bytes));
    }, 90_000);
    afterAll(async () => {
      await h?.close();
      await rm(dir, { recursive: true, force: true });
    });

    const get = (headers: Record<string, string> = {}) => h.app.inject({ method: 'GET', url: `/api/v1/blobs/${blobId}`, headers: { ...bearer(token), ...headers } });

    it('answers the whole blob byte for byte, saying it takes ranges, with its hash as entity tag', async () => {
      const res = await get();
      expect(res.statusCode).toBe(200);
      expect(res.headers['accept-ranges']).toBe('bytes');
      expect(res.headers['content-length']).toBe(String(bytes.length));
      etag = String(res.headers.etag);
      expect(etag).toBe(`"${sha(bytes)}"`);
      expect(sha(res.rawPayload)).toBe(sha(bytes));
    }, 60_000);

    it('answers one range with 206 and Content-Range, reading only the parts it touches', async () => {
      const cases: [string, number, number, number[]][] = [
        ['bytes=0-9', 0, 9, [0]],
        [`bytes=${PART - 5}-${PART + 4}`, PART - 5, PART + 4, [0, 1]],
        [`bytes=${PART}-${2 * PART - 1}`, PART, 2 * PART - 1, [1]], // one whole part
        [`bytes=${2 * PART + 10}-`, 2 * PART + 10, bytes.length - 1, [2]], // resume near the end
        ['bytes=-100', bytes.length - 100, bytes.length - 1, [2]],
      ];
      for (const [range, first, last, parts] of cases) {
        reads.parts = [];
        const whole = reads.whole;
        const res = await get({ range });
        expect(res.statusCode, range).toBe(206);
        expect(res.headers['content-range'], range).toBe(`bytes ${first}-${last}/${bytes.length}`);
        expect(res.headers['content-length'], range).toBe(String(last - first + 1));
        expect(sha(res.rawPayload), range).toBe(sha(bytes.subarray(first, last + 1)));
        expect(reads.parts, range).toEqual(parts);
        expect(reads.whole, range).toBe(whole);
      }
    }, 60_000);

    it('refuses a range it cannot satisfy with 416, RANGE_NOT_SATISFIABLE and the size', async () => {
      for (const range of [`bytes=${bytes.length}-`, 'bytes=5-1', 'bytes=0-1,4-5', 'pages=1-2', 'bytes=x-']) {
        const res = await get({ range });
        expect(res.statusCode, range).toBe(416);
        expect(res.headers['content-range'], range).toBe(`bytes */${bytes.length}`);
        expect((res.json() as { error: { code: string } }).error.code, range).toBe('RANGE_NOT_SATISFIABLE');
      }
    }, 60_000);

    it('with If-Range of another entity tag, answers the whole blob instead of the range', async () => {
      const stale = await get({ range: 'bytes=0-9', 'if-range': '"0000"' });
      expect(stale.statusCode).toBe(200);
      expect(sha(stale.rawPayload)).toBe(sha(bytes));
      const fresh = await get({ range: 'bytes=0-9', 'if-range': etag });
      expect(fresh.statusCode).toBe(206);
    }, 60_000);

    it('lets the client resume a download where it stopped', async () => {
      const reader = (await api.downloadBlob(blobId)).getReader();
      // The connection drops after PART + 123 bytes (the rest of the chunk in hand is lost with it).
      const stopAt = PART + 123;
      const head: Uint8Array[] = [];
      let got = 0;
      while (got < stopAt) {
        const { value } = await reader.read();
        head.push(value!.subarray(0, stopAt - got));
        got += head[head.length - 1]!.length;
      }
      await reader.cancel();
      const rest: Uint8Array[] = [];
      const tail = (await api.downloadBlob(blobId, { first: got, etag })).getReader();
      for (let r = await tail.read(); !r.done; r = await tail.read()) rest.push(r.value);
      expect(sha(Buffer.concat([...head, ...rest]))).toBe(sha(bytes));
    }, 60_000);
  });
}
