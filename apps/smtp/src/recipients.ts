/**
 * Who an inbound message is for (docs/mail.md §7.2, §7.3): local mailboxes, mailing list
 * addresses, and the senders each recipient (or their account) has blocked. Every query is
 * indexed and bounded.
 */
import { splitAddress, type Db } from '@sealmail/db';
import type { RecipientFacts } from '@sealmail/mailstore';
import { sameOrganisation } from './spam';

// Shared with the API (a user of this server posting to a list): packages/mailstore/src/lists.ts.
export { blockedAmong, deliverableMembers, listHeaders, listIdOf, outsideMembers, senderPatterns, senderVerdicts } from '@sealmail/mailstore';

/** A recipient accepted at RCPT: a mailbox, or a list to expand at DATA. */
export type InboundRecipient =
  | {
      kind: 'user';
      address: string;
      userId: string;
      accountId: string;
      /** What delivery needs of them (delivery-facts.ts), read at RCPT for the envelope sender (absent for an alias). */
      facts?: RecipientFacts;
    }
  | { kind: 'list'; address: string; listId: string; accountId: string; name: string; posting?: string };

/** Most members a list delivers to (a list is for a team, not a newsletter). */
export const MAX_LIST_MEMBERS = 1000;

/** The mailing list with this address, or null. */
export async function findList(db: Db, address: string) {
  const parts = splitAddress(address);
  if (!parts) return null;
  return db.mailingList.findFirst({ where: { localPart: parts.localPart, domain: { name: parts.domain } }, select: { id: true, accountId: true, name: true, posting: true } });
}


/**
 * Whether the message may be posted to a list that takes mail only from its organisation or its
 * members (docs/mail.md §7.3): the From address must be a member's (or on one of the
 * organisation's domains), and SPF or DKIM must vouch for its domain (aligned, as DMARC has it),
 * so a forged From does not get through.
 */
export async function mayPostToList(db: Db, list: { listId: string; accountId: string; posting?: string }, from: string, auth: { spf?: { domain: string; status: { result: string } } | false; dkim?: { results?: { signingDomain: string; status: { result: string } }[] } }): Promise<boolean> {
  if (!list.posting || list.posting === 'anyone') return true;
  const address = from.trim().toLowerCase();
  const domain = address.slice(address.lastIndexOf('@') + 1);
  if (!address.includes('@') || !domain) return false;
  const vouched = (auth.spf && auth.spf.status.result === 'pass' && sameOrganisation(auth.spf.domain, domain)) || (auth.dkim?.results ?? []).some((r) => r.status.result === 'pass' && sameOrganisation(r.signingDomain, domain));
  if (!vouched) return false;
  if (list.posting === 'members') return (await db.mailingListMember.count({ where: { listId: list.listId, address } })) > 0;
  return (await db.domain.count({ where: { name: domain, accountId: list.accountId } })) > 0;
}
