/**
 * The sign-in throttle, on rate-limiter-flexible's Postgres store (table `signin_throttle`,
 * shared by every API process, MISSION §9).
 *
 * Failed sign-ins (and failed re-authentications) are counted per client address and per
 * (client address, user), where an IPv6 client's address is its /64 (`clientKey`): one customer
 * network holds 2^64 addresses, and counting each alone let a guesser switch address every few
 * tries and never wait. Past the free failures of a key, each further failure makes that key
 * wait twice as long as the last (1 s, 2 s, 4 s, … up to the configured maximum): a request in
 * the wait gets 429 with Retry-After before any password work (routes/auth.ts decides; a user
 * proving a second factor is not held up by others' failures from a shared address). Nothing is counted per address
 * that does not exist or per organisation, so failures from elsewhere never touch the real
 * user's own client address: the right password keeps working for them. A success clears the
 * (client address, user) count. Rows expire with their window and the store's sweep deletes them.
 */
import ipaddr from 'ipaddr.js';
import { RateLimiterPostgres, type RateLimiterRes } from 'rate-limiter-flexible';
import type { pgPoolOf } from '@sealmail/db';
import type { AuthSettings } from '@sealmail/server';

type Pool = NonNullable<ReturnType<typeof pgPoolOf>>;

/**
 * What a client address is counted under: an IPv4 address as it is (an IPv4-mapped IPv6 one as
 * IPv4), an IPv6 address by its /64 — the block one customer or host usually holds (RFC 6177,
 * RFC 7934), so moving within it changes nothing.
 */
export function clientKey(ip: string): string {
  if (!ipaddr.isValid(ip)) return ip;
  const a = ipaddr.process(ip);
  if (a.kind() === 'ipv4') return a.toString();
  return `${(a as ipaddr.IPv6).parts.slice(0, 4).map((p) => p.toString(16)).join(':')}::/64`;
}

export const THROTTLE_TABLE = 'signin_throttle';

/** A counter that never refuses by itself: we read its count and decide the wait. */
type Counter = RateLimiterPostgres & { clearExpired(expire: number): Promise<void> };

export class SignInThrottle {
  readonly #failIp: Counter;
  readonly #failIpUser: Counter;
  readonly #waitIp: Counter;
  readonly #waitIpUser: Counter;

  constructor(
    pool: Pool,
    readonly settings: Pick<AuthSettings, 'signInFreeFailures' | 'signInFreeFailuresPerIp' | 'signInMaxDelayMs' | 'signInFailureWindowMs'>,
  ) {
    const make = (keyPrefix: string, points: number, duration: number, sweep = false) =>
      new RateLimiterPostgres({ storeClient: pool, storeType: 'pool', tableName: THROTTLE_TABLE, tableCreated: true, clearExpiredByTimeout: sweep, keyPrefix, points, duration }) as Counter;
    const window = Math.ceil(settings.signInFailureWindowMs / 1000);
    // One of the four runs the store's sweep (every 5 minutes, rows expired an hour ago): they share the table.
    this.#failIp = make('fail_ip', Number.MAX_SAFE_INTEGER, window, true);
    this.#failIpUser = make('fail_ip_user', Number.MAX_SAFE_INTEGER, window);
    this.#waitIp = make('wait_ip', 1, 1);
    this.#waitIpUser = make('wait_ip_user', 1, 1);
  }

  /**
   * Seconds this client address must still wait, for all users (`ip`) and for `userId` (`ipUser`;
   * 0 without a user); 0 when it need not wait.
   */
  async waits(address: string, userId: string | null): Promise<{ ip: number; ipUser: number }> {
    const ip = clientKey(address);
    const [all, one] = await Promise.all([this.#waitIp.get(ip), userId ? this.#waitIpUser.get(`${ip}|${userId}`) : null]);
    const secs = (r: RateLimiterRes | null) => (r !== null && r.consumedPoints > 1 && r.msBeforeNext > 0 ? Math.ceil(r.msBeforeNext / 1000) : 0);
    return { ip: secs(all), ipUser: secs(one) };
  }

  /** Records a failure; answers the wait it starts (0 while failures are still free). */
  async failure(address: string, userId: string | null): Promise<number> {
    const ip = clientKey(address);
    let wait = 0;
    const ipCount = (await this.#failIp.penalty(ip)).consumedPoints;
    if (ipCount > this.settings.signInFreeFailuresPerIp) {
      wait = this.#delay(ipCount - this.settings.signInFreeFailuresPerIp);
      await this.#waitIp.block(ip, wait);
    }
    if (userId) {
      const key = `${ip}|${userId}`;
      const count = (await this.#failIpUser.penalty(key)).consumedPoints;
      if (count > this.settings.signInFreeFailures) {
        const d = this.#delay(count - this.settings.signInFreeFailures);
        await this.#waitIpUser.block(key, d);
        wait = Math.max(wait, d);
      }
    }
    return wait;
  }

  /** Sign-in attempts under way in this process, by key (see `begin`). */
  readonly #inFlight = new Map<string, number>();

  /**
   * Starts a password (or second-factor) check for `userId` from `address`; answers how to end
   * it, or null when this client already has one under way for this user (or `perIp` for
   * everyone). The counts are read before the password work and a failure is counted after it, so
   * guesses sent at once all passed the read: 40 in parallel were 40 checks instead of 5 and a
   * wait. One at a time per client and user (per process) lets the count keep up.
   */
  begin(address: string, userId: string | null, perIp = 8): (() => void) | null {
    const ip = clientKey(address);
    const keys: [string, number][] = [[`ip:${ip}`, perIp], ...(userId ? [[`user:${ip}|${userId}`, 1] as [string, number]] : [])];
    if (keys.some(([k, limit]) => (this.#inFlight.get(k) ?? 0) >= limit)) return null;
    for (const [k] of keys) this.#inFlight.set(k, (this.#inFlight.get(k) ?? 0) + 1);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      for (const [k] of keys) {
        const n = (this.#inFlight.get(k) ?? 1) - 1;
        if (n > 0) this.#inFlight.set(k, n);
        else this.#inFlight.delete(k);
      }
    };
  }

  /** The user signed in from this address: their count there starts again. */
  async success(address: string, userId: string): Promise<void> {
    const ip = clientKey(address);
    await Promise.all([this.#failIpUser.delete(`${ip}|${userId}`), this.#waitIpUser.delete(`${ip}|${userId}`)]);
  }

  /** Deletes rows that expired before `before` (the store's sweep does this on its own too). */
  async sweep(before: Date): Promise<void> {
    await this.#failIp.clearExpired(before.getTime());
  }

  /** 2^(n-1) seconds for the n-th failure past the free ones, capped. */
  #delay(n: number): number {
    const max = Math.max(1, Math.floor(this.settings.signInMaxDelayMs / 1000));
    return n > 30 ? max : Math.min(max, 2 ** (n - 1));
  }
}
