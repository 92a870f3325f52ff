/**
 * Settings routes on a real Postgres through the in-process API (issue 17): the display name
 * (the From of sent mail), the user's own device records (the name they gave, added, last used),
 * and that nobody — an administrator of the same organisation included — can rename another
 * user's device.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentSession, deviceList, deviceRecord, profileUpdate } from '@sealmail/contract';
import { bearer, harness, userIdOf, type Harness } from './helpers';

let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(() => h?.close());

const ALICE = 'alice@example.test';
const ADMIN = 'admin@example.test';
const inject = (method: 'GET' | 'PATCH', url: string, token: string, payload?: object) => h.app.inject({ method, url, headers: bearer(token), ...(payload ? { payload } : {}) });
const later = (ms: number) => {
  h.clock.now = new Date(h.clock.now.getTime() + ms);
};

describe('display name', () => {
  it('changes the name the session reports (and the From of mail the client builds)', async () => {
    const { token } = await h.deviceSignIn(ALICE);
    const res = await inject('PATCH', '/api/v1/account/profile', token, { displayName: '  Alice Liddell ' });
    expect(res.statusCode, res.body).toBe(200);
    expect(profileUpdate.response.parse(res.json())).toEqual({ displayName: 'Alice Liddell' });
    const session = currentSession.response.parse((await inject('GET', '/api/v1/auth/session', token)).json());
    expect(session.user.displayName).toBe('Alice Liddell');
    const audit = await h.db.prisma.auditEvent.findFirst({ where: { action: 'account.display_name_changed', actorUserId: await userIdOf(h, ALICE) } });
    expect(audit).not.toBeNull();
  });

  it('refuses an empty name, one with header characters or invisible ones, naming the field', async () => {
    const { token } = await h.deviceSignIn(ALICE);
    for (const displayName of ['   ', 'Eve <eve@evil.example>', 'Al\u202eice', 'x'.repeat(101)]) {
      const res = await inject('PATCH', '/api/v1/account/profile', token, { displayName });
      expect(res.statusCode, displayName).toBe(400);
      expect(res.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED', field: 'body.displayName' } });
    }
  });

  it('needs a signed-in session with an approved device', async () => {
    expect((await h.app.inject({ method: 'PATCH', url: '/api/v1/account/profile', payload: { displayName: 'Nobody' } })).statusCode).toBe(401);
    const { token } = await h.signIn(ALICE); // password only, no device
    const res = await inject('PATCH', '/api/v1/account/profile', token, { displayName: 'Mallory' });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ error: { code: 'DEVICE_REQUIRED' } });
  });
});

describe('device records', () => {
  it('lists the devices with added and last-seen times; this device is marked', async () => {
    const { token, deviceId } = await h.deviceSignIn(ALICE);
    const first = deviceList.response.parse((await inject('GET', '/api/v1/account/devices', token)).json());
    const mine = first.devices.find((d) => d.id === deviceId)!;
    expect(mine.current).toBe(true);
    expect(mine.label).toBeNull();
    expect(Date.parse(mine.createdAt)).not.toBeNaN();
    // Last use follows the session that uses the device (at most once a minute).
    const seen = Date.parse(mine.lastSeenAt!);
    later(5 * 60_000);
    const second = deviceList.response.parse((await inject('GET', '/api/v1/account/devices', token)).json());
    expect(Date.parse(second.devices.find((d) => d.id === deviceId)!.lastSeenAt!)).toBe(h.clock.now.getTime());
    expect(h.clock.now.getTime()).toBeGreaterThan(seen);
  });

  it('renames the caller’s own device; the sessions list shows the new name; null goes back', async () => {
    const { token, deviceId } = await h.deviceSignIn(ALICE);
    const res = await inject('PATCH', `/api/v1/account/devices/${deviceId}`, token, { name: 'Work laptop' });
    expect(res.statusCode, res.body).toBe(200);
    expect(deviceRecord.parse(res.json())).toMatchObject({ id: deviceId, label: 'Work laptop', current: true });
    const sessions = (await inject('GET', '/api/v1/auth/sessions', token)).json() as { sessions: { current: boolean; deviceName: string }[] };
    expect(sessions.sessions.find((s) => s.current)!.deviceName).toBe('Work laptop');
    const reset = await inject('PATCH', `/api/v1/account/devices/${deviceId}`, token, { name: null });
    expect(deviceRecord.parse(reset.json()).label).toBeNull();
    expect(await h.db.prisma.auditEvent.count({ where: { action: 'account.device_renamed', actorUserId: await userIdOf(h, ALICE) } })).toBeGreaterThanOrEqual(2);
  });

  it('an administrator (or anyone) cannot rename another user’s device: 404, and the name stays', async () => {
    const alice = await h.deviceSignIn(ALICE);
    await inject('PATCH', `/api/v1/account/devices/${alice.deviceId}`, alice.token, { name: 'Alice phone' });
    const admin = await h.deviceSignIn(ADMIN);
    const res = await inject('PATCH', `/api/v1/account/devices/${alice.deviceId}`, admin.token, { name: 'Hacked' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
    // The admin's list holds only the admin's devices.
    const list = deviceList.response.parse((await inject('GET', '/api/v1/account/devices', admin.token)).json());
    expect(list.devices.map((d) => d.id)).not.toContain(alice.deviceId);
    const row = await h.db.prisma.device.findUniqueOrThrow({ where: { userId_id: { userId: await userIdOf(h, ALICE), id: alice.deviceId } } });
    expect(row.label).toBe('Alice phone');
  });

  it('refuses a malformed device id or name with the field named', async () => {
    const { token, deviceId } = await h.deviceSignIn(ALICE);
    const badId = await inject('PATCH', '/api/v1/account/devices/not-hex!', token, { name: 'x' });
    expect(badId.statusCode).toBe(400);
    expect(badId.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED', field: 'params.id' } });
    const badName = await inject('PATCH', `/api/v1/account/devices/${deviceId}`, token, { name: '' });
    expect(badName.statusCode).toBe(400);
    expect(badName.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED', field: 'body.name' } });
  });
});
