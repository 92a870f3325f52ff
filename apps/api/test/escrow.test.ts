/**
 * Escrow on a real Postgres, driven by the real client flows (packages/client: Identity and
 * EscrowAdmin) through the in-process API: an admin enables it on their device; a user's client
 * adds the escrow device after checking its certificate and cannot remove it; an escrow admin
 * recovers a user who lost every device and opens their keys for discovery; every use is in the
 * change history; disabling removes escrow from every chain with a fresh per-user key. A second
 * account on the same server sees and touches nothing of the first (a matrix over routes).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '@sealmail/client';
import { EscrowAdmin, Identity, memoryKeyStore, pukEntry, type KeyStore } from '@sealmail/client/identity';
import { createLink, endorseEscrowKey, escrowCertificate, fromBase64Url, generateEscrowKey, generatePerUserKey, keyId, LinkType, publicKeysOf, replaySigchain, toBase64Url, toHex, encodePublicKeys } from '@sealmail/crypto';
import { seedDemo } from '@sealmail/db';
import { bearer, harness, injectFetch, type Harness } from './helpers';

let h: Harness;
const ADMIN = 'admin@example.test';
const ALICE = 'alice@example.test';
let otherPasswords: Record<string, string>;

beforeAll(async () => {
  h = await harness();
  const other = await seedDemo(h.db.prisma, { domain: 'other.test' });
  otherPasswords = Object.fromEntries(other.users.map((u) => [u.address, u.password!]));
});
afterAll(() => h?.close());

/** One device of one user: a fresh sign-in, its own key store, the real client flows. */
async function deviceOf(address: string, store: KeyStore = memoryKeyStore(), password?: string) {
  const res = await h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address, password: password ?? h.password(address) } });
  const token = (res.json() as { token: string }).token;
  const api = new ApiClient({ baseUrl: 'http://api.invalid', fetch: injectFetch(h.app), token });
  const identity = new Identity(api, store);
  return { api, identity, store, token, escrow: new EscrowAdmin(api, identity) };
}

/** A chain as the admin's own (approved) device reads it: sessions without one read only their own chain. */
const chainOf = async (address: string) => admin.identity.verifiedChain(address);
const audit = async (action: string) => h.db.prisma.auditEvent.findMany({ where: { action }, orderBy: { id: 'asc' } });

let admin: Awaited<ReturnType<typeof deviceOf>>;
let alice1: Awaited<ReturnType<typeof deviceOf>>;
let alice2: Awaited<ReturnType<typeof deviceOf>>;
let fingerprint: string;

