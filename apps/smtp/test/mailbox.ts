/** Test helper: a user's newest mailbox entry, opened with their per-user key, headers parsed. */
import { simpleParser } from 'mailparser';
import { openMail, type PerUserKey } from '@sealmail/crypto';
import type { Db } from '@sealmail/db';

export async function openNewest(db: Db, userId: string, puk: PerUserKey) {
  const entry = await db.mailboxEntry.findFirstOrThrow({ where: { userId }, orderBy: { receivedAt: 'desc' }, include: { message: true } });
  const m = entry.message;
  const opened = await openMail({ envelope: m.envelope, record: entry.box, manifest: m.manifest, pieces: [m.body], userId, puk });
  const mime = await simpleParser(Buffer.from(opened.pieces[0]!));
  const header = (name: string) => {
    const v = mime.headerLines.find((l) => l.key === name.toLowerCase());
    return v ? v.line.slice(v.line.indexOf(':') + 1).trim() : undefined;
  };
  return { entry, subject: mime.subject ?? '', header };
}

/** How many mailbox entries the user has. */
export const entryCount = (db: Db, userId: string) => db.mailboxEntry.count({ where: { userId } });
