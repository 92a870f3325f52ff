/**
 * "What the client shows (or acts on) is what it verified", for contact imports, drafts, export and eDiscovery
 * (from an adversarial review). Real client code (Identity, Mailer, MailTransfer, EscrowAdmin,
 * exportDiscovery) over the real API on a real Postgres; a hostile server is a stand-in ApiClient
 * that lies on some calls (as in trust.test.ts), a hostile colleague an ordinary user sealing with
 * code of their own (the crypto package). Each test failed on the code before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '@sealmail/client';
import { buildMime, ContactBook, DraftSession, EscrowAdmin, exportDiscovery, expandRecipients, Identity, Mailer, memoryKeyStore } from '@sealmail/client/identity';
import { MailTransfer } from '@sealmail/client/transfer';
import { adminDiscoveryMessages, contactImportDelete, contactImportList, contactsImportBoxContext, CONTACTS_IMPORT_BOX_PURPOSE, type EntryView } from '@sealmail/contract';
import { currentPuk, sealBox, sealMail, toBase64Url } from '@sealmail/crypto';
import { harness, signedInDevice, type Harness } from './helpers';

let h: Harness;
const ADMIN = 'admin@example.test';
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const EVE = 'eve@evil.example';

async function deviceOf(address: string) {
  const store = memoryKeyStore();
  const d = await signedInDevice(h.app, address, h.password(address), { store, name: `${address.split('@')[0]} laptop` });
  return { ...d, store, escrow: new EscrowAdmin(d.api, d.identity) };
}
type Device = Awaited<ReturnType<typeof deviceOf>>;

/** The same device (its key store, so its pins) through a server that lies on the calls in `lies`. */
function hostile(d: Device, address: string, lies: Partial<ApiClient>) {
  const api = Object.assign(Object.create(d.api) as ApiClient, lies);
  const identity = new Identity(api, d.store);
  return { api, identity, mail: new Mailer(api, identity, address) };
}

/** A mail the server seals itself to `to`'s newest key (anyone can: the public keys are public), as the ingress does. */
async function serverSealed(d: Device, to: string, mime: Uint8Array) {
  const chain = await d.identity.verifiedChain(to);
  const puk = currentPuk(chain.state!);
  return sealMail({ messageId: `${crypto.randomUUID()}@example.test`, sender: { kind: 'external', address: to }, pieces: [{ kind: 'body', plaintext: mime }], to: [{ userId: chain.userId, generation: puk.generation, publicKeys: puk.keys }] });
}

const mime = (from: string, to: string[], subject: string, text: string) => buildMime({ from: { name: '', address: from }, to, cc: [], subject, text, date: new Date(), messageId: `<${crypto.randomUUID()}@example.test>`, references: [], attachments: [] });

/** Bob, an ordinary colleague, seals with his own (valid, approved) device a mail to Alice whose sealed From names Admin. */
async function colleagueForgesFrom(bob: Device, subject: string) {
  const me = await bob.identity.thisDevice(BOB);
  const alice = await bob.identity.verifiedChain(ALICE);
  const key = (userId: string, state: NonNullable<typeof alice.state>) => {
    const p = currentPuk(state);
    return { userId, generation: p.generation, publicKeys: p.keys };
  };
  const sealed = await sealMail({
    messageId: `${crypto.randomUUID()}@example.test`,
    sender: { kind: 'device', userId: me.userId, deviceId: me.device.deviceId, signingSecretKey: me.keys.signing.secretKey, signingPublicKey: me.keys.signing.publicKey, chain: { length: me.state.length, head: me.state.headHash } },
    pieces: [{ kind: 'body', plaintext: mime(ADMIN, [ALICE], subject, 'Please approve the attached transfer today.') }],
    to: [key(alice.userId, alice.state!)],
    senderCopy: key(me.userId, me.state),
  });
  const boxes = sealed.boxes.map((b) => ({ address: b.role === 'sender-copy' ? BOB : ALICE, record: toBase64Url(b.record) }));
  await bob.api.sendMail({ draft: false, envelope: toBase64Url(sealed.envelope), manifest: toBase64Url(sealed.manifest), body: toBase64Url(sealed.pieces[0]!), attachments: [], to: [ALICE], cc: [], bcc: [], boxes });
}

let admin: Device;
let alice: Device;
let bob: Device;

beforeAll(async () => {
  h = await harness();
  admin = await deviceOf(ADMIN);
  alice = await deviceOf(ALICE);
  bob = await deviceOf(BOB);
}, 90_000);
afterAll(() => h?.close());

