/**
 * Whom a user may encrypt to (MISSION §4): users of their own account; another account's users
 * only where both domains turned on cross-domain E2EE. Everyone else looks like an unknown address
 * to key lookups, and sending to them end to end is refused.
 */
import type { Db } from '@sealmail/db';

export async function mayEncryptTo(db: Db, from: { accountId: string; domainId: string }, to: { accountId: string; domainId: string }): Promise<boolean> {
  if (to.accountId === from.accountId) return true;
  const domains = await db.domain.findMany({ where: { id: { in: [to.domainId, from.domainId] } }, select: { crossDomainE2ee: true } });
  return domains.length === 2 && domains.every((d) => d.crossDomainE2ee);
}
