/**
 * What the client shows is what it verified (issue 11): every attack of the review, performed
 * against the real client code (Identity, Mailer) and the real API on a real Postgres. The hostile
 * server is a stand-in ApiClient that answers some calls with forged data and passes the rest to
 * the real API; the hostile colleague is an ordinary user of the organisation with code of their own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '@sealmail/client';
import { buildMime, Identity, Mailer, MailError, memoryKeyStore, TrustError, type KeyStore } from '@sealmail/client/identity';
import type { EntryView } from '@sealmail/contract';
import {
  currentPuk,
  encodeRecipientBox,
  fromBase64Url,
  keyId,
  recipientDigest,
  sealBox,
  sealMail,
  toBase64Url,
  type PerUserKey,
} from '@sealmail/crypto';
import { harness, injectFetch, type Harness } from './helpers';

let h: Harness;
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const ADMIN = 'admin@example.test';

/** A signed-in device of a user: its own key store, the real client over the real API. */
async function signedIn(address: string, store: KeyStore = memoryKeyStore()) {
  const res = await h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address, password: h.password(address) } });
  const token = (res.json() as { token: string }).token;
  const api = new ApiClient({ baseUrl: 'http://api.invalid', fetch: injectFetch(h.app), token });
  const identity = new Identity(api, store);
  const setup = await identity.setUpThisDevice({ address, name: `${address.split('@')[0]} device`, kind: 'cli' });
  return { api, identity, store, token, setup, mail: new Mailer(api, identity, address) };
}
type Device = Awaited<ReturnType<typeof signedIn>>;

/** The same device (key store) seen through a server that lies on the calls in `lies`. */
function throughHostileServer(d: Device, address: string, lies: Partial<ApiClient>) {
  // A server lying about a chain lies in the batch lookup too (sending asks for all chains at once).
  const one = lies.sigchain;
  const batch = one && !lies.sigchains ? { sigchains: async (as: string[]) => ({ chains: await Promise.all(as.map((a) => one(a))), missing: [] }) } : {};
  const api = Object.assign(Object.create(d.api) as ApiClient, lies, batch);
  const identity = new Identity(api, d.store);
  return { api, identity, mail: new Mailer(api, identity, address) };
}

const tick = () => void (h.clock.now = new Date(h.clock.now.getTime() + 60_000));

let alice: Device;
let alicePhone: Device;
let bob: Device;
let admin: Device;

beforeAll(async () => {
  h = await harness();
  alice = await signedIn(ALICE);
  bob = await signedIn(BOB);
  admin = await signedIn(ADMIN);
}, 60_000);
afterAll(async () => {
  await h?.close();
});

type Me = Awaited<ReturnType<Identity['thisDevice']>>;
type Chain = Awaited<ReturnType<Identity['verifiedChain']>>;

/** Seals a mail with a device's keys the way a custom client could, for one recipient's newest key (and the sender's copy). */
function sealWith(me: Me, rcpt: Chain, mime: Uint8Array, chain: { length: number; head: Uint8Array } | null, senderCopy = false) {
  const key = (c: { userId: string; state: Chain['state'] }) => {
    const puk = currentPuk(c.state!);
    return { userId: c.userId, generation: puk.generation, publicKeys: puk.keys };
  };
  return sealMail({
    messageId: `${crypto.randomUUID()}@example.test`,
    sender: { kind: 'device', userId: me.userId, deviceId: me.device.deviceId, signingSecretKey: me.keys.signing.secretKey, signingPublicKey: me.keys.signing.publicKey, ...(chain ? { chain } : {}) },
    pieces: [{ kind: 'body', plaintext: mime }],
    to: [key(rcpt)],
    ...(senderCopy ? { senderCopy: key(me) } : {}),
  });
}

