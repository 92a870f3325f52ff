/**
 * The sign-in throttle (auth/throttle.ts) and IPv6: failures were counted per full client
 * address, and an IPv6 client usually holds a whole /64 (2^64 addresses), so moving to the next
 * address every few failures was never slowed down — password guessing against one user (and TOTP
 * guessing once the password is known) unbounded. Now an IPv6 client counts by its /64; another
 * /64 is not held up, and an IPv4-mapped address counts as its IPv4 address.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harness, type Harness } from './helpers';
import { clientKey } from '../src/auth/throttle';

let h: Harness;
beforeAll(async () => {
  h = await harness();
}, 60_000);
afterAll(() => h?.close());

const attempt = (remoteAddress: string) => h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', remoteAddress, payload: { address: 'alice@example.test', password: 'wrong-guess-123456' } });

describe('sign-in throttle and IPv6', () => {
  it('failures from one IPv4 address are throttled (control)', { timeout: 60_000 }, async () => {
    const codes: number[] = [];
    for (let i = 0; i < 8; i++) codes.push((await attempt('192.0.2.7')).statusCode);
    expect(codes).toContain(429);
  });

  it('failures spread over one IPv6 /64 are throttled too', { timeout: 60_000 }, async () => {
    const codes: number[] = [];
    // 8 failures from each of 5 addresses of 2001:db8:1:2::/64 (40 guesses at alice's password).
    for (let host = 1; host <= 5; host++) for (let i = 0; i < 8; i++) codes.push((await attempt(`2001:db8:1:2::${host.toString(16)}`)).statusCode);
    // Before: per-address keys, so the first 5 of each address (25 of 40) were checked.
    const unthrottled = codes.filter((c) => c === 401).length;
    expect(unthrottled, `guesses checked against the password: ${unthrottled} of 40`).toBeLessThanOrEqual(8);
  });

  it('another /64 is not held up by that one; the right password works there', { timeout: 60_000 }, async () => {
    const other = await h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', remoteAddress: '2001:db8:1:3::1', payload: { address: 'alice@example.test', password: h.password('alice@example.test') } });
    expect(other.statusCode, other.body).toBe(200);
  });

  it('keys: IPv4 as it is, IPv4-mapped as IPv4, IPv6 by its /64 in any spelling', () => {
    expect(clientKey('192.0.2.7')).toBe('192.0.2.7');
    expect(clientKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(clientKey('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:0DB8:0001:0002:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8:1:3::1')).not.toBe(clientKey('2001:db8:1:2::1'));
    expect(clientKey('not an address')).toBe('not an address');
  });
});
