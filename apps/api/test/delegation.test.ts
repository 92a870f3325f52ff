/**
 * Delegation (issue 16, docs/mail.md "Delegation", docs/sigchain.md §3.2), driven through the real
 * client code (Identity, Mailer, Delegation) against the real API on a real Postgres. Alice is the
 * manager, Bob her delegate, Admin a correspondent. Where the server is the attacker, a stand-in
 * ApiClient answers some calls with forged data and passes the rest to the real API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '@sealmail/client';
import { Delegation, DelegationError, Identity, Mailer, memoryKeyStore, SharedMailboxes, type KeyStore, type MailSummary } from '@sealmail/client/identity';
import { delegatedKeys, delegatedMailList, delegationAppend, sharedMailboxCreate, type EntryView } from '@sealmail/contract';
import { approvedDevices, boxMailboxKey, boxPerUserKey, createLink, currentPuk, DelegateRights, generateDeviceKeys, generatePerUserKey, LinkType, publicKeysOf, SigchainError, toBase64Url, toHex } from '@sealmail/crypto';
import { harness, injectFetch, userIdOf, type Harness } from './helpers';

let h: Harness;
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const ADMIN = 'admin@example.test';
const CANARY_IN = 'canary-delegated-inbox-3f9a1c';
const CANARY_OUT = 'canary-sent-as-manager-b84e22';
const CANARY_LATE = 'canary-after-revocation-61d0e7';

async function signedIn(address: string, store: KeyStore = memoryKeyStore()) {
  const res = await h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address, password: h.password(address) } });
  const token = (res.json() as { token: string }).token;
  const api = new ApiClient({ baseUrl: 'http://api.invalid', fetch: injectFetch(h.app), token });
  const identity = new Identity(api, store);
  await identity.setUpThisDevice({ address, name: `${address.split('@')[0]} device`, kind: 'cli' });
  return { api, identity, store, token, mail: new Mailer(api, identity, address, address.split('@')[0]), delegation: new Delegation(api, identity, address) };
}
type Device = Awaited<ReturnType<typeof signedIn>>;

/** The same device seen through a server that lies on the calls in `lies`. */
function throughHostileServer(d: Device, address: string, lies: Partial<ApiClient>) {
  const api = Object.assign(Object.create(d.api) as ApiClient, lies);
  const identity = new Identity(api, d.store);
  return { api, identity, delegation: new Delegation(api, identity, address) };
}

const tick = () => void (h.clock.now = new Date(h.clock.now.getTime() + 60_000));
const summaries = (items: Awaited<ReturnType<Mailer['list']>>['items']) => items.filter((i): i is MailSummary => 'subject' in i);

let alice: Device;
let bob: Device;
let admin: Device;
let aliceId: string;
let bobMailbox: { userId: string; address: string };
let sentBeforeRevocation: string;

beforeAll(async () => {
  h = await harness();
  alice = await signedIn(ALICE);
  bob = await signedIn(BOB);
  admin = await signedIn(ADMIN);
  aliceId = await userIdOf(h, ALICE);
  bobMailbox = { userId: aliceId, address: ALICE };
}, 60_000);
afterAll(() => h?.close());

