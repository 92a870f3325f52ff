/**
 * The API processes' cache invalidation channel (docs/performance.md "A per-process cache kept
 * right by Postgres"). Postgres triggers (migration 20261129183000_cache_notify) NOTIFY
 * `sealmail_cache` with the user whose cached answers a committed change makes wrong; each API
 * process LISTENs here and hands the payloads to its cache.
 *
 * The cache may only answer while this connection is up: notifications sent while it is away are
 * not replayed, so `down()` is called the moment it is lost (the cache clears itself and answers
 * nothing) and `up()` once a new one LISTENs again. Reconnects like events.ts: after 1 s, doubling
 * to 30 s while it fails.
 *
 * `barrier()` waits until every notification committed before it has reached this process:
 * Postgres delivers notifications in commit order, so once this process hears its own marker,
 * it has heard everything committed earlier (a write request answers only after that).
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { pgPoolOf, type Db } from '@sealmail/db';

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
  private client: pg.Client | null = null;
  private closed = false;
  private retry: NodeJS.Timeout | null = null;
  private readonly origin = randomUUID();
  private seq = 0;
  private readonly waiting = new Map<string, () => void>();

  constructor(private readonly handler: CacheNotificationHandler) {}

  /** Listens on `connectionString` until `close()`; resolves once the first LISTEN is up. */
  async listen(connectionString: string, onError: (err: unknown) => void = () => undefined): Promise<void> {
    this.closed = false;
    await this.connect(connectionString, onError);
  }

  get listening(): boolean {
    return this.client !== null;
  }

  /**
   * Resolves once every notification committed before this call has been handled here (false
   * when the connection is down or the marker did not come back within `timeoutMs`: the caller
   * must then not trust what it holds).
   */
  async barrier(db: Db, timeoutMs = 2000): Promise<boolean> {
    if (!this.client) return false;
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

  private async connect(connectionString: string, onError: (err: unknown) => void): Promise<void> {
    const client = new pg.Client({ connectionString });
    let ready = false;
    let lost = false;
    const onLost = (err?: unknown) => {
      if (!ready) return;
      if (err) onError(err);
      if (lost) return;
      lost = true;
      if (this.client === client) {
        this.client = null;
        this.handler.down();
      }
      void client.end().catch(() => undefined);
      this.reconnect(connectionString, onError, 1000);
    };
    client.on('notification', (n) => {
      if (n.channel !== CACHE_CHANNEL || !n.payload) return;
      if (n.payload.startsWith('b:')) this.waiting.get(n.payload)?.();
      else this.handler.notify(n.payload);
    });
    client.on('error', onLost);
    client.on('end', () => onLost());
    try {
      await client.connect();
      await client.query(`LISTEN ${CACHE_CHANNEL}`);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    ready = true;
    this.client = client;
    this.handler.up();
  }

  private reconnect(connectionString: string, onError: (err: unknown) => void, delayMs: number): void {
    if (this.closed || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      if (this.closed) return;
      this.connect(connectionString, onError).catch((err: unknown) => {
        onError(err);
        this.reconnect(connectionString, onError, Math.min(30_000, delayMs * 2));
      });
    }, delayMs);
    this.retry.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    const client = this.client;
    this.client = null;
    if (client) this.handler.down();
    await client?.end().catch(() => undefined);
  }
}
