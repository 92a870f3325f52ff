/**
 * End-to-end-encrypted mail through the real API and the real client package (sealing, upload,
 * delivery, reading, attachments, threads, drafts, trash), on a real Postgres. The server must
 * never see a canary in plaintext; users must never reach each other's mail or blobs.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, ApiClientError } from '@sealmail/client';
import { Identity, Mailer, MailError, memoryKeyStore, type AttachmentSource, type OpenedMail } from '@sealmail/client/identity';
import { mailLimits } from '@sealmail/contract';
import { pieceCiphertextLength } from '@sealmail/crypto';
import { seedDemo } from '@sealmail/db';
import { publishMailEvents } from '@sealmail/mailstore';
import { createLogger } from '@sealmail/server';
import { buildApp } from '../src/app';
import { bearer, harness, injectFetch, type Harness } from './helpers';

let h: Harness;
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const ADMIN = 'admin@example.test';
const OTHER = 'alice@other.test';
let otherPasswords: Record<string, string>;

const CANARY_SUBJECT = 'canary-subject-7c41e9';
const CANARY_BODY = 'canary-body-5b22d0';
const CANARY_FILE = 'canary-attachment-91f3aa';

/** One key store per user: every sign-in of a user is the same (approved) device. */
const stores = new Map<string, ReturnType<typeof memoryKeyStore>>();
const storeOf = (address: string) => stores.get(address) ?? stores.set(address, memoryKeyStore()).get(address)!;

/** A signed-in device of a user with its own key store and a Mailer. */
async function userDevice(address: string, password = h.password(address)) {
  const res = await h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address, password } });
  const token = (res.json() as { token: string }).token;
  const api = new ApiClient({ baseUrl: 'http://api.invalid', fetch: injectFetch(h.app), token });
  const identity = new Identity(api, storeOf(address));
  await identity.setUpThisDevice({ address, name: 'Laptop', kind: 'cli' });
  return { api, identity, token, mail: new Mailer(api, identity, address, address.split('@')[0]) };
}
type Device = Awaited<ReturnType<typeof userDevice>>;

/** An in-memory file (what a browser File or the CLI's file source provides). */
function file(name: string, bytes: Uint8Array, type = 'application/octet-stream'): AttachmentSource {
  return {
    name,
    type,
    size: bytes.length,
    stream: () =>
      new ReadableStream({
        start(c) {
          for (let at = 0; at < bytes.length; at += 1 << 20) c.enqueue(bytes.slice(at, at + (1 << 20)));
          c.close();
        },
      }),
  };
}
/** Deterministic pseudo-random bytes with a canary planted at the start. */
function attachmentBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = 0x12345678;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  out.set(new TextEncoder().encode(CANARY_FILE), 0);
  return out;
}
/** Moves the test clock on, so the next mail is the newest in every list. */
const tick = () => void (h.clock.now = new Date(h.clock.now.getTime() + 60_000));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let alice: Device;
let bob: Device;
let admin: Device;
let first: { entryId: string; threadId: string };
let bigFile: Uint8Array;

beforeAll(async () => {
  h = await harness();
  const other = await seedDemo(h.db.prisma, { domain: 'other.test' });
  otherPasswords = Object.fromEntries(other.users.map((u) => [u.address, u.password!]));
  alice = await userDevice(ALICE);
  bob = await userDevice(BOB);
  admin = await userDevice(ADMIN);
});
afterAll(() => h?.close());