describe('granting and reading', () => {
  it('the server holds nothing before a grant: Bob is refused Alice’s mailbox and keys', async () => {
    await expect(bob.api.request(delegatedMailList, { params: { mailboxUserId: aliceId }, query: {} })).rejects.toMatchObject({ status: 403, code: 'MAILBOX_NOT_DELEGATED' });
    await expect(bob.api.request(delegatedKeys, { params: { mailboxUserId: aliceId } })).rejects.toMatchObject({ status: 403, code: 'MAILBOX_NOT_DELEGATED' });
  });

  it('Alice grants Bob read and send-as: a signed link in her key history, her keys boxed to his', async () => {
    await admin.mail.send({ to: [ALICE], subject: `Before the grant ${CANARY_IN}`, text: `Old mail ${CANARY_IN}` });
    tick();
    const g = await alice.delegation.grant(BOB, 'send');
    expect(g).toMatchObject({ address: BOB, rights: 'send' });
    const chain = await admin.identity.verifiedChain(ALICE);
    expect(chain.state!.delegations).toHaveLength(1);
    expect(chain.state!.delegations[0]!.delegate).toMatchObject({ address: BOB, rights: DelegateRights.ReadAndSend });
    expect(await alice.delegation.grants()).toEqual([{ delegateUserId: await userIdOf(h, BOB), address: BOB, rights: 'send' }]);
    expect(await bob.delegation.mailboxes()).toEqual([{ userId: aliceId, address: ALICE, displayName: expect.any(String), rights: 'send', shared: false }]);
    // Granting twice is refused on the device (and would not replay).
    await expect(alice.delegation.grant(BOB, 'read')).rejects.toMatchObject({ code: 'ALREADY_GRANTED' });
  });

  it('Bob reads Alice’s mail, older and newer, decrypted on his device', async () => {
    const file = new TextEncoder().encode(`attached ${CANARY_IN}`);
    await admin.mail.send({ to: [ALICE], subject: `After the grant ${CANARY_IN}`, text: `New mail ${CANARY_IN}`, attachments: [{ name: 'terms.txt', type: 'text/plain', size: file.length, stream: () => new Blob([file]).stream() }] });
    const mbox = bob.delegation.mailer(bobMailbox, 'Bob');
    const items = summaries((await mbox.list({ folder: 'inbox' })).items);
    expect(items.map((i) => i.subject).sort()).toEqual([`After the grant ${CANARY_IN}`, `Before the grant ${CANARY_IN}`]);
    for (const i of items) {
      expect(i.protection).toBe('E2E Encrypted');
      expect(i.from.address).toBe(ADMIN);
    }
    const opened = await mbox.open(items.find((i) => i.subject.startsWith('After'))!.entryId);
    expect(opened.mime.text).toContain(CANARY_IN);
    expect(opened.signature).toBe('signed-valid');
    // Its attachment too (the blob is served to a delegate in force).
    expect(new TextDecoder().decode(await mbox.attachmentBytes(opened, 1))).toBe(`attached ${CANARY_IN}`);
    // Admin, who holds no grant, is still refused.
    await expect(admin.api.request(delegatedMailList, { params: { mailboxUserId: aliceId }, query: {} })).rejects.toMatchObject({ code: 'MAILBOX_NOT_DELEGATED' });
  });
});

