/**
 * Mail held for a user who has no keys yet (docs/mail.md §7.4): an admin created the user, mail
 * arrives before their first sign-in. The ingress seals such a copy exactly like inbound mail but
 * to no recipient: its message key is boxed to the server's mail key only (server-encrypted, the
 * way a list copy for outside members is), and a `held_mail` row says whose it is. The user's
 * quota is charged when it is held.
 *
 * Once the user's chain has a per-user key (first device set up), `resealHeldMail` re-seals each
 * held copy to it: the server opens its own box, reads the manifest (piece keys only; body and
 * attachment ciphertexts are not touched), seals a new envelope and manifest under a fresh message
 * key with the user as the one recipient, files the mailbox entry, and erases the server box — the
 * server can no longer read the mail. Removing the `held_mail` row is the claim: the first
 * transaction to delete it files the mail, any other (a second run, another process) finds
 * nothing to do, so a mail is filed exactly once.
 */
import { randomUUID } from 'node:crypto';
import { openManifest, openServerBox, sealMail } from '@sealmail/crypto';
import type { Db } from '@sealmail/db';
import { publishMailEvents } from './events';
import { newestPerUserKey } from './store';
import type { ServerMailKey } from './server-keys';

export interface ResealDeps {
  db: Db;
  serverKey: ServerMailKey;
  logger: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

/** Users with held mail and a per-user key now (a sweep after a restart finds them). */
export async function usersWithHeldMail(db: Db, limit = 100): Promise<string[]> {
  const rows = await db.heldMail.findMany({ distinct: ['userId'], select: { userId: true }, take: limit });
  return rows.map((r) => r.userId);
}

/**
 * Re-seals every held mail of `userId` to their newest per-user key and files it. Answers how
 * many this call filed (0 when the user has no key yet, or another run got there first).
 */
export async function resealHeldMail(deps: ResealDeps, userId: string): Promise<number> {
  const key = await newestPerUserKey(deps.db, userId);
  if (!key) return 0;
  let filed = 0;
  for (;;) {
    const held = await deps.db.heldMail.findMany({ where: { userId }, orderBy: { heldAt: 'asc' }, take: 50, include: { message: { select: { id: true, envelope: true, manifest: true, serverBox: true, size: true, parentId: true } } } });
    if (held.length === 0) break;
    let progressed = false;
    for (const h of held) {
      const m = h.message;
      if (!m.serverBox) {
        deps.logger.warn({ messageId: m.id }, 'held mail without server box; left alone');
        continue;
      }
      const { messageKey, envelope } = openServerBox({ envelope: m.envelope, box: m.serverBox, serverPublicKey: deps.serverKey.publicKey, serverSecretKey: deps.serverKey.secretKey });
      const manifest = await openManifest({ envelope, manifest: m.manifest, messageKey });
      messageKey.fill(0);
      const sender = envelope.sender.kind === 'external' ? envelope.sender : null;
      if (!sender) throw new Error(`held mail ${m.id} is not server-sealed`);
      // Same message id and pieces (their contexts bind the id); new envelope, manifest and box.
      const sealed = await sealMail({ messageId: envelope.messageId, sender: { kind: 'external', address: sender.address }, pieces: manifest.pieces.map((p) => ({ kind: p.kind, encrypted: p })), to: [key], notE2EE: manifest.notE2EE, ...(manifest.summary ? { summary: { encrypted: manifest.summary } } : {}) });
      sealed.messageKey.fill(0);
      for (const p of manifest.pieces) p.key.fill(0);
      const size = m.size + BigInt(sealed.envelope.length - m.envelope.length + sealed.manifest.length - m.manifest.length);
      const entry = await deps.db.$transaction(async (tx) => {
        const claimed = await tx.heldMail.deleteMany({ where: { messageId: m.id, userId } });
        if (claimed.count !== 1) return null;
        await tx.message.update({ where: { id: m.id }, data: { envelope: sealed.envelope as Uint8Array<ArrayBuffer>, manifest: sealed.manifest as Uint8Array<ArrayBuffer>, serverBox: null, size } });
        // The quota was charged when the mail was held; the new envelope differs by a few bytes.
        if (size !== m.size) await tx.$executeRaw`UPDATE users SET used_bytes = GREATEST(used_bytes + ${size - m.size}, 0) WHERE id = ${userId}::uuid`;
        const parentEntry = m.parentId ? await tx.mailboxEntry.findFirst({ where: { userId, messageId: m.parentId }, select: { threadId: true } }) : null;
        return tx.mailboxEntry.create({
          data: { userId, messageId: m.id, folder: h.folder, role: 'to', box: sealed.boxes[0]!.record as Uint8Array<ArrayBuffer>, threadId: parentEntry?.threadId ?? randomUUID(), size, receivedAt: h.heldAt },
          select: { id: true, folder: true },
        });
      });
      if (!entry) continue;
      progressed = true;
      filed++;
      await publishMailEvents(deps.db, [{ userId, event: { entryId: entry.id, folder: entry.folder, kind: 'new' as const } }]).catch((err: unknown) => deps.logger.warn({ err }, 'held mail: event not published'));
    }
    if (!progressed) break;
  }
  if (filed) deps.logger.info({ userId, filed }, 'held mail re-sealed to the user’s key');
  return filed;
}

/**
 * Deletes held copies whose user is gone (a deleted user's held_mail rows go with them): messages
 * the server can still read (server box) that nobody holds, waits for, relays or links to. Answers
 * how many went. Their bytes were charged to the deleted user only.
 */
export async function purgeOrphanHeldCopies(db: Db, limit = 100): Promise<number> {
  const orphans = await db.message.findMany({
    where: { protection: 'server', serverBox: { not: null }, held: null, entries: { none: {} }, heldEntries: { none: {} }, deliveries: { none: {} }, links: { none: {} } },
    select: { id: true },
    take: limit,
  });
  if (!orphans.length) return 0;
  const ids = orphans.map((o) => o.id);
  // Checked again inside the delete, so a copy that got a holder meanwhile stays.
  const gone = await db.message.deleteMany({ where: { id: { in: ids }, serverBox: { not: null }, held: null, entries: { none: {} }, heldEntries: { none: {} }, deliveries: { none: {} }, links: { none: {} } } });
  return gone.count;
}
