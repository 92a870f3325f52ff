/**
 * The API processes' cache invalidation channel (docs/performance.md "A per-process cache kept
 * right by Postgres"). Postgres triggers (migration 20261129183000_cache_notify) NOTIFY
 * `sealmail_cache` with the user whose cached answers a committed change makes wrong; each API
 * process LISTENs here and hands the payloads to its cache.
 *
 * The cache may only answer while this connection is up: notifications sent while it is away are
 * not replayed, so `down()` is called the moment it is lost (the cache clears itself and answers
 * nothing) and `up()` once a new one LISTENs again. Reconnects as listen.ts does (after 1 s,
 * doubling to 30 s while it fails).
 *
 * `barrier()` waits until every notification committed before it has reached this process:
 * Postgres delivers notifications in commit order, so once this process hears its own marker,
 * it has heard everything committed earlier (a write request answers only after that).
 */
import { randomUUID } from 'node:crypto';
import { pgPoolOf, type Db } from '@sealmail/db';
import { ReconnectingListener } from './listen';

export const CACHE_CHANNEL = 'sealmail_cache';

export interface CacheNotificationHandler {
  /** A trigger's payload: `m:<user id>`, `a:<user id>` or `*`. */
  notify(payload: string): void;
  /** LISTEN is up: from now on no committed change goes unheard. */
  up(): void;
  /** LISTEN is lost (or closed): changes may go unheard until `up()`. */
  down(): void;
}

export class CacheNotifications {
  private readonly origin = randomUUID();
  private seq = 0;
  private readonly waiting = new Map<string, () => void>();
  private readonly listener: ReconnectingListener;

  constructor(handler: CacheNotificationHandler) {
    this.listener = new ReconnectingListener(CACHE_CHANNEL, {
      payload: (payload) => (payload.startsWith('b:') ? this.waiting.get(payload)?.() : handler.notify(payload)),
      up: () => handler.up(),
      down: () => handler.down(),
    });
  }

  /** Listens on `connectionString` until `close()`; resolves once the first LISTEN is up. */
  listen(connectionString: string, onError: (err: unknown) => void = () => undefined): Promise<void> {
    return this.listener.listen(connectionString, onError);
  }

  get listening(): boolean {
    return this.listener.listening;
  }

  /**
   * Resolves once every notification committed before this call has been handled here (false
   * when the connection is down or the marker did not come back within `timeoutMs`: the caller
   * must then not trust what it holds).
   */
  async barrier(db: Db, timeoutMs = 2000): Promise<boolean> {
    if (!this.listener.listening) return false;
    const marker = `b:${this.origin}:${++this.seq}`;
    let timer: NodeJS.Timeout | undefined;
    const heard = new Promise<boolean>((resolve) => {
      this.waiting.set(marker, () => resolve(true));
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      const pool = pgPoolOf(db);
      if (pool) await pool.query('SELECT pg_notify($1, $2)', [CACHE_CHANNEL, marker]);
      else await db.$executeRawUnsafe('SELECT pg_notify($1, $2)', CACHE_CHANNEL, marker);
      return await heard;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
      this.waiting.delete(marker);
    }
  }

  close(): Promise<void> {
    return this.listener.close();
  }
}