describe('sending as the manager', () => {
  it('Bob sends as Alice; Admin sees “sent by Bob on behalf of Alice”, and Alice her Sent copy', async () => {
    const mbox = bob.delegation.mailer(bobMailbox, 'Bob');
    tick();
    const sent = await mbox.send({ to: [ADMIN], subject: `On behalf ${CANARY_OUT}`, text: `Sent by Bob for Alice ${CANARY_OUT}` });
    expect(sent.delivered).toEqual([ADMIN]);
    const got = summaries((await admin.mail.list({ folder: 'inbox' })).items).find((i) => i.subject === `On behalf ${CANARY_OUT}`)!;
    expect(got.protection).toBe('E2E Encrypted');
    expect(got.from.address).toBe(ALICE);
    expect(got.sentBy).toBe(BOB);
    const opened = await admin.mail.open(got.entryId);
    expect(opened).toMatchObject({ protection: 'E2E Encrypted', sentBy: BOB, signature: 'signed-valid', warning: null });
    expect(opened.sender.address).toBe(ALICE);
    expect(opened.senderSafety?.address).toBe(BOB);
    sentBeforeRevocation = got.entryId;
    // The Sent copy is Alice's: she (and Bob through the delegation) reads it as sent by Bob.
    const mine = summaries((await alice.mail.list({ folder: 'sent' })).items).find((i) => i.subject === `On behalf ${CANARY_OUT}`)!;
    expect(mine.sentBy).toBe(BOB);
    expect(summaries((await mbox.list({ folder: 'sent' })).items).map((i) => i.subject)).toContain(`On behalf ${CANARY_OUT}`);
  });

  it('without a grant, mail “on behalf of” someone is Unverified and shown as from its signer', async () => {
    // Bob's device seals a mail naming Admin's mailbox, where no grant to him exists. The server
    // would refuse it; a hostile server delivers it anyway.
    const adminId = await userIdOf(h, ADMIN);
    const forger = bob.delegation.mailer({ userId: adminId, address: ADMIN });
    await expect(forger.send({ to: [ALICE], subject: 'x', text: 'y' })).rejects.toMatchObject({ code: 'NOT_GRANTED' });
    const adminChain = (await bob.identity.verifiedChain(ADMIN)).state!;
    const fake = new Mailer(bob.api, bob.identity, BOB, 'Bob', { ...bob.delegation.access(bobMailbox), userId: adminId, address: ADMIN, chain: async () => adminChain });
    await expect(fake.send({ to: [ALICE], subject: 'Wire the money', text: 'now' })).rejects.toMatchObject({ status: 403, code: 'MAILBOX_NOT_DELEGATED' });
    // The same sealed mail, delivered by a hostile server into Alice's inbox:
    let captured: Parameters<ApiClient['sendMail']>[0] | undefined;
    const capture = Object.assign(Object.create(bob.api) as ApiClient, { sendMail: async (m: Parameters<ApiClient['sendMail']>[0]) => ((captured = m), { entryId: '', messageId: '', threadId: '', delivered: [], refused: [] }) });
    await new Mailer(capture, bob.identity, BOB, 'Bob', { ...bob.delegation.access(bobMailbox), userId: adminId, address: ADMIN, chain: async () => adminChain }).send({ to: [ALICE], subject: 'Wire the money', text: 'now' });
    const template = (await alice.api.listMail({ folder: 'inbox' })).entries[0]!;
    const forged: EntryView = { ...template, id: crypto.randomUUID(), from: ADMIN, envelope: captured!.envelope, manifest: captured!.manifest, body: captured!.body, box: captured!.boxes.find((b) => b.address === ALICE)!.record };
    const hostile = new Mailer(Object.assign(Object.create(alice.api) as ApiClient, { getMail: async () => forged }), alice.identity, ALICE);
    const m = await hostile.open(forged.id);
    expect(m.protection).toBe('Unverified');
    expect(m.sentBy).toBeNull();
    expect(m.sender.address).toBe(BOB);
    expect(m.warning).toContain('no right to send as them');
  });
});

