/**
 * Metadata filters, run by the server at delivery (docs/mail.md "Filters"): on what the server
 * sees anyway — sender, the address the mail came to, the List-Id of mail from outside, size,
 * whether it has attachments. Never on content: filters on subject or body are sealed to the user
 * and run on their devices. Used by the SMTP ingress (deliverLocal) and the API (mail between users).
 */
import type { FolderName } from '@sealmail/contract';
import type { Db } from '@sealmail/db';

export interface FilterConditionsData {
  from?: string;
  to?: string;
  listId?: string;
  sizeOver?: number;
  hasAttachment?: boolean;
}

export interface FilterActionsData {
  folder?: FolderName;
  labelIds?: string[];
  star?: boolean;
  markRead?: boolean;
  forwardTo?: string;
}

/** What the server knows about one delivery to one mailbox. */
export interface DeliveryFacts {
  /** Sender addresses (envelope sender, From): a condition matches either. */
  senders: readonly string[];
  /** The address the mail came to (lower case). */
  recipient: string;
  /** List-Id values (`team.lists.example`), lower case, without angle brackets. */
  listIds: readonly string[];
  size: number;
  attachments: number;
}

/** What the user's filters make of one delivery. */
export interface FilterOutcome {
  folder?: FolderName;
  labelIds: string[];
  starred: boolean;
  read: boolean;
  /** Verified forward addresses (only mail the server can read is forwarded: from outside). */
  forwardTo: string[];
}

/** An address pattern (`a@b.example`) matches that address; a domain (`b.example`) it and its subdomains. */
export function senderMatches(pattern: string, sender: string): boolean {
  const p = pattern.toLowerCase();
  const s = sender.toLowerCase();
  if (!s) return false;
  if (p.includes('@')) return s === p;
  const domain = s.slice(s.lastIndexOf('@') + 1);
  return domain === p || domain.endsWith(`.${p}`);
}

const bareListId = (v: string) => {
  const m = /<([^>]*)>/.exec(v);
  return (m ? m[1]! : v).trim().toLowerCase();
};

/** Whether every condition the filter sets holds for this delivery. */
export function filterMatches(c: FilterConditionsData, f: DeliveryFacts): boolean {
  if (c.from !== undefined && !f.senders.some((s) => senderMatches(c.from!, s))) return false;
  if (c.to !== undefined && c.to.toLowerCase() !== f.recipient.toLowerCase()) return false;
  if (c.listId !== undefined && !f.listIds.some((l) => bareListId(l) === bareListId(c.listId!))) return false;
  if (c.sizeOver !== undefined && !(f.size > c.sizeOver)) return false;
  if (c.hasAttachment !== undefined && c.hasAttachment !== f.attachments > 0) return false;
  return true;
}

/** Applies filters in order: the first that files decides the folder; labels, stars, reads and forwards add up. */
export function combineFilters(filters: readonly { conditions: FilterConditionsData; actions: FilterActionsData }[], f: DeliveryFacts): FilterOutcome & { forwardIds: string[] } {
  const out: FilterOutcome & { forwardIds: string[] } = { labelIds: [], starred: false, read: false, forwardTo: [], forwardIds: [] };
  for (const filter of filters) {
    if (!filterMatches(filter.conditions, f)) continue;
    const a = filter.actions;
    if (a.folder && !out.folder) out.folder = a.folder;
    for (const l of a.labelIds ?? []) if (!out.labelIds.includes(l)) out.labelIds.push(l);
    if (a.star) out.starred = true;
    if (a.markRead) out.read = true;
    if (a.forwardTo && !out.forwardIds.includes(a.forwardTo)) out.forwardIds.push(a.forwardTo);
  }
  return out;
}

/**
 * The outcome of a user's metadata filters for one delivery: labels that no longer exist are
 * dropped, and forwards go only to addresses the user verified. Bounded: at most 100 filters.
 */
export async function runServerFilters(db: Db, userId: string, f: DeliveryFacts, filters?: readonly { conditions: FilterConditionsData; actions: FilterActionsData }[]): Promise<FilterOutcome | null> {
  // `filters`: the user's filters read already (delivery-facts.ts), in order.
  const rows = filters ?? (await db.mailFilter.findMany({ where: { userId }, orderBy: { position: 'asc' }, take: 100, select: { conditions: true, actions: true } }));
  if (!rows.length) return null;
  const combined = combineFilters(rows as unknown as { conditions: FilterConditionsData; actions: FilterActionsData }[], f);
  const labels = combined.labelIds.length ? await db.label.findMany({ where: { userId, id: { in: combined.labelIds } }, select: { id: true } }) : [];
  const forwards = combined.forwardIds.length ? await db.forwardAddress.findMany({ where: { userId, id: { in: combined.forwardIds }, verifiedAt: { not: null } }, select: { address: true } }) : [];
  const known = new Set(labels.map((l) => l.id));
  return {
    ...(combined.folder ? { folder: combined.folder } : {}),
    labelIds: combined.labelIds.filter((l) => known.has(l)),
    starred: combined.starred,
    read: combined.read,
    forwardTo: forwards.map((x) => x.address),
  };
}
