/**
 * Attachment uploads keep several parts in flight and send a failed part again
 * (packages/client/src/mail/upload-parts.ts), through the real API and client on a real Postgres.
 * The failed part is a simulated dropped connection: the client's fetch throws once for it before
 * anything reaches the server (the network between client and server is what is faked).
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryKeyStore, type AttachmentSource } from '@sealmail/client/identity';
import { harness, injectFetch, type Harness, signedInDevice } from './helpers';

let h: Harness;
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';

/** A fetch that records part uploads (concurrency, attempts) and drops the first attempt of one part. */
function watchedFetch(inner: typeof fetch, dropPart: number) {
  const stats = { inFlight: 0, maxInFlight: 0, attempts: new Map<number, number>(), arrived: [] as number[] };
  const f = (async (input: string | URL | Request, init?: RequestInit) => {
    const m = /\/parts\/(\d+)$/.exec(new URL(String(input)).pathname);
    if (!m || init?.method !== 'PUT') return inner(input, init);
    const index = Number(m[1]);
    const n = (stats.attempts.get(index) ?? 0) + 1;
    stats.attempts.set(index, n);
    stats.inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    try {
      await new Promise((r) => setTimeout(r, 30)); // time on the wire, so parts overlap
      if (index === dropPart && n === 1) throw new TypeError('fetch failed: socket hang up');
      const res = await inner(input, init);
      stats.arrived.push(index);
      return res;
    } finally {
      stats.inFlight--;
    }
  }) as typeof fetch;
  return { f, stats };
}

/** One key store per user: every sign-in of a user is the same (approved) device. */
const stores = new Map<string, ReturnType<typeof memoryKeyStore>>();
const storeOf = (address: string) => stores.get(address) ?? stores.set(address, memoryKeyStore()).get(address)!;

async function device(address: string, fetchImpl: typeof fetch) {
  return (await signedInDevice(h.app, address, h.password(address), { store: storeOf(address), fetch: () => fetchImpl })).mail;
}

function file(bytes: Uint8Array): AttachmentSource {
  return {
    name: 'parts.bin',
    type: 'application/octet-stream',
    size: bytes.length,
    stream: () =>
      new ReadableStream({
        start(c) {
          for (let at = 0; at < bytes.length; at += 100_000) c.enqueue(bytes.slice(at, at + 100_000));
          c.close();
        },
      }),
  };
}

beforeAll(async () => {
  h = await harness();
});
afterAll(() => h?.close());

describe('attachment upload in parts', () => {
  it('keeps several parts in flight, sends a dropped part again, and the file arrives byte-identical', async () => {
    const { f, stats } = watchedFetch(injectFetch(h.app), 1);
    const alice = await device(ALICE, f);
    const bob = await device(BOB, injectFetch(h.app));
    const bytes = new Uint8Array(14 * 1024 * 1024 + 77).map((_, i) => (i * 2654435761) >>> 24);
    const sent = await alice.send({ to: [BOB], subject: 'parts', text: 'see attachment', attachments: [file(bytes)] });
    expect(sent.delivered).toEqual([BOB]);

    expect(stats.maxInFlight).toBeGreaterThan(1); // parallel, not one part after another
    expect(stats.attempts.get(1)).toBe(2); // the dropped part was sent again
    expect([...stats.attempts.keys()].sort()).toEqual([0, 1, 2, 3]); // 14 MiB sealed: four 4 MiB parts
    expect(stats.arrived.sort()).toEqual([0, 1, 2, 3]);

    const page = await bob.list({ folder: 'inbox' });
    const item = page.items.find((i) => !('error' in i) && i.subject === 'parts');
    expect(item).toBeDefined();
    const opened = await bob.open(item!.entryId);
    const got = await bob.attachmentBytes(opened, 1);
    expect(got.length).toBe(bytes.length);
    expect(createHash('sha256').update(got).digest('hex')).toBe(createHash('sha256').update(bytes).digest('hex'));
  }, 180_000);
});
