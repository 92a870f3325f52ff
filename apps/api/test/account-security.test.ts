/**
 * Containing a leaked password, TOTP recovery codes, and sensitive switches (issue 12, findings
 * 2, 3, 5) on a real Postgres through the in-process API, with the real client's device flows:
 *   - a session without an approved device can only finish device set-up (403 with a registry
 *     code on mail and settings routes);
 *   - password change ends every other session; device revocation ends that device's sessions
 *     and every session without a device; the user lists and ends sessions;
 *   - an admin's password reset forces a new password at the next sign-in;
 *   - recovery codes work once each in place of a TOTP code; removal needs a code or password;
 *   - escrow off needs an approved device and a fresh re-authentication, recorded with the device.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Identity, EscrowAdmin, memoryKeyStore } from '@sealmail/client/identity';
import { ApiClient } from '@sealmail/client';
import { sessionList } from '@sealmail/contract';
import { totpCode } from '../src/auth/totp';
import { SecretBox } from '../src/auth/secret-box';
import { sealLegacyTotpSecrets } from '../src/auth/second-factor';
import { ephemeralServerMailKey } from '@sealmail/mailstore';
import { bearer, harness, injectFetch, type Harness } from './helpers';

let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(() => h?.close());

const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const ADMIN = 'admin@example.test';
const get = (url: string, token: string) => h.app.inject({ method: 'GET', url, headers: bearer(token) });
const post = (url: string, token: string, payload?: unknown) => h.app.inject({ method: 'POST', url, headers: bearer(token), ...(payload === undefined ? {} : { payload: payload as object }) });
const later = (ms: number) => {
  h.clock.now = new Date(h.clock.now.getTime() + ms);
};

describe('a session without an approved device', () => {
  it('gets 403 DEVICE_REQUIRED on mail, settings and admin routes, and may finish device set-up', async () => {
    await h.deviceSignIn(ALICE); // alice has keys on one device
    const { token } = await h.signIn(ALICE); // someone with only the password
    const refused = [
      await get('/api/v1/mail/messages?folder=inbox', token),
      await get('/api/v1/mail/summary', token),
      await h.app.inject({ method: 'DELETE', url: `/api/v1/mail/messages/${randomUUID()}`, headers: bearer(token) }),
      await h.app.inject({ method: 'PATCH', url: `/api/v1/mail/messages/${randomUUID()}`, headers: bearer(token), payload: { folder: 'trash' } }),
      await post('/api/v1/directory/lookup', token, { addresses: [BOB] }),
      await get('/api/v1/auth/sessions', token),
      await post('/api/v1/auth/sessions/revoke-others', token),
      await post('/api/v1/auth/password', token, { currentPassword: h.password(ALICE), newPassword: 'a completely new password' }),
      await get(`/api/v1/keys/${encodeURIComponent(BOB)}/sigchain`, token),
      await get('/api/v1/blocked-senders', token),
    ];
    for (const r of refused) {
      expect(r.statusCode, r.body).toBe(403);
      expect(r.json()).toMatchObject({ error: { code: 'DEVICE_REQUIRED' } });
    }
    // Device set-up stays open: its own chain, escrow info, session info, TOTP enrolment.
    expect((await get(`/api/v1/keys/${encodeURIComponent(ALICE)}/sigchain`, token)).statusCode).toBe(200);
    expect((await get('/api/v1/keys/escrow', token)).statusCode).toBe(200);
    expect((await get('/api/v1/auth/session', token)).json()).toMatchObject({ deviceId: null, deviceStatus: null });
    expect((await post('/api/v1/auth/totp/enroll', token)).statusCode).toBe(200);
  });

  it('bound to a pending device: DEVICE_NOT_APPROVED until another device approves it', async () => {
    const first = await h.deviceSignIn(BOB);
    const { token } = await h.signIn(BOB);
    const api = new ApiClient({ baseUrl: 'http://api.invalid', fetch: injectFetch(h.app), token });
    const second = new Identity(api, memoryKeyStore());
    const setup = await second.setUpThisDevice({ address: BOB, name: 'Phone', kind: 'cli' });
    expect(setup.outcome).toBe('pending');
    expect((await get('/api/v1/auth/session', token)).json()).toMatchObject({ deviceStatus: 'pending' });
    const list = await get('/api/v1/mail/messages?folder=inbox', token);
    expect(list.statusCode).toBe(403);
    expect(list.json()).toMatchObject({ error: { code: 'DEVICE_NOT_APPROVED' } });
    await first.identity.approve(BOB, setup.device.deviceId);
    expect((await get('/api/v1/mail/messages?folder=inbox', token)).statusCode).toBe(200);
  });
});

describe('containing a leaked password', () => {
  it('a leaked-password session dies on password change; the changing session lives on', async () => {
    const mine = await h.deviceSignIn(ALICE);
    const leaked = await h.signIn(ALICE, { totp: undefined });
    // The user sees the stranger's session: no device, its client and address.
    const listed = sessionList.response.parse((await get('/api/v1/auth/sessions', mine.token)).json()).sessions;
    const stranger = listed.find((s) => s.deviceId === null)!;
    expect(stranger).toMatchObject({ current: false, deviceName: null, ip: '127.0.0.1' });
    expect(listed.find((s) => s.current)).toMatchObject({ deviceName: 'Test laptop', deviceStatus: 'approved' });

    const wrong = await post('/api/v1/auth/password', mine.token, { currentPassword: 'not my password', newPassword: 'correct horse battery staple' });
    expect(wrong.json()).toMatchObject({ error: { code: 'PASSWORD_INCORRECT' } });
    const short = await post('/api/v1/auth/password', mine.token, { currentPassword: h.password(ALICE), newPassword: 'short' });
    expect(short.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED', field: 'body.newPassword' } });
    const changed = await post('/api/v1/auth/password', mine.token, { currentPassword: h.password(ALICE), newPassword: 'correct horse battery staple' });
    expect(changed.json()).toMatchObject({ changed: true });
    expect((changed.json() as { sessionsEnded: number }).sessionsEnded).toBeGreaterThanOrEqual(1);

    expect((await get('/api/v1/auth/session', leaked.token)).json()).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
    expect((await get('/api/v1/mail/summary', mine.token)).statusCode).toBe(200);
    const oldPassword = await h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address: ALICE, password: h.password(ALICE) } });
    expect(oldPassword.json()).toMatchObject({ error: { code: 'INVALID_CREDENTIALS' } });
    const newPassword = await h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address: ALICE, password: 'correct horse battery staple' } });
    expect(newPassword.statusCode).toBe(200);
    expect((await h.db.prisma.auditEvent.findFirstOrThrow({ where: { action: 'auth.password_changed' } })).details).toMatchObject({ actorDeviceId: mine.deviceId });
    // Put the demo password back for the tests below.
    await post('/api/v1/auth/password', mine.token, { currentPassword: 'correct horse battery staple', newPassword: h.password(ALICE) });
  });

  it('lists sessions and ends one, or all but this one', async () => {
    const a = await h.deviceSignIn(BOB);
    const b = await h.deviceSignIn(BOB);
    const c = await h.signIn(BOB);
    const sessions = sessionList.response.parse((await get('/api/v1/auth/sessions', a.token)).json()).sessions;
    const bId = (await get('/api/v1/auth/session', b.token)).json() as { id: string };
    expect(sessions.map((s) => s.id)).toContain(bId.id);
    const one = await h.app.inject({ method: 'DELETE', url: `/api/v1/auth/sessions/${bId.id}`, headers: bearer(a.token) });
    expect(one.json()).toEqual({ revoked: true });
    expect((await get('/api/v1/auth/session', b.token)).statusCode).toBe(401);
    // Someone else's session id is not found (not told apart from an unknown one).
    const aliceSession = await h.signIn(ALICE);
    const aliceId = ((await get('/api/v1/auth/session', aliceSession.token)).json() as { id: string }).id;
    expect((await h.app.inject({ method: 'DELETE', url: `/api/v1/auth/sessions/${aliceId}`, headers: bearer(a.token) })).json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
    expect((await get('/api/v1/auth/session', aliceSession.token)).statusCode).toBe(200);
    const rest = await post('/api/v1/auth/sessions/revoke-others', a.token);
    expect((rest.json() as { revoked: number }).revoked).toBeGreaterThanOrEqual(1);
    expect((await get('/api/v1/auth/session', c.token)).statusCode).toBe(401);
    const left = sessionList.response.parse((await get('/api/v1/auth/sessions', a.token)).json()).sessions;
    expect(left).toEqual([expect.objectContaining({ current: true })]);
  });

  it("revoking a device ends that device's sessions and every session without a device", async () => {
    const user = 'carol@example.test';
    const domain = await h.db.prisma.domain.findUniqueOrThrow({ where: { name: 'example.test' } });
    const { hashPassword } = await import('@sealmail/server');
    await h.db.prisma.user.create({ data: { accountId: domain.accountId, domainId: domain.id, localPart: 'carol', displayName: 'Carol', passwordHash: await hashPassword('carol-password-1') } });
    const signIn = async () => ((await h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address: user, password: 'carol-password-1' } })).json() as { token: string }).token;
    const client = async (token: string) => new Identity(new ApiClient({ baseUrl: 'http://api.invalid', fetch: injectFetch(h.app), token }), memoryKeyStore());
    const laptopToken = await signIn();
    const laptop = await client(laptopToken);
    await laptop.setUpThisDevice({ address: user, name: 'Laptop', kind: 'cli' });
    const phoneToken = await signIn();
    const phone = await client(phoneToken);
    const pending = await phone.setUpThisDevice({ address: user, name: 'Phone', kind: 'cli' });
    await laptop.approve(user, pending.device.deviceId);
    const bare = await signIn();
    await laptop.revoke(user, pending.device.deviceId);
    expect((await get('/api/v1/auth/session', phoneToken)).json()).toMatchObject({ error: { code: 'DEVICE_REVOKED' } });
    expect((await get('/api/v1/auth/session', bare)).json()).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
    expect((await get('/api/v1/auth/session', laptopToken)).statusCode).toBe(200);
  });

  it("an admin's password reset ends the user's sessions and forces a new password at the next sign-in", async () => {
    const bob = await h.deviceSignIn(BOB);
    const admin = await h.deviceSignIn(ADMIN);
    const reset = await post(`/api/v1/admin/users/${encodeURIComponent(BOB)}/password-reset`, admin.token);
    expect(reset.statusCode).toBe(200);
    const { temporaryPassword } = reset.json() as { temporaryPassword: string };
    expect((await get('/api/v1/auth/session', bob.token)).statusCode).toBe(401);
    // A user cannot reset anyone.
    expect((await post(`/api/v1/admin/users/${encodeURIComponent(ALICE)}/password-reset`, (await h.deviceSignIn(ALICE)).token)).json()).toMatchObject({ error: { code: 'FORBIDDEN' } });

    const signedIn = await h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address: BOB, password: temporaryPassword } });
    const { token, session } = signedIn.json() as { token: string; session: { passwordChangeRequired: boolean } };
    expect(session.passwordChangeRequired).toBe(true);
    expect((await post('/api/v1/auth/totp/enroll', token)).json()).toMatchObject({ error: { code: 'PASSWORD_CHANGE_REQUIRED' } });
    expect((await get(`/api/v1/keys/${encodeURIComponent(BOB)}/sigchain`, token)).json()).toMatchObject({ error: { code: 'PASSWORD_CHANGE_REQUIRED' } });
    // The change comes first, even before this device is set up.
    expect((await post('/api/v1/auth/password', token, { currentPassword: temporaryPassword, newPassword: h.password(BOB) })).statusCode).toBe(200);
    expect((await get('/api/v1/auth/session', token)).json()).toMatchObject({ passwordChangeRequired: false });
    expect((await get('/api/v1/mail/summary', token)).json()).toMatchObject({ error: { code: 'DEVICE_REQUIRED' } });
    expect((await h.db.prisma.auditEvent.findFirstOrThrow({ where: { action: 'admin.password_reset' } })).details).toMatchObject({ user: BOB, actorDeviceId: admin.deviceId });
  });
});

describe('TOTP recovery codes and removal', () => {
  it('wrong codes to renew recovery codes or remove the factor wait out the throttle like any other proof', async () => {
    const bob = await h.deviceSignIn(BOB);
    const { secret } = (await post('/api/v1/auth/totp/enroll', bob.token)).json() as { secret: string };
    expect((await post('/api/v1/auth/totp/confirm', bob.token, { code: totpCode(secret, h.clock.now) })).statusCode).toBe(200);
    const wrong = totpCode(secret, h.clock.now) === '000000' ? '111111' : '000000';
    const codes: string[] = [];
    for (let i = 0; i < 8; i++) codes.push((await post('/api/v1/auth/totp/recovery-codes', bob.token, { code: wrong })).json().error.code);
    // The free failures, then a wait before any code is checked (before: every guess was checked).
    expect(codes.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => 'TOTP_INVALID'));
    expect(codes.slice(6)).toEqual(['RATE_LIMITED', 'RATE_LIMITED']);
    expect((await post('/api/v1/auth/totp/remove', bob.token, { code: wrong })).json()).toMatchObject({ error: { code: 'RATE_LIMITED' } });
    expect((await post('/api/v1/auth/totp/remove', bob.token, { code: totpCode(secret, h.clock.now) })).json()).toMatchObject({ error: { code: 'RATE_LIMITED' } });
    // Leaves Bob as the other tests expect him: no second factor, no failures counted.
    const bobId = (await h.db.prisma.user.findFirstOrThrow({ where: { localPart: 'bob' } })).id;
    await h.db.prisma.totpRecoveryCode.deleteMany({ where: { userId: bobId } });
    await h.db.prisma.user.update({ where: { id: bobId }, data: { totpSecret: null, totpPending: null, totpLastStep: null } });
    await h.db.prisma.$executeRawUnsafe('DELETE FROM signin_throttle');
  });

  it('each recovery code signs in once in place of a code; removal needs a code or the password', async () => {
    const alice = await h.deviceSignIn(ALICE);
    const { secret } = (await post('/api/v1/auth/totp/enroll', alice.token)).json() as { secret: string };
    const { recoveryCodes } = (await post('/api/v1/auth/totp/confirm', alice.token, { code: totpCode(secret, h.clock.now) })).json() as { recoveryCodes: string[] };
    expect(new Set(recoveryCodes).size).toBe(10);
    for (const c of recoveryCodes) expect(c).toMatch(/^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$/);
    // Stored only as hashes.
    const rows = await h.db.prisma.totpRecoveryCode.findMany();
    expect(JSON.stringify(rows.map((r) => Buffer.from(r.codeHash).toString('hex')))).not.toContain(recoveryCodes[0]!.replace(/-/g, ''));

    const signIn = (extra: Record<string, unknown>) => h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', remoteAddress: '192.0.2.200', payload: { address: ALICE, password: h.password(ALICE), ...extra } });
    expect((await signIn({ recoveryCode: recoveryCodes[0]!.toLowerCase() })).statusCode).toBe(200);
    expect((await signIn({ recoveryCode: recoveryCodes[0] })).json()).toMatchObject({ error: { code: 'TOTP_INVALID' } });
    expect((await signIn({ recoveryCode: 'AAAA-BBBB-CCCC-DDDD' })).json()).toMatchObject({ error: { code: 'TOTP_INVALID' } });
    expect((await signIn({ recoveryCode: recoveryCodes[1]!.replace(/-/g, '') })).statusCode).toBe(200);

    // Removal: a wrong password or code is refused; the password alone is enough.
    expect((await post('/api/v1/auth/totp/remove', alice.token, {})).json()).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
    expect((await post('/api/v1/auth/totp/remove', alice.token, { password: 'nope' })).json()).toMatchObject({ error: { code: 'PASSWORD_INCORRECT' } });
    expect((await post('/api/v1/auth/totp/remove', alice.token, { code: '000000' === totpCode(secret, h.clock.now) ? '111111' : '000000' })).json()).toMatchObject({ error: { code: 'TOTP_INVALID' } });
    expect((await post('/api/v1/auth/totp/remove', alice.token, { password: h.password(ALICE) })).json()).toEqual({ totpEnabled: false });
    expect(await h.db.prisma.totpRecoveryCode.count()).toBe(0);
    expect((await h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address: ALICE, password: h.password(ALICE) } })).statusCode).toBe(200);
  });

  it('secrets from before sealing are sealed in place and still verify', async () => {
    const box = new SecretBox(ephemeralServerMailKey());
    await h.db.prisma.user.updateMany({ where: { localPart: 'bob' }, data: { totpSecret: 'JBSWY3DPEHPK3PXP' } });
    expect(await sealLegacyTotpSecrets(h.db.prisma, box)).toBe(1);
    const bob = await h.db.prisma.user.findFirstOrThrow({ where: { localPart: 'bob' } });
    expect(bob.totpSecret).toMatch(/^v1\./);
    expect(box.open('totp', bob.id, bob.totpSecret!)).toBe('JBSWY3DPEHPK3PXP');
    expect(box.open('totp', randomUUID(), bob.totpSecret!)).toBeNull(); // bound to its user
    await h.db.prisma.user.updateMany({ where: { localPart: 'bob' }, data: { totpSecret: null } });
  });
});

describe('sensitive switches', () => {
  it('escrow off: refused for a password-only admin session and without a fresh re-authentication; allowed with both, recorded with the device', async () => {
    const admin = await h.deviceSignIn(ADMIN);
    await new EscrowAdmin(admin.api, admin.identity).enable(ADMIN);

    const passwordOnly = await h.signIn(ADMIN);
    const noDevice = await post('/api/v1/admin/escrow/disable', passwordOnly.token);
    expect(noDevice.statusCode).toBe(403);
    expect(noDevice.json()).toMatchObject({ error: { code: 'DEVICE_REQUIRED' } });

    later(6 * 60_000); // the sign-in no longer counts as a fresh re-authentication
    const stale = await post('/api/v1/admin/escrow/disable', admin.token);
    expect(stale.statusCode).toBe(403);
    expect(stale.json()).toMatchObject({ error: { code: 'REAUTH_REQUIRED' } });
    expect((await h.app.inject({ method: 'PUT', url: '/api/v1/admin/security', headers: bearer(admin.token), payload: { requireTotp: false } })).json()).toMatchObject({ error: { code: 'REAUTH_REQUIRED' } });
    // A domain's security settings (cross-domain encryption, encryption policy) likewise.
    expect((await h.app.inject({ method: 'PATCH', url: '/api/v1/admin/domains/example.test', headers: bearer(admin.token), payload: { crossDomainE2ee: true } })).json()).toMatchObject({ error: { code: 'REAUTH_REQUIRED' } });
    expect((await h.app.inject({ method: 'PATCH', url: '/api/v1/admin/domains/example.test', headers: bearer(passwordOnly.token), payload: { encryptionPolicy: 'secure_only' } })).json()).toMatchObject({ error: { code: 'DEVICE_REQUIRED' } });
    expect(await h.db.prisma.domain.count({ where: { name: 'example.test', crossDomainE2ee: false, encryptionPolicy: null } })).toBe(1);
    expect(await h.db.prisma.escrowKey.count({ where: { status: 'active' } })).toBe(1);

    expect((await post('/api/v1/auth/reauth', admin.token, { password: 'wrong' })).json()).toMatchObject({ error: { code: 'PASSWORD_INCORRECT' } });
    expect((await post('/api/v1/auth/reauth', passwordOnly.token, { password: h.password(ADMIN) })).json()).toMatchObject({ error: { code: 'DEVICE_REQUIRED' } });
    const fresh = await post('/api/v1/auth/reauth', admin.token, { password: h.password(ADMIN) });
    expect(fresh.statusCode).toBe(200);
    const off = await post('/api/v1/admin/escrow/disable', admin.token);
    expect(off.statusCode).toBe(200);
    const recorded = await h.db.prisma.auditEvent.findFirstOrThrow({ where: { action: 'escrow.disabled' } });
    expect(recorded.details).toMatchObject({ actorDeviceId: admin.deviceId });
    expect(await h.db.prisma.auditEvent.count({ where: { action: 'auth.reauth_failed' } })).toBe(1);

    // With TOTP enrolled, re-authentication needs the code too.
    const { secret } = (await post('/api/v1/auth/totp/enroll', admin.token)).json() as { secret: string };
    await post('/api/v1/auth/totp/confirm', admin.token, { code: totpCode(secret, h.clock.now) });
    later(30_000);
    expect((await post('/api/v1/auth/reauth', admin.token, { password: h.password(ADMIN) })).json()).toMatchObject({ error: { code: 'TOTP_REQUIRED' } });
    expect((await post('/api/v1/auth/reauth', admin.token, { password: h.password(ADMIN), totp: totpCode(secret, h.clock.now) })).statusCode).toBe(200);
  });
});
