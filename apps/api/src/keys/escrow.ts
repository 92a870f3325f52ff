/** The account's escrow key as stored (docs/crypto.md §3.5): lookups and the public view. */
import { toBase64Url } from '@sealmail/crypto';
import type { Db } from '@sealmail/db';

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
