/**
 * Storage accounting: `users.used_bytes` moves in the same transaction as the rows it counts,
 * and only moves up while it stays within `quota_bytes` (one conditional UPDATE, so concurrent
 * uploads cannot overshoot together).
 */
import type { Db } from '@sealmail/db';

type Tx = Parameters<Parameters<Db['$transaction']>[0]>[0];

/**
 * How far past the quota the server's own delivery reports may take a mailbox (1 MiB, some
 * hundred reports): a sender whose mailbox filled up after sending still learns that a mail of
 * theirs did not arrive, and a report that does not fit even so is given up, not retried for ever.
 */
export const REPORT_ALLOWANCE_BYTES = 1n << 20n;

/**
 * Adds `delta` bytes to a user's usage; false (and nothing changed) if that would pass the quota
 * (plus `allowance`: the bytes past it this charge may use, REPORT_ALLOWANCE_BYTES for reports).
 */
export async function charge(db: Db | Tx, userId: string, delta: number | bigint, allowance = 0n): Promise<boolean> {
  const d = BigInt(delta);
  if (d <= 0n) {
    await db.$executeRaw`UPDATE users SET used_bytes = GREATEST(used_bytes + ${d}, 0) WHERE id = ${userId}::uuid`;
    return true;
  }
  const n = await db.$executeRaw`UPDATE users SET used_bytes = used_bytes + ${d} WHERE id = ${userId}::uuid AND used_bytes + ${d} <= quota_bytes + ${allowance}`;
  return n === 1;
}

/** True if `bytes` more would still fit (a quick check before work; `charge` is the real gate). */
export async function hasRoom(db: Db | Tx, userId: string, bytes: number | bigint): Promise<boolean> {
  const u = await db.user.findUnique({ where: { id: userId }, select: { usedBytes: true, quotaBytes: true } });
  return !!u && u.usedBytes + BigInt(bytes) <= u.quotaBytes;
}
