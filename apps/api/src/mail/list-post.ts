/**
 * A user of this server posting to their organisation's mailing list (docs/mail.md "Posting to a
 * list from inside"). The sender's client sends the list address as standard mail (a list is not
 * end to end encrypted, MISSION §4: the server seals a copy for each member); the outbound relay
 * hands it here instead of to an MX. The expansion is the ingress's (apps/smtp/src/deliver.ts):
 * active members of the list's organisation with keys get a server-sealed copy with List-Id and
 * List-Post inside, each member's blocks and spam verdicts apply, and members outside the
 * organisation get it through the relay, from the list address.
 */
import { splitAddress, type Db } from '@sealmail/db';
import { blockedAmong, deliverableMembers, deliverLocal, headerSectionOf, listHeaders, loopMarksIn, outsideMembers, senderVerdicts, wouldLoop, type BlobStore } from '@sealmail/mailstore';
import type { Logger } from '@sealmail/server';

export interface ListPostDeps {
  db: Db;
  blobs: BlobStore;
  hostname: string;
  now: () => Date;
  logger: Logger;
  serverPublicKey: Uint8Array;
}

export function listPoster(deps: ListPostDeps) {
  return async (address: string, raw: Buffer, mailFrom: string): Promise<{ messageId: string } | null> => {
    const parts = splitAddress(address.toLowerCase());
    if (!parts) return null;
    const list = await deps.db.mailingList.findFirst({ where: { localPart: parts.localPart, domain: { name: parts.domain } }, select: { id: true, accountId: true, name: true } });
    if (!list) return null;
    // Relayed here through this very list before (two organisations' lists that name each other):
    // not expanded again, or the post would go round for ever (loop-marks.ts).
    const marks = loopMarksIn(headerSectionOf(raw));
    if (wouldLoop(marks, address)) {
      deps.logger.info({ list: list.id, marks: marks.length }, 'list post: loop, not expanded again');
      return { messageId: '' };
    }
    const { members, skipped } = await deliverableMembers(deps.db, list.id, list.accountId);
    const blocked = await blockedAmong(deps.db, members, [mailFrom]);
    const to = members.filter((m) => !blocked.has(m.userId));
    const verdicts = await senderVerdicts(deps.db, to.map((m) => m.userId), [mailFrom]);
    const outside = await outsideMembers(deps.db, list.id, list.accountId);
    const owner = outside.length && !to.length ? await deps.db.user.findFirst({ where: { accountId: list.accountId, role: 'admin', status: 'active' }, select: { id: true } }) : null;
    const relay = outside.length && (to[0] || owner) ? { to: outside, sender: address, serverPublicKey: deps.serverPublicKey, blobOwnerUserId: to[0]?.userId ?? owner!.id } : undefined;
    deps.logger.info({ list: list.id, members: to.length, outside: relay ? outside.length : 0, skipped, blocked: blocked.size }, 'list post expanded');
    if (!to.length && !relay) return { messageId: '' };
    const stored = await deliverLocal({ ...deps }, raw, {
      mailFrom,
      recipients: to.map((m) => ({ address: m.address, userId: m.userId, folder: verdicts.get(m.userId) === 'spam' ? ('spam' as const) : ('inbox' as const) })),
      extraHeaders: listHeaders({ address: `${parts.localPart}@${parts.domain}`, name: list.name }),
      ...(relay ? { relay } : {}),
    });
    return { messageId: relay ? stored.messageId : '' };
  };
}
