/**
 * The sign-in throttle under parallel guesses. Its counts are read before the password work and a
 * failure is counted after it, so guesses sent at once all passed the read: 40 in parallel from one
 * address were 40 checks of alice's password instead of 5 free failures and a doubling wait. Now
 * a client has one check at a time per user (and 8 for everyone) in a process; the others get 429
 * at once, and the next check reads the failures before it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harness, type Harness } from './helpers';

let h: Harness;
beforeAll(async () => {
  h = await harness();
}, 60_000);
afterAll(() => h?.close());

describe('sign-in throttle under parallel guesses', () => {
  it('40 wrong passwords sent at once from one address are not all checked', { timeout: 120_000 }, async () => {
    const codes = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', remoteAddress: '192.0.2.50', payload: { address: 'alice@example.test', password: `wrong-guess-${i}-123456` } }).then((r) => r.statusCode),
      ),
    );
    const checked = codes.filter((c) => c === 401).length;
    // Sequentially: 5 free failures, then 429 with a doubling wait (throttle-ipv6.test.ts).
    expect(checked, `guesses checked against alice's password: ${checked} of 40`).toBeLessThanOrEqual(5);
    expect(codes.filter((c) => c === 429).length).toBe(40 - checked);
  });

  it('one check at a time per client and user: a second one at once is refused, another user or client is not held up', { timeout: 60_000 }, async () => {
    const attempt = (address: string, remoteAddress: string, password = 'wrong-guess-999') => h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', remoteAddress, payload: { address, password } });
    const [first, second, otherUser, otherClient] = await Promise.all([attempt('bob@example.test', '192.0.2.60'), attempt('bob@example.test', '192.0.2.60'), attempt('admin@example.test', '192.0.2.60'), attempt('bob@example.test', '192.0.2.61')]);
    expect([first.statusCode, second.statusCode].sort()).toEqual([401, 429]);
    const refused = first.statusCode === 429 ? first : second;
    expect(refused.json()).toMatchObject({ error: { code: 'RATE_LIMITED', message: expect.stringContaining('already being checked') } });
    expect(refused.headers['retry-after']).toBe('1');
    expect(otherUser.statusCode).toBe(401);
    expect(otherClient.statusCode).toBe(401);
    // Once the first is answered, the right password works from there.
    expect((await attempt('bob@example.test', '192.0.2.60', h.password('bob@example.test'))).statusCode).toBe(200);
  });
});