describe('a hostile server', () => {
  it('cannot insert a grant: the API refuses it, and a chain served with one does not verify', async () => {
    // A grant to Admin in Alice's history, signed by a key that is no device of hers (the server's own).
    const state = (await admin.identity.verifiedChain(ALICE)).state!;
    const adminChain = (await admin.identity.verifiedChain(ADMIN)).state!;
    const adminId = await userIdOf(h, ADMIN);
    const forged = createLink({ userId: aliceId, seqno: state.length, prev: state.headHash, time: Date.now(), signer: generateDeviceKeys(), body: { type: LinkType.DelegateGrant, delegate: { userId: adminId, address: ADMIN, chain: { length: adminChain.length, head: adminChain.headHash }, rights: DelegateRights.ReadAndSend } } });
    await expect(admin.api.request(delegationAppend, { body: { link: toBase64Url(forged.bytes) } })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    // Posted with Alice's own session: not signed by her device, refused before anything is stored.
    await expect(alice.api.request(delegationAppend, { body: { link: toBase64Url(forged.bytes) } })).rejects.toMatchObject({ code: 'DEVICE_REQUIRED' });
    expect((await alice.api.sigchain(ALICE)).links).toHaveLength(state.length);
    // Served to Admin's client with the forged link at the end: refused before any key is looked at.
    const real = await admin.api.sigchain(ALICE);
    const hostile = throughHostileServer(admin, ADMIN, { sigchain: async (a: string) => (a === ALICE ? { ...real, links: [...real.links, toBase64Url(forged.bytes)], storedAt: [...real.storedAt, new Date().toISOString()] } : admin.api.sigchain(a)) });
    await expect(hostile.delegation.mailboxKeys(bobMailbox)).rejects.toBeInstanceOf(SigchainError);
  });

  it('cannot hand a delegate a key of its own (KEY_MISMATCH) or a grant to someone else', async () => {
    const bobPuk = currentPuk((await bob.identity.verifiedChain(BOB)).state!);
    const made = boxMailboxKey({ mailboxUserId: aliceId, puk: generatePerUserKey(1), delegate: { userId: await userIdOf(h, BOB), generation: bobPuk.generation, encryptionPublicKey: bobPuk.keys.encryptionPublicKey } });
    const hostile = throughHostileServer(bob, BOB, {
      request: (async (contract: { path: string }, opts: never) =>
        contract.path === delegatedKeys.path ? { address: ALICE, boxes: [{ generation: 1, delegateGeneration: made.delegateGeneration, box: toBase64Url(made.box) }] } : bob.api.request(contract as never, opts)) as ApiClient['request'],
    });
    await expect(hostile.delegation.mailboxKeys(bobMailbox)).rejects.toMatchObject({ code: 'KEY_MISMATCH' });
    // Admin holds no grant in Alice's (verified) history, whatever the server answers about keys.
    const asAdmin = throughHostileServer(admin, ADMIN, {});
    await expect(asAdmin.delegation.mailboxKeys(bobMailbox)).rejects.toMatchObject({ code: 'NOT_GRANTED' });
  });

  it('refuses delegation links outside the delegation route, grants to strangers, and grants without keys', async () => {
    const me = await alice.identity.thisDevice(ALICE);
    const bobChain = (await alice.identity.verifiedChain(BOB)).state!;
    const link = (userId: string, address: string) => createLink({ userId: aliceId, seqno: me.state.length, prev: me.state.headHash, time: Date.now(), signer: me.keys, body: { type: LinkType.DelegateGrant, delegate: { userId, address, chain: { length: bobChain.length, head: bobChain.headHash }, rights: DelegateRights.Read } } });
    await expect(alice.api.appendLink(toBase64Url(link(await userIdOf(h, ADMIN), ADMIN).bytes))).rejects.toMatchObject({ code: 'SIGCHAIN_INVALID', message: expect.stringContaining('/api/v1/delegation/links') });
    await expect(alice.api.request(delegationAppend, { body: { link: toBase64Url(link(crypto.randomUUID(), 'nobody@example.test').bytes) } })).rejects.toMatchObject({ status: 400, code: 'DELEGATION_INVALID' });
    await expect(alice.api.request(delegationAppend, { body: { link: toBase64Url(link(await userIdOf(h, ADMIN), BOB).bytes) } })).rejects.toMatchObject({ code: 'DELEGATION_INVALID', message: expect.stringContaining('not the address') });
    await expect(alice.api.request(delegationAppend, { body: { link: toBase64Url(link(await userIdOf(h, ADMIN), ADMIN).bytes) } })).rejects.toMatchObject({ code: 'DELEGATION_INVALID', message: expect.stringContaining('newest key generation') });
    // Nothing was stored by any of them.
    expect((await alice.identity.thisDevice(ALICE)).state.length).toBe(me.state.length);
  });
});

describe('revocation', () => {
  it('rotates Alice’s keys: Bob cannot open mail sealed after it, and the server stops serving him', async () => {
    const before = (await alice.identity.thisDevice(ALICE)).state;
    const pinnedByBob = await bob.api.sigchain(ALICE);
    const stale = bob.delegation.mailer(bobMailbox, 'Bob');
    expect(summaries((await stale.list({ folder: 'inbox' })).items).length).toBeGreaterThan(0); // keys cached now
    tick();
    await alice.delegation.revoke(BOB);
    const after = (await alice.identity.thisDevice(ALICE)).state;
    expect(after.puks.length).toBe(before.puks.length + 1);
    expect(after.delegations[0]!.revokedAt).toBe(after.length - 1);
    tick();
    await admin.mail.send({ to: [ALICE], subject: `After the revocation ${CANARY_LATE}`, text: `Not for Bob ${CANARY_LATE}` });
    // Alice reads it with the new generation.
    expect(summaries((await alice.mail.list({ folder: 'inbox' })).items).map((i) => i.subject)).toContain(`After the revocation ${CANARY_LATE}`);
    // The server no longer serves the mailbox or its keys to Bob.
    await expect(bob.api.request(delegatedMailList, { params: { mailboxUserId: aliceId }, query: {} })).rejects.toMatchObject({ status: 403, code: 'MAILBOX_NOT_DELEGATED' });
    await expect(bob.api.request(delegatedKeys, { params: { mailboxUserId: aliceId } })).rejects.toMatchObject({ status: 403, code: 'MAILBOX_NOT_DELEGATED' });
    expect(await bob.delegation.mailboxes()).toEqual([]);
    expect(await h.db.prisma.mailboxKeyBox.count({ where: { mailboxUserId: aliceId, delegateUserId: await userIdOf(h, BOB) } })).toBe(0);
    // Even a server that kept serving him the new mail: his keys (cached from before) do not open it.
    const newest = (await alice.api.listMail({ folder: 'inbox' })).entries[0]!;
    const keptServing = new Mailer(bob.api, bob.identity, BOB, 'Bob', { ...stale.mailbox!, listEntries: async () => ({ entries: [newest], cursor: null }), getEntry: async () => newest });
    Object.assign(keptServing, { pukCache: await stale.mailbox!.keys() });
    const [item] = (await keptServing.list({ folder: 'inbox' })).items;
    expect(item).toMatchObject({ error: 'This mail could not be decrypted.' });
    await expect(keptServing.open(newest.id)).rejects.toMatchObject({ code: 'OPEN_FAILED' });
    // His client sees the revocation in Alice's history; a server showing him the history from before it is caught.
    await expect(bob.delegation.mailboxKeys(bobMailbox)).rejects.toBeInstanceOf(DelegationError);
    const rolledBack = throughHostileServer(bob, BOB, { sigchain: async (a: string) => (a === ALICE ? pinnedByBob : bob.api.sigchain(a)) });
    await expect(rolledBack.delegation.mailboxKeys(bobMailbox)).rejects.toMatchObject({ name: 'TrustError', code: 'ROLLBACK' });
  });

  it('mail Bob sent as Alice before stays verified; sending as her now is refused', async () => {
    const m = await admin.mail.open(sentBeforeRevocation);
    expect(m).toMatchObject({ protection: 'E2E Encrypted', sentBy: BOB });
    const adminMailboxState = (await bob.identity.verifiedChain(ALICE)).state!;
    const late = new Mailer(bob.api, bob.identity, BOB, 'Bob', { ...bob.delegation.access(bobMailbox), chain: async () => adminMailboxState });
    await expect(late.send({ to: [ADMIN], subject: 'still me', text: 'x' })).rejects.toMatchObject({ code: 'MAILBOX_NOT_DELEGATED' });
  });

  it('a read-only grant reads but cannot send as', async () => {
    await alice.delegation.grant(BOB, 'read');
    const mbox = bob.delegation.mailer(bobMailbox, 'Bob');
    // The regrant shares every generation, the one made at the revocation included.
    expect(summaries((await mbox.list({ folder: 'inbox' })).items).map((i) => i.subject)).toContain(`After the revocation ${CANARY_LATE}`);
    await expect(mbox.send({ to: [ADMIN], subject: 'x', text: 'y' })).rejects.toMatchObject({ code: 'MAILBOX_NOT_DELEGATED' });

    // Alice's keys rotate for another reason (here a plain puk-rotate): Bob lacks the new generation
    // until a device of hers shares it (the web client does when Settings or the mailbox opens).
    const me = await alice.identity.thisDevice(ALICE);
    const puk = generatePerUserKey(me.state.puks.length + 1);
    const rotate = createLink({ userId: aliceId, seqno: me.state.length, prev: me.state.headHash, time: Date.now(), signer: me.keys, body: { type: LinkType.PukRotate, puk: { generation: puk.generation, keys: publicKeysOf(puk) } }, newKeys: [puk] });
    const boxes = boxPerUserKey({ userId: aliceId, puk, devices: approvedDevices(me.state).map((d) => ({ deviceId: toHex(d.id), encryptionPublicKey: d.keys.encryptionPublicKey })) });
    await alice.api.appendLink(toBase64Url(rotate.bytes), boxes.map((b) => ({ deviceId: b.deviceId, generation: b.generation, box: toBase64Url(b.box) })));
    tick();
    await admin.mail.send({ to: [ALICE], subject: 'After a rotation', text: 'new generation' });
    const before = summaries((await bob.delegation.mailer(bobMailbox).list({ folder: 'inbox' })).items).map((i) => i.subject);
    expect(before).not.toContain('After a rotation');
    expect(await alice.delegation.shareNewKeys()).toBe(1);
    expect(await alice.delegation.shareNewKeys()).toBe(0);
    expect(summaries((await bob.delegation.mailer(bobMailbox).list({ folder: 'inbox' })).items).map((i) => i.subject)).toContain('After a rotation');
    await alice.delegation.revoke(BOB);
  });
});

describe('shared mailboxes', () => {
  const SUPPORT = 'support@example.test';
  const CANARY_SHARED = 'canary-shared-mailbox-0d5e73';
  let support: { userId: string; address: string };

  it('an admin creates support@: a key history started by the admin’s device, a mailbox nobody signs in to', async () => {
    const shared = new SharedMailboxes(admin.api, admin.identity, ADMIN);
    // (A fresh re-authentication is needed: the admin signed in moments ago.)
    support = await shared.create(SUPPORT, 'Support');
    const chain = await alice.identity.verifiedChain(SUPPORT);
    expect(chain.userId).toBe(support.userId);
    expect(chain.state!.devices.size).toBe(1);
    // Nobody signs in to it.
    const res = await h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address: SUPPORT, password: '!shared-mailbox' } });
    expect(res.statusCode).toBe(401);
    // Only an admin creates one; another user cannot even see the list.
    await expect(new SharedMailboxes(bob.api, bob.identity, BOB).create('sales@example.test')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(await h.db.prisma.auditEvent.count({ where: { action: 'delegation.shared_mailbox_create' } })).toBe(1);
    // Bad input is a 4xx naming what to fix, never a 500.
    const create = (body: unknown) => admin.api.request(sharedMailboxCreate, { body: body as never });
    await expect(create({ address: 'not an address' })).rejects.toMatchObject({ status: 400, code: 'VALIDATION_FAILED', field: 'body.address' });
    await expect(create({ address: 'help@elsewhere.example' })).rejects.toMatchObject({ status: 400, code: 'VALIDATION_FAILED', message: expect.stringContaining('not a domain of your organisation') });
    await expect(create({ address: SUPPORT })).rejects.toMatchObject({ status: 409, code: 'ADDRESS_TAKEN' });
    await expect(create({ address: ALICE })).rejects.toMatchObject({ status: 409, code: 'ADDRESS_TAKEN' });
    await expect(create({ address: 'desk@example.test', displayName: 'Desk <evil>' })).rejects.toMatchObject({ status: 400, code: 'VALIDATION_FAILED', field: 'body.displayName' });
  });

  it('members added by the admin see it in their switcher, read it and answer as it; a removed member loses it', async () => {
    const shared = new SharedMailboxes(admin.api, admin.identity, ADMIN);
    await shared.addMember(support, ALICE, 'read');
    await shared.addMember(support, BOB, 'send');
    expect((await shared.list()).find((m) => m.address === SUPPORT)!.members.sort((a, b) => a.address.localeCompare(b.address))).toEqual([
      { address: ALICE, rights: 'read' },
      { address: BOB, rights: 'send' },
    ]);
    expect((await alice.delegation.mailboxes()).find((m) => m.address === SUPPORT)).toMatchObject({ shared: true, rights: 'read' });
    tick();
    await admin.mail.send({ to: [SUPPORT], subject: `Help ${CANARY_SHARED}`, text: `My printer ${CANARY_SHARED}` });
    for (const member of [alice, bob]) {
      const items = summaries((await member.delegation.mailer(support).list({ folder: 'inbox' })).items);
      expect(items.map((i) => i.subject)).toEqual([`Help ${CANARY_SHARED}`]);
    }
    // Bob answers as support@; Admin sees who did.
    tick();
    await bob.delegation.mailer(support, 'Bob').send({ to: [ADMIN], subject: `Re: Help ${CANARY_SHARED}`, text: 'Try turning it off and on.' });
    const answer = summaries((await admin.mail.list({ folder: 'inbox' })).items).find((i) => i.subject === `Re: Help ${CANARY_SHARED}`)!;
    expect(answer).toMatchObject({ protection: 'E2E Encrypted', sentBy: BOB });
    expect(answer.from.address).toBe(SUPPORT);
    // Alice may read, not answer.
    await expect(alice.delegation.mailer(support).send({ to: [ADMIN], subject: 'x', text: 'y' })).rejects.toMatchObject({ code: 'MAILBOX_NOT_DELEGATED' });
    // Bob is removed: the mailbox's keys rotate to the device key and Alice only.
    await shared.removeMember(support, BOB);
    await expect(bob.delegation.mailer(support).list({ folder: 'inbox' })).rejects.toMatchObject({ code: 'MAILBOX_NOT_DELEGATED' });
    tick();
    await admin.mail.send({ to: [SUPPORT], subject: 'Second question', text: 'Still broken.' });
    expect(summaries((await alice.delegation.mailer(support).list({ folder: 'inbox' })).items).map((i) => i.subject)).toContain('Second question');
    expect((await shared.list()).find((m) => m.address === SUPPORT)!.members).toEqual([{ address: ALICE, rights: 'read' }]);
  });
});

