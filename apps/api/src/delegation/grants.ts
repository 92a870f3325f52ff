/**
 * Delegation as the server keeps it (docs/sigchain.md §3.2): the grant rows are derived from the
 * manager's key history on every append (the signed links are the authority), and decide whom the
 * server serves a mailbox to. Mailbox key boxes (docs/crypto.md §5.14) are checked against the
 * grants in force: only for delegates in force, only for generations the chain has, and a new
 * generation must reach every delegate in force.
 */
import { ApiError } from '@sealmail/contract';
import { fromBase64Url, LinkType, type Link, type SigchainState } from '@sealmail/crypto';
import type { Db } from '@sealmail/db';

type Tx = Parameters<Parameters<Db['$transaction']>[0]>[0];

export const RIGHTS = { read: 1, send: 3 } as const;
export const rightsName = (r: number) => (r === RIGHTS.send ? ('send' as const) : ('read' as const));

const refuse = (why: string): never => {
  throw new ApiError('DELEGATION_INVALID', undefined, `The delegation was refused: ${why}.`);
};

/**
 * Checks a delegate-grant against the directory (the delegate is a user of the same organisation
 * and the address it names is theirs), then derives the grant rows from the replayed chain. A
 * revocation drops the revoked delegate's mailbox key boxes.
 */
export async function syncDelegations(tx: Tx, mailboxUserId: string, link: Link, state: SigchainState): Promise<void> {
  if (link.body.type === LinkType.DelegateGrant) {
    const d = link.body.delegate;
    const [mailbox, delegate] = await Promise.all([
      tx.user.findUnique({ where: { id: mailboxUserId }, select: { accountId: true } }),
      /^[0-9a-f-]{36}$/.test(d.userId) ? tx.user.findUnique({ where: { id: d.userId }, include: { domain: { select: { name: true } }, sharedMailbox: { select: { userId: true } } } }) : null,
    ]);
    if (!delegate || !mailbox || delegate.accountId !== mailbox.accountId) refuse('the delegate is not a user of your organisation');
    if (`${delegate!.localPart}@${delegate!.domain.name}` !== d.address) refuse(`${d.address} is not the address of that user`);
    if (delegate!.sharedMailbox) refuse('a shared mailbox cannot be a delegate');
  }
  if (link.body.type !== LinkType.DelegateGrant && link.body.type !== LinkType.DelegateRevoke) return;
  for (const g of state.delegations) {
    await tx.delegateGrant.upsert({
      where: { managerUserId_grantedSeqno: { managerUserId: mailboxUserId, grantedSeqno: g.grantedAt } },
      create: { managerUserId: mailboxUserId, grantedSeqno: g.grantedAt, delegateUserId: g.delegate.userId, rights: g.delegate.rights, revokedSeqno: g.revokedAt ?? null },
      update: { revokedSeqno: g.revokedAt ?? null },
    });
  }
  if (link.body.type === LinkType.DelegateRevoke) await tx.mailboxKeyBox.deleteMany({ where: { mailboxUserId, delegateUserId: link.body.delegateUserId } });
}

export interface MailboxBoxIn {
  delegateUserId: string;
  generation: number;
  delegateGeneration: number;
  box: string;
}

/**
 * Stores mailbox key boxes: each for a delegate in force, a generation the mailbox's chain has and
 * a generation of the delegate's own key history. With `link`, a grant must bring the newest
 * generation for its delegate. A revocation brings its new generation for the remaining delegates
 * the revoking device could verify; one it could not (their key history failed a check) gets it
 * later (`Delegation.shareNewKeys`) — a revocation is never held up by someone else's keys.
 */
export async function storeMailboxBoxes(tx: Tx, mailboxUserId: string, state: SigchainState, boxes: readonly MailboxBoxIn[], link?: Link): Promise<number> {
  const inForce = new Set(state.delegations.filter((d) => d.revokedAt === undefined).map((d) => d.delegate.userId));
  const newest = state.puks.length;
  const seen = new Set<string>();
  for (const b of boxes) {
    if (!inForce.has(b.delegateUserId)) refuse('a key box is for someone who holds no grant');
    if (b.generation > newest) refuse(`a key box is for generation ${b.generation}, the key history has ${newest}`);
    const key = `${b.delegateUserId}/${b.generation}`;
    if (seen.has(key)) refuse('a key box is given twice');
    seen.add(key);
    const delegateGenerations = await tx.sigchainLink.count({ where: { userId: b.delegateUserId, type: { in: [LinkType.Root, LinkType.DeviceAdd, LinkType.DeviceApprove, LinkType.DeviceRevoke, LinkType.PukRotate, LinkType.EscrowRemove, LinkType.DelegateRevoke] } } });
    if (b.delegateGeneration > delegateGenerations) refuse('a key box is for a key generation the delegate does not have');
  }
  if (link?.body.type === LinkType.DelegateGrant && !seen.has(`${link.body.delegate.userId}/${newest}`)) refuse('a grant must bring the mailbox’s newest key generation for the delegate');
  for (const b of boxes) {
    const box = new Uint8Array(fromBase64Url(b.box));
    await tx.mailboxKeyBox.upsert({
      where: { mailboxUserId_generation_delegateUserId: { mailboxUserId, generation: b.generation, delegateUserId: b.delegateUserId } },
      create: { mailboxUserId, generation: b.generation, delegateUserId: b.delegateUserId, delegateGeneration: b.delegateGeneration, box },
      update: { delegateGeneration: b.delegateGeneration, box },
    });
  }
  return boxes.length;
}

/** The grant in force that lets `delegateUserId` use `mailboxUserId` (for `right`), or MAILBOX_NOT_DELEGATED. */
export async function assertDelegate(db: Db | Tx, mailboxUserId: string, delegateUserId: string, right: 'read' | 'send') {
  const g = await db.delegateGrant.findFirst({ where: { managerUserId: mailboxUserId, delegateUserId, revokedSeqno: null } });
  if (!g || (right === 'send' && g.rights !== RIGHTS.send)) throw new ApiError('MAILBOX_NOT_DELEGATED');
  return g;
}

/**
 * The mailbox a delegate sends as (sender kind 4): a grant with send-as in force, else
 * MAILBOX_NOT_DELEGATED. Drafts stay the delegate's own: a draft is not sent as anyone yet.
 */
export async function delegatedSender(db: Db, mailboxUserId: string, delegateUserId: string, draft: boolean): Promise<{ userId: string; address: string }> {
  if (draft) throw new ApiError('MAILBOX_NOT_DELEGATED', undefined, 'Drafts are kept in your own mailbox; send as the other mailbox when the mail is ready.');
  await assertDelegate(db, mailboxUserId, delegateUserId, 'send');
  const u = await db.user.findUniqueOrThrow({ where: { id: mailboxUserId }, include: { domain: { select: { name: true } } } });
  return { userId: u.id, address: `${u.localPart}@${u.domain.name}` };
}
