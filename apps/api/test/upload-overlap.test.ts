/**
 * An attachment's upload is created while its first chunks are sealed (`Mailer.upload`,
 * docs/performance.md "The web client's uploads"): the client asks for the upload and goes on
 * sealing; no part is sent before the server took the upload, so a mailbox that is full still
 * receives no byte; the sealing runs ahead of the answer by one part at most, and stops at a refusal. Through the real API and client package on
 * a real Postgres; the create request is held by the test (not timed) to make the order visible.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '@sealmail/client';
import { mailLimits } from '@sealmail/contract';
import { Mailer, type AttachmentSource } from '@sealmail/client/identity';
import { harness, injectFetch, userIdOf, type Harness } from './helpers';

let h: Harness;
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A file whose reads are counted, handed out 256 KiB at a time as a browser's file stream does. */
function countedFile(bytes: Uint8Array, onRead: (total: number) => void): AttachmentSource {
  return {
    name: 'big.bin',
    type: 'application/octet-stream',
    size: bytes.length,
    stream: () => {
      let at = 0;
      return new ReadableStream<Uint8Array>({
        pull(c) {
          if (at >= bytes.length) return c.close();
          const chunk = bytes.slice(at, at + (256 << 10));
          at += chunk.length;
          onRead(at);
          c.enqueue(chunk);
        },
      });
    },
  };
}

/** Alice's client, with the create request held until `release` is called and every request recorded in order. */
async function heldDevice(onAnswered: () => void = () => {}) {
  const d = await h.deviceSignIn(ALICE);
  const api = new ApiClient({ baseUrl: 'http://api.invalid', fetch: injectFetch(h.app), token: d.token });
  const events: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const createBlob = api.createBlob.bind(api);
  api.createBlob = async (size) => {
    events.push('create asked');
    await gate;
    const r = await createBlob(size).catch((err: unknown) => (events.push('create refused'), Promise.reject(err)));
    events.push('create answered');
    onAnswered();
    return r;
  };
  const uploadPart = api.uploadPart.bind(api);
  api.uploadPart = (blobId, index, bytes) => (events.push(`part ${index}`), uploadPart(blobId, index, bytes));
  return { api, mail: new Mailer(api, d.identity, ALICE, 'alice'), events, release };
}

beforeAll(async () => {
  h = await harness();
  await h.deviceSignIn(BOB);
});
afterAll(() => h?.close());

describe('an attachment upload is created while it is sealed', () => {
  it('sealing goes on while the create request is out; no part goes before its answer; the mail arrives whole', async () => {
    let read = 0;
    let readWhenAnswered = -1;
    const alice = await heldDevice(() => (readWhenAnswered = read));
    const bytes = randomBytes(3 * mailLimits.blobPartBytes + 12345);
    const file = countedFile(bytes, (n) => {
      read = n;
      // Most of the first part read (and sealed) while the create request is still out: without
      // the overlap the file is not read before the answer, and this test waits forever.
      if (n >= 0.75 * mailLimits.blobPartBytes) alice.release();
    });
    const sent = await alice.mail.send({ to: [BOB], subject: 'overlap', text: 'see attached', attachments: [file] });
    expect(sent.delivered).toEqual([BOB]);
    expect(read).toBe(bytes.length);
    // The sealing ran ahead of the answer by about one part, not through the whole file.
    expect(readWhenAnswered).toBeGreaterThanOrEqual(0.75 * mailLimits.blobPartBytes);
    expect(readWhenAnswered).toBeLessThan(2 * mailLimits.blobPartBytes);
    const created = alice.events.indexOf('create answered');
    expect(alice.events[0]).toBe('create asked');
    expect(created).toBeGreaterThan(0);
    expect(alice.events.findIndex((e) => e.startsWith('part '))).toBeGreaterThan(created);
    expect(alice.events.filter((e) => e.startsWith('part ')).sort()).toEqual(['part 0', 'part 1', 'part 2', 'part 3']);

    const bob = await h.deviceSignIn(BOB);
    const bobMail = new Mailer(bob.api, bob.identity, BOB, 'bob');
    const entry = (await bobMail.list({ folder: 'inbox', limit: 5 })).items.find((i) => !('error' in i) && i.subject === 'overlap');
    if (!entry || 'error' in entry) throw new Error('the mail did not arrive');
    const opened = await bobMail.open(entry.entryId);
    expect(sha(await bobMail.attachmentBytes(opened, 1))).toBe(sha(bytes));
  });

  it('a refused upload (a full mailbox): no part is sent, nothing is charged, and sealing stops before the end of the file', async () => {
    const alice = await heldDevice();
    const userId = await userIdOf(h, ALICE);
    await h.db.prisma.user.update({ where: { id: userId }, data: { quotaBytes: 1000 } });
    const usedBefore = (await h.db.prisma.user.findUniqueOrThrow({ where: { id: userId }, select: { usedBytes: true } })).usedBytes;
    const blobsBefore = await h.db.prisma.blob.count({ where: { ownerUserId: userId } });
    const bytes = randomBytes(6 * mailLimits.blobPartBytes);
    let read = 0;
    const file = countedFile(bytes, (n) => {
      read = n;
      if (n >= 0.5 * mailLimits.blobPartBytes) alice.release();
    });
    await expect(alice.mail.send({ to: [BOB], subject: 'refused', text: '', attachments: [file] })).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED' });
    expect(alice.events).toEqual(['create asked', 'create refused']);
    expect(read).toBeLessThan(2 * mailLimits.blobPartBytes); // stopped at the first part's end
    expect((await h.db.prisma.user.findUniqueOrThrow({ where: { id: userId }, select: { usedBytes: true } })).usedBytes).toBe(usedBefore);
    expect(await h.db.prisma.blob.count({ where: { ownerUserId: userId } })).toBe(blobsBefore);
    await h.db.prisma.user.update({ where: { id: userId }, data: { quotaBytes: 1n << 30n } });
  });

  it('a hostile server naming a part size of 0 or 1 byte: the upload stops with BAD_RESPONSE, nothing is sent', async () => {
    for (const partBytes of [0, 1, 1.5]) {
      const d = await h.deviceSignIn(ALICE);
      const inner = injectFetch(h.app);
      const parts: string[] = [];
      const hostile: typeof fetch = async (input, init) => {
        const url = String(input instanceof Request ? input.url : input);
        if (url.includes('/parts/')) parts.push(url);
        const res = await inner(input, init);
        if (!url.endsWith('/api/v1/blobs') || init?.method !== 'POST') return res;
        const body = (await res.json()) as { blobId: string };
        return new Response(JSON.stringify({ ...body, partBytes }), { status: res.status, headers: { 'content-type': 'application/json' } });
      };
      const api = new ApiClient({ baseUrl: 'http://api.invalid', fetch: hostile, token: d.token });
      const mail = new Mailer(api, d.identity, ALICE, 'alice');
      const file = countedFile(randomBytes(100_000), () => {});
      await expect(mail.send({ to: [BOB], subject: 'hostile', text: '', attachments: [file] })).rejects.toMatchObject({ code: 'BAD_RESPONSE' });
      expect(parts).toEqual([]);
    }
  });
});
