/**
 * The per-process cache of an API process (docs/performance.md "A per-process cache kept right by
 * Postgres"): session lookups by token, and the serialised bodies of a user's list rows pages and
 * counts, so that most reads are answered without Postgres.
 *
 * Kept right by Postgres: triggers NOTIFY `sealmail_cache` with the user whose answers a committed
 * change makes wrong (migration 20261129183000_cache_notify; packages/mailstore/src/cache-notify.ts
 * delivers them here). Rules that keep it honest:
 *   - it answers only while the LISTEN connection is up (`active`); when that drops it is cleared
 *     and bypassed, since notifications are not replayed;
 *   - a value read from Postgres is stored only if no invalidation for its user (nor a clear)
 *     happened since the read began (`begin()` gives the point; see `fresh`), so a read racing a
 *     change can never put the old answer back after the change's notification;
 *   - entries expire after a bounded time anyway (sessions 5 s, bodies 30 s by default) and the
 *     bodies are bounded by bytes (LRU), the sessions by count.
 */
import { LRUCache } from 'lru-cache';
import type { CacheNotificationHandler } from '@sealmail/mailstore';

export interface CacheSettings {
  /** Off: every read goes to Postgres (SEALMAIL_API_CACHE=false). */
  enabled: boolean;
  /** Bound of the cached bodies, bytes (SEALMAIL_API_CACHE_MB). */
  maxBytes: number;
  /** How many session lookups are kept. */
  maxSessions: number;
  sessionTtlMs: number;
  bodyTtlMs: number;
}

export const defaultCacheSettings: CacheSettings = { enabled: true, maxBytes: 64 * 1024 * 1024, maxSessions: 10_000, sessionTtlMs: 5_000, bodyTtlMs: 30_000 };

/** More users with a recent invalidation than this: forget them all and treat every read as racing. */
const MAX_TRACKED_USERS = 50_000;

/** A key's user: everything before the first newline. */
const userOf = (key: string) => key.slice(0, key.indexOf('\n'));

export class ApiCache<S extends object = object> implements CacheNotificationHandler {
  readonly settings: CacheSettings;
  /** Up only while LISTEN is (and the cache is enabled). */
  private on = false;
  /** Bumped by every invalidation; `begin()` hands it out. */
  private epoch = 0;
  /** Reads begun before this may not be stored (the last clear). */
  private floor = 0;
  /** Per user, the epoch of their last invalidation (only while it may matter). */
  private readonly changedAt = new Map<string, number>();
  private readonly bodies: LRUCache<string, Buffer>;
  private readonly sessions: LRUCache<string, { userId: string; value: S }>;
  private readonly keysOf = new Map<string, Set<string>>();
  private readonly sessionKeysOf = new Map<string, Set<string>>();
  /** Counters (hits, misses, stores refused because a change raced the read, invalidations, LISTEN losses). */
  readonly stats = { hits: 0, misses: 0, raced: 0, invalidations: 0, downs: 0 };

  constructor(settings: Partial<CacheSettings> = {}) {
    this.settings = { ...defaultCacheSettings, ...settings };
    const unindex = (index: Map<string, Set<string>>, user: string, key: string) => {
      const keys = index.get(user);
      if (!keys) return;
      keys.delete(key);
      if (!keys.size) index.delete(user);
    };
    this.bodies = new LRUCache<string, Buffer>({
      maxSize: this.settings.maxBytes,
      // The bytes and the key, and a little for the entry itself.
      sizeCalculation: (b, k) => b.length + k.length * 2 + 64,
      ttl: this.settings.bodyTtlMs,
      dispose: (_b, k) => unindex(this.keysOf, userOf(k), k),
    });
    this.sessions = new LRUCache<string, { userId: string; value: S }>({
      max: this.settings.maxSessions,
      ttl: this.settings.sessionTtlMs,
      dispose: (v, k) => unindex(this.sessionKeysOf, v.userId, k),
    });
  }

  /** Whether the cache answers (enabled and LISTEN up). */
  get active(): boolean {
    return this.on;
  }

  /** The point a read from Postgres begins at; pass it to `putBody`/`putSession`. */
  begin(): number {
    return this.epoch;
  }

  /** True when nothing invalidated `userId`'s answers since `since`. */
  private fresh(userId: string, since: number): boolean {
    return since >= this.floor && (this.changedAt.get(userId) ?? -1) <= since;
  }

  body(userId: string, what: string): Buffer | undefined {
    if (!this.on) return undefined;
    const b = this.bodies.get(`${userId}\n${what}`);
    if (b) this.stats.hits++;
    else this.stats.misses++;
    return b;
  }

  putBody(userId: string, what: string, since: number, body: Buffer): void {
    if (!this.on) return;
    if (!this.fresh(userId, since)) {
      this.stats.raced++;
      return;
    }
    const key = `${userId}\n${what}`;
    this.bodies.set(key, body);
    if (!this.bodies.has(key)) return; // larger than the whole bound
    let keys = this.keysOf.get(userId);
    if (!keys) this.keysOf.set(userId, (keys = new Set()));
    keys.add(key);
  }

  session(tokenKey: string): S | undefined {
    return this.on ? this.sessions.get(tokenKey)?.value : undefined;
  }

  putSession(tokenKey: string, userId: string, since: number, value: S): void {
    if (!this.on || !this.fresh(userId, since)) return;
    this.sessions.set(tokenKey, { userId, value });
    let keys = this.sessionKeysOf.get(userId);
    if (!keys) this.sessionKeysOf.set(userId, (keys = new Set()));
    keys.add(tokenKey);
  }

  /** Drops what is cached of `userId`: the bodies, and with `sessions` their session lookups too. */
  dropUser(userId: string, sessions: boolean): void {
    this.stats.invalidations++;
    this.epoch++;
    if (this.changedAt.size >= MAX_TRACKED_USERS) {
      this.changedAt.clear();
      this.floor = this.epoch;
    }
    this.changedAt.set(userId, this.epoch);
    for (const k of [...(this.keysOf.get(userId) ?? [])]) this.bodies.delete(k);
    if (sessions) for (const k of [...(this.sessionKeysOf.get(userId) ?? [])]) this.sessions.delete(k);
  }

  /** Forgets everything; reads begun before now are not stored. */
  clear(): void {
    this.stats.invalidations++;
    this.epoch++;
    this.floor = this.epoch;
    this.changedAt.clear();
    this.bodies.clear();
    this.sessions.clear();
  }

  /** A trigger's payload (CacheNotificationHandler). */
  notify(payload: string): void {
    if (payload === '*') this.clear();
    else if (payload.startsWith('m:')) this.dropUser(payload.slice(2), false);
    else if (payload.startsWith('a:')) this.dropUser(payload.slice(2), true);
    else this.clear(); // a payload this version does not know: be safe
  }

  up(): void {
    this.clear();
    this.on = this.settings.enabled;
  }

  down(): void {
    if (this.on) this.stats.downs++;
    this.on = false;
    this.clear();
  }

  /** What the cache holds (the bench prints it). */
  get size(): { bodies: number; bodyBytes: number; sessions: number } {
    return { bodies: this.bodies.size, bodyBytes: this.bodies.calculatedSize, sessions: this.sessions.size };
  }
}
