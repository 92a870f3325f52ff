/**
 * Who an inbound message is for (docs/mail.md §7.2, §7.3): local mailboxes, mailing list
 * addresses, and the senders each recipient (or their account) has blocked. Every query is
 * indexed and bounded.
 */
import { splitAddress, type Db } from '@sealmail/db';
import type { RecipientFacts } from '@sealmail/mailstore';

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
  | { kind: 'list'; address: string; listId: string; accountId: string; name: string };

/** Most members a list delivers to (a list is for a team, not a newsletter). */
export const MAX_LIST_MEMBERS = 1000;

/** The mailing list with this address, or null. */
export async function findList(db: Db, address: string) {
  const parts = splitAddress(address);
  if (!parts) return null;
  return db.mailingList.findFirst({ where: { localPart: parts.localPart, domain: { name: parts.domain } }, select: { id: true, accountId: true, name: true } });
}

