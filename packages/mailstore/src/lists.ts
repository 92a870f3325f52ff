/**
 * Mailing list expansion and per-recipient sender rules, shared by the SMTP ingress (mail from
 * outside, docs/mail.md §7.3) and the API (a user of this server posting to their organisation's
 * list, docs/mail.md "Posting to a list from inside"): who a list delivers to, the headers its
 * copies carry, and the senders each recipient blocked or judged.
 */
import { splitAddress, type Db } from '@sealmail/db';
import { MAX_LIST_MEMBERS } from '@sealmail/contract';
import { newestPerUserKey } from './store';

/**
 * The patterns a sender matches: the whole address and its domain with every parent domain
 * (a block of `spam.example` covers `mx.spam.example` too). Empty for the null sender.
 */
export function senderPatterns(sender: string): string[] {
  const parts = splitAddress(sender);
  if (!parts) return [];
  const labels = parts.domain.split('.');
  const domains = labels.slice(0, -1).map((_, i) => labels.slice(i).join('.')).slice(-10);
  return [`${parts.localPart}@${parts.domain}`, ...domains];
}

/**
 * The users among `who` that blocked any of `senders` themselves, or whose account blocked it
 * (an entry with userId null stands for its whole account: the list address itself).
 */
export async function blockedAmong(db: Db, who: readonly { userId: string | null; accountId: string }[], senders: readonly string[]): Promise<Set<string | null>> {
  const patterns = [...new Set(senders.flatMap(senderPatterns))];
  if (patterns.length === 0 || who.length === 0) return new Set();
  const accounts = [...new Set(who.map((w) => w.accountId))];
  const users = who.flatMap((w) => (w.userId ? [w.userId] : []));
  const hits = await db.blockedSender.findMany({
    where: { accountId: { in: accounts }, pattern: { in: patterns }, OR: [{ userId: null }, ...(users.length ? [{ userId: { in: users } }] : [])] },
    select: { accountId: true, userId: true },
    take: 1000,
  });
  const blocked = new Set<string | null>();
  for (const w of who) if (hits.some((h) => h.accountId === w.accountId && (h.userId === null || h.userId === w.userId))) blocked.add(w.userId);
  return blocked;
}

/** RFC 2919 list identifier: the list address with '@' as '.', e.g. `team.example.test`. */
export const listIdOf = (address: string) => address.toLowerCase().replace('@', '.');

/** The `List-Id` and `List-Post` headers a list expansion keeps inside the sealed body. */
export function listHeaders(list: { address: string; name: string }): (readonly [string, string])[] {
  const name = list.name.replace(/[\r\n"\\<>]/g, '').trim();
  return [
    ['List-Id', `${name ? `"${name}" ` : ''}<${listIdOf(list.address)}>`],
    ['List-Post', `<mailto:${list.address}>`],
  ];
}

/**
 * A list's members outside its organisation (relayed as standard mail): on domains that are not
 * the list's account's, including another organisation's domains on this same server. A list
 * never fans mail into another organisation's mailboxes directly.
 */
export async function outsideMembers(db: Db, listId: string, accountId: string): Promise<string[]> {
  const rows = await db.mailingListMember.findMany({ where: { listId }, select: { address: true }, orderBy: { address: 'asc' }, take: MAX_LIST_MEMBERS });
  const parts = rows.flatMap((r) => {
    const p = splitAddress(r.address);
    return p ? [{ address: r.address, domain: p.domain }] : [];
  });
  if (!parts.length) return [];
  const ours = new Set((await db.domain.findMany({ where: { accountId, name: { in: [...new Set(parts.map((p) => p.domain))] } }, select: { name: true } })).map((d) => d.name));
  return parts.filter((p) => !ours.has(p.domain)).map((p) => p.address);
}

/**
 * The members of a list that can take the mail now: active users of the list's own account with
 * a per-user key. Outside members (see outsideMembers: other servers and other organisations
 * here), suspended users and mailboxes without keys are skipped here (and counted).
 */
export async function deliverableMembers(db: Db, listId: string, accountId: string): Promise<{ members: { address: string; userId: string; accountId: string }[]; skipped: number }> {
  const rows = await db.mailingListMember.findMany({ where: { listId }, select: { address: true }, orderBy: { address: 'asc' }, take: MAX_LIST_MEMBERS });
  const wanted = rows.flatMap((r) => {
    const p = splitAddress(r.address);
    return p ? [{ address: r.address, ...p }] : [];
  });
  if (wanted.length === 0) return { members: [], skipped: 0 };
  const users = await db.user.findMany({
    where: { status: 'active', accountId, OR: wanted.map((w) => ({ localPart: w.localPart, domain: { name: w.domain } })) },
    select: { id: true, accountId: true, localPart: true, domain: { select: { name: true } } },
    take: MAX_LIST_MEMBERS,
  });
  const members = [];
  for (const u of users) if (await newestPerUserKey(db, u.id)) members.push({ address: `${u.localPart}@${u.domain.name}`, userId: u.id, accountId: u.accountId });
  return { members, skipped: rows.length - members.length };
}

/**
 * Each user's own verdict on these senders (Report spam / Not spam, docs/mail.md "Organising
 * mail"): 'spam' files their copy in Spam, 'allow' in the Inbox whatever it scored. A sender
 * reported as spam under either address (envelope or From) wins over an allowed one.
 */
export async function senderVerdicts(db: Db, userIds: readonly string[], senders: readonly string[]): Promise<Map<string, 'spam' | 'allow'>> {
  const addresses = [...new Set(senders.map((s) => s.toLowerCase()).filter(Boolean))];
  const out = new Map<string, 'spam' | 'allow'>();
  if (!addresses.length || !userIds.length) return out;
  const rows = await db.senderVerdict.findMany({ where: { userId: { in: [...new Set(userIds)] }, address: { in: addresses } }, select: { userId: true, verdict: true }, take: 2000 });
  for (const r of rows) if (r.verdict === 'spam' || !out.has(r.userId)) out.set(r.userId, r.verdict === 'spam' ? 'spam' : 'allow');
  return out;
}
