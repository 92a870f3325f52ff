/**
 * Many addresses to their mailboxes at once (the batch key directory, `POST /mail/send`): one
 * query for every plain `local@domain` address, and `findMailboxByAddress` (aliases, +tag forms)
 * only for the few it did not answer — the same answers as asking address by address.
 */
import { findMailboxByAddress, splitAddress, type Db, type User } from '@sealmail/db';
import { mayEncryptTo } from './reach';

export async function findMailboxes(db: Db, addresses: readonly string[]): Promise<(User | null)[]> {
  const parts = addresses.map((a) => splitAddress(a));
  const wanted = parts.filter((p): p is NonNullable<typeof p> => p !== null);
  const rows = wanted.length ? await db.user.findMany({ where: { OR: wanted.map((p) => ({ localPart: p.localPart, domain: { name: p.domain } })) }, include: { domain: { select: { name: true } } } }) : [];
  const direct = new Map<string, User>();
  for (const { domain, ...user } of rows) {
    const key = `${user.localPart}@${domain.name}`;
    if (!direct.has(key)) direct.set(key, user);
  }
  return Promise.all(addresses.map((a, i) => (parts[i] ? direct.get(`${parts[i]!.localPart}@${parts[i]!.domain}`) : undefined) ?? findMailboxByAddress(db, a)));
}

/** `mayEncryptTo` asked once per (account, domain) of the recipients within one request. */
export function reachOnce(db: Db, from: { accountId: string; domainId: string }) {
  const seen = new Map<string, Promise<boolean>>();
  return (to: { accountId: string; domainId: string }) => {
    const key = `${to.accountId}/${to.domainId}`;
    if (!seen.has(key)) seen.set(key, mayEncryptTo(db, from, to));
    return seen.get(key)!;
  };
}
