/**
 * The ingress's group commit (src/group-commit.ts) against a real Postgres: concurrent messages
 * are stored by fewer transactions than messages, each caller is answered only once its message
 * is committed (read back from another connection at that moment), the NOTIFYs go out, the
 * mailbox-counts triggers count every entry, quotas are charged in arrival order as
 * storeMessage would, and one bad message in a batch does not take the others with it.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgPoolOf, seedDemo } from '@sealmail/db';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { BlobTakenError, GroupCommit, MAIL_CHANNEL, DuplicateMailError, QuotaExceededError, storeMessage, type StoreInput } from '../src';

let tdb: TestDatabase;
let bobId: string;
let aliceId: string;
/** Connections of its own: they see only what is committed. */
let reader: pg.Pool;

beforeAll(async () => {
  tdb = await createTestDatabase();
  await seedDemo(tdb.prisma, { domain: 'example.test' });
  bobId = (await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'bob' } })).id;
  aliceId = (await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'alice' } })).id;
  reader = new pg.Pool({ connectionString: tdb.connectionString, max: 2 });
}, 60_000);
afterAll(async () => {
  await reader?.end();
  await tdb?.drop();
});

const input = (userIds: string[], over: Partial<StoreInput> = {}): StoreInput => ({
  mailId: `${randomUUID()}@mx.example.test`,
  senderUserId: null,
  senderAddress: 'someone@sender.example',
  to: ['bob@example.test'],
  cc: [],
  protection: 'server',
  envelope: randomBytes(200),
  manifest: randomBytes(100),
  body: randomBytes(1000),
  summary: randomBytes(50),
  attachments: [],
  attachmentSizes: [],
  blobBytes: 0n,
  parentId: null,
  sentAt: new Date(),
  holders: userIds.map((userId) => ({ userId, address: 'bob@example.test', kind: 'to' as const, box: randomBytes(80), folder: 'inbox' as const })),
  ...over,
});
const SIZE = 200n + 100n + 1000n + 50n;

async function committed(messageId: string): Promise<{ message: boolean; entries: number }> {
  const m = await reader.query('SELECT 1 FROM messages WHERE id = $1', [messageId]);
  const e = await reader.query('SELECT count(*)::int AS n FROM mailbox_entries WHERE message_id = $1', [messageId]);
  return { message: m.rowCount === 1, entries: (e.rows[0] as { n: number }).n };
}
const inboxTotal = async (userId: string) => Number(((await reader.query("SELECT total FROM mailbox_counts WHERE user_id = $1 AND scope = 'folder' AND key = 'inbox'", [userId])).rows[0] as { total: number } | undefined)?.total ?? 0);
const usedBytes = async (userId: string) => BigInt(((await reader.query('SELECT used_bytes FROM users WHERE id = $1', [userId])).rows[0] as { used_bytes: string }).used_bytes);

