/**
 * Storage accounting: `users.used_bytes` moves in the same transaction as the rows it counts,
 * and only moves up while it stays within `quota_bytes` (one conditional UPDATE, so concurrent
 * uploads cannot overshoot together).
 */
import type { Db } from '@sealmail/db';

type Tx = Parameters<Parameters<Db['$transaction']>[0]>[0];

/** Adds `delta` bytes to a user's usage; false (and nothing changed) if that would pass the quota. */
export async function charge(db: Db | Tx, userId: string, delta: number | bigint): Promise<boolean> {
  const d = BigInt(delta);
  if (d <= 0n) {
    await db.$executeRaw`UPDATE users SET used_bytes = GREATEST(used_bytes + ${d}, 0) WHERE id = ${userId}::uuid`;
    return true;
  }
  const n = await db.$executeRaw`UPDATE users SET used_bytes = used_bytes + ${d} WHERE id = ${userId}::uuid AND used_bytes + ${d} <= quota_bytes`;
  return n === 1;
}

/** True if `bytes` more would still fit (a quick check before work; `charge` is the real gate). */
export async function hasRoom(db: Db | Tx, userId: string, bytes: number | bigint): Promise<boolean> {
  const u = await db.user.findUnique({ where: { id: userId }, select: { usedBytes: true, quotaBytes: true } });
  return !!u && u.usedBytes + BigInt(bytes) <= u.quotaBytes;
}
