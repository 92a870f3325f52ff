/**
 * Sign-in and sessions on a real Postgres: Argon2id passwords, cookie and bearer tokens,
 * idle/absolute expiry with a moved clock, revocation, suspension, the sign-in throttle (no
 * lockout by others), the trusted-proxy client address, and TOTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentSession, signIn } from '@sealmail/contract';
import { totpCode } from '../src/auth/totp';
import { bearer, harness, type Harness } from './helpers';

let h: Harness;
beforeAll(async () => {
  h = await harness({ sessionIdleMs: 30 * 60_000, sessionMaxMs: 24 * 3600_000, signInFreeFailures: 3, signInFreeFailuresPerIp: 10 });
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

describe('sign-in throttle (rate-limiter-flexible on Postgres)', () => {
  const from = (ip: string, address: string, password: string) =>
    h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', remoteAddress: ip, payload: { address, password } });

  it("an attacker's many failures from other addresses, for the user and for unknown addresses, leave the right password working", async () => {
    // 200 failures: 40 attacker addresses x 5 tries on the admin, and unknown addresses of the
    // organisation besides — what used to lock the whole organisation out.
    for (let i = 0; i < 40; i++) {
      const ip = `198.51.100.${i + 1}`;
      for (let j = 0; j < 3; j++) expect((await from(ip, ADMIN, `guess-${j}`)).statusCode).toBe(401);
      for (let j = 0; j < 2; j++) expect([401, 429]).toContain((await from(ip, `nobody${i}-${j}@example.test`, 'x')).statusCode);
    }
    // The real user, from their own address, signs in at once: nothing counts per organisation.
    const real = await from('192.0.2.10', ADMIN, h.password(ADMIN));
    expect(real.statusCode).toBe(200);
    // And so does everyone else of the organisation.
    expect((await from('192.0.2.11', BOB, h.password(BOB))).statusCode).toBe(200);
    // Failed sign-ins of a known user are in the change history, with the client address.
    const failed = await h.db.prisma.auditEvent.findMany({ where: { action: 'auth.sign_in_failed', actor: { localPart: 'admin' } }, orderBy: { id: 'asc' } });
    expect(failed.length).toBe(120);
    expect(failed[0]!.details).toMatchObject({ reason: 'password', ip: '198.51.100.1' });
    // Unknown addresses are in nobody's history.
    expect(JSON.stringify(failed.map((f) => f.details))).not.toContain('nobody');
  }, 120_000); // 200 Argon2id verifications: CPU-bound on a shared machine

  it('makes one client address wait longer and longer for one user, and only that address', async () => {
    const ip = '203.0.113.50';
    for (let i = 0; i < 3; i++) expect((await from(ip, ALICE, 'wrong')).statusCode).toBe(401); // free failures
    // The 4th failure starts a 1 s wait: the next try, even with the right password, must wait.
    expect((await from(ip, ALICE, 'wrong')).statusCode).toBe(401);
    const waiting = await from(ip, ALICE, h.password(ALICE));
    expect(waiting.statusCode).toBe(429);
    expect(waiting.json()).toMatchObject({ error: { code: 'RATE_LIMITED' } });
    expect(Number(waiting.headers['retry-after'])).toBe(1);
    // Each further failure doubles the wait (the waits are stored; here we end them instead of sleeping).
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      await h.db.prisma.signInThrottle.deleteMany({ where: { key: { startsWith: 'wait_ip_user:' } } });
      const r = await from(ip, ALICE, 'wrong');
      expect(r.statusCode).toBe(401);
      waits.push(Number((await from(ip, ALICE, 'wrong')).headers['retry-after']));
    }
    expect(waits).toEqual([2, 4, 8, 16]);
    // Alice from her own address is not slowed down at all.
    expect((await from('192.0.2.20', ALICE, h.password(ALICE))).statusCode).toBe(200);
    // Once the wait is over, the right password from that address works and clears its count.
    await h.db.prisma.signInThrottle.deleteMany({ where: { key: { startsWith: 'wait_ip_user:' } } });
    expect((await from(ip, ALICE, h.password(ALICE))).statusCode).toBe(200);
    expect(await h.db.prisma.signInThrottle.count({ where: { key: { contains: `${ip}|` } } })).toBe(0);
  });

  it('slows down one client address that fails across many accounts', async () => {
    const ip = '203.0.113.77';
    // 10 free failures per client address in this harness, then waits.
    for (let i = 0; i < 10; i++) expect((await from(ip, `ghost${i}@example.test`, 'x')).statusCode).toBe(401);
    expect((await from(ip, 'ghost-last@example.test', 'x')).statusCode).toBe(401);
    const r = await from(ip, BOB, h.password(BOB));
    expect(r.statusCode).toBe(429);
    expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);

    // A user with a second factor behind that shared address gets in with password and code;
    // while the address waits, every failure answers the same 429 (nothing about the password).
    const secret = 'JBSWY3DPEHPK3PXP';
    await h.db.prisma.user.updateMany({ where: { localPart: 'alice' }, data: { totpSecret: secret, totpLastStep: null } });
    const withCode = (password: string, totp?: string) => h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', remoteAddress: ip, payload: { address: ALICE, password, ...(totp ? { totp } : {}) } });
    const code = totpCode(secret, h.clock.now);
    const wrongCode = code === '000000' ? '111111' : '000000';
    const noCode = await withCode(h.password(ALICE));
    expect(noCode.statusCode).toBe(429);
    expect(noCode.json()).toMatchObject({ error: { code: 'RATE_LIMITED', message: expect.stringContaining('authenticator code') } });
    expect((await withCode(h.password(ALICE), wrongCode)).statusCode).toBe(429);
    expect((await withCode('wrong password', code)).statusCode).toBe(429);
    expect((await withCode(h.password(ALICE), code)).statusCode).toBe(200);
    await h.db.prisma.user.updateMany({ where: { localPart: 'alice' }, data: { totpSecret: null, totpLastStep: null } });
  });

  it('deletes expired throttle rows', async () => {
    await h.db.prisma.signInThrottle.create({ data: { key: 'fail_ip:192.0.2.99', points: 3, expire: BigInt(Date.now() - 1000) } });
    await h.db.prisma.signInThrottle.create({ data: { key: 'fail_ip:192.0.2.98', points: 3, expire: BigInt(Date.now() + 3_600_000) } });
    const { SignInThrottle } = await import('../src/auth/throttle');
    const { pgPoolOf } = await import('@sealmail/db');
    await new SignInThrottle(pgPoolOf(h.db.prisma)!, { signInFreeFailures: 3, signInFreeFailuresPerIp: 10, signInMaxDelayMs: 900_000, signInFailureWindowMs: 3_600_000 }).sweep(new Date());
    expect(await h.db.prisma.signInThrottle.findUnique({ where: { key: 'fail_ip:192.0.2.99' } })).toBeNull();
    expect(await h.db.prisma.signInThrottle.findUnique({ where: { key: 'fail_ip:192.0.2.98' } })).not.toBeNull();
  });
});

describe('client address behind a proxy', () => {
  it('believes X-Forwarded-For only from a trusted proxy', async () => {
    const proxied = await harness({}, { trustedProxies: ['10.0.0.0/8'] });
    try {
      const viaProxy = await proxied.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', remoteAddress: '10.1.2.3', headers: { 'x-forwarded-for': '192.0.2.44' }, payload: { address: ALICE, password: proxied.password(ALICE) } });
      expect(viaProxy.statusCode).toBe(200);
      const forged = await proxied.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', remoteAddress: '198.51.100.9', headers: { 'x-forwarded-for': '192.0.2.45' }, payload: { address: ALICE, password: proxied.password(ALICE) } });
      expect(forged.statusCode).toBe(200);
      const ips = (await proxied.db.prisma.session.findMany()).map((r) => r.ip).sort();
      expect(ips).toEqual(['192.0.2.44', '198.51.100.9']);
    } finally {
      await proxied.close();
    }
    // Without the setting, the header is ignored.
    await h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', remoteAddress: '198.51.100.10', headers: { 'x-forwarded-for': '192.0.2.46' }, payload: { address: BOB, password: h.password(BOB) } });
    expect(await h.db.prisma.session.count({ where: { ip: '198.51.100.10' } })).toBe(1);
    expect(await h.db.prisma.session.count({ where: { ip: '192.0.2.46' } })).toBe(0);
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
    const confirmed = ok.json() as { totpEnabled: boolean; recoveryCodes: string[] };
    expect(confirmed.totpEnabled).toBe(true);
    expect(confirmed.recoveryCodes).toHaveLength(10);
    // The secret is sealed at rest: the database holds no clear secret.
    const stored = await h.db.prisma.user.findFirstOrThrow({ where: { localPart: 'alice' } });
    expect(stored.totpSecret).toMatch(/^v1\./);
    expect(stored.totpSecret).not.toContain(secret);

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

  it('can be made mandatory by an admin only; it applies to existing sessions, which may then only enrol', async () => {
    const bob = await h.signIn(BOB);
    const denied = await h.app.inject({ method: 'PUT', url: '/api/v1/admin/security', headers: bearer(bob.token), payload: { requireTotp: true } });
    expect(denied.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
    later(60 * 60_000);
    // Bob is using his mailbox on his device when the policy comes.
    const bobDevice = await h.deviceSignIn(BOB);
    const lookupBefore = await h.app.inject({ method: 'POST', url: '/api/v1/directory/lookup', headers: bearer(bobDevice.token), payload: { addresses: [ALICE] } });
    expect(lookupBefore.statusCode).toBe(200);
    const admin = await h.deviceSignIn(ADMIN);
    // An admin without TOTP cannot require it (it would shut their own console out at once).
    const early = await h.app.inject({ method: 'PUT', url: '/api/v1/admin/security', headers: bearer(admin.token), payload: { requireTotp: true } });
    expect(early.json()).toMatchObject({ error: { code: 'CONFLICT', field: 'body.requireTotp' } });
    const adminTotp = (await h.app.inject({ method: 'POST', url: '/api/v1/auth/totp/enroll', headers: bearer(admin.token) })).json() as { secret: string };
    await h.app.inject({ method: 'POST', url: '/api/v1/auth/totp/confirm', headers: bearer(admin.token), payload: { code: totpCode(adminTotp.secret, h.clock.now) } });
    const set = await h.app.inject({ method: 'PUT', url: '/api/v1/admin/security', headers: bearer(admin.token), payload: { requireTotp: true } });
    expect(set.json()).toEqual({ requireTotp: true });
    const got = await h.app.inject({ method: 'GET', url: '/api/v1/admin/security', headers: bearer(admin.token) });
    expect(got.json()).toEqual({ requireTotp: true });
    // From the next request on, every session of a user without TOTP may only enrol.
    const lookupAfter = await h.app.inject({ method: 'POST', url: '/api/v1/directory/lookup', headers: bearer(bobDevice.token), payload: { addresses: [ALICE] } });
    expect(lookupAfter.json()).toMatchObject({ error: { code: 'TOTP_ENROLLMENT_REQUIRED' } });
    expect((await session(bearer(bobDevice.token))).json()).toMatchObject({ totpEnrollmentRequired: true });
    // Bob enrols on that session and carries on (not locked out).
    const enrolled = (await h.app.inject({ method: 'POST', url: '/api/v1/auth/totp/enroll', headers: bearer(bobDevice.token) })).json() as { secret: string };
    expect((await h.app.inject({ method: 'POST', url: '/api/v1/auth/totp/confirm', headers: bearer(bobDevice.token), payload: { code: totpCode(enrolled.secret, h.clock.now) } })).statusCode).toBe(200);
    const lookupEnrolled = await h.app.inject({ method: 'POST', url: '/api/v1/directory/lookup', headers: bearer(bobDevice.token), payload: { addresses: [ALICE] } });
    expect(lookupEnrolled.statusCode).toBe(200);
    // Signing in without TOTP still works (not a lockout): the session is restricted to enrolment.
    await h.db.prisma.user.updateMany({ where: { localPart: 'bob' }, data: { totpSecret: null, totpLastStep: null } });
    const restricted = await h.signIn(BOB);
    expect((restricted.body.session as { totpEnrollmentRequired: boolean }).totpEnrollmentRequired).toBe(true);
    const lookup = await h.app.inject({ method: 'POST', url: '/api/v1/directory/lookup', headers: bearer(restricted.token), payload: { addresses: [ALICE] } });
    expect(lookup.json()).toMatchObject({ error: { code: 'TOTP_ENROLLMENT_REQUIRED' } });
    const { secret } = (await h.app.inject({ method: 'POST', url: '/api/v1/auth/totp/enroll', headers: bearer(restricted.token) })).json() as { secret: string };
    await h.app.inject({ method: 'POST', url: '/api/v1/auth/totp/confirm', headers: bearer(restricted.token), payload: { code: totpCode(secret, h.clock.now) } });
    // Enrolled: the next step is setting up this device (no device yet, so mail stays closed).
    expect((await session(bearer(restricted.token))).json()).toMatchObject({ totpEnrollmentRequired: false, totpEnabled: true });
    const now = await h.app.inject({ method: 'POST', url: '/api/v1/directory/lookup', headers: bearer(restricted.token), payload: { addresses: [ALICE] } });
    expect(now.json()).toMatchObject({ error: { code: 'DEVICE_REQUIRED' } });

    const history = await h.db.prisma.auditEvent.findMany({ orderBy: { id: 'asc' } });
    expect(history.map((e) => e.action)).toEqual(expect.arrayContaining(['auth.sign_in', 'auth.totp_enabled', 'admin.security_changed']));
  });
});
