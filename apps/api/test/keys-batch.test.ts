/**
 * The key directory in one request (`POST /api/v1/keys/sigchains`) and the client's send path on
 * it: the route answers what the single route answers under the same rules (a lookup across
 * organisations says nothing), and the client verifies and pins every chain of the batch as
 * strictly as one fetched alone — a hostile server answering the batch with a forged, rolled-back
 * or swapped chain is refused and nothing is sent. Real API, real Postgres, real client code; the
 * hostile server is a stand-in ApiClient as in trust.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '@sealmail/client';
import { Identity, Mailer, memoryKeyStore, type KeyStore } from '@sealmail/client/identity';
import { getSigchains } from '@sealmail/contract';
import { createLink, DelegateRights, generateDeviceKeys, LinkType, replaySigchain, fromBase64Url, toBase64Url } from '@sealmail/crypto';
import { seedDemo } from '@sealmail/db';
import { bearer, harness, injectFetch, userIdOf, type Harness } from './helpers';

let h: Harness;
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const ADMIN = 'admin@example.test';
const OTHER = 'alice@other.test';
let otherPasswords: Record<string, string>;

async function signIn(address: string, password = h.password(address)) {
  const res = await h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address, password } });
  return (res.json() as { token: string }).token;
}

/** A signed-in device of a user: its own key store, the real client over the real API. */
async function signedIn(address: string, password?: string, store: KeyStore = memoryKeyStore()) {
  const token = await signIn(address, password);
  const api = new ApiClient({ baseUrl: 'http://api.invalid', fetch: injectFetch(h.app), token });
  const identity = new Identity(api, store);
  await identity.setUpThisDevice({ address, name: `${address.split('@')[0]} device`, kind: 'cli' });
  return { api, identity, store, token, mail: new Mailer(api, identity, address) };
}
type Device = Awaited<ReturnType<typeof signedIn>>;

type Answer = Awaited<ReturnType<ApiClient['sigchain']>>;
/** The same device seen through a server that answers the batch (and single lookups) with `lie(address)` where it returns one. */
function hostileBatch(d: Device, address: string, lie: (address: string) => Promise<Answer | undefined>) {
  const answer = async (a: string) => (await lie(a)) ?? d.api.sigchain(a);
  const api = Object.assign(Object.create(d.api) as ApiClient, {
    sigchain: answer,
    sigchains: async (addresses: string[]) => ({ chains: await Promise.all(addresses.map(answer)), missing: [] }),
  });
  const identity = new Identity(api, d.store);
  return { api, identity, mail: new Mailer(api, identity, address) };
}

const batch = (token: string, addresses: string[]) => h.app.inject({ method: 'POST', url: getSigchains.path, headers: bearer(token), payload: { addresses } });

let alice: Device;
let admin: Device;

beforeAll(async () => {
  h = await harness();
  const other = await seedDemo(h.db.prisma, { domain: 'other.test' });
  otherPasswords = Object.fromEntries(other.users.map((u) => [u.address, u.password!]));
  alice = await signedIn(ALICE);
  await signedIn(BOB);
  admin = await signedIn(ADMIN);
}, 60_000);
afterAll(async () => {
  await h?.close();
});