describe('canary', () => {
  it('no plaintext of the delegated mailbox reaches the server (every table, as text and as hex)', async () => {
    const tables = await h.db.prisma.$queryRaw<{ tablename: string }[]>`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`;
    expect(tables.map((t) => t.tablename)).toEqual(expect.arrayContaining(['messages', 'mailbox_key_boxes', 'delegate_grants', 'sigchain_links']));
    const hex = (s: string) => Buffer.from(s).toString('hex');
    for (const { tablename } of tables) {
      const rows = await h.db.prisma.$queryRawUnsafe<{ t: string }[]>(`SELECT t::text AS t FROM "${tablename}" t`);
      const dump = rows.map((r) => r.t).join('\n');
      for (const canary of [CANARY_IN, CANARY_OUT, CANARY_LATE, 'canary-shared-mailbox-0d5e73']) {
        expect(dump.includes(canary), `${canary} in ${tablename}`).toBe(false);
        expect(dump.includes(hex(canary)), `${canary} (hex) in ${tablename}`).toBe(false);
      }
    }
    // Not vacuous: the mail is there, sealed, and the grants and key boxes were stored.
    expect(await h.db.prisma.message.count()).toBeGreaterThanOrEqual(4);
    expect(await h.db.prisma.delegateGrant.count({ where: { managerUserId: aliceId } })).toBe(2);
  });
});