/** Seals with `sender`'s device at its current chain position (or the one given). */
async function sealAs(sender: Device, senderAddress: string, to: string, mime: Uint8Array, opts: { chain?: { length: number; head: Uint8Array } | null; senderCopy?: boolean } = {}) {
  const me = await sender.identity.thisDevice(senderAddress);
  const chain = opts.chain === undefined ? { length: me.state.length, head: me.state.headHash } : opts.chain;
  return sealWith(me, await sender.identity.verifiedChain(to), mime, chain, opts.senderCopy);
}

const mimeFrom = (from: string, subject: string) => buildMime({ from: { name: '', address: from }, to: [ADMIN], cc: [], subject, text: `${subject} body`, date: new Date(), messageId: `<${crypto.randomUUID()}@example.test>`, references: [], attachments: [] });

/** A forged entry for `reader`: an honest entry's metadata with the forger's ciphertexts in it. */
function forgedEntry(template: EntryView, sealed: Awaited<ReturnType<typeof sealAs>>, record?: Uint8Array): EntryView {
  return { ...template, id: crypto.randomUUID(), envelope: toBase64Url(sealed.envelope), manifest: toBase64Url(sealed.manifest), box: toBase64Url(record ?? sealed.boxes[0]!.record), body: toBase64Url(sealed.pieces[0]!) };
}

let honest: EntryView;

