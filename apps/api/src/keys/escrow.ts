/** The account's escrow key as stored (docs/crypto.md §3.5): lookups and the public view. */
import { toBase64Url } from '@sealmail/crypto';
import type { Db } from '@sealmail/db';
import { ApiError } from '@sealmail/contract';

type EscrowRow = NonNullable<Awaited<ReturnType<Db['escrowKey']['findFirst']>>>;

/** The account's active escrow key, if escrow is on. */
export function activeEscrow(db: Db, accountId: string) {
  return db.escrowKey.findFirst({ where: { accountId, status: 'active' } });
}

/** The account's newest escrow key, active or disabled (a disabled one may still sit in chains). */
export function latestEscrow(db: Db, accountId: string) {
  return db.escrowKey.findFirst({ where: { accountId }, orderBy: { enabledAt: 'desc' } });
}

export async function escrowView(db: Db, e: EscrowRow) {
  const by = e.enabledById ? await db.user.findUnique({ where: { id: e.enabledById }, include: { domain: true } }) : null;
  const byAddress = by ? `${by.localPart}@${by.domain.name}` : null;
  return {
    id: e.id,
    accountId: e.accountId,
    publicKeys: toBase64Url(e.publicKeys),
    certificate: toBase64Url(e.certificate),
    status: e.status,
    enabledAt: e.enabledAt.toISOString(),
    enabledBy: byAddress,
    endorsement: by && byAddress && e.endorsedByDevice && e.endorsement ? { address: byAddress, userId: by.id, deviceId: e.endorsedByDevice, signature: toBase64Url(e.endorsement) } : null,
  };
}

/**
 * The escrow admins among users: designated here (escrow_admins), or given the escrow_admin role
 * on the Users screen (docs/admin.md "Escrow & discovery").
 */
export const escrowAdminWhere = { OR: [{ escrowAdmin: { isNot: null } }, { role: 'escrow_admin' as const }] };

/** Is this user an escrow admin? */
export async function isEscrowAdmin(db: Db, userId: string): Promise<boolean> {
  return (await db.user.count({ where: { id: userId, ...escrowAdminWhere } })) > 0;
}

/** May this session use escrow key `escrowId`: a designated escrow admin on a device that holds it? */
export async function holdsEscrowKey(db: Db, escrowId: string, s: { userId: string; deviceId: string | null }): Promise<boolean> {
  if (!s.deviceId) return false;
  const box = await db.escrowBox.findUnique({ where: { escrowId_deviceId: { escrowId, deviceId: s.deviceId } }, select: { userId: true } });
  return !!box && box.userId === s.userId && (await isEscrowAdmin(db, s.userId));
}

type Tx = Parameters<Parameters<Db['$transaction']>[0]>[0];

/**
 * Refuses (CONFLICT) to lose the last copy of an active escrow key: `userId` holds one, and no other
 * active escrow admin of the account does. Deleting such a user would leave escrow on with nobody
 * able to recover or open anything (the Escrow screen refuses to undesignate them for the same reason).
 */
export async function keepAnEscrowHolder(tx: Tx, accountId: string, userId: string): Promise<void> {
  const e = await tx.escrowKey.findFirst({ where: { accountId, status: 'active' }, select: { id: true } });
  if (!e || !(await tx.escrowBox.count({ where: { escrowId: e.id, userId } }))) return;
  // As the Escrow screen's undesignation: one change to the account's holders at a time.
  await tx.$queryRaw`SELECT id FROM accounts WHERE id = ${accountId}::uuid FOR UPDATE`;
  const others = await tx.escrowBox.count({ where: { escrowId: e.id, userId: { not: userId }, user: { status: 'active', ...escrowAdminWhere } } });
  if (others === 0) throw new ApiError('CONFLICT', 'params.address', 'This is the last escrow admin who holds the escrow key: share it with another escrow admin’s device first, or turn escrow off.');
}
