/**
 * Deleting mail for good, and legal hold (docs/admin.md, "Legal hold"). Every path that deletes a
 * user's mailbox entry for good goes through `purgeEntries`: for a user under hold the entry is
 * moved to `held_mailbox_entries` (gone from the user's mailbox, refunded to their quota) and its
 * message stays; otherwise the entry goes, and the message with its blobs when nothing holds it.
 */
import type { Db } from '@sealmail/db';
import { charge, type BlobStore } from '@sealmail/mailstore';

type Tx = Parameters<Parameters<Db['$transaction']>[0]>[0];

/** Whether anything still needs this message: a mailbox entry, a held entry, a link, a queued delivery. */
async function stillNeeded(tx: Tx, messageId: string): Promise<boolean> {
  const [entries, held, links, queued] = await Promise.all([
    tx.mailboxEntry.count({ where: { messageId } }),
    tx.heldMailboxEntry.count({ where: { messageId } }),
    tx.mailLink.count({ where: { messageId } }),
    tx.outboundDelivery.count({ where: { messageId, status: 'queued' } }),
  ]);
  return entries + held + links + queued > 0;
}

/** Deletes the messages of `messageIds` that nothing needs any more; answers their blob ids. */
export async function dropUnneededMessages(tx: Tx, messageIds: Iterable<string>): Promise<{ blobs: string[]; messages: number }> {
  const blobs: string[] = [];
  let messages = 0;
  for (const messageId of new Set(messageIds)) {
    if (await stillNeeded(tx, messageId)) continue;
    blobs.push(...(await tx.blob.findMany({ where: { messageId }, select: { id: true } })).map((b) => b.id));
    messages += (await tx.message.deleteMany({ where: { id: messageId } })).count;
  }
  return { blobs, messages };
}

/**
 * Deletes entries for good (or, under legal hold, moves them out of the user's sight), refunds
 * their holders, and drops messages nothing needs any more.
 */
export async function purgeEntries(db: Db, blobStore: BlobStore, entries: readonly { id: string; userId: string }[], now: Date): Promise<void> {
  if (!entries.length) return;
  const orphanBlobs = await db.$transaction(async (tx) => {
    const held = new Set((await tx.user.findMany({ where: { id: { in: [...new Set(entries.map((e) => e.userId))] }, legalHoldAt: { not: null } }, select: { id: true } })).map((u) => u.id));
    const messageIds: string[] = [];
    for (const { id } of entries) {
      const e = await tx.mailboxEntry.findUnique({ where: { id } });
      if (!e) continue;
      if (held.has(e.userId)) {
        await tx.heldMailboxEntry.create({ data: { id: e.id, userId: e.userId, messageId: e.messageId, folder: e.folder, role: e.role, box: e.box, threadId: e.threadId, size: e.size, receivedAt: e.receivedAt, purgedAt: now } });
      }
      const gone = await tx.mailboxEntry.deleteMany({ where: { id: e.id } });
      if (gone.count) await charge(tx, e.userId, -e.size);
      messageIds.push(e.messageId);
    }
    return (await dropUnneededMessages(tx, messageIds)).blobs;
  });
  await blobStore.delete(orphanBlobs);
}

/** After a hold is lifted: what the user deleted for good while held goes now. Answers how many entries. */
export async function releaseHeldEntries(db: Db, blobStore: BlobStore, userId: string): Promise<number> {
  const { count, blobs } = await db.$transaction(async (tx) => {
    const rows = await tx.heldMailboxEntry.findMany({ where: { userId }, select: { messageId: true } });
    const n = (await tx.heldMailboxEntry.deleteMany({ where: { userId } })).count;
    return { count: n, blobs: (await dropUnneededMessages(tx, rows.map((r) => r.messageId))).blobs };
  });
  await blobStore.delete(blobs);
  return count;
}

/** A saved draft that must stay as it is (its user is under legal hold): it cannot be replaced in place. */
export class DraftKeptError extends Error {
  override readonly name = 'DraftKeptError';
}

/**
 * A draft saved again under its own message id. The client keeps the id across saves so that
 * attachment pieces it already uploaded (bound to that id) are not sealed and sent again; the new
 * save then replaces the saved one inside its own transaction (`storeMessage`'s `before`): the
 * blobs it keeps are detached from the saved message, the saved entry goes (refunded) and its
 * message with it. Answers the saved message's other blobs, to delete once committed. Under legal
 * hold the saved draft must stay (it is kept out of sight, not deleted): DraftKeptError.
 */
export async function dropDraftForResave(tx: Tx, entryId: string, keep: readonly string[]): Promise<string[]> {
  const e = await tx.mailboxEntry.findUnique({ where: { id: entryId } });
  if (!e) return [];
  if ((await tx.user.findUnique({ where: { id: e.userId }, select: { legalHoldAt: true } }))?.legalHoldAt) throw new DraftKeptError('the saved draft is under legal hold');
  if (keep.length && (await tx.blob.updateMany({ where: { id: { in: [...keep] }, messageId: e.messageId }, data: { messageId: null } })).count !== keep.length) throw new DraftKeptError('an attachment of the saved draft changed meanwhile');
  const gone = await tx.mailboxEntry.deleteMany({ where: { id: e.id } });
  if (gone.count) await charge(tx, e.userId, -e.size);
  return (await dropUnneededMessages(tx, [e.messageId])).blobs;
}