describe('sending and reading', () => {
  it('alice sends bob (cc: nobody, bcc: admin) a mail with a 9 MiB attachment; bob reads it and gets the same bytes', async () => {
    bigFile = attachmentBytes(9 * 1024 * 1024 + 123);
    const sent = await alice.mail.send({
      to: [BOB],
      bcc: [ADMIN],
      subject: `Quarterly figures ${CANARY_SUBJECT} — Grüße`,
      text: `Hello Bob,\n${CANARY_BODY}\nAlice`,
      html: `<p>Hello Bob,</p><p>${CANARY_BODY}</p>`,
      attachments: [file('figures.bin', bigFile), file('notes.txt', new TextEncoder().encode('short note'), 'text/plain')],
    });
    expect(sent.delivered.sort()).toEqual([ADMIN, BOB].sort());
    expect(sent.refused).toEqual([]);
    first = { entryId: sent.entryId, threadId: sent.threadId };

    const page = await bob.mail.list({ folder: 'inbox' });
    expect(page.items).toHaveLength(1);
    const item = page.items[0]!;
    expect('error' in item).toBe(false);
    if ('error' in item) return;
    expect(item.subject).toBe(`Quarterly figures ${CANARY_SUBJECT} — Grüße`);
    expect(item.from.address).toBe(ALICE);
    expect(item.protection).toBe('E2E Encrypted');
    expect(item.attachmentCount).toBe(2);
    expect(item.entry.read).toBe(false);

    const opened = await bob.mail.open(item.entryId);
    expect(opened.signature).toBe('signed-valid');
    expect(opened.warning).toBeNull();
    expect(opened.mime.text).toContain(CANARY_BODY);
    expect(opened.mime.html).toContain(CANARY_BODY);
    expect(opened.mime.to).toEqual([BOB]);
    expect(opened.bcc).toEqual([]); // recipients learn nothing of BCC
    expect(opened.attachments.map((a) => [a.filename, a.contentType, a.size])).toEqual([
      ['figures.bin', 'application/octet-stream', bigFile.length],
      ['notes.txt', 'text/plain', 10],
    ]);
    expect(sha(await bob.mail.attachmentBytes(opened, 1))).toBe(sha(bigFile));
    expect(new TextDecoder().decode(await bob.mail.attachmentBytes(opened, 2))).toBe('short note');
    expect(opened.entry.attachmentSizes).toEqual([bigFile.length, 10]);
  });

  it('the BCC recipient and the sender’s Sent copy open too; only the sender sees the BCC list', async () => {
    const [adminItem] = (await admin.mail.list({ folder: 'inbox' })).items;
    const adminOpened = await admin.mail.open(adminItem!.entryId);
    expect(adminOpened.entry.role).toBe('bcc');
    expect(adminOpened.signature).toBe('signed-valid');
    expect(adminOpened.mime.to).toEqual([BOB]);

    const sent = (await alice.mail.list({ folder: 'sent' })).items;
    expect(sent).toHaveLength(1);
    const mine = await alice.mail.open(sent[0]!.entryId);
    expect(mine.entry.role).toBe('sender-copy');
    expect(mine.bcc).toEqual([(await admin.identity.thisDevice(ADMIN)).userId]);
    expect(mine.mime.subject).toContain(CANARY_SUBJECT);
  });

  it('bob replies; both see one conversation', async () => {
    const [item] = (await bob.mail.list({ folder: 'inbox' })).items;
    const opened = await bob.mail.open(item!.entryId);
    tick();
    const reply = await bob.mail.send({ to: [ALICE], subject: `Re: ${opened.mime.subject}`, text: 'Thanks!', inReplyTo: opened });
    expect(reply.threadId).toBe(opened.entry.threadId);

    const aliceThread = await alice.mail.thread(first.threadId);
    expect(aliceThread).toHaveLength(2);
    const [orig, answer] = aliceThread as OpenedMail[];
    expect(orig!.entry.folder).toBe('sent');
    expect(answer!.entry.folder).toBe('inbox');
    expect(answer!.mime.inReplyTo).toBe(orig!.mime.messageId);
    expect(answer!.mime.references).toContain(orig!.mime.messageId);
    expect(answer!.signature).toBe('signed-valid');
  });

  it('nothing the server stored contains a canary (every table, as text and as hex)', async () => {
    const tables = await h.db.prisma.$queryRaw<{ tablename: string }[]>`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`;
    expect(tables.map((t) => t.tablename)).toEqual(expect.arrayContaining(['messages', 'blob_parts', 'mailbox_entries']));
    const hex = (s: string) => Buffer.from(s).toString('hex');
    for (const { tablename } of tables) {
      const rows = await h.db.prisma.$queryRawUnsafe<{ t: string }[]>(`SELECT t::text AS t FROM "${tablename}" t`);
      const dump = rows.map((r) => r.t).join('\n');
      for (const canary of [CANARY_SUBJECT, CANARY_BODY, CANARY_FILE]) {
        expect(dump.includes(canary), `${canary} in ${tablename}`).toBe(false);
        expect(dump.includes(hex(canary)), `${canary} (hex) in ${tablename}`).toBe(false);
      }
    }
    // The blob really is in the database (the check above is not vacuous).
    const stored = await h.db.prisma.$queryRaw<{ n: bigint }[]>`SELECT coalesce(sum(octet_length(data)), 0) AS n FROM blob_parts`;
    expect(Number(stored[0]!.n)).toBeGreaterThan(bigFile.length);
  });
});