describe('escrow', () => {
  it('is enabled by an admin on their device; users cannot enable it', async () => {
    admin = await deviceOf(ADMIN);
    expect((await admin.identity.setUpThisDevice({ address: ADMIN, name: 'Admin console', kind: 'browser' })).outcome).toBe('first');
    alice1 = await deviceOf(ALICE);
    expect((await alice1.identity.setUpThisDevice({ address: ALICE, name: 'Laptop', kind: 'browser' })).outcome).toBe('first');
    expect(await alice1.identity.escrowStatus(ALICE)).toEqual({ state: 'off' });

    await expect(alice1.escrow.enable(ALICE)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    // An admin session without a device cannot hold the key.
    const bare = await deviceOf(ADMIN);
    await expect(bare.api.enableEscrow({ publicKeys: 'AA', certificate: 'AA', endorsement: 'AA', boxes: [{ deviceId: '0'.repeat(64), box: 'AA' }] })).rejects.toMatchObject({ code: 'DEVICE_REQUIRED' });

    const on = await admin.escrow.enable(ADMIN);
    fingerprint = on.fingerprint;
    expect(fingerprint).toMatch(/^\d{4}( \d{4}){4}$/);
    expect(await audit('escrow.enabled')).toHaveLength(1);
    await expect(admin.escrow.enable(ADMIN)).rejects.toMatchObject({ code: 'CONFLICT' });
    const overview = await admin.escrow.overview();
    expect(overview).toMatchObject({ fingerprint, escrow: { status: 'active', enabledBy: ADMIN } });
    expect(overview.holders).toEqual([{ address: ADMIN, deviceId: (await admin.store.loadDevice(ADMIN))!.deviceId }]);
    // The server holds the secret only boxed: the stored box is not the key.
    const row = await h.db.prisma.escrowKey.findFirstOrThrow();
    expect(row.id).toBe(on.id);
  });

  it('refuses escrow keys that are not valid for the account', async () => {
    const { user } = await admin.api.session();
    const me = (await admin.store.loadDevice(ADMIN))!.deviceId;
    const bad = generateEscrowKey();
    const pub = toBase64Url(encodePublicKeys(publicKeysOf(bad.device)));
    const { keys: adminKeys } = await admin.identity.thisDevice(ADMIN);
    const endorsement = toBase64Url(endorseEscrowKey(adminKeys.signing.secretKey, user.accountId, bad.id));
    const tries = [
      { publicKeys: 'AAAA', certificate: toBase64Url(escrowCertificate(bad.device, user.accountId)), endorsement, boxes: [{ deviceId: me, box: 'AA' }], field: 'body.publicKeys' },
      { publicKeys: pub, certificate: toBase64Url(escrowCertificate(bad.device, 'another-account')), endorsement, boxes: [{ deviceId: me, box: 'AA' }], field: 'body.certificate' },
      { publicKeys: pub, certificate: toBase64Url(escrowCertificate(bad.device, user.accountId)), endorsement, boxes: [{ deviceId: (await alice1.store.loadDevice(ALICE))!.deviceId, box: 'AA' }], field: 'body.boxes.0.deviceId' },
      // Endorsed by another key than this admin's device: refused.
      { publicKeys: pub, certificate: toBase64Url(escrowCertificate(bad.device, user.accountId)), endorsement: toBase64Url(endorseEscrowKey(generateEscrowKey().device.signing.secretKey, user.accountId, bad.id)), boxes: [{ deviceId: me, box: 'AA' }], field: 'body.endorsement' },
    ];
    for (const { field, ...body } of tries) {
      await expect(admin.api.enableEscrow(body)).rejects.toMatchObject({ code: 'ESCROW_INVALID', field });
    }
    expect(await h.db.prisma.escrowKey.count()).toBe(1);
  });

  it('refuses an escrow key the server made up, or one endorsed by someone who is not that admin', async () => {
    const { user } = await admin.api.session();
    const real = (await alice1.api.escrow()).escrow!;
    // A hostile server offers its own escrow key: valid certificate (it holds the key), but it
    // cannot sign as the admin's device, so it signs with a key of its own.
    const fake = generateEscrowKey();
    const fakeId = toHex(fake.id);
    const forged = {
      ...real,
      id: fakeId,
      publicKeys: toBase64Url(encodePublicKeys(publicKeysOf(fake.device))),
      certificate: toBase64Url(escrowCertificate(fake.device, user.accountId)),
      endorsement: { ...real.endorsement!, signature: toBase64Url(endorseEscrowKey(generateEscrowKey().device.signing.secretKey, user.accountId, fake.id)) },
    };
    const hostile = (escrow: typeof real) => {
      const api = Object.create(alice1.api) as typeof alice1.api;
      api.escrow = async () => ({ escrow });
      return new Identity(api, alice1.store);
    };
    await expect(hostile(forged).escrowStatus(ALICE)).rejects.toMatchObject({ code: 'ESCROW_INVALID', message: expect.stringContaining('endorsement') });
    await expect(hostile(forged).acceptEscrow(ALICE)).rejects.toMatchObject({ code: 'ESCROW_INVALID' });
    // …or claims the real admin's endorsement came from a device the admin does not have, or names a non-admin.
    await expect(hostile({ ...real, endorsement: { ...real.endorsement!, deviceId: 'ab'.repeat(32) } }).escrowStatus(ALICE)).rejects.toMatchObject({ code: 'ESCROW_INVALID' });
    await expect(hostile({ ...real, endorsement: null }).escrowStatus(ALICE)).rejects.toMatchObject({ code: 'ESCROW_INVALID' });
    expect((await chainOf(ALICE)).state!.escrow).toBeNull();
  });

  it('is added by each user’s own client after the user is told, once, and the user cannot remove it', async () => {
    // Told first: nothing is in the chain until the user goes on.
    expect(await alice1.identity.escrowStatus(ALICE)).toEqual({ state: 'needs-consent', fingerprint, endorsedBy: ADMIN, changed: false });
    expect((await chainOf(ALICE)).state!.escrow).toBeNull();
    expect(await alice1.identity.acceptEscrow(ALICE)).toEqual({ fingerprint });
    expect(await alice1.identity.escrowStatus(ALICE)).toEqual({ state: 'in-chain', fingerprint });
    const { state } = await chainOf(ALICE);
    expect(state!.escrow && toHex(state!.escrow.id)).toBe((await h.db.prisma.escrowKey.findFirstOrThrow()).id);
    // Every generation Alice holds is boxed to the escrow device.
    expect(await h.db.prisma.pukBox.count({ where: { deviceId: toHex(state!.escrow!.id) } })).toBe(1);

    // Removing it with her own device is refused while escrow is on, and changes nothing.
    const { device, keys, userId } = await alice1.identity.thisDevice(ALICE);
    const puk = generatePerUserKey(state!.puks.length + 1);
    const link = createLink({ userId, seqno: state!.length, prev: state!.headHash, time: Date.now(), signer: keys, body: { type: LinkType.EscrowRemove, deviceId: state!.escrow!.id, puk: { generation: puk.generation, keys: publicKeysOf(puk) } }, newKeys: [puk] });
    const remaining = [device.deviceId, toHex(state!.backup!.id)];
    const boxes = remaining.map((deviceId) => ({ deviceId, generation: puk.generation, box: 'AAAA' }));
    await expect(alice1.api.appendLink(toBase64Url(link.bytes), boxes)).rejects.toMatchObject({ code: 'ESCROW_ENFORCED' });
    expect((await chainOf(ALICE)).state!.length).toBe(state!.length);
  });

  it('recovers a user who lost every device, and opens their keys for discovery, on the record', async () => {
    alice2 = await deviceOf(ALICE);
    const setup = await alice2.identity.setUpThisDevice({ address: ALICE, name: 'New laptop', kind: 'browser' });
    expect(setup.outcome).toBe('pending');
    if (setup.outcome !== 'pending') return;
    // Waiting for approval, it holds nothing: no generation was made for it.
    expect((await alice2.identity.perUserKeys(ALICE)).map((p) => p.generation)).toEqual([]);

    const recovered = await admin.escrow.recover(ADMIN, ALICE, setup.fingerprint);
    expect(recovered.generations).toEqual([1, 2]);
    const keys = await alice2.identity.perUserKeys(ALICE);
    expect(keys.map((p) => p.generation)).toEqual([1, 2]);
    expect((await alice2.identity.devices(ALICE)).find((d) => d.thisDevice)?.status).toBe('approved');

    const found = await admin.escrow.discover(ADMIN, ALICE);
    expect(found.map((p) => toBase64Url(p.seed))).toEqual(keys.map((p) => toBase64Url(p.seed)));

    expect((await audit('escrow.recovery')).map((e) => e.details)).toEqual([{ escrowId: expect.any(String), user: ALICE, deviceId: setup.device.deviceId, actorDeviceId: (await admin.store.loadDevice(ADMIN))!.deviceId }]);
    expect(await audit('escrow.recovery_keys_read')).toHaveLength(1);
    expect(await audit('escrow.discovery_keys_read')).toHaveLength(1);
    // Alice sees every opening of her keys, with its purpose and who did it.
    const openings = (await alice2.api.escrowOpenings()).openings;
    expect(openings.map((o) => [o.purpose, o.by]).sort()).toEqual([['device-approved', ADMIN], ['discovery', ADMIN], ['recovery', ADMIN]]);
    // Nobody but an escrow holder's device may use it: not Alice, not an admin session without the box.
    await expect(alice2.escrow.discover(ALICE, ALICE)).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('keeps another account out of everything: a matrix over actors and routes', async () => {
    const carol = await deviceOf('alice@other.test', memoryKeyStore(), otherPasswords['alice@other.test']);
    await carol.identity.setUpThisDevice({ address: 'alice@other.test', name: 'Carol', kind: 'cli' });
    const otherAdmin = await deviceOf('admin@other.test', memoryKeyStore(), otherPasswords['admin@other.test']);
    await otherAdmin.identity.setUpThisDevice({ address: 'admin@other.test', name: 'Other admin', kind: 'cli' });

    const aliceChain = await chainOf(ALICE);
    const aliceDevice = (await alice2.store.loadDevice(ALICE))!.deviceId;
    const aliceLinks = aliceChain.state!.length;
    const escrowBefore = await h.db.prisma.escrowKey.findFirstOrThrow();
    const forgedPuk = generatePerUserKey(9);
    const forged = toBase64Url(createLink({ userId: aliceChain.userId, seqno: aliceLinks, prev: aliceChain.state!.headHash, time: 1, signer: generateEscrowKey().device, body: { type: LinkType.DeviceApprove, deviceId: keyId(publicKeysOf(generateEscrowKey().device)), puk: pukEntry(forgedPuk) }, newKeys: [forgedPuk] }).bytes);

    type Probe = { name: string; method: 'GET' | 'POST'; url: string; payload?: unknown; expect: string };
    const probes: Probe[] = [
      { name: 'read a chain', method: 'GET', url: `/api/v1/keys/${ALICE}/sigchain`, expect: 'NOT_FOUND' },
      { name: 'extend a chain', method: 'POST', url: '/api/v1/keys/sigchain', payload: { link: forged }, expect: 'FORBIDDEN' },
      { name: 'read key boxes', method: 'GET', url: `/api/v1/keys/puk-boxes/${aliceDevice}`, expect: 'NOT_FOUND' },
      { name: 'claim a device', method: 'POST', url: '/api/v1/keys/session-device', payload: { deviceId: aliceDevice, signature: 'A'.repeat(86) }, expect: 'DEVICE_PROOF_INVALID' },
      { name: 'read escrow key boxes', method: 'POST', url: `/api/v1/admin/escrow/users/${ALICE}/puk-boxes`, payload: { purpose: 'discovery' }, expect: 'NOT_FOUND' },
      { name: 'append with escrow', method: 'POST', url: `/api/v1/admin/escrow/users/${ALICE}/sigchain`, payload: { link: forged }, expect: 'NOT_FOUND' },
      { name: 'disable escrow', method: 'POST', url: '/api/v1/admin/escrow/disable', expect: 'CONFLICT' },
    ];
    for (const actor of [carol, otherAdmin]) {
      for (const p of probes) {
        const res = await h.app.inject({ method: p.method, url: p.url, headers: bearer(actor.token), ...(p.payload ? { payload: p.payload } : {}) });
        const code = (res.json() as { error?: { code: string } }).error?.code;
        const wanted = actor === carol && p.url.startsWith('/api/v1/admin') ? 'FORBIDDEN' : p.expect;
        expect(code, `${actor === carol ? 'user' : 'admin'} of another account: ${p.name}`).toBe(wanted);
      }
    }
    // What they may see of their own account shows nothing of this one.
    expect((await otherAdmin.api.adminEscrow()).users.map((u) => u.address).sort()).toEqual(['admin@other.test', 'alice@other.test', 'bob@other.test']);
    expect((await otherAdmin.api.adminEscrow()).escrow).toBeNull();
    expect((await carol.api.escrow()).escrow).toBeNull();
    // …and nothing changed here.
    expect((await chainOf(ALICE)).state!.length).toBe(aliceLinks);
    expect(await h.db.prisma.escrowKey.findFirstOrThrow()).toEqual(escrowBefore);

    // Within the account, users are not admins.
    for (const url of ['/api/v1/admin/escrow', '/api/v1/admin/escrow/box']) {
      const res = await h.app.inject({ method: 'GET', url, headers: bearer(alice2.token) });
      expect((res.json() as { error: { code: string } }).error.code).toBe('FORBIDDEN');
    }
  });

  it('is disabled: removed from every chain with a new per-user key for the user’s devices only', async () => {
    await admin.identity.acceptEscrow(ADMIN);
    const before = await chainOf(ALICE);
    const escrowId = toHex(before.state!.escrow!.id);
    const cleaned = await admin.escrow.disable(ADMIN);
    expect(cleaned.sort()).toEqual([ADMIN, ALICE]);
    const after = (await chainOf(ALICE)).state!;
    expect(after.escrow).toBeNull();
    expect(after.devices.get(escrowId)!.status).toBe('revoked');
    expect(after.puks.length).toBe(before.state!.puks.length + 1);
    const newest = after.puks.at(-1)!.generation;
    const boxedTo = await h.db.prisma.pukBox.findMany({ where: { userId: before.userId, generation: newest } });
    expect(boxedTo.map((b) => b.deviceId)).not.toContain(escrowId);
    expect((await alice2.identity.perUserKeys(ALICE)).map((p) => p.generation)).toEqual([1, 2, 3]);
    // The boxed secret is gone from the server; users see escrow off; it cannot be used again.
    expect(await h.db.prisma.escrowBox.count()).toBe(0);
    expect((await alice2.api.escrow()).escrow).toBeNull();
    expect(await alice2.identity.escrowStatus(ALICE)).toEqual({ state: 'off' });
    await expect(admin.escrow.discover(ADMIN, ALICE)).rejects.toMatchObject({ code: 'NO_ESCROW_KEY' });
    expect(await audit('escrow.disabled')).toHaveLength(1);
    expect(await audit('escrow.removed')).toHaveLength(2);
    // The chain verifies from scratch for anyone.
    const served = (await admin.api.sigchain(ALICE)).links.map(fromBase64Url);
    expect(replaySigchain(served, { userId: before.userId }).length).toBe(after.length);
  });
});