describe('group commit', () => {
  it('stores concurrent messages in fewer transactions, each answered only once committed', async () => {
    const gc = new GroupCommit(tdb.prisma, pgPoolOf(tdb.prisma)!);
    const listener = new pg.Client({ connectionString: tdb.connectionString });
    await listener.connect();
    const heard: string[] = [];
    listener.on('notification', (n) => n.channel === MAIL_CHANNEL && heard.push(JSON.parse(n.payload!).entryId as string));
    await listener.query(`LISTEN ${MAIL_CHANNEL}`);
    const totalBefore = await inboxTotal(bobId);
    const usedBefore = await usedBytes(bobId);
    const N = 20;
    // At the moment each caller hears back, its message and entry are visible to another connection.
    const seen = await Promise.all(Array.from({ length: N }, (_, i) => gc.store(input(i % 2 ? [bobId, aliceId] : [bobId])).then(async (s) => ({ s, at: await committed(s.messageId) }))));
    for (const { s, at } of seen) {
      expect(at.message).toBe(true);
      expect(at.entries).toBe(s.entries.length);
      expect(s.refused).toEqual([]);
      expect(s.published).toBe(true);
    }
    expect(gc.stats.messages).toBe(N);
    expect(gc.stats.transactions).toBeLessThan(N);
    expect(gc.stats.fallbacks).toBe(0);
    // The counts triggers ran on the multi-row insert; each holder was charged the message's size.
    expect(await inboxTotal(bobId)).toBe(totalBefore + N);
    expect(await usedBytes(bobId)).toBe(usedBefore + SIZE * BigInt(N));
    const entryIds = seen.flatMap(({ s }) => s.entries.map((e) => e.entryId));
    expect(entryIds).toHaveLength(N + N / 2);
    await expect.poll(() => heard.filter((id) => entryIds.includes(id)).length, { timeout: 10_000 }).toBe(entryIds.length);
    await listener.end();
  });

  it('keeps the others of a batch when one message fails: only that one gets the error', async () => {
    const gc = new GroupCommit(tdb.prisma, pgPoolOf(tdb.prisma)!);
    const existing = await storeMessage(tdb.prisma, input([bobId]));
    const dupMailId = (await tdb.prisma.message.findUniqueOrThrow({ where: { id: existing.messageId }, select: { mailId: true } })).mailId;
    const inputs = Array.from({ length: 10 }, (_, i) => input([bobId], i === 5 ? { mailId: dupMailId } : {}));
    const results = await Promise.allSettled(inputs.map((m) => gc.store(m)));
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [i] : []));
    expect(failed).toEqual([5]);
    expect((results[5] as PromiseRejectedResult).reason).toBeInstanceOf(DuplicateMailError);
    for (const r of results) if (r.status === 'fulfilled') expect(await committed(r.value.messageId)).toEqual({ message: true, entries: 1 });
    expect(gc.stats.fallbacks).toBeGreaterThan(0);
    expect(await tdb.prisma.message.count({ where: { mailId: { in: inputs.map((m) => m.mailId) } } })).toBe(10);
  });

  it('a blob already taken fails only the message that names it; the batch is one statement of writes and still all or nothing', async () => {
    const gc = new GroupCommit(tdb.prisma, pgPoolOf(tdb.prisma)!);
    const blob = await tdb.prisma.blob.create({ data: { ownerUserId: bobId, declaredSize: 10, size: 10, completedAt: new Date() } });
    const first = await storeMessage(tdb.prisma, input([bobId], { attachments: [blob.id], attachmentSizes: [10], blobBytes: 10n }));
    const inputs = Array.from({ length: 6 }, (_, i) => input([bobId], i === 2 ? { attachments: [blob.id], attachmentSizes: [10], blobBytes: 10n } : {}));
    const results = await Promise.allSettled(inputs.map((m) => gc.store(m)));
    expect(results.flatMap((r, i) => (r.status === 'rejected' ? [i] : []))).toEqual([2]);
    expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(BlobTakenError);
    for (const r of results) if (r.status === 'fulfilled') expect(await committed(r.value.messageId)).toEqual({ message: true, entries: 1 });
    // The blob stays with the message that had it; the refused message left nothing behind.
    expect((await tdb.prisma.blob.findUniqueOrThrow({ where: { id: blob.id } })).messageId).toBe(first.messageId);
    expect(await tdb.prisma.message.count({ where: { mailId: inputs[2]!.mailId } })).toBe(0);
  });

  it('charges quotas in arrival order: past the quota a holder is refused, the others keep it', async () => {
    // One commit at a time: batches (and so charges) in the order the messages came.
    const gc = new GroupCommit(tdb.prisma, pgPoolOf(tdb.prisma)!, { maxInFlight: 1 });
    const used = await usedBytes(aliceId);
    await tdb.prisma.$executeRaw`UPDATE users SET quota_bytes = ${used + SIZE * 5n + SIZE / 2n} WHERE id = ${aliceId}::uuid`;
    const results = await Promise.all(Array.from({ length: 8 }, () => gc.store(input([aliceId, bobId]))));
    expect(results.map((r) => r.refused.length)).toEqual([0, 0, 0, 0, 0, 1, 1, 1]);
    expect(results.every((r) => r.entries.some((e) => e.userId === bobId))).toBe(true);
    expect(await usedBytes(aliceId)).toBe(used + SIZE * 5n);
    expect(gc.stats.transactions).toBeLessThan(8);
  });

  it('a message every holder refused is not stored, in a batch or alone: it fails with QuotaExceededError and its blobs stay free', async () => {
    const gc = new GroupCommit(tdb.prisma, pgPoolOf(tdb.prisma)!, { maxInFlight: 1 });
    const used = await usedBytes(aliceId);
    const saved = (await tdb.prisma.user.findUniqueOrThrow({ where: { id: aliceId } })).quotaBytes;
    await tdb.prisma.$executeRaw`UPDATE users SET quota_bytes = ${used} WHERE id = ${aliceId}::uuid`;
    const blob = await tdb.prisma.blob.create({ data: { ownerUserId: aliceId, declaredSize: 10, size: 10, completedAt: new Date() } });
    const inputs = [input([bobId]), input([aliceId], { attachments: [blob.id], attachmentSizes: [10], blobBytes: 10n }), input([bobId, aliceId])];
    const results = await Promise.allSettled(inputs.map((m) => gc.store(m)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(QuotaExceededError);
    expect(await tdb.prisma.message.count({ where: { mailId: inputs[1]!.mailId } })).toBe(0);
    expect((await tdb.prisma.blob.findUniqueOrThrow({ where: { id: blob.id } })).messageId).toBeNull();
    // Refused for one holder, kept for the other.
    expect((results[2] as PromiseFulfilledResult<{ refused: unknown[]; messageId: string }>).value.refused).toHaveLength(1);
    expect(await committed((results[2] as PromiseFulfilledResult<{ messageId: string }>).value.messageId)).toEqual({ message: true, entries: 1 });
    // storeMessage alike: rolled back, nothing left behind.
    const alone = input([aliceId]);
    await expect(storeMessage(tdb.prisma, alone)).rejects.toBeInstanceOf(QuotaExceededError);
    expect(await tdb.prisma.message.count({ where: { mailId: alone.mailId } })).toBe(0);
    // Within an allowance past the quota (the server's delivery reports) it is stored.
    const report = input([aliceId]);
    const stored = await storeMessage(tdb.prisma, { ...report, holders: report.holders.map((h) => ({ ...h, allowance: SIZE })) });
    expect(stored.entries).toHaveLength(1);
    expect(await usedBytes(aliceId)).toBe(used + SIZE);
    await tdb.prisma.$executeRaw`UPDATE users SET quota_bytes = ${saved} WHERE id = ${aliceId}::uuid`;
  });

  it('attaches the attachment blobs, and a reply joins the thread of the message it answers', async () => {
    const gc = new GroupCommit(tdb.prisma, pgPoolOf(tdb.prisma)!);
    const parent = await storeMessage(tdb.prisma, input([bobId]));
    const blobs = await Promise.all([0, 1].map(() => tdb.prisma.blob.create({ data: { ownerUserId: bobId, declaredSize: 10, size: 10, completedAt: new Date() } })));
    const [reply, withBlobs] = await Promise.all([gc.store(input([bobId], { parentId: parent.messageId })), gc.store(input([bobId], { attachments: blobs.map((b) => b.id), attachmentSizes: [5, 5], blobBytes: 20n }))]);
    expect(reply.entries[0]!.threadId).toBe(parent.entries[0]!.threadId);
    expect(withBlobs.size).toBe(SIZE + 20n);
    const rows = await tdb.prisma.blob.findMany({ where: { id: { in: blobs.map((b) => b.id) } }, orderBy: { pieceIndex: 'asc' } });
    expect(rows.map((b) => [b.messageId, b.pieceIndex])).toEqual([
      [withBlobs.messageId, 1],
      [withBlobs.messageId, 2],
    ]);
  });
});