describe('contacts: an import (which the server could make up) never joins a group the user has', () => {
  it('an "administrator import" the server makes up (a box to the user’s public key) is not merged into a personal distribution list', async () => {
    const book = new ContactBook(alice.api, alice.identity, ALICE);
    await book.create({ name: 'Bob', emails: [{ value: BOB }], groups: ['Board'] });
    const before = (await book.list()).contacts;
    expect(expandRecipients(['Board'], before)).toEqual([BOB]);

    // The server seals an "import" to Alice's newest public key: nobody signs it, so anyone can.
    const me = await alice.identity.thisDevice(ALICE);
    const puk = currentPuk(me.state);
    const importId = crypto.randomUUID();
    const payload = { contacts: [{ name: { display: 'Bob (second address)' }, labels: ['Board'], emails: [{ value: EVE }], phones: [] }] };
    const box = sealBox({ recipientPublicKey: puk.keys.encryptionPublicKey, purpose: CONTACTS_IMPORT_BOX_PURPOSE, context: contactsImportBoxContext(me.userId, importId), plaintext: new TextEncoder().encode(JSON.stringify(payload)) });
    const real = alice.api;
    const server = hostile(alice, ALICE, {
      request: (async (contract: unknown, opts: { params?: Record<string, string> }) => {
        if (contract === contactImportList) return { imports: [{ id: importId, generation: puk.generation, box: toBase64Url(box), count: 1 }] };
        if (contract === contactImportDelete) return { deleted: true };
        return real.request(contract as typeof contactImportList, opts);
      }) as ApiClient['request'],
    });
    // What the web client's key worker does on every first open of the address book (contacts-ops.ts), silently.
    expect(await new ContactBook(server.api, server.identity, ALICE).pickUpImports()).toBe(1);

    // Alice later writes to her group "Board": the device expands it just before sealing.
    const after = (await book.list()).contacts;
    expect(expandRecipients(['Board'], after), 'a server-made contact joined the "Board" distribution list').toEqual([BOB]);
    // The import still lands, in a group of its own.
    expect(expandRecipients(['Board (imported)'], after)).toEqual([EVE]);
  }, 60_000);
});

describe('drafts: Edit draft only continues a draft this user’s own device sealed', () => {
  it('a "draft" the server sealed itself (To: someone the user never picked) is flagged and not continued as the user’s draft', async () => {
    // A real draft gives the entry's shape; the server swaps in ciphertexts it sealed itself.
    await alice.mail.send({ to: [BOB], subject: 'Q3 numbers', text: 'draft text' }, { draft: true });
    const real = (await alice.mail.list({ folder: 'drafts' })).items.find((i) => 'subject' in i && i.subject === 'Q3 numbers')!;
    const sealed = await serverSealed(alice, ALICE, mime(ALICE, [EVE], 'Q3 numbers', 'draft text'));
    const forged: EntryView = { ...real.entry, id: crypto.randomUUID(), envelope: toBase64Url(sealed.envelope), manifest: toBase64Url(sealed.manifest), box: toBase64Url(sealed.boxes[0]!.record), body: toBase64Url(sealed.pieces[0]!), summary: null };
    const server = hostile(alice, ALICE, { getMail: async () => forged });
    const opened = await server.mail.open(forged);
    // The reader offers "Edit draft" for it (folder = drafts, the server's word) and reopenSeed
    // puts opened.mime.to into the composer's To.
    expect(opened.mime.to).toEqual([EVE]);
    expect(opened.ownDraft).toBe(false);
    expect(opened.warning).toContain('no device of yours saved it as a draft');
    await expect(server.mail.continueDraft(opened, new DraftSession(), [])).rejects.toMatchObject({ code: 'OPEN_FAILED' });
    // The real draft is the user's own and continues.
    const mine = await alice.mail.open(real.entryId);
    expect(mine.ownDraft).toBe(true);
    expect(mine.warning).toBeNull();
    await alice.mail.continueDraft(mine, new DraftSession(), []);
  }, 60_000);

  it('a colleague’s mail the server files under Drafts keeps the To/Cc check', async () => {
    // Bob seals to Alice a mail whose To line names Admin, who never gets it (a phantom recipient).
    const me = await bob.identity.thisDevice(BOB);
    const a = await bob.identity.verifiedChain(ALICE);
    const p = currentPuk(a.state!);
    const sealed = await sealMail({
      messageId: `${crypto.randomUUID()}@example.test`,
      sender: { kind: 'device', userId: me.userId, deviceId: me.device.deviceId, signingSecretKey: me.keys.signing.secretKey, signingPublicKey: me.keys.signing.publicKey, chain: { length: me.state.length, head: me.state.headHash } },
      pieces: [{ kind: 'body', plaintext: mime(BOB, [ADMIN], 'phantom', 'x') }],
      to: [{ userId: a.userId, generation: p.generation, publicKeys: p.keys }],
    });
    const real = (await alice.mail.list({ folder: 'drafts' })).items.find((i) => 'subject' in i)!;
    const entry: EntryView = { ...real.entry, id: crypto.randomUUID(), from: BOB, envelope: toBase64Url(sealed.envelope), manifest: toBase64Url(sealed.manifest), box: toBase64Url(sealed.boxes[0]!.record), body: toBase64Url(sealed.pieces[0]!), summary: null };
    const inInbox = await alice.mail.open({ ...entry, folder: 'inbox' });
    expect(inInbox.warning).toContain('it was not sent to');
    const inDrafts = await alice.mail.open({ ...entry, folder: 'drafts' });
    expect(inDrafts.warning).toContain('it was not sent to');
    expect(inDrafts.warning).toContain('no device of yours saved it as a draft');
  }, 60_000);
});

