/**
 * Fixed-window rate limits kept in Postgres, so every API process shares them (MISSION §9).
 * One statement per hit: the row's window restarts when it is older than the window.
 */
import type { Db } from '@sealmail/db';

export interface RateLimitResult {
  allowed: boolean;
  count: number;
  /** Seconds until the window restarts. */
  retryAfterSeconds: number;
}

export async function hitRateLimit(db: Db, key: string, limit: number, windowMs: number, now: Date): Promise<RateLimitResult> {
  const windowStartCutoff = new Date(now.getTime() - windowMs);
  const rows = await db.$queryRaw<{ count: number; window_start: Date }[]>`
    INSERT INTO rate_limits (key, window_start, count) VALUES (${key}, ${now}, 1)
    ON CONFLICT (key) DO UPDATE SET
      count = CASE WHEN rate_limits.window_start <= ${windowStartCutoff} THEN 1 ELSE rate_limits.count + 1 END,
      window_start = CASE WHEN rate_limits.window_start <= ${windowStartCutoff} THEN ${now} ELSE rate_limits.window_start END
    RETURNING count, window_start`;
  const row = rows[0]!;
  const retryAfterSeconds = Math.max(1, Math.ceil((row.window_start.getTime() + windowMs - now.getTime()) / 1000));
  return { allowed: row.count <= limit, count: row.count, retryAfterSeconds };
}

/** The current count of a window without counting a hit (0 when the window has passed). */
export async function peekRateLimit(db: Db, key: string, limit: number, windowMs: number, now: Date): Promise<RateLimitResult> {
  const row = await db.rateLimit.findUnique({ where: { key } });
  if (!row || row.windowStart.getTime() <= now.getTime() - windowMs) return { allowed: true, count: 0, retryAfterSeconds: 0 };
  const retryAfterSeconds = Math.max(1, Math.ceil((row.windowStart.getTime() + windowMs - now.getTime()) / 1000));
  return { allowed: row.count < limit, count: row.count, retryAfterSeconds };
}

export async function resetRateLimit(db: Db, key: string): Promise<void> {
  await db.rateLimit.deleteMany({ where: { key } });
}
