/**
 * Sign-in and sessions on a real Postgres: Argon2id passwords, cookie and bearer tokens,
 * idle/absolute expiry with a moved clock, revocation, suspension, shared rate limits, and TOTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentSession, signIn } from '@sealmail/contract';
import { totpCode } from '../src/auth/totp';
import { bearer, harness, type Harness } from './helpers';

let h: Harness;
beforeAll(async () => {
  h = await harness({ sessionIdleMs: 30 * 60_000, sessionMaxMs: 24 * 3600_000, signInLimitPerAddress: 4, signInLimitPerAccount: 12 });
});
afterAll(() => h?.close());

const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const ADMIN = 'admin@example.test';
const session = (headers: Record<string, string>) => h.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers });
const later = (ms: number) => {
  h.clock.now = new Date(h.clock.now.getTime() + ms);
};

describe('sign-in', () => {
  it('answers a session, an HttpOnly Secure SameSite=Strict cookie and a bearer token', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address: 'Alice@Example.test', password: h.password(ALICE) } });
    expect(res.statusCode).toBe(200);
    const body = signIn.response.parse(res.json());
    expect(body.session.user).toMatchObject({ address: ALICE, role: 'user', displayName: 'Alice Example' });
    expect(body.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toContain(`__Host-sealmail-web=${body.token}`);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/Secure/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(currentSession.response.parse((await session(bearer(body.token))).json()).user.address).toBe(ALICE);
    expect((await session({ cookie: `other=1; __Host-sealmail-web=${body.token}` })).statusCode).toBe(200);
  });

  it('stores only a hash of the token', async () => {
    const { token } = await h.signIn(BOB);
    const rows = await h.db.prisma.session.findMany();
    expect(rows.length).toBeGreaterThan(0);
    expect(JSON.stringify(rows.map((r) => ({ ...r, tokenHash: Buffer.from(r.tokenHash).toString('base64url') })))).not.toContain(token);
  });

  it('does not tell an unknown address from a wrong password', async () => {
    const wrong = await h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address: BOB, password: 'nope' } });
    const unknown = await h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address: 'ghost@example.test', password: 'nope' } });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json()).toEqual(unknown.json());
    expect(wrong.json()).toMatchObject({ error: { code: 'INVALID_CREDENTIALS' } });
  });

  it('refuses requests without a valid session', async () => {
    expect((await session({})).json()).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
    expect((await session(bearer('x'.repeat(43)))).statusCode).toBe(401);
    expect((await session(bearer('short'))).statusCode).toBe(401);
  });
});

describe('session lifetime', () => {
  it('ends after the idle time without use, and lives on while used', async () => {
    const { token } = await h.signIn(ALICE);
    later(20 * 60_000);
    expect((await session(bearer(token))).statusCode).toBe(200);
    later(20 * 60_000); // 40 min since sign-in, 20 since last use
    expect((await session(bearer(token))).statusCode).toBe(200);
    later(31 * 60_000);
    expect((await session(bearer(token))).json()).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
  });

  it('ends at the absolute expiry however active it is', async () => {
    const { token } = await h.signIn(ALICE);
    for (let i = 0; i < 49; i++) {
      later(29 * 60_000);
      const r = await session(bearer(token));
      if (r.statusCode !== 200) {
        expect(i).toBeGreaterThanOrEqual(48); // 24 h = 49.6 steps of 29 min
        return;
      }
    }
    later(29 * 60_000);
    expect((await session(bearer(token))).statusCode).toBe(401);
  });

  it('ends at sign-out, for that session only', async () => {
    const a = await h.signIn(ALICE);
    const b = await h.signIn(ALICE);
    const out = await h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-out', headers: bearer(a.token) });
    expect(out.statusCode).toBe(200);
    expect(String(out.headers['set-cookie'])).toContain('Max-Age=0');
    expect((await session(bearer(a.token))).statusCode).toBe(401);
    expect((await session(bearer(b.token))).statusCode).toBe(200);
  });

  it('ends for every session of a suspended user, who cannot sign in again', async () => {
    const { token } = await h.signIn(BOB);
    await h.db.prisma.user.updateMany({ where: { localPart: 'bob' }, data: { status: 'suspended' } });
    expect((await session(bearer(token))).statusCode).toBe(401);
    const res = await h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address: BOB, password: h.password(BOB) } });
    expect(res.json()).toMatchObject({ error: { code: 'USER_SUSPENDED' } });
    await h.db.prisma.user.updateMany({ where: { localPart: 'bob' }, data: { status: 'active' } });
  });
});

describe('sign-in rate limits (kept in Postgres)', () => {
  it('limit attempts per address, say when to retry, and reset after the window', async () => {
    later(60 * 60_000); // a fresh window
    const attempt = (address: string, password = 'wrong') => h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address, password } });
    for (let i = 0; i < 4; i++) expect((await attempt(ADMIN)).statusCode).toBe(401);
    const limited = await attempt(ADMIN, h.password(ADMIN)); // even the right password
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ error: { code: 'RATE_LIMITED' } });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(15 * 60);
    // Another address of the organisation is not affected by this address's limit…
    expect((await attempt(ALICE, h.password(ALICE))).statusCode).toBe(200);
    later(16 * 60_000);
    expect((await attempt(ADMIN, h.password(ADMIN))).statusCode).toBe(200);
  });

  it('count every attempt per address until one succeeds', async () => {
    later(60 * 60_000);
    const attempt = (password: string) => h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address: BOB, password } });
    for (let i = 0; i < 3; i++) expect((await attempt('wrong')).statusCode).toBe(401);
    expect((await attempt(h.password(BOB))).statusCode).toBe(200); // 4th attempt, allowed; clears the count
    for (let i = 0; i < 4; i++) expect((await attempt(h.password(BOB))).statusCode).toBe(200);
  });

  it('limit failed attempts per organisation across addresses', async () => {
    later(60 * 60_000);
    const codes: number[] = [];
    for (let i = 0; i < 14; i++) {
      const r = await h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address: `nobody${i}@example.test`, password: 'x' } });
      codes.push(r.statusCode);
    }
    expect(codes.slice(0, 12).every((c) => c === 401)).toBe(true);
    expect(codes.slice(12)).toEqual([429, 429]);
    // Another organisation's domain keeps its own budget.
    const other = await h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address: 'someone@elsewhere.test', password: 'x' } });
    expect(other.statusCode).toBe(401);
    later(60 * 60_000);
  });
});

describe('TOTP second factor', () => {
  it('enrols with a code, then sign-in needs a fresh code that cannot be replayed', async () => {
    const { token } = await h.signIn(ALICE);
    const confirmEarly = await h.app.inject({ method: 'POST', url: '/api/v1/auth/totp/confirm', headers: bearer(token), payload: { code: '123456' } });
    expect(confirmEarly.json()).toMatchObject({ error: { code: 'CONFLICT' } });
    const enroll = await h.app.inject({ method: 'POST', url: '/api/v1/auth/totp/enroll', headers: bearer(token) });
    const { secret, otpauthUrl } = enroll.json() as { secret: string; otpauthUrl: string };
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(otpauthUrl).toContain(`secret=${secret}`);
    const bad = await h.app.inject({ method: 'POST', url: '/api/v1/auth/totp/confirm', headers: bearer(token), payload: { code: '000000' === totpCode(secret, h.clock.now) ? '111111' : '000000' } });
    expect(bad.json()).toMatchObject({ error: { code: 'TOTP_INVALID' } });
    const ok = await h.app.inject({ method: 'POST', url: '/api/v1/auth/totp/confirm', headers: bearer(token), payload: { code: totpCode(secret, h.clock.now) } });
    expect(ok.json()).toEqual({ totpEnabled: true });

    const noCode = await h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address: ALICE, password: h.password(ALICE) } });
    expect(noCode.json()).toMatchObject({ error: { code: 'TOTP_REQUIRED' } });
    // The code used to confirm was consumed: it cannot sign in.
    const replay = await h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address: ALICE, password: h.password(ALICE), totp: totpCode(secret, h.clock.now) } });
    expect(replay.json()).toMatchObject({ error: { code: 'TOTP_INVALID' } });
    later(30_000);
    const code = totpCode(secret, h.clock.now);
    const good = await h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address: ALICE, password: h.password(ALICE), totp: code } });
    expect(good.statusCode).toBe(200);
    expect((good.json() as { session: { totpEnabled: boolean } }).session.totpEnabled).toBe(true);
    const again = await h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address: ALICE, password: h.password(ALICE), totp: code } });
    expect(again.json()).toMatchObject({ error: { code: 'TOTP_INVALID' } });
    const wrongPasswordRightCode = await h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address: ALICE, password: 'x', totp: code } });
    expect(wrongPasswordRightCode.json()).toMatchObject({ error: { code: 'INVALID_CREDENTIALS' } });
  });

  it('can be made mandatory by an admin only; until then a new session can do nothing but enrol', async () => {
    const bob = await h.signIn(BOB);
    const denied = await h.app.inject({ method: 'PUT', url: '/api/v1/admin/security', headers: bearer(bob.token), payload: { requireTotp: true } });
    expect(denied.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
    later(60 * 60_000);
    const admin = await h.signIn(ADMIN);
    const set = await h.app.inject({ method: 'PUT', url: '/api/v1/admin/security', headers: bearer(admin.token), payload: { requireTotp: true } });
    expect(set.json()).toEqual({ requireTotp: true });
    const got = await h.app.inject({ method: 'GET', url: '/api/v1/admin/security', headers: bearer(admin.token) });
    expect(got.json()).toEqual({ requireTotp: true });

    const restricted = await h.signIn(BOB);
    expect((restricted.body.session as { totpEnrollmentRequired: boolean }).totpEnrollmentRequired).toBe(true);
    const lookup = await h.app.inject({ method: 'POST', url: '/api/v1/directory/lookup', headers: bearer(restricted.token), payload: { addresses: [ALICE] } });
    expect(lookup.json()).toMatchObject({ error: { code: 'TOTP_ENROLLMENT_REQUIRED' } });
    const { secret } = (await h.app.inject({ method: 'POST', url: '/api/v1/auth/totp/enroll', headers: bearer(restricted.token) })).json() as { secret: string };
    await h.app.inject({ method: 'POST', url: '/api/v1/auth/totp/confirm', headers: bearer(restricted.token), payload: { code: totpCode(secret, h.clock.now) } });
    const now = await h.app.inject({ method: 'POST', url: '/api/v1/directory/lookup', headers: bearer(restricted.token), payload: { addresses: [ALICE] } });
    expect(now.statusCode).toBe(200);

    const history = await h.db.prisma.auditEvent.findMany({ orderBy: { id: 'asc' } });
    expect(history.map((e) => e.action)).toEqual(expect.arrayContaining(['auth.sign_in', 'auth.totp_enabled', 'admin.security_changed']));
  });
});