describe('export and discovery write only what the device verified', () => {
  it('a mail export does not present a colleague’s forged From as the sender without saying it is unverified', async () => {
    await colleagueForgesFrom(bob, 'Forged for export');
    const entry = (await alice.mail.list({ folder: 'inbox' })).items.find((i) => 'subject' in i && i.subject === 'Forged for export')!;
    const read = await alice.mail.open(entry.entryId);
    expect(read.protection).toBe('Unverified'); // the reader: shown as from Bob, with a warning
    expect(read.sender.address).toBe(BOB);
    const chunks: Uint8Array[] = [];
    await new MailTransfer(alice.api, alice.identity, alice.mail).exportMail({ folder: 'inbox', format: 'mbox', write: (c) => void chunks.push(c) });
    const text = new TextDecoder().decode(Buffer.concat(chunks));
    const msg = text.split(/^From /m).find((m) => m.includes('Forged for export'))!;
    // The export says, as the reader does, that this is not verifiably from Admin, and whom it is from.
    // (withHeader folds the field every 76 characters with CRLF and a space: unfolded here.)
    expect(msg.replace(/\r?\n /g, '')).toMatch(/^X-Sealmail-Verification: Unverified; from=bob@example\.test; signature=signed-valid; warning="This mail says it is from admin@example\.test, but it was signed by a device of bob@example\.test/m);
    expect(text).toMatch(/^From bob@example\.test /m);
  }, 60_000);

  it('eDiscovery attributes a message to the signer the device verified, and never to a From the server or a colleague wrote', async () => {
    await admin.escrow.enable(ADMIN);
    await alice.identity.acceptEscrow(ALICE);
    const start = new Date(h.clock.now.getTime() - 60_000);
    // A colleague's forged From (the reader shows it as from Bob, Unverified).
    await colleagueForgesFrom(bob, 'Insider tip');
    // The server fabricates a mail "sent by Alice" (it can seal to her public key) and serves it in her Sent folder.
    const fabricated = await serverSealed(admin, ALICE, mime(ALICE, ['rival@competitor.example'], 'Our price list', 'Attached, as promised. Delete after reading.'));
    const realRequest = admin.api.request.bind(admin.api);
    const server = hostile(admin, ADMIN, {
      request: (async (contract: unknown, opts: Parameters<ApiClient['request']>[1]) => {
        const r = await realRequest(contract as typeof adminDiscoveryMessages, opts);
        if (contract !== adminDiscoveryMessages) return r;
        const t = r.entries.at(-1)!;
        const fake: EntryView = { ...t, id: crypto.randomUUID(), folder: 'sent', from: ALICE, to: ['rival@competitor.example'], envelope: toBase64Url(fabricated.envelope), manifest: toBase64Url(fabricated.manifest), box: toBase64Url(fabricated.boxes[0]!.record), body: toBase64Url(fabricated.pieces[0]!), attachments: [], attachmentSizes: [], summary: null };
        return { ...r, entries: [...r.entries, fake] };
      }) as ApiClient['request'],
    });
    const { manifest } = await exportDiscovery(server.api, new EscrowAdmin(server.api, server.identity), { adminAddress: ADMIN, userAddress: ALICE, from: start, to: new Date(h.clock.now.getTime() + 86_400_000), terms: [], caseRef: 'CASE-REVIEW-2' });
    const tip = manifest.messages.find((m) => m.subject === 'Insider tip')!;
    const price = manifest.messages.find((m) => m.subject === 'Our price list');
    expect(tip).toMatchObject({ from: BOB, claimedFrom: ADMIN, protection: 'Unverified', warning: expect.stringContaining('signed by a device of bob@example.test') });
    // The server's fabrication: labelled as the server's own sealing, and flagged as not Alice's sent mail.
    expect(price).toMatchObject({ folder: 'sent', protection: 'Server Encrypted', warning: expect.stringContaining('not signed as sent by a device of alice@example.test') });
    // Alice's own sent mail carries no such flag.
    expect(manifest.messages.filter((m) => m.folder === 'sent' && m.subject !== 'Our price list').every((m) => m.warning === undefined)).toBe(true);
  }, 90_000);
});