describe('what the reader is shown', () => {
  it('control: an honest mail opens as E2E Encrypted, signed, from its verified sender, with their safety number', async () => {
    await alice.mail.send({ to: [ADMIN], subject: 'Honest', text: 'Hello' });
    const m = await admin.mail.open((await admin.mail.list({ folder: 'inbox' })).items.find((i) => 'subject' in i && i.subject === 'Honest')!.entryId);
    expect(m.protection).toBe('E2E Encrypted');
    expect(m.signature).toBe('signed-valid');
    expect(m.warning).toBeNull();
    expect(m.sender.address).toBe(ALICE);
    expect(m.senderSafety?.number).toMatch(/^\d{4}( \d{4}){4}$/);
    honest = m.entry;
  });

  it('1. a colleague who writes another user’s address into the sealed From is shown as themselves, with a warning, not verified', async () => {
    // Bob, an ordinary user, seals with his own device but claims to be Alice.
    const sealed = await sealAs(bob, BOB, ADMIN, mimeFrom(ALICE, 'Urgent: wire the money'), { senderCopy: true });
    const boxes = sealed.boxes.map((b) => ({ address: b.role === 'sender-copy' ? BOB : ADMIN, record: toBase64Url(b.record) }));
    await bob.api.sendMail({ draft: false, envelope: toBase64Url(sealed.envelope), manifest: toBase64Url(sealed.manifest), body: toBase64Url(sealed.pieces[0]!), attachments: [], to: [ADMIN], cc: [], bcc: [], boxes });
    tick();
    const listed = (await admin.mail.list({ folder: 'inbox' })).items.find((i) => 'subject' in i && i.subject === 'Urgent: wire the money');
    expect(listed && 'from' in listed && listed.from.address).toBe(BOB);
    const m = await admin.mail.open(listed!.entryId);
    expect(m.signature).toBe('signed-valid'); // Bob's device really signed it…
    expect(m.protection).toBe('Unverified'); // …but not as Alice.
    expect(m.sender.address).toBe(BOB);
    expect(m.warning).toContain(`says it is from ${ALICE}`);
    expect(m.warning).toContain(`signed by a device of ${BOB}`);
  });

  it('2. an unsigned mail the server claims a user’s device sent is not labelled E2E Encrypted', async () => {
    // The server has Admin's public key and Alice's public device keys: it seals a box without a signature.
    const sealed = await sealAs(alice, ALICE, ADMIN, mimeFrom(ALICE, 'Forged by the server'));
    const adminChain = await alice.identity.verifiedChain(ADMIN);
    const puk = currentPuk(adminChain.state!);
    const digest = recipientDigest(sealed.envelope, { role: 'to', userId: adminChain.userId, generation: puk.generation, keyId: keyId(puk.keys) });
    const unsigned = new Uint8Array(33);
    unsigned.set(sealed.messageKey, 0); // message key, then hasSignature = 0
    const box = sealBox({ recipientPublicKey: puk.keys.encryptionPublicKey, purpose: 'mail-recipient', context: digest, plaintext: unsigned });
    const record = encodeRecipientBox({ role: 'to', userId: adminChain.userId, generation: puk.generation, box });
    const forged = forgedEntry(honest, sealed, record);
    const hostile = throughHostileServer(admin, ADMIN, { getMail: async () => forged });
    const m = await hostile.mail.open(forged.id);
    expect(m.signature).toBe('not-signed');
    expect(m.protection).toBe('Server Encrypted');
    expect(m.warning).toContain('carries no signature');
  });

  it('3. an address the server maps to another account is refused, for reading and sending, across restarts', async () => {
    const bobChain = await bob.api.sigchain(BOB);
    // Admin has verified Alice before (the honest mail). Now the server says alice@ is Bob's account.
    const swap = { sigchain: async (address: string) => (address === ALICE ? { ...bobChain, address: ALICE } : admin.api.sigchain(address)) };
    const hostile = throughHostileServer(admin, ADMIN, swap);
    await expect(hostile.identity.verifiedChain(ALICE)).rejects.toMatchObject({ name: 'TrustError', code: 'IDENTITY_CHANGED' });
    await expect(hostile.mail.send({ to: [ALICE], subject: 'x', text: 'y' })).rejects.toMatchObject({ code: 'RECIPIENT_CHAIN_INVALID', message: expect.stringContaining('another account') });
    // A new address that the server says is Alice's account: refused too (the user id is pinned to alice@).
    const alias = { sigchain: async (address: string) => (address === 'ceo@example.test' ? { ...(await admin.api.sigchain(ALICE)), address } : admin.api.sigchain(address)) };
    await expect(throughHostileServer(admin, ADMIN, alias).identity.verifiedChain('ceo@example.test')).rejects.toBeInstanceOf(TrustError);
    // The pin outlives this Identity (a restart keeps the store).
    await expect(new Identity(hostile.api, admin.store).verifiedChain(ALICE)).rejects.toMatchObject({ code: 'IDENTITY_CHANGED' });
    // Alice's mail read through the lying server is not attributed to her.
    const m = await hostile.mail.open(honest);
    expect(m.protection).toBe('Unverified');
    expect(m.warning).toContain('another account');
  });

  it('4. a key generation the chain does not have is refused (KEY_MISMATCH), and nothing opens with it', async () => {
    const mine = await admin.identity.thisDevice(ADMIN);
    const real = await admin.api.pukBoxes(mine.device.deviceId);
    // The server hands out a box for generation 99 it made itself (it can box to the device's public key).
    const phantom = { ...real.boxes[0]!, generation: 99 };
    const hostile = throughHostileServer(admin, ADMIN, { pukBoxes: async () => ({ ...real, boxes: [...real.boxes, phantom] }) });
    await expect(hostile.identity.perUserKeys(ADMIN)).rejects.toMatchObject({ code: 'KEY_MISMATCH' });
    await expect(hostile.mail.open(honest)).rejects.toBeInstanceOf(MailError);
  });
});

