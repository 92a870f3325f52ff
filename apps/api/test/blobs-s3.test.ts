/**
 * The API and the mail ingress on the S3-compatible blob store (docs/operations.md, "Object
 * storage"): attachments uploaded through the API and written by the ingress land in the bucket as
 * ciphertext only — never in `blob_parts`, never the plaintext — and read back whole; the
 * housekeeping job collects what a crash leaves in the bucket after its grace period. The bucket is
 * served by `@20minutes/s3rver` on loopback, standing in for S3 or MinIO (why this server:
 * packages/mailstore/src/testing/index.ts). Real Postgres, the real routes and client.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryKeyStore, type AttachmentSource } from '@sealmail/client/identity';
import { mailLimits } from '@sealmail/contract';
import { deliverLocal, s3BlobStore, type BlobStore } from '@sealmail/mailstore';
import { startTestS3Server, type TestS3Server } from '@sealmail/mailstore/testing';
import { createLogger } from '@sealmail/server';
import { Housekeeping } from '../src/mail/housekeeping';
import { harness, userIdOf, type Harness, signedInDevice } from './helpers';

let s3: TestS3Server;
let h: Harness;
let store: BlobStore;
const CANARY = 'canary-s3-attachment-4d7e21';
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** One key store per user: a second sign-in is the same, approved device. */
const stores = new Map<string, ReturnType<typeof memoryKeyStore>>();
async function device(address: string) {
  return signedInDevice(h.app, address, h.password(address), { store: stores.get(address) ?? stores.set(address, memoryKeyStore()).get(address)!, displayName: address.split('@')[0] });
}

function file(name: string, bytes: Uint8Array<ArrayBuffer>): AttachmentSource {
  return { name, type: 'application/octet-stream', size: bytes.length, stream: () => new Blob([bytes]).stream() };
}

/** Pseudo-random bytes with the canary planted every 64 KiB, so any plaintext piece in the bucket would show it. */
function canaryBytes(n: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  let x = 0x2468ace1;
  for (let i = 0; i < n; i++) out[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  const c = new TextEncoder().encode(CANARY);
  for (let at = 0; at + c.length < n; at += 65536) out.set(c, at);
  return out;
}

/** Every byte the bucket holds for these blobs, read through the store. */
async function bucketBytes(ids: readonly string[]): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for (const id of ids) for (const index of [...(await store.partSizes(id)).keys()].sort()) chunks.push((await store.readPart(id, index))!);
  return Buffer.concat(chunks);
}

beforeAll(async () => {
  s3 = await startTestS3Server();
  h = await harness({}, { blobs: (db) => (store = s3BlobStore({ db, client: s3.client(), bucket: s3.settings.bucket, prefix: s3.settings.prefix })) });
}, 60_000);

afterAll(async () => {
  await h?.close();
  await s3?.close();
});

