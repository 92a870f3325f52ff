/**
 * Orphaned blobs (docs/operations.md, "Housekeeping"): an upload no message took, and an
 * attachment blob the ingress wrote before its process died, are deleted by the housekeeping job
 * once the grace period has passed; the uploader gets back the bytes it was charged; blobs of a
 * stored message, and young uploads (a send may still be coming), stay. Real Postgres, the real
 * upload routes, the job's pg-boss queue on the test's database.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mailLimits } from '@sealmail/contract';
import { createLogger } from '@sealmail/server';
import { postgresBlobStore } from '@sealmail/mailstore';
import { Mailer } from '@sealmail/client/identity';
import { Housekeeping } from '../src/mail/housekeeping';
import { harness, userIdOf, type Harness } from './helpers';

let h: Harness;
let job: Housekeeping;

beforeAll(async () => {
  h = await harness();
  job = new Housekeeping(h.db.prisma, postgresBlobStore(h.db.prisma), createLogger({ level: 'silent' }), () => h.clock.now, { connectionString: h.db.connectionString, orphanGraceSeconds: 3600 });
  await job.start();
}, 60_000);

afterAll(async () => {
  await job?.stop();
  await h?.close();
});

const used = async (userId: string) => Number((await h.db.prisma.user.findUniqueOrThrow({ where: { id: userId }, select: { usedBytes: true } })).usedBytes);

describe('housekeeping', () => {
  it('deletes orphaned blobs after the grace period, refunds uploads, and keeps what a message holds', async () => {
    await h.deviceSignIn('bob@example.test');
    const alice = await h.deviceSignIn('alice@example.test');
    const aliceId = await userIdOf(h, 'alice@example.test');
    // A sent mail with an attachment: its blob belongs to a message and stays.
    const mailer = new Mailer(alice.api, alice.identity, 'alice@example.test');
    const file = new Uint8Array(5000).fill(7);
    await mailer.send({ to: ['bob@example.test'], subject: 'kept', text: 'x', attachments: [{ name: 'a.bin', type: 'application/octet-stream', size: file.length, stream: () => new Blob([file]).stream() }] });
    const before = await used(aliceId);
    // An abandoned upload: two parts charged as they came, never sent.
    const size = mailLimits.blobPartBytes + 100;
    const { blobId } = await alice.api.createBlob(size);
    await alice.api.uploadPart(blobId, 0, new Uint8Array(mailLimits.blobPartBytes).fill(1));
    await alice.api.uploadPart(blobId, 1, new Uint8Array(100).fill(2));
    expect(await used(aliceId)).toBe(before + size);
    // What a `kill -9` between blob and message leaves of inbound mail: a blob the server wrote (never charged alone).
    const inbound = await h.db.prisma.blob.create({ data: { ownerUserId: aliceId, declaredSize: 10 } });
    await postgresBlobStore(h.db.prisma).putPart(inbound.id, 0, new Uint8Array(10));

    // Within the grace period nothing goes (a send may still take the upload).
    expect(await job.run()).toEqual({ blobs: 0, bytes: 0 });
    h.clock.now = new Date(h.clock.now.getTime() + 2 * 3600_000);
    // Both orphans are older than the grace by the job's clock (the rows' times are the database's).
    await h.db.prisma.blob.updateMany({ where: { id: { in: [blobId, inbound.id] } }, data: { createdAt: new Date(h.clock.now.getTime() - 3 * 3600_000) } });
    expect(await job.run()).toEqual({ blobs: 2, bytes: size + 10 });

    expect(await h.db.prisma.blob.count({ where: { id: { in: [blobId, inbound.id] } } })).toBe(0);
    expect(await h.db.prisma.blobPart.count({ where: { blobId: { in: [blobId, inbound.id] } } })).toBe(0);
    expect(await used(aliceId)).toBe(before); // the upload refunded, nothing more
    expect(await h.db.prisma.blob.count({ where: { messageId: { not: null } } })).toBe(1);
    expect(await job.run()).toEqual({ blobs: 0, bytes: 0 });
  });
  it('forgets rate-limit windows (link visits, link budgets) once they are more than a day old', async () => {
    // A live link, opened three times: its budget windows (the link's, the client's) and one row per visit.
    const ownerId = await userIdOf(h, 'alice@example.test');
    const message = await h.db.prisma.message.create({
      data: { mailId: `<${randomUUID()}@example.test>`, senderAddress: 'alice@example.test', toAddresses: ['carol@example.org'], ccAddresses: [], protection: 'e2ee', envelope: new Uint8Array(8), manifest: new Uint8Array(8), body: new Uint8Array(8), bodySize: 8, attachmentSizes: [], size: 24n },
    });
    const id = randomBytes(16).toString('base64url');
    await h.db.prisma.mailLink.create({ data: { id, messageId: message.id, sourceMessageId: randomUUID(), senderUserId: ownerId, recipient: 'carol@example.org', passwordBox: new Uint8Array(74), expiresAt: new Date(h.clock.now.getTime() + 30 * 86400_000) } });
    await h.db.prisma.rateLimit.deleteMany();
    for (let i = 0; i < 3; i++) expect((await h.app.inject({ method: 'GET', url: `/api/v1/links/${id}` })).statusCode).toBe(200);
    expect(await h.db.prisma.rateLimit.count()).toBe(5);
    // A day and a bit later every window has long passed: the rows go (they were never deleted, a
    // row per visit of every link for ever, the link's id in clear among them).
    h.clock.now = new Date(h.clock.now.getTime() + 25 * 3600_000);
    expect((await h.app.inject({ method: 'GET', url: `/api/v1/links/${id}` })).statusCode).toBe(200);
    await job.run();
    // What is still in its window stays: the budget windows restarted by this visit, and this visit.
    const left = await h.db.prisma.rateLimit.findMany();
    expect(left).toHaveLength(3);
    expect(left.every((r) => r.windowStart.getTime() === h.clock.now.getTime())).toBe(true);
  });
});