describe('devices and time', () => {
  let beforeRevocation: string;

  it('8. the password alone gets a device that receives nothing: no key generation is made for it', async () => {
    const attacker = await signedIn(ALICE);
    expect(attacker.setup.outcome).toBe('pending');
    expect(await attacker.identity.perUserKeys(ALICE)).toEqual([]);
    // Mail sent to Alice now is sealed to a generation only her approved devices hold.
    await bob.mail.send({ to: [ALICE], subject: 'For Alice only', text: 'secret' });
    tick();
    // The server does not even list mail to a session whose device waits (issue 12); and were it to, nothing opens.
    await expect(attacker.mail.list({ folder: 'inbox' })).rejects.toMatchObject({ code: 'DEVICE_NOT_APPROVED' });
    const inbox = (await alice.api.listMail({ folder: 'inbox' })).entries;
    const forAlice = inbox.find((e) => e.from === BOB)!;
    await expect(throughHostileServer(attacker, ALICE, { getMail: async () => forAlice }).mail.open(forAlice.id)).rejects.toMatchObject({ code: 'OPEN_FAILED' });
    expect((await alice.mail.list({ folder: 'inbox' })).items.some((i) => 'subject' in i && i.subject === 'For Alice only')).toBe(true);
    // Alice rejects it; the attacker's next try is again a request that gets nothing.
    const waiting = (await alice.identity.devices(ALICE)).find((d) => d.status === 'pending')!;
    await alice.identity.revoke(ALICE, waiting.id);
    const again = await signedIn(ALICE);
    expect(again.setup.outcome).toBe('pending');
    expect(await again.identity.perUserKeys(ALICE)).toEqual([]);
    const stillWaiting = (await alice.identity.devices(ALICE)).find((d) => d.status === 'pending')!;
    await alice.identity.revoke(ALICE, stillWaiting.id);
  });

  it('6. a pending (self-added, never approved) device’s signature does not verify as signed-valid', async () => {
    const pending = await signedIn(ALICE);
    expect(pending.setup.outcome).toBe('pending');
    // Public keys are no secret: the admin's come from any other device's view.
    const me = await pending.identity.thisDevice(ALICE);
    const sealed = await sealWith(me, await bob.identity.verifiedChain(ADMIN), mimeFrom(ALICE, 'From a device nobody approved'), { length: me.state.length, head: me.state.headHash });
    const forged = forgedEntry(honest, sealed);
    const m = await throughHostileServer(admin, ADMIN, { getMail: async () => forged }).mail.open(forged.id);
    expect(m.protection).toBe('Unverified');
    expect(m.signature).not.toBe('signed-valid');
    expect(m.warning).toContain('was not approved yet');
    await alice.identity.revoke(ALICE, (await alice.identity.devices(ALICE)).find((d) => d.status === 'pending')!.id);
  });

  it('approval by another device: a new generation for all, the older ones in a signed history box', async () => {
    alicePhone = await signedIn(ALICE);
    expect(alicePhone.setup.outcome).toBe('pending');
    const approved = await alice.identity.approve(ALICE, alicePhone.setup.device.deviceId);
    expect(approved.status).toBe('approved');
    const laptopKeys = (await alice.identity.perUserKeys(ALICE)).map((p: PerUserKey) => p.generation);
    const phoneKeys = (await alicePhone.identity.perUserKeys(ALICE)).map((p: PerUserKey) => p.generation);
    expect(phoneKeys).toEqual(laptopKeys);
    expect(phoneKeys.at(-1)).toBe(currentPuk((await alice.identity.thisDevice(ALICE)).state).generation);
    // The history came in one signed box from the laptop, and nowhere else.
    const boxes = await alicePhone.api.pukBoxes(alicePhone.setup.device.deviceId);
    expect(boxes.history?.fromDeviceId).toBe((await alice.identity.thisDevice(ALICE)).device.deviceId);
    expect(boxes.boxes.map((b) => b.generation)).toEqual([phoneKeys.at(-1)]);
  });

  it('5. revocation is judged by chain position: mail signed before stays valid; a revoked device cannot back-date', async () => {
    // The laptop writes, then is lost; the phone revokes it.
    await alice.mail.send({ to: [ADMIN], subject: 'Before the laptop was lost', text: 'ok' });
    tick();
    beforeRevocation = (await admin.mail.list({ folder: 'inbox' })).items.find((i) => 'subject' in i && i.subject === 'Before the laptop was lost')!.entryId;
    // What the thief has: the laptop's keys and what it last saw; the laptop's sessions end at revocation.
    const stolen = await alice.identity.thisDevice(ALICE);
    const adminChain = await alicePhone.identity.verifiedChain(ADMIN);
    await alicePhone.identity.revoke(ALICE, stolen.device.deviceId);
    tick();
    const old = await admin.mail.open(beforeRevocation);
    expect(old.protection).toBe('E2E Encrypted');
    expect(old.warning).toBeNull();

    // The thief seals with the stolen keys, naming the old position; the mail arrives after the revocation.
    const backdated = await sealWith(stolen, adminChain, mimeFrom(ALICE, 'Back-dated'), { length: stolen.state.length, head: stolen.state.headHash });
    const late = { ...forgedEntry(honest, backdated), receivedAt: new Date(h.clock.now.getTime() + 60_000).toISOString() };
    const m = await throughHostileServer(admin, ADMIN, { getMail: async () => late }).mail.open(late.id);
    expect(m.protection).toBe('Unverified');
    expect(m.warning).toContain('revoked before this mail arrived');
    // Naming the current position instead: the device was revoked there.
    const current = await admin.identity.verifiedChain(ALICE);
    const now = await sealWith(stolen, adminChain, mimeFrom(ALICE, 'After'), { length: current.state!.length, head: current.state!.headHash });
    const forged = forgedEntry(honest, now);
    const m2 = await throughHostileServer(admin, ADMIN, { getMail: async () => forged }).mail.open(forged.id);
    expect(m2.protection).toBe('Unverified');
    expect(m2.warning).toContain('had been revoked');
  });

  it('forks between viewers: a mail signed under a history the reader is not shown is flagged', async () => {
    // The phone writes under Alice's current chain; the server withholds the newest link from Admin.
    await alicePhone.mail.send({ to: [ADMIN], subject: 'Under the newest history', text: 'x' });
    tick();
    const entryId = (await admin.mail.list({ folder: 'inbox' })).items.find((i) => 'subject' in i && i.subject === 'Under the newest history')!.entryId;
    const real = await admin.api.sigchain(ALICE);
    const withheld = Object.assign(Object.create(admin.api) as ApiClient, {
      sigchain: async (address: string) => (address === ALICE ? { ...real, links: real.links.slice(0, -1) } : admin.api.sigchain(address)),
    });
    // Admin's device, in a viewer that has not pinned Alice's newest link yet.
    const store = memoryKeyStore();
    await store.saveDevice((await admin.store.loadDevice(ADMIN))!);
    const m = await new Mailer(withheld, new Identity(withheld, store), ADMIN).open(entryId);
    expect(m.protection).toBe('Unverified');
    expect(m.warning).toContain('newer key history');
  });

  it('safety numbers: marked verified, and a change afterwards is flagged in the reader', async () => {
    const view = await admin.identity.safetyNumber(ALICE);
    expect(view).toMatchObject({ verified: false, changedSinceVerified: false });
    expect(await admin.identity.markVerified(ALICE, view.number)).toMatchObject({ verified: true });
    // Alice's own device shows the same number (what the two compare).
    expect((await alicePhone.identity.safetyNumber(ALICE)).number).toBe(view.number);
    // Alice approves another device: the number changes, and Admin is told.
    const tablet = await signedIn(ALICE);
    await alicePhone.identity.approve(ALICE, tablet.setup.device.deviceId);
    await alicePhone.mail.send({ to: [ADMIN], subject: 'After a new device', text: 'x' });
    tick();
    const admin2 = new Mailer(admin.api, admin.identity, ADMIN); // no cached chains
    const entryId = (await admin2.list({ folder: 'inbox' })).items.find((i) => 'subject' in i && i.subject === 'After a new device')!.entryId;
    const m = await admin2.open(entryId);
    expect(m.protection).toBe('E2E Encrypted');
    expect(m.senderSafety).toMatchObject({ verified: false, changedSinceVerified: true });
    expect(m.warning).toContain('safety number changed');
  });
});