describe('attachments on the S3 store', () => {
  it('an uploaded attachment and one the ingress wrote are in the bucket as ciphertext only, and read back whole', { timeout: 120_000 }, async () => {
    const alice = await device('alice@example.test');
    const bob = await device('bob@example.test');
    const big = canaryBytes(2 * mailLimits.blobPartBytes + 777);
    await alice.mail.send({ to: ['bob@example.test'], subject: 'on s3', text: 'see attached', attachments: [file('big.bin', big)] });
    const [item] = (await bob.mail.list({ folder: 'inbox' })).items;
    if (!item || 'error' in item) throw new Error('no readable mail');
    const opened = await bob.mail.open(item.entryId);
    expect(sha(await bob.mail.attachmentBytes(opened, 1))).toBe(sha(big));

    // Inbound mail: the ingress seals the attachment and writes it through the same store.
    const inbound = Buffer.from(
      [
        'From: Dave <dave@elsewhere.example>',
        'To: bob@example.test',
        'Subject: inbound on s3',
        'Message-ID: <inbound-s3@elsewhere.example>',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="b"',
        '',
        '--b',
        'Content-Type: text/plain',
        '',
        'hello',
        '--b',
        'Content-Type: application/octet-stream; name="c.txt"',
        'Content-Disposition: attachment; filename="c.txt"',
        '',
        `${CANARY} ${CANARY}`,
        '--b--',
        '',
      ].join('\r\n'),
    );
    const bobId = await userIdOf(h, 'bob@example.test');
    await deliverLocal({ db: h.db.prisma, blobs: store, hostname: 'mx.example.test', now: () => h.clock.now, logger: createLogger({ level: 'silent' }) }, inbound, { mailFrom: 'dave@elsewhere.example', recipients: [{ address: 'bob@example.test', userId: bobId, folder: 'inbox' }], extraHeaders: [] });
    const entries = await bob.api.listMail({ folder: 'inbox' });
    const inEntry = entries.entries.find((e) => e.attachments.length && e.id !== item.entryId)!;
    const openedIn = await bob.mail.open(inEntry.id);
    expect(new TextDecoder().decode(await bob.mail.attachmentBytes(openedIn, openedIn.attachments.length))).toBe(`${CANARY} ${CANARY}`);

    const blobIds = (await h.db.prisma.blob.findMany({ select: { id: true } })).map((b) => b.id);
    expect(blobIds.length).toBeGreaterThanOrEqual(2);
    expect(await h.db.prisma.blobPart.count()).toBe(0); // nothing in Postgres
    const stored = await bucketBytes(blobIds);
    expect(stored.length).toBeGreaterThan(big.length); // the sealed piece is a little larger
    expect(stored.includes(Buffer.from(CANARY))).toBe(false); // and none of it is plaintext
  });

  it('housekeeping collects what a crash leaves in the bucket once the grace period has passed', { timeout: 60_000 }, async () => {
    const job = new Housekeeping(h.db.prisma, store, createLogger({ level: 'silent' }), () => h.clock.now, { connectionString: h.db.connectionString, orphanGraceSeconds: 3600 });
    const alice = await device('alice@example.test');
    // An abandoned upload (two parts in the bucket), and a blob whose row a cascade took while the
    // process died before deleting its object (a message deleted by SQL here).
    const { blobId: upload } = await alice.api.createBlob(mailLimits.blobPartBytes + 5);
    await alice.api.uploadPart(upload, 0, new Uint8Array(mailLimits.blobPartBytes).fill(3));
    await alice.api.uploadPart(upload, 1, new Uint8Array(5).fill(4));
    const withMessage = await h.db.prisma.blob.findFirstOrThrow({ where: { messageId: { not: null } }, select: { id: true, messageId: true } });
    await h.db.prisma.message.delete({ where: { id: withMessage.messageId! } });
    expect(await h.db.prisma.blob.count({ where: { id: withMessage.id } })).toBe(0);
    expect((await store.partSizes(withMessage.id)).size).toBeGreaterThan(0);

    // Within the grace period both stay.
    expect(await job.run()).toEqual({ blobs: 0, bytes: 0 });
    expect((await store.partSizes(upload)).size).toBe(2);
    expect((await store.partSizes(withMessage.id)).size).toBeGreaterThan(0);

    // Past it, both go from the bucket; blobs still held by a message stay.
    h.clock.now = new Date(Date.now() + 2 * 3600_000);
    await h.db.prisma.blob.updateMany({ where: { id: upload }, data: { createdAt: new Date(h.clock.now.getTime() - 3 * 3600_000) } });
    expect(await job.run()).toEqual({ blobs: 1, bytes: mailLimits.blobPartBytes + 5 });
    expect(await store.partSizes(upload)).toEqual(new Map());
    expect(await store.partSizes(withMessage.id)).toEqual(new Map());
    for (const b of await h.db.prisma.blob.findMany({ where: { messageId: { not: null } }, select: { id: true } })) expect((await store.partSizes(b.id)).size).toBeGreaterThan(0);
  });
});
