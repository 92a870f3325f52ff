/**
 * A part upload's session is looked up when its headers arrive, while the body is still coming
 * (apps/api/src/routes/blobs.ts, docs/performance.md "Third round"), and nothing is stored or
 * charged for a part whose session or upload does not check out. Real API, Postgres and blob
 * store; the body is a stream the test holds half-sent.
 */
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harness, type Harness } from './helpers';

let h: Harness;
let alice: Awaited<ReturnType<Harness['deviceSignIn']>>;
let bob: Awaited<ReturnType<Harness['deviceSignIn']>>;
const PART = 4 * 1024 * 1024;

beforeAll(async () => {
  h = await harness();
  alice = await h.deviceSignIn('alice@example.test');
  bob = await h.deviceSignIn('bob@example.test');
}, 120_000);
afterAll(() => h?.close());

const used = async (address: string) => (await h.db.prisma.user.findFirstOrThrow({ where: { localPart: address.split('@')[0] } })).usedBytes;
const storedParts = async (blobId: string) => (await h.db.prisma.blobPart.findMany({ where: { blobId }, select: { index: true } })).map((p) => p.index);

/** Sends a part as a stream: the first half now, the rest when `finish` is called. */
function streamedPart(token: string, blobId: string, bytes: Uint8Array) {
  const body = new PassThrough();
  const answer = h.app.inject({
    method: 'PUT',
    url: `/api/v1/blobs/${blobId}/parts/0`,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) },
    payload: body,
  });
  body.write(bytes.subarray(0, bytes.length >> 1));
  return { answer, finish: () => body.end(bytes.subarray(bytes.length >> 1)) };
}

describe('part upload: the session is looked up while the body arrives', () => {
  it('reads the session before the body has ended, then stores the part once it has', async () => {
    const bytes = new Uint8Array(randomBytes(PART));
    const { blobId } = await alice.api.createBlob(bytes.length);
    // A lookup more than a minute after the last one writes lastSeenAt: that write is what shows it ran.
    h.clock.now = new Date(h.clock.now.getTime() + 5 * 60_000);
    const part = streamedPart(alice.token, blobId, bytes);
    await expect.poll(() => h.db.prisma.session.count({ where: { user: { localPart: 'alice' }, lastSeenAt: h.clock.now } }), { timeout: 30_000 }).toBe(1);
    expect(await storedParts(blobId)).toEqual([]); // half a body: nothing stored yet
    part.finish();
    const res = await part.answer;
    expect(res.statusCode).toBe(200);
    expect(await storedParts(blobId)).toEqual([0]);
  }, 60_000);

  it('a part with a session that does not check out: 401, nothing stored or charged', async () => {
    const bytes = new Uint8Array(randomBytes(1000));
    const { blobId } = await alice.api.createBlob(bytes.length);
    const before = await used('alice@example.test');
    const part = streamedPart('not-a-session-token', blobId, bytes);
    part.finish();
    const res = await part.answer;
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('UNAUTHENTICATED');
    expect(await storedParts(blobId)).toEqual([]);
    expect(await used('alice@example.test')).toBe(before);
  }, 60_000);

  it("a part for another user's upload: 404, nothing stored or charged", async () => {
    const bytes = new Uint8Array(randomBytes(1000));
    const { blobId } = await alice.api.createBlob(bytes.length);
    const before = await used('bob@example.test');
    const part = streamedPart(bob.token, blobId, bytes);
    part.finish();
    const res = await part.answer;
    expect(res.statusCode).toBe(404);
    expect(await storedParts(blobId)).toEqual([]);
    expect(await used('bob@example.test')).toBe(before);
  }, 60_000);

  it('a part for an upload completed while its body was on the way: refused, the blob unchanged', async () => {
    const bytes = new Uint8Array(randomBytes(1000));
    const { blobId } = await alice.api.createBlob(bytes.length);
    await alice.api.uploadPart(blobId, 0, bytes);
    const part = streamedPart(alice.token, blobId, new Uint8Array(randomBytes(1000)));
    const done = await alice.api.completeBlob(blobId);
    part.finish();
    const res = await part.answer;
    expect(res.statusCode).toBe(409);
    const stored = await h.db.prisma.blobPart.findUniqueOrThrow({ where: { blobId_index: { blobId, index: 0 } } });
    expect(Buffer.from(stored.data).equals(Buffer.from(bytes))).toBe(true);
    expect(done.sha256).toMatch(/^[0-9a-f]{64}$/);
  }, 60_000);
});