describe('starting afresh', () => {
  it('a user with nothing left starts afresh: correspondents see the reset, sending stops until they accept it', async () => {
    // Admin knows Bob's history (it read his mail). Bob loses his only device and his backup key.
    await admin.identity.verifiedChain(BOB);
    const lost = await signedIn(BOB);
    expect(lost.setup.outcome).toBe('pending');
    // The password is checked again, and the reset is recorded.
    await expect(lost.identity.startAfresh({ address: BOB, password: 'wrong', name: 'New laptop', kind: 'cli' })).rejects.toMatchObject({ code: 'PASSWORD_INCORRECT' });
    expect(await h.db.prisma.auditEvent.count({ where: { action: 'keys.reset_failed' } })).toBe(1);
    const fresh = await lost.identity.startAfresh({ address: BOB, password: h.password(BOB), name: 'New laptop', kind: 'cli' });
    expect(fresh.outcome).toBe('first');
    // His old device's sessions ended with it.
    await expect(bob.api.session()).rejects.toMatchObject({ status: 401 });
    // Admin's client does not take the new history silently: sending stops, with the reason.
    await expect(admin.identity.verifiedChain(BOB)).rejects.toMatchObject({ name: 'TrustError', code: 'RESET' });
    await expect(admin.mail.send({ to: [BOB], subject: 'x', text: 'y' })).rejects.toMatchObject({ code: 'RECIPIENT_CHAIN_INVALID', message: expect.stringContaining('afresh') });
    // Mail from the new history shows the reset and offers to accept it.
    const newBob = { ...lost, mail: new Mailer(lost.api, lost.identity, BOB) };
    await newBob.mail.send({ to: [ADMIN], subject: 'I started afresh', text: 'Compare my safety number' });
    tick();
    const reader = new Mailer(admin.api, admin.identity, ADMIN);
    const entryId = (await reader.list({ folder: 'inbox' })).items.find((i) => 'subject' in i && i.subject === 'I started afresh')!.entryId;
    const m = await reader.open(entryId);
    expect(m.protection).toBe('Unverified');
    expect(m.warning).toContain('started their key history afresh');
    expect(m.senderReset).toBe(BOB);
    // A server that swaps a history without a recorded reset is still a fork, not a reset.
    const noRecord = throughHostileServer(admin, ADMIN, { sigchain: async (a: string) => ({ ...(await admin.api.sigchain(a)), resets: [] }) });
    await expect(noRecord.identity.acceptReset(BOB)).rejects.toMatchObject({ code: 'FORK' });
    // Accepted after comparing: sending works, and the new mail verifies.
    await admin.identity.acceptReset(BOB);
    expect((await admin.identity.safetyNumber(BOB)).number).toBe((await lost.identity.safetyNumber(BOB)).number);
    await admin.mail.send({ to: [BOB], subject: 'Welcome back', text: 'ok' });
    const again = await new Mailer(admin.api, admin.identity, ADMIN).open(entryId);
    expect(again.protection).toBe('E2E Encrypted');
    expect(again.senderReset).toBeNull();
  });
});

describe('self boxes', () => {
  it('a label name the server replays onto another label does not open', async () => {
    const work = await admin.mail.createLabel('Board minutes');
    const other = await admin.mail.createLabel('Lunch');
    const { labels } = await admin.api.labels();
    const workRecord = labels.find((l) => l.id === work.id)!.name;
    const hostile = throughHostileServer(admin, ADMIN, { labels: async () => ({ labels: labels.map((l) => (l.id === other.id ? { ...l, name: workRecord } : l)) }) });
    const shown = await hostile.mail.labels();
    expect(shown.find((l) => l.id === work.id)?.name).toBe('Board minutes');
    expect(shown.find((l) => l.id === other.id)?.name).toBe('(label this device cannot read)');
    expect(fromBase64Url(workRecord)[0]).toBe(2);
  });
});
