/** Mailbox entries as the contract's `entryView` (plaintext metadata + ciphertext to open). */
import type { EntryView } from '@sealmail/contract';
import { mailLimits } from '@sealmail/contract';
import { toBase64Url } from '@sealmail/crypto';
import type { Db } from '@sealmail/db';

const messageFields = {
  id: true,
  mailId: true,
  senderAddress: true,
  toAddresses: true,
  ccAddresses: true,
  protection: true,
  envelope: true,
  manifest: true,
  summary: true,
  bodySize: true,
  attachmentSizes: true,
  size: true,
  sentAt: true,
  blobs: { select: { id: true }, orderBy: { pieceIndex: 'asc' } },
} as const;

/**
 * Loads entries (of one user, by id, in the given order) with their messages. Bodies come along
 * when `bodies` is 'all', or when small enough to travel in a list page ('small').
 */
export async function loadEntries(db: Db, userId: string, ids: readonly string[], bodies: 'all' | 'small'): Promise<EntryView[]> {
  if (!ids.length) return [];
  const rows = await db.mailboxEntry.findMany({ where: { userId, id: { in: [...ids] } }, include: { message: { select: messageFields } } });
  const wanted = rows.filter((r) => bodies === 'all' || r.message.bodySize <= mailLimits.inlineBodyBytes).map((r) => r.messageId);
  const bodyRows = wanted.length ? await db.message.findMany({ where: { id: { in: wanted } }, select: { id: true, body: true } }) : [];
  const bodyOf = new Map(bodyRows.map((b) => [b.id, b.body]));
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.flatMap((id) => {
    const r = byId.get(id);
    if (!r) return [];
    const m = r.message;
    const body = bodyOf.get(m.id);
    return [
      {
        id: r.id,
        messageId: m.id,
        mailId: m.mailId,
        threadId: r.threadId,
        folder: r.folder,
        role: r.role as EntryView['role'],
        read: r.read,
        starred: r.starred,
        labelIds: r.labelIds,
        folderId: r.folderId,
        receivedAt: r.receivedAt.toISOString(),
        sentAt: m.sentAt.toISOString(),
        from: m.senderAddress,
        to: m.toAddresses,
        cc: m.ccAddresses,
        protection: m.protection,
        size: Number(r.size),
        attachmentSizes: m.attachmentSizes.map(Number),
        envelope: toBase64Url(m.envelope),
        manifest: toBase64Url(m.manifest),
        box: toBase64Url(r.box),
        body: body ? toBase64Url(body) : null,
        summary: m.summary ? toBase64Url(m.summary) : null,
        attachments: m.blobs.map((b) => b.id),
      },
    ];
  });
}
