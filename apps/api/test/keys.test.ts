/**
 * The key directory on a real Postgres: sigchains appended link by link by real clients (the
 * crypto package), checked by the server, served verbatim, verified again by other clients;
 * devices added, approved and revoked; PUK boxes delivered to the right devices only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getSigchain } from '@sealmail/contract';
import {
  fromBase64Url,
  fromHex,
  keyId,
  LinkType,
  openPerUserKeyBox,
  openPerUserKeyHistory,
  publicKeysOf,
  replaySigchain,
  signSessionBinding,
  toBase64Url,
  toHex,
  type SigchainPin,
} from '@sealmail/crypto';
import { bearer, ChainClient, harness, userIdOf, type Harness, type TestDevice } from './helpers';

let h: Harness;
let alice: ChainClient;
let laptop: TestDevice;
let phone: TestDevice;
let bobToken: string;
let pin: SigchainPin;

const ALICE = 'alice@example.test';
const chainOf = async (address: string, token = bobToken) => {
  const res = await h.app.inject({ method: 'GET', url: `/api/v1/keys/${address}/sigchain`, headers: bearer(token) });
  return getSigchain.response.parse(res.json());
};
const linkCount = async () => h.db.prisma.sigchainLink.count({ where: { userId: alice.userId } });

beforeAll(async () => {
  h = await harness();
  alice = new ChainClient(h, await userIdOf(h, ALICE));
  laptop = await alice.newDevice(ALICE);
  phone = await alice.newDevice(ALICE);
  bobToken = (await h.deviceSignIn('bob@example.test')).token;
});
afterAll(() => h?.close());

describe('key directory', () => {
  it('takes the first device: root link, session bound to the device, first PUK boxed to it', async () => {
    const res = await alice.root(laptop);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ seqno: 0, deviceId: laptop.id });
    const device = await h.db.prisma.device.findFirstOrThrow({ where: { id: laptop.id } });
    expect(device).toMatchObject({ status: 'approved', kind: 'browser' });
    const boxes = await h.app.inject({ method: 'GET', url: `/api/v1/keys/puk-boxes/${laptop.id}`, headers: bearer(laptop.token) });
    const [box] = (boxes.json() as { boxes: { generation: number; box: string }[] }).boxes;
    const puk = openPerUserKeyBox({ box: fromBase64Url(box!.box), userId: alice.userId, generation: 1, deviceId: laptop.id, deviceEncryptionSecretKey: laptop.keys.encryption.secretKey, expectedPublicKeys: publicKeysOf(alice.puks[0]!) });
    expect(puk.generation).toBe(1);
  });

  it('serves the chain verbatim to other users, who verify it themselves', async () => {
    const served = await chainOf(ALICE);
    expect(served.links).toEqual(alice.links.map((l) => toBase64Url(l.bytes)));
    const state = replaySigchain(served.links.map(fromBase64Url), { userId: served.userId });
    expect(state.length).toBe(1);
    expect(toHex(state.puks[0]!.keyId)).toBe(toHex(keyId(publicKeysOf(alice.puks[0]!))));
    expect((await h.app.inject({ method: 'GET', url: `/api/v1/keys/ghost@example.test/sigchain`, headers: bearer(bobToken) })).statusCode).toBe(404);
    expect((await h.app.inject({ method: 'GET', url: `/api/v1/keys/${ALICE}/sigchain` })).statusCode).toBe(401);
  });

  it('refuses a device that adds itself with a key generation: the password alone must not reach new mail', async () => {
    const before = await linkCount();
    const puk = alice.nextPuk();
    const selfAdd = alice.make(phone.keys, { type: LinkType.DeviceAdd, device: { name: 'Phone', kind: 'browser', keys: publicKeysOf(phone.keys) }, puk: { generation: puk.generation, keys: publicKeysOf(puk) } }, [puk]);
    // A session without a device may only post a root or a request to join.
    const res = await alice.post(phone.token, selfAdd, alice.boxes(puk, [laptop, phone]));
    expect(res.json()).toMatchObject({ error: { code: 'DEVICE_REQUIRED' } });
    // Even where the server would take it, every client's replay refuses it (SIGNER_NOT_ACTIVE).
    expect(() => replaySigchain([...alice.links.map((l) => l.bytes), selfAdd.bytes], { userId: alice.userId })).toThrow(expect.objectContaining({ code: 'SIGNER_NOT_ACTIVE' }));
    expect(await linkCount()).toBe(before);
  });

  it('lets a second device ask to join: pending, with no key generation and nothing to open', async () => {
    const res = await alice.request(phone);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ seqno: 1, deviceId: phone.id });
    expect((await h.db.prisma.device.findFirstOrThrow({ where: { id: phone.id } })).status).toBe('pending');
    const mine = (await h.app.inject({ method: 'GET', url: `/api/v1/keys/puk-boxes/${phone.id}`, headers: bearer(phone.token) })).json();
    expect(mine).toEqual({ boxes: [], history: null });
    // Nobody can slip it a key generation before approval either: boxes go to approved devices only.
    const puk = alice.nextPuk();
    const rotate = alice.make(laptop.keys, { type: LinkType.PukRotate, puk: { generation: puk.generation, keys: publicKeysOf(puk) } }, [puk]);
    expect((await alice.post(laptop.token, rotate, alice.boxes(puk, [laptop, phone]))).json()).toMatchObject({ error: { code: 'SIGCHAIN_INVALID', message: expect.stringContaining('approved device') } });
  });

  it('refuses, and stores nothing for, links a pending device signs, links not signed by the session’s device, and forged signatures', async () => {
    const before = await linkCount();
    const puk = alice.nextPuk();
    const rotateByPhone = alice.make(phone.keys, { type: LinkType.PukRotate, puk: { generation: puk.generation, keys: publicKeysOf(puk) } }, [puk]);
    const r1 = await alice.post(phone.token, rotateByPhone, alice.boxes(puk, [laptop, phone]));
    expect(r1.json()).toMatchObject({ error: { code: 'SIGCHAIN_INVALID' } });
    expect((r1.json() as { error: { message: string } }).error.message).toContain('SIGNER_NOT_ACTIVE');

    const approvePuk = alice.nextPuk();
    const approveByLaptop = alice.make(laptop.keys, { type: LinkType.DeviceApprove, deviceId: keyId(publicKeysOf(phone.keys)), puk: { generation: approvePuk.generation, keys: publicKeysOf(approvePuk) } }, [approvePuk]);
    expect((await alice.post(phone.token, approveByLaptop)).json()).toMatchObject({ error: { code: 'DEVICE_REQUIRED' } });

    const tampered = approveByLaptop.bytes.slice();
    tampered[tampered.length - 5]! ^= 1;
    const r3 = await h.app.inject({ method: 'POST', url: '/api/v1/keys/sigchain', headers: bearer(laptop.token), payload: { link: toBase64Url(tampered) } });
    expect(r3.json()).toMatchObject({ error: { code: 'SIGCHAIN_INVALID' } });
    expect((r3.json() as { error: { message: string } }).error.message).toContain('BAD_SIGNATURE');

    const garbage = await h.app.inject({ method: 'POST', url: '/api/v1/keys/sigchain', headers: bearer(laptop.token), payload: { link: 'AAAA' } });
    expect(garbage.json()).toMatchObject({ error: { code: 'SIGCHAIN_INVALID' } });
    const future = approveByLaptop.bytes.slice();
    future[0] = 3;
    const r4 = await h.app.inject({ method: 'POST', url: '/api/v1/keys/sigchain', headers: bearer(laptop.token), payload: { link: toBase64Url(future) } });
    expect(r4.statusCode).toBe(400);
    expect(r4.json()).toMatchObject({ error: { code: 'SIGCHAIN_INVALID', message: expect.stringContaining('version') } });
    const boxes = await h.app.inject({ method: 'POST', url: '/api/v1/keys/sigchain', headers: bearer(laptop.token), payload: { link: toBase64Url(approveByLaptop.bytes), pukBoxes: [{ deviceId: 'xyz', generation: 0, box: '!' }] } });
    expect(boxes.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED', field: expect.stringMatching(/^body\.pukBoxes\.0\./) } });
    const huge = await h.app.inject({ method: 'POST', url: '/api/v1/keys/sigchain', headers: bearer(laptop.token), payload: { link: 'A'.repeat(40000) } });
    expect(huge.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED', field: 'body.link' } });
    const bob = await h.app.inject({ method: 'POST', url: '/api/v1/keys/sigchain', headers: bearer(bobToken), payload: { link: toBase64Url(approveByLaptop.bytes) } });
    expect(bob.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect(await linkCount()).toBe(before);
  });

  it('approves the pending device with a new generation, and shares the older ones in one signed history box', async () => {
    // A history box without an approval is refused.
    const p2 = alice.nextPuk();
    const rotate = alice.make(laptop.keys, { type: LinkType.PukRotate, puk: { generation: p2.generation, keys: publicKeysOf(p2) } }, [p2]);
    expect((await alice.post(laptop.token, rotate, alice.boxes(p2, [laptop]), new Uint8Array(10))).json()).toMatchObject({ error: { code: 'SIGCHAIN_INVALID' } });
    const res = await alice.approve(laptop, phone, [laptop]);
    expect(res.statusCode).toBe(200);
    expect((await h.db.prisma.device.findFirstOrThrow({ where: { id: phone.id } })).status).toBe('approved');
    const mine = (await h.app.inject({ method: 'GET', url: `/api/v1/keys/puk-boxes/${phone.id}`, headers: bearer(phone.token) })).json() as { boxes: { generation: number; box: string }[]; history: { fromDeviceId: string; box: string } };
    expect(mine.boxes.map((b) => b.generation)).toEqual([2]);
    expect(mine.history.fromDeviceId).toBe(laptop.id);
    const [old] = openPerUserKeyHistory({ history: fromBase64Url(mine.history.box), userId: alice.userId, fromDeviceId: laptop.id, fromSigningPublicKey: laptop.keys.signing.publicKey, toDeviceId: phone.id, toEncryptionSecretKey: phone.keys.encryption.secretKey });
    expect(old!.seed).toEqual(alice.puks[0]!.seed);
    pin = { length: alice.links.length, headHash: alice.links[alice.links.length - 1]!.hash };
  });

  it('binds a fresh session to a device that proves itself with its key, and to nothing else', async () => {
    const fresh = (await h.signIn(ALICE)).token;
    const sessionOf = async (token: string) => (await h.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: bearer(token) })).json() as { id: string; deviceId: string | null };
    const s = await sessionOf(fresh);
    expect(s.deviceId).toBeNull();
    const boxesOf = (token: string) => h.app.inject({ method: 'GET', url: `/api/v1/keys/puk-boxes/${phone.id}`, headers: bearer(token) });
    expect((await boxesOf(fresh)).json()).toMatchObject({ error: { code: 'DEVICE_REQUIRED' } });
    const bind = (token: string, deviceId: string, sig: Uint8Array) =>
      h.app.inject({ method: 'POST', url: '/api/v1/keys/session-device', headers: bearer(token), payload: { deviceId, signature: toBase64Url(sig) } });
    const proof = (keys: TestDevice['keys'], sessionId: string, deviceId = phone.id, userId = alice.userId) => signSessionBinding(keys.signing.secretKey, { userId, sessionId, deviceId: fromHex(deviceId) });

    const refused = async (res: Awaited<ReturnType<typeof bind>>, why: string) => {
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ error: { code: 'DEVICE_PROOF_INVALID' } });
      expect((res.json() as { error: { message: string } }).error.message).toContain(why);
    };
    await refused(await bind(fresh, phone.id, proof(phone.keys, 'another-session')), 'does not verify');
    await refused(await bind(fresh, phone.id, proof(laptop.keys, s.id)), 'does not verify');
    const flipped = proof(phone.keys, s.id);
    flipped[10]! ^= 1;
    await refused(await bind(fresh, phone.id, flipped), 'does not verify');
    await refused(await bind(fresh, 'ab'.repeat(32), proof(phone.keys, s.id, 'ab'.repeat(32))), 'no such device');
    const bobBare = (await h.signIn('bob@example.test')).token;
    const bobSession = await sessionOf(bobBare);
    await refused(await bind(bobBare, phone.id, proof(phone.keys, bobSession.id)), 'no such device');
    expect((await sessionOf(fresh)).deviceId).toBeNull();

    const ok = await bind(fresh, phone.id, proof(phone.keys, s.id));
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ deviceId: phone.id });
    expect((await sessionOf(fresh)).deviceId).toBe(phone.id);
    expect((await boxesOf(fresh)).statusCode).toBe(200);
    // Binding again to the same device is a no-op; to another device it is refused.
    expect((await bind(fresh, phone.id, proof(phone.keys, s.id))).statusCode).toBe(200);
    await refused(await bind(fresh, laptop.id, proof(laptop.keys, s.id, laptop.id)), 'another device');
    expect(await h.db.prisma.auditEvent.count({ where: { action: 'keys.session_bound' } })).toBe(1);
  });

  it('requires the new PUK boxed to every remaining device, and nobody else, on revocation', async () => {
    const before = await linkCount();
    const puk = alice.nextPuk();
    const link = alice.make(phone.keys, { type: LinkType.DeviceRevoke, deviceId: keyId(publicKeysOf(laptop.keys)), puk: { generation: puk.generation, keys: publicKeysOf(puk) } }, [puk]);
    expect((await alice.post(phone.token, link, alice.boxes(puk, [phone, laptop]))).json()).toMatchObject({ error: { code: 'SIGCHAIN_INVALID' } });
    expect((await alice.post(phone.token, link, [])).json()).toMatchObject({ error: { code: 'SIGCHAIN_INVALID' } });
    expect(await linkCount()).toBe(before);
  });

  it('revokes a device: its sessions end at once and it receives no new key boxes', async () => {
    const res = await alice.revoke(phone, laptop, [phone]);
    expect(res.statusCode).toBe(200);
    for (const url of ['/api/v1/auth/session', `/api/v1/keys/puk-boxes/${laptop.id}`]) {
      const r = await h.app.inject({ method: 'GET', url, headers: bearer(laptop.token) });
      expect(r.statusCode).toBe(401);
      expect(r.json()).toMatchObject({ error: { code: 'DEVICE_REVOKED' } });
    }
    const laptopBoxes = await h.db.prisma.pukBox.findMany({ where: { deviceId: laptop.id }, select: { generation: true } });
    expect(laptopBoxes.map((b) => b.generation).sort()).toEqual([1, 2]);
    // A revoked device cannot bind a new session either.
    const again = (await h.signIn(ALICE)).token;
    const sid = ((await h.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: bearer(again) })).json() as { id: string }).id;
    const sig = signSessionBinding(laptop.keys.signing.secretKey, { userId: alice.userId, sessionId: sid, deviceId: fromHex(laptop.id) });
    const bound = await h.app.inject({ method: 'POST', url: '/api/v1/keys/session-device', headers: bearer(again), payload: { deviceId: laptop.id, signature: toBase64Url(sig) } });
    expect(bound.json()).toMatchObject({ error: { code: 'DEVICE_PROOF_INVALID', message: expect.stringContaining('revoked') } });
    const state = replaySigchain((await chainOf(ALICE)).links.map(fromBase64Url), { userId: alice.userId, pin });
    expect(state.devices.get(laptop.id)!.status).toBe('revoked');
    expect(state.puks.at(-1)!.generation).toBe(3);
  });

  it('has clients refuse a chain the server rolled back or forked', async () => {
    const served = (await chainOf(ALICE)).links.map(fromBase64Url);
    const seen = { length: served.length, headHash: alice.links.at(-1)!.hash };
    // A server that drops the newest link (e.g. to hide a revocation) is caught by the pin.
    await h.db.prisma.sigchainLink.deleteMany({ where: { userId: alice.userId, seqno: served.length - 1 } });
    const rolledBack = (await chainOf(ALICE)).links.map(fromBase64Url);
    expect(() => replaySigchain(rolledBack, { userId: alice.userId, pin: seen })).toThrow(expect.objectContaining({ code: 'ROLLBACK' }));
    // …and one that swaps in a different newest link is a fork.
    const puk = alice.nextPuk();
    alice.links.pop();
    const forkLink = alice.make(phone.keys, { type: LinkType.PukRotate, puk: { generation: 3, keys: publicKeysOf(puk) } }, [puk]);
    await h.db.prisma.sigchainLink.create({ data: { userId: alice.userId, seqno: forkLink.seqno, type: LinkType.PukRotate, bytes: new Uint8Array(forkLink.bytes), hash: new Uint8Array(forkLink.hash) } });
    const forked = (await chainOf(ALICE)).links.map(fromBase64Url);
    expect(forked.length).toBe(seen.length);
    expect(() => replaySigchain(forked, { userId: alice.userId, pin: seen })).toThrow(expect.objectContaining({ code: 'FORK' }));
  });
});