describe('POST /api/v1/keys/sigchains', () => {
  it('answers each address as the single route does, in the order asked', async () => {
    const res = await batch(admin.token, [BOB, ALICE, ADMIN]);
    expect(res.statusCode).toBe(200);
    const body = getSigchains.response.parse(res.json());
    expect(body.missing).toEqual([]);
    expect(body.chains.map((c) => c.address)).toEqual([BOB, ALICE, ADMIN]);
    for (const c of body.chains) expect(c).toEqual(await admin.api.sigchain(c.address));
    expect(body.chains[0]!.userId).toBe(await userIdOf(h, BOB));
  });

  it('aliases and +tag forms are answered as the single route answers them (naming the user’s own address)', async () => {
    const alice = await h.db.prisma.user.findFirstOrThrow({ where: { localPart: 'alice', domain: { name: 'example.test' } } });
    await h.db.prisma.userAlias.create({ data: { userId: alice.id, domainId: alice.domainId, localPart: 'boss' } });
    const asked = ['boss@example.test', 'alice+news@example.test', 'boss+x@example.test', ALICE, 'nobody+x@example.test'];
    const body = getSigchains.response.parse((await batch(admin.token, asked)).json());
    expect(body.missing).toEqual(['nobody+x@example.test']);
    expect(body.chains.map((c) => [c.address, c.primary])).toEqual([
      ['boss@example.test', ALICE],
      ['alice+news@example.test', ALICE],
      ['boss+x@example.test', ALICE],
      [ALICE, undefined],
    ]);
    for (const c of body.chains) expect(c).toEqual(await admin.api.sigchain(c.address));
    // And a send to the alias and its owner at once is one mail to one holder per address, as before.
    const sent = await admin.mail.send({ to: ['boss@example.test', BOB], subject: 'to the alias', text: 'x' });
    expect(sent.delivered).toEqual(expect.arrayContaining(['boss@example.test', BOB]));
  });

  it('an address in another organisation is missing exactly like an unknown one, until both turn on cross-domain E2EE', async () => {
    const other = await signedIn(OTHER, otherPasswords[OTHER]);
    const res = await batch(alice.token, [OTHER, 'nobody@example.test', 'nobody@other.test', BOB]);
    expect(res.statusCode).toBe(200);
    const body = getSigchains.response.parse(res.json());
    expect(body.missing).toEqual([OTHER, 'nobody@example.test', 'nobody@other.test']);
    expect(body.chains.map((c) => c.address)).toEqual([BOB]);
    // The single route says the same (nothing), and the other way round too.
    await expect(alice.api.sigchain(OTHER)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(getSigchains.response.parse((await batch(other.token, [ALICE])).json()).missing).toEqual([ALICE]);
    // Sending there is refused before anything is sent, as before.
    await expect(alice.mail.send({ to: [OTHER], subject: 'x', text: 'y' })).rejects.toMatchObject({ code: 'NO_E2EE_ROUTE' });
    // Both domains on: the chain is answered.
    await admin.api.setCrossDomainE2ee('example.test', true);
    const otherAdmin = await signedIn('admin@other.test', otherPasswords['admin@other.test']);
    await otherAdmin.api.setCrossDomainE2ee('other.test', true);
    const open = getSigchains.response.parse((await batch(alice.token, [OTHER])).json());
    expect(open).toMatchObject({ missing: [], chains: [{ address: OTHER, userId: await userIdOf(h, OTHER) }] });
    await admin.api.setCrossDomainE2ee('example.test', false);
    expect(getSigchains.response.parse((await batch(alice.token, [OTHER])).json()).missing).toEqual([OTHER]);
  });

  it('a session still setting up its device reads only its own chain; bad lists are refused with 400', async () => {
    const token = await signIn(BOB); // a new sign-in, not bound to a device yet
    const own = await batch(token, [BOB]);
    expect(own.statusCode).toBe(200);
    expect(getSigchains.response.parse(own.json()).chains).toHaveLength(1);
    const more = await batch(token, [BOB, ALICE]);
    expect(more.statusCode).toBe(403);
    expect(more.json()).toMatchObject({ error: { code: 'DEVICE_REQUIRED' } });
    // Unknown addresses tell a set-up session nothing either: refused the same way.
    expect((await batch(token, [BOB, 'nobody@example.test'])).json()).toMatchObject({ error: { code: 'DEVICE_REQUIRED' } });
    expect((await batch(admin.token, [])).statusCode).toBe(400);
    expect((await batch(admin.token, Array.from({ length: 102 }, (_, i) => `u${i}@example.test`))).statusCode).toBe(400);
    expect((await batch(admin.token, ['not an address'])).statusCode).toBe(400);
    expect((await h.app.inject({ method: 'POST', url: getSigchains.path, payload: { addresses: [BOB] } })).statusCode).toBe(401);
  });
});

describe('sending on the batch', () => {
  it('a send to several recipients asks the directory once, and every chain is still verified and pinned', async () => {
    const calls: string[] = [];
    const api = Object.assign(Object.create(admin.api) as ApiClient, {
      sigchain: async (a: string) => (calls.push(`one:${a}`), admin.api.sigchain(a)),
      sigchains: async (as: string[]) => (calls.push(`batch:${as.join(',')}`), admin.api.sigchains(as)),
    });
    const store = memoryKeyStore();
    await store.saveDevice((await admin.store.loadDevice(ADMIN))!);
    const mail = new Mailer(api, new Identity(api, store), ADMIN);
    const sent = await mail.send({ to: [ALICE, BOB], subject: 'Both of you', text: 'one lookup' });
    expect(sent.delivered).toEqual(expect.arrayContaining([ALICE, BOB]));
    expect(calls).toEqual([`batch:${ALICE},${BOB},${ADMIN}`]);
    // Pinned as a single lookup pins: the store knows both recipients and this user now.
    for (const a of [ALICE, BOB, ADMIN]) expect(await store.loadRecord(`address:${a}`)).toMatchObject({ address: a, length: expect.any(Number) });
  });

  it('a forged link at the end of a chain in the batch is refused; nothing is sent', async () => {
    const real = await admin.api.sigchain(ALICE);
    const state = replaySigchain(real.links.map(fromBase64Url), { userId: real.userId });
    const forged = createLink({ userId: real.userId, seqno: state.length, prev: state.headHash, time: Date.now(), signer: generateDeviceKeys(), body: { type: LinkType.DelegateGrant, delegate: { userId: await userIdOf(h, ADMIN), address: ADMIN, chain: { length: 1, head: new Uint8Array(32) }, rights: DelegateRights.Read } } });
    const hostile = hostileBatch(admin, ADMIN, async (a) => (a === ALICE ? { ...real, links: [...real.links, toBase64Url(forged.bytes)], storedAt: [...real.storedAt, new Date().toISOString()] } : undefined));
    const before = await h.db.prisma.message.count();
    await expect(hostile.mail.send({ to: [BOB, ALICE], subject: 'x', text: 'y' })).rejects.toMatchObject({ code: 'RECIPIENT_CHAIN_INVALID', address: ALICE });
    expect(await h.db.prisma.message.count()).toBe(before);
  });

  it('a rolled-back chain in the batch is refused (ROLLBACK) against the pin of an earlier send', async () => {
    // Admin pinned Alice's chain in the tests above; Alice adds a device-request link now (a new sign-in asking to join).
    const pinned = await admin.api.sigchain(ALICE);
    const phone = await signIn(ALICE);
    const phoneApi = new ApiClient({ baseUrl: 'http://api.invalid', fetch: injectFetch(h.app), token: phone });
    await new Identity(phoneApi, memoryKeyStore()).setUpThisDevice({ address: ALICE, name: 'phone', kind: 'cli' });
    await admin.mail.send({ to: [ALICE], subject: 'pins the newer history', text: 'x' });
    expect((await admin.api.sigchain(ALICE)).links.length).toBeGreaterThan(pinned.links.length);
    const hostile = hostileBatch(admin, ADMIN, async (a) => (a === ALICE ? pinned : undefined));
    await expect(hostile.mail.send({ to: [ALICE], subject: 'x', text: 'y' })).rejects.toMatchObject({ code: 'RECIPIENT_CHAIN_INVALID', message: expect.stringContaining('older key history') });
  });

  it('another user’s chain under an address, or no answer for it, is refused', async () => {
    const bobChain = await admin.api.sigchain(BOB);
    const swapped = hostileBatch(admin, ADMIN, async (a) => (a === ALICE ? { ...bobChain, address: ALICE } : undefined));
    await expect(swapped.mail.send({ to: [ALICE], subject: 'x', text: 'y' })).rejects.toMatchObject({ code: 'RECIPIENT_CHAIN_INVALID', message: expect.stringContaining('another account') });
    // A batch that leaves an address out (neither a chain nor missing) does not let it through.
    const silent = Object.assign(Object.create(admin.api) as ApiClient, {
      sigchains: async (as: string[]) => {
        const all = await admin.api.sigchains(as);
        return { chains: all.chains.filter((c) => c.address !== BOB), missing: [] };
      },
    });
    const mail = new Mailer(silent, new Identity(silent, admin.store), ADMIN);
    await expect(mail.send({ to: [BOB], subject: 'x', text: 'y' })).rejects.toMatchObject({ code: 'BAD_RESPONSE' });
    // And the honest server still works for the same device afterwards.
    const ok = await admin.mail.send({ to: [ALICE, BOB], subject: 'still fine', text: 'z' });
    expect(ok.delivered).toEqual(expect.arrayContaining([ALICE, BOB]));
  });
});
