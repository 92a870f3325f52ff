/**
 * Delegation (docs/calendar.md "Delegation"): a user with a manage grant on someone's calendar
 * creates and edits events there as the owner's delegate. The organizer of such an event is the
 * owner, with SENT-BY the delegate (RFC 5545 §3.2.18), and every event the delegate creates,
 * changes or deletes is recorded in the organisation's audit chain.
 */
import { recordAudit } from '@sealmail/db';
import type { ApiDeps } from '../deps';

type Person = { localPart: string; displayName: string; domain: { name: string } };
const addressOf = (u: { localPart: string; domain: { name: string } }) => `${u.localPart}@${u.domain.name}`;

/** The organizer of an event saved in calendar `c` by `user`: the owner, SENT-BY a delegate. */
export async function actingFor(deps: ApiDeps, c: { userId: string; delegated: boolean }, user: Person, organizerOf: (u: Person) => { email: string; name: string }) {
  if (!c.delegated) return organizerOf(user);
  const owner = await deps.db.user.findUniqueOrThrow({ where: { id: c.userId }, include: { domain: { select: { name: true } } } });
  return { ...organizerOf(owner), sentBy: addressOf(user) };
}

/**
 * Who invitations of calendar `c` go out from when `user` saves an event there: the owner (the
 * event's ORGANIZER) for a delegate, else the user. Only the owner's own events mail anyone.
 */
export async function inviterFor<U extends { id: string }>(deps: ApiDeps, c: { userId: string; delegated: boolean }, user: U) {
  if (!c.delegated) return user;
  return deps.db.user.findUniqueOrThrow({ where: { id: c.userId }, select: { id: true, localPart: true, displayName: true, domainId: true, domain: { select: { name: true } } } });
}

/** Records a delegate's change to another user's calendar. */
export async function delegateAudit(deps: ApiDeps, s: { userId: string; user: { accountId: string } }, c: { id: string; userId: string }, action: string, eventId: string): Promise<void> {
  const owner = await deps.db.user.findUnique({ where: { id: c.userId }, include: { domain: { select: { name: true } } } });
  await recordAudit(deps.db, { accountId: s.user.accountId, actorUserId: s.userId, action, details: { calendarId: c.id, eventId, owner: owner ? addressOf(owner) : c.userId } });
}