describe('the mailbox', () => {
  it('reads, stars, moves and trashes; unread counts follow', async () => {
    let summary = await bob.api.mailSummary();
    expect(summary.folders.find((f) => f.folder === 'inbox')).toEqual({ folder: 'inbox', total: 1, unread: 1 });
    const [item] = (await bob.mail.list({ folder: 'inbox' })).items;
    await bob.api.updateMail(item!.entryId, { read: true, starred: true });
    summary = await bob.api.mailSummary();
    expect(summary.folders.find((f) => f.folder === 'inbox')!.unread).toBe(0);
    expect((await bob.api.listMail({ starred: true })).entries.map((e) => e.id)).toEqual([item!.entryId]);
    await bob.api.updateMail(item!.entryId, { folder: 'archive' });
    expect((await bob.api.listMail({ folder: 'inbox' })).entries).toHaveLength(0);
    expect((await bob.api.listMail({ folder: 'archive' })).entries).toHaveLength(1);
    await expect(bob.api.updateMail(item!.entryId, { labelIds: ['00000000-0000-4000-8000-000000000000'] })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('custom labels: names sealed to the user, applied, filtered by, removed; nobody else’s to use', async () => {
    const work = await bob.mail.createLabel('Projekte Ärger');
    const home = await bob.mail.createLabel('Home');
    expect((await bob.mail.labels()).map((l) => l.name)).toEqual(['Projekte Ärger', 'Home']);
    const stored = await h.db.prisma.label.findMany({ where: { id: { in: [work.id, home.id] } } });
    expect(stored.some((l) => Buffer.from(l.name).includes(Buffer.from('Projekte')) || Buffer.from(l.name).includes(Buffer.from('Home')))).toBe(false);
    const [entry] = (await bob.api.listMail({ folder: 'archive' })).entries;
    await bob.api.updateMail(entry!.id, { labelIds: [work.id, home.id] });
    expect((await bob.api.listMail({ label: work.id })).entries.map((e) => e.id)).toEqual([entry!.id]);
    // Alice can neither use nor delete Bob's labels, nor read their names.
    const [aliceSent] = (await alice.api.listMail({ folder: 'sent', limit: 1 })).entries;
    await expect(alice.api.updateMail(aliceSent!.id, { labelIds: [work.id] })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(alice.api.deleteLabel(work.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await alice.api.labels()).labels).toEqual([]);
    await bob.api.deleteLabel(work.id);
    expect((await bob.api.getMail(entry!.id)).labelIds).toEqual([home.id]);
    expect((await bob.mail.labels()).map((l) => l.name)).toEqual(['Home']);
  });

  it('delete moves to Trash, a second delete removes it for good and frees the space', async () => {
    const used = async (d: Device) => (await d.api.mailSummary()).quota.usedBytes;
    const before = await used(admin);
    const [item] = (await admin.mail.list({ folder: 'inbox' })).items;
    expect((await admin.api.deleteMail(item!.entryId)).deleted).toBe('trash');
    expect((await admin.api.listMail({ folder: 'trash' })).entries).toHaveLength(1);
    expect(await used(admin)).toBe(before);
    expect((await admin.api.deleteMail(item!.entryId)).deleted).toBe('permanently');
    expect(await used(admin)).toBe(before - item!.entry.size);
    await expect(admin.api.getMail(item!.entryId)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // Bob and Alice still have theirs.
    expect((await bob.mail.open((await bob.api.listMail({ folder: 'archive' })).entries[0]!.id)).mime.text).toContain(CANARY_BODY);
  });

  it('drafts are sealed to the sender only, replaced as they are saved, and deleted at once', async () => {
    const d1 = await alice.mail.send({ to: [BOB], subject: 'Draft one', text: 'first words' }, { draft: true });
    const d2 = await alice.mail.send({ to: [BOB], subject: 'Draft two', text: 'more words' }, { draft: true, replacesDraft: d1.entryId });
    const drafts = await alice.mail.list({ folder: 'drafts' });
    expect(drafts.items).toHaveLength(1);
    const draft = await alice.mail.open(drafts.items[0]!.entryId);
    expect(draft.mime.subject).toBe('Draft two');
    expect(draft.mime.to).toEqual([BOB]);
    expect(await h.db.prisma.mailboxEntry.count({ where: { message: { id: draft.entry.messageId } } })).toBe(1);
    // A draft names no recipients to the server.
    await expect(alice.api.sendMail({ draft: true, envelope: 'AA', manifest: 'AA', body: 'AA', to: [BOB], boxes: [{ address: ALICE, record: 'AA' }] })).rejects.toMatchObject({ code: 'MAIL_INVALID' });
    expect((await alice.api.deleteMail(d2.entryId)).deleted).toBe('permanently');
    expect((await alice.api.listMail({ folder: 'drafts' })).entries).toHaveLength(0);
  });

  it('pages newest first with a cursor, without gaps or repeats', async () => {
    for (let i = 0; i < 7; i++) {
      h.clock.now = new Date(h.clock.now.getTime() + 1000);
      await alice.mail.send({ to: [BOB], subject: `Page ${i}`, text: String(i) });
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { entries: { id: string; receivedAt: string }[]; cursor: string | null } = await bob.api.listMail({ folder: 'inbox', limit: 3, cursor });
      expect(page.entries.length).toBeLessThanOrEqual(3);
      seen.push(...page.entries.map((e) => e.id));
      cursor = page.cursor;
    } while (cursor);
    expect(seen).toHaveLength(7);
    expect(new Set(seen).size).toBe(7);
    const subjects = [];
    for (const item of (await bob.mail.list({ folder: 'inbox', limit: 7 })).items) if (!('error' in item)) subjects.push(item.subject);
    expect(subjects).toEqual(['Page 6', 'Page 5', 'Page 4', 'Page 3', 'Page 2', 'Page 1', 'Page 0']);
    await expect(bob.api.listMail({ folder: 'inbox', cursor: 'not-a-cursor' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});

describe('refusals', () => {
  it('attachments over 25 MiB are refused by the client and by the API (413)', async () => {
    const huge: AttachmentSource = { name: 'huge.bin', type: 'application/octet-stream', size: 26 * 1024 * 1024, stream: () => new ReadableStream() };
    await expect(alice.mail.send({ to: [BOB], subject: 'too big', text: '', attachments: [huge] })).rejects.toMatchObject({ code: 'TOO_LARGE' });
    const res = await h.app.inject({ method: 'POST', url: '/api/v1/blobs', headers: bearer(alice.token), payload: { size: pieceCiphertextLength(26 * 1024 * 1024) } });
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe('MESSAGE_TOO_LARGE');
    // Two uploads of 13 MiB each fit one by one but not in one message.
    const half = pieceCiphertextLength(13 * 1024 * 1024);
    const ids: string[] = [];
    for (let k = 0; k < 2; k++) {
      const { blobId, partBytes } = await alice.api.createBlob(half);
      for (let i = 0; i * partBytes < half; i++) await alice.api.uploadPart(blobId, i, new Uint8Array(Math.min(partBytes, half - i * partBytes)));
      await alice.api.completeBlob(blobId);
      ids.push(blobId);
    }
    const sealed = await sealedFor(alice, [BOB]);
    await expect(alice.api.sendMail({ ...sealed, attachments: ids })).rejects.toMatchObject({ status: 413, code: 'MESSAGE_TOO_LARGE' });
  });

  it('a full mailbox: the sender gets QUOTA_EXCEEDED, a full recipient is reported and the others still get the mail', async () => {
    await h.db.prisma.user.update({ where: { id: (await alice.identity.thisDevice(ALICE)).userId }, data: { quotaBytes: 1000 } });
    await expect(alice.mail.send({ to: [BOB], subject: 'x', text: 'y' })).rejects.toMatchObject({ status: 507, code: 'QUOTA_EXCEEDED' });
    await expect(alice.api.createBlob(5000)).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED' });
    await h.db.prisma.user.update({ where: { id: (await alice.identity.thisDevice(ALICE)).userId }, data: { quotaBytes: 1n << 30n } });

    await h.db.prisma.user.update({ where: { id: (await bob.identity.thisDevice(BOB)).userId }, data: { quotaBytes: 1000 } });
    const adminBefore = (await admin.api.listMail({ folder: 'inbox' })).entries.length;
    const r = await alice.mail.send({ to: [BOB, ADMIN], subject: 'to both', text: 'hi' });
    expect(r.refused).toEqual([{ address: BOB, code: 'MAILBOX_FULL' }]);
    expect(r.delivered).toEqual([ADMIN]);
    expect((await admin.api.listMail({ folder: 'inbox' })).entries.length).toBe(adminBefore + 1);
    await h.db.prisma.user.update({ where: { id: (await bob.identity.thisDevice(BOB)).userId }, data: { quotaBytes: 1n << 30n } });
  });

  it('unknown recipients and other organisations: refused before anything is sent, unless both domains allow cross-domain E2EE', async () => {
    await expect(alice.mail.send({ to: ['nobody@example.test'], subject: 'x', text: 'y' })).rejects.toMatchObject({ code: 'NO_E2EE_ROUTE' });
    await expect(alice.mail.send({ to: [OTHER], subject: 'x', text: 'y' })).rejects.toBeInstanceOf(MailError);
    const sealed = await sealedFor(alice, [BOB]);
    await expect(alice.api.sendMail({ ...sealed, cc: [OTHER] })).rejects.toMatchObject({ code: 'E2EE_UNAVAILABLE', field: 'body.cc.0' });
    await expect(alice.api.sendMail({ ...sealed, cc: ['ghost@example.test'] })).rejects.toMatchObject({ code: 'RECIPIENT_UNKNOWN', field: 'body.cc.0' });

    // Both admins turn cross-domain E2EE on; one alone is not enough.
    const other = await userDevice(OTHER, otherPasswords[OTHER]);
    const otherAdmin = await userDevice('admin@other.test', otherPasswords['admin@other.test']);
    await admin.api.setCrossDomainE2ee('example.test', true);
    expect((await admin.api.adminDomains()).domains).toEqual([{ name: 'example.test', crossDomainE2ee: true, encryptionPolicy: null, verifiedAt: expect.any(String) }]);
    await expect(bob.api.adminDomains()).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(await h.db.prisma.auditEvent.count({ where: { action: 'domain.cross_domain_e2ee' } })).toBe(1);
    await expect(alice.mail.send({ to: [OTHER], subject: 'x', text: 'y' })).rejects.toMatchObject({ code: 'NO_E2EE_ROUTE' });
    await expect(admin.api.setCrossDomainE2ee('other.test', true)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(bob.api.setCrossDomainE2ee('example.test', false)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await otherAdmin.api.setCrossDomainE2ee('other.test', true);
    const r = await alice.mail.send({ to: [OTHER], subject: 'Across', text: 'hello other org' });
    expect(r.delivered).toEqual([OTHER]);
    const got = await other.mail.open((await other.api.listMail({ folder: 'inbox' })).entries[0]!.id);
    expect(got.mime.text).toContain('hello other org');
    expect(got.signature).toBe('signed-valid');
    await admin.api.setCrossDomainE2ee('example.test', false);
    // With cross-domain E2EE off again, the other organisation can no longer look up Alice's key
    // history: her mail still opens, but is flagged as not attributable (a history pinned before
    // that the directory no longer answers: trust-downgrade.test.ts).
    const later = await new Mailer(other.api, other.identity, OTHER).open((await other.api.listMail({ folder: 'inbox' })).entries[0]!.id);
    expect(later.mime.text).toContain('hello other org');
    expect(later.warning).toMatch(/The key directory now shows no key history for alice@example\.test, though you saw \d+ links of it before: .* mail from them cannot be attributed to them/);
  });

  it('sealed mail that does not fit together is refused', async () => {
    const sealed = await sealedFor(alice, [BOB]);
    // Envelope names Bob, the request names the admin instead.
    await expect(alice.api.sendMail({ ...sealed, to: [ADMIN] })).rejects.toMatchObject({ code: 'MAIL_INVALID' });
    // A box missing.
    await expect(alice.api.sendMail({ ...sealed, boxes: sealed.boxes.slice(0, 1) })).rejects.toMatchObject({ code: 'MAIL_INVALID' });
    // Another device's envelope: Bob cannot post Alice's sealed mail.
    await expect(bob.api.sendMail(sealed)).rejects.toMatchObject({ code: 'MAIL_INVALID' });
    // A manifest other than the envelope's.
    await expect(alice.api.sendMail({ ...sealed, manifest: sealed.manifest.slice(0, -4) + 'AAAA' })).rejects.toMatchObject({ code: 'MAIL_INVALID' });
    // Garbage.
    await expect(alice.api.sendMail({ ...sealed, envelope: 'AAAA' })).rejects.toMatchObject({ code: 'MAIL_INVALID' });
    // The same message twice.
    await alice.api.sendMail(sealed);
    await expect(alice.api.sendMail(sealed)).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('tampered ciphertext: the client shows an error, never partial text', async () => {
    tick();
    await alice.mail.send({ to: [BOB], subject: 'tamper me', text: 'secret words', attachments: [file('a.bin', attachmentBytes(300_000))] });
    const [entry] = (await bob.api.listMail({ folder: 'inbox', limit: 1 })).entries;
    const opened = await bob.mail.open(entry!.id);
    expect(opened.mime.subject).toBe('tamper me');
    // Flip one byte of the stored body, then of the attachment.
    await h.db.prisma.$executeRaw`UPDATE messages SET body = set_byte(body, 100, get_byte(body, 100) # 1) WHERE id = ${entry!.messageId}::uuid`;
    await expect(bob.mail.open(entry!.id)).rejects.toMatchObject({ code: 'OPEN_FAILED' });
    const [listed] = (await bob.mail.list({ folder: 'inbox', limit: 1 })).items;
    expect(listed).toMatchObject({ error: 'This mail could not be decrypted.' });
    expect(JSON.stringify(listed)).not.toContain('secret words');
    await h.db.prisma.$executeRaw`UPDATE blob_parts SET data = set_byte(data, 200000, get_byte(data, 200000) # 1) WHERE blob_id = ${entry!.attachments[0]!}::uuid`;
    await expect(bob.mail.attachmentBytes(opened, 1)).rejects.toMatchObject({ code: 'OPEN_FAILED' });
  });
});

/** A sealed mail built by the real client, captured instead of sent (for raw API probes). */
async function sealedFor(d: Device, to: string[]) {
  let captured: Parameters<ApiClient['sendMail']>[0] | undefined;
  const spy = Object.create(d.api) as ApiClient;
  spy.sendMail = async (body) => {
    captured = body;
    return { entryId: '', messageId: '', threadId: '', delivered: [], refused: [] };
  };
  await new Mailer(spy, d.identity, (await d.api.session()).user.address).send({ to, subject: 'probe', text: 'probe' });
  const c = captured!;
  return { ...c, to: [...(c.to ?? [])], boxes: [...c.boxes], attachments: [] as string[] };
}

describe('who may touch what (matrix over actors and routes)', () => {
  it('nobody reaches another user’s entries or blobs, in this organisation or another', async () => {
    tick();
    await alice.mail.send({ to: [BOB], subject: 'private', text: 'for bob', attachments: [file('p.bin', attachmentBytes(5000))] });
    const [bobEntry] = (await bob.api.listMail({ folder: 'inbox', limit: 1 })).entries;
    const [aliceSent] = (await alice.api.listMail({ folder: 'sent', limit: 1 })).entries;
    const blob = bobEntry!.attachments[0]!;
    // An upload of Alice's that is not sent yet.
    const pending = await alice.api.createBlob(pieceCiphertextLength(10));
    const outsider = await userDevice(OTHER, otherPasswords[OTHER]);
    const targets = [
      { owner: 'bob', entry: bobEntry!.id },
      { owner: 'alice', entry: aliceSent!.id },
    ];
    for (const [name, actor] of [['admin', admin], ['outsider', outsider]] as const) {
      for (const t of targets) {
        await expect(actor.api.getMail(t.entry), `${name} GET ${t.owner}`).rejects.toMatchObject({ code: 'NOT_FOUND' });
        await expect(actor.api.updateMail(t.entry, { read: true }), `${name} PATCH ${t.owner}`).rejects.toMatchObject({ code: 'NOT_FOUND' });
        await expect(actor.api.updateMail(t.entry, { folder: 'trash' }), `${name} move ${t.owner}`).rejects.toMatchObject({ code: 'NOT_FOUND' });
        await expect(actor.api.deleteMail(t.entry), `${name} DELETE ${t.owner}`).rejects.toMatchObject({ code: 'NOT_FOUND' });
      }
      await expect(actor.api.thread(bobEntry!.threadId), `${name} thread`).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(actor.api.downloadBlob(blob), `${name} blob`).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(actor.api.uploadPart(pending.blobId, 0, new Uint8Array(pieceCiphertextLength(10))), `${name} upload`).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await expect(actor.api.completeBlob(pending.blobId), `${name} complete`).rejects.toMatchObject({ code: 'NOT_FOUND' });
      const listed = await actor.api.listMail({});
      expect(listed.entries.some((e) => e.id === bobEntry!.id || e.id === aliceSent!.id)).toBe(false);
    }
    // Bob cannot touch Alice's Sent copy either, though he holds the same message.
    await expect(bob.api.getMail(aliceSent!.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(bob.api.deleteMail(aliceSent!.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // Holders download; unauthenticated requests get nothing.
    expect((await bob.api.downloadBlob(blob)) instanceof ReadableStream).toBe(true);
    expect((await alice.api.downloadBlob(blob)) instanceof ReadableStream).toBe(true);
    const anon = await h.app.inject({ method: 'GET', url: `/api/v1/blobs/${blob}` });
    expect(anon.statusCode).toBe(401);
    // Bob deleting his copy does not touch Alice's.
    await bob.api.deleteMail(bobEntry!.id);
    await bob.api.deleteMail(bobEntry!.id);
    await expect(bob.api.downloadBlob(blob)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await alice.api.getMail(aliceSent!.id)).attachments).toEqual([blob]);
  });

  it('upload parts are checked: sizes, numbering, completion', async () => {
    const size = mailLimits.blobPartBytes + 10;
    const { blobId } = await alice.api.createBlob(size);
    await expect(alice.api.uploadPart(blobId, 0, new Uint8Array(10))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(alice.api.uploadPart(blobId, 2, new Uint8Array(10))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await alice.api.uploadPart(blobId, 1, new Uint8Array(10));
    await expect(alice.api.completeBlob(blobId)).rejects.toMatchObject({ status: 409, code: 'UPLOAD_INCOMPLETE' });
    await alice.api.uploadPart(blobId, 0, new Uint8Array(mailLimits.blobPartBytes));
    await alice.api.uploadPart(blobId, 0, new Uint8Array(mailLimits.blobPartBytes).fill(1)); // re-sent: last copy wins, charged once
    const done = await alice.api.completeBlob(blobId);
    expect(done.size).toBe(size);
    const expected = createHash('sha256').update(new Uint8Array(mailLimits.blobPartBytes).fill(1)).update(new Uint8Array(10)).digest('hex');
    expect(done.sha256).toBe(expected);
    await expect(alice.api.uploadPart(blobId, 1, new Uint8Array(10))).rejects.toMatchObject({ code: 'CONFLICT' });
    const raw = await h.app.inject({ method: 'PUT', url: `/api/v1/blobs/${blobId}/parts/0`, headers: { ...bearer(alice.token), 'content-type': 'application/json' }, payload: '{}' });
    expect(raw.statusCode).toBe(415);
    expect(ApiClientError).toBeDefined();
  });
});

/**
 * Reads an event stream until `needle` appears. Fails (rather than spinning) when the stream ends,
 * and gives up after `ms` so a lost event is a failed test, not a hung run.
 */
async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, needle: string, ms = 10_000): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${JSON.stringify(needle)} within ${ms} ms; stream so far: ${JSON.stringify(text)}`)), ms);
  });
  try {
    while (!text.includes(needle)) {
      const { done, value } = await Promise.race([reader.read(), deadline]);
      if (done) throw new Error(`stream ended before ${JSON.stringify(needle)}; it said: ${JSON.stringify(text)}`);
      text += decoder.decode(value, { stream: true });
    }
    return text;
  } finally {
    clearTimeout(timer);
  }
}

describe('new mail without reloading', () => {
  it('an open event stream hears about mail as it arrives', async () => {
    const address = await h.app.listen({ host: '127.0.0.1', port: 0 });
    const controller = new AbortController();
    const res = await fetch(`${address}/api/v1/mail/events`, { headers: bearer(bob.token), signal: controller.signal });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    await readUntil(reader, ': sealmail mail events');
    const sent = await alice.mail.send({ to: [BOB], subject: 'live', text: 'now' });
    const text = await readUntil(reader, 'event: mail');
    const data = JSON.parse(/data: (.*)\n/.exec(text)![1]!) as { entryId: string; folder: string; kind: string };
    expect(data).toMatchObject({ folder: 'inbox', kind: 'new' });
    expect((await bob.api.getMail(data.entryId)).mailId).toBe((await alice.api.getMail(sent.entryId)).mailId);
    controller.abort();
  });

  it('hears about mail stored by another process (the SMTP ingress) through Postgres NOTIFY', async () => {
    // Same database and clock as the harness's app; only the process (its event hub) differs.
    const other = await buildApp({ logger: createLogger({ level: 'silent' }), db: h.db.prisma, version: 't', now: () => h.clock.now, eventsUrl: h.db.connectionString });
    try {
      const address = await other.listen({ host: '127.0.0.1', port: 0 });
      const controller = new AbortController();
      const res = await fetch(`${address}/api/v1/mail/events`, { headers: bearer(bob.token), signal: controller.signal });
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      await readUntil(reader, ': sealmail mail events'); // the stream's opening comment: subscribed
      const bobId = (await bob.identity.thisDevice(BOB)).userId;
      await publishMailEvents(h.db.prisma, [{ userId: bobId, event: { entryId: '00000000-0000-4000-8000-00000000abcd', folder: 'inbox', kind: 'new' } }]);
      const text = await readUntil(reader, 'event: mail');
      expect(text).toContain('00000000-0000-4000-8000-00000000abcd');
      controller.abort();
    } finally {
      await other.close();
    }
  });
});
