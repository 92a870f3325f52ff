/**
 * Organising mail (docs/mail.md "Organising mail") through the real API and the real client
 * package on a real Postgres: custom folders with sealed names, moving and Undo, Restore from
 * Trash, Empty Trash (legal hold keeps held entries; blobs go when nothing holds them), label
 * rename/delete, bulk changes, Report spam / Not spam. Canary: no folder or label name reaches the
 * server in plaintext, in any request or any table.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '@sealmail/client';
import { Mailer, Organiser, type AttachmentSource } from '@sealmail/client/identity';
import { bearer, harness, injectFetch, type Harness } from './helpers';

let h: Harness;
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const CANARY_FOLDER = 'canary-folder-3e9d71';
const CANARY_LABEL = 'canary-label-a05c42';
const CANARY_RENAMED = 'canary-renamed-77b1f0';

/** Every request body the organiser's client sent (the canary must be in none of them). */
const sent: string[] = [];

async function device(address: string) {
  const d = await h.deviceSignIn(address);
  const inject = injectFetch(h.app);
  const recording = (async (input: string | URL | Request, init?: RequestInit) => {
    if (init?.body !== undefined) sent.push(init.body instanceof Uint8Array ? Buffer.from(init.body).toString('latin1') : String(init.body));
    sent.push(String(input));
    return inject(input, init);
  }) as typeof fetch;
  const api = new ApiClient({ baseUrl: 'http://api.invalid', fetch: recording, token: d.token });
  return { ...d, mail: new Mailer(api, d.identity, address, address.split('@')[0]), org: new Organiser(api, d.identity, address) };
}
type Device = Awaited<ReturnType<typeof device>>;

const bytesFile = (name: string, bytes: Uint8Array): AttachmentSource => ({
  name,
  type: 'application/octet-stream',
  size: bytes.length,
  stream: () =>
    new ReadableStream({
      start(c) {
        c.enqueue(bytes);
        c.close();
      },
    }),
});
const tick = () => void (h.clock.now = new Date(h.clock.now.getTime() + 60_000));

let alice: Device;
let bob: Device;
/** alice → bob, one after another. */
async function mailBob(subject: string, attachments: AttachmentSource[] = []) {
  tick();
  const r = await alice.mail.send({ to: [BOB], subject, text: `about ${subject}`, attachments });
  const entry = await h.db.prisma.mailboxEntry.findFirstOrThrow({ where: { messageId: r.messageId, user: { localPart: 'bob' } } });
  return { sentEntry: r.entryId, messageId: r.messageId, entryId: entry.id };
}
const subjects = async (opts: Parameters<Mailer['list']>[0]) => (await bob.mail.list(opts)).items.map((i) => ('subject' in i ? i.subject : 'error')).sort();

beforeAll(async () => {
  h = await harness();
  alice = await device(ALICE);
  bob = await device(BOB);
});
afterAll(() => h?.close());

describe('custom folders', () => {
  let folderId: string;
  let one: Awaited<ReturnType<typeof mailBob>>;
  let two: Awaited<ReturnType<typeof mailBob>>;

  it('creates a folder whose name only bob’s devices open, moves mail into it, lists it apart from Archive', async () => {
    one = await mailBob('Invoice one');
    two = await mailBob('Invoice two');
    const f = await bob.org.createFolder(`  ${CANARY_FOLDER}  `);
    folderId = f.id;
    expect(f.name).toBe(CANARY_FOLDER);
    await bob.org.move([one.entryId, two.entryId], { folderId });
    expect(await bob.org.folders()).toEqual([{ id: folderId, name: CANARY_FOLDER, total: 2, unread: 2 }]);
    expect(await subjects({ folderId })).toEqual(['Invoice one', 'Invoice two']);
    expect(await subjects({ folder: 'inbox' })).toEqual([]);
    // Archive proper does not show a custom folder's mail, and its count leaves it out.
    expect(await subjects({ folder: 'archive' })).toEqual([]);
    const summary = await bob.api.mailSummary();
    expect(summary.folders.find((x) => x.folder === 'archive')!.total).toBe(0);
    // Alice sees no folder of bob's and cannot file into it.
    expect(await alice.org.folders()).toEqual([]);
    await expect(alice.org.move([one.sentEntry], { folderId })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(alice.org.move([one.entryId], { folder: 'archive' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('renames the folder (a new sealed name for the same id); a name sealed under another id does not open', async () => {
    await bob.org.renameFolder(folderId, CANARY_RENAMED);
    expect((await bob.org.folders()).map((f) => f.name)).toEqual([CANARY_RENAMED]);
    // The server swapping in another folder's sealed name is caught: it is bound to its id.
    const other = await bob.org.createFolder('Other');
    const stolen = await h.db.prisma.mailFolder.findUniqueOrThrow({ where: { id: folderId } });
    await h.db.prisma.mailFolder.update({ where: { id: other.id }, data: { name: stolen.name } });
    expect((await bob.org.folders()).find((f) => f.id === other.id)!.name).toBe('(folder this device cannot read)');
    await bob.org.deleteFolder(other.id);
  });

  it('Trash and Restore: back into the custom folder it came from; mail trashed from the Inbox goes back to the Inbox', async () => {
    await bob.org.move([one.entryId], { folder: 'trash' });
    expect(await subjects({ folder: 'trash' })).toEqual(['Invoice one']);
    const three = await mailBob('Inbox three');
    await bob.api.deleteMail(three.entryId); // Delete = to Trash
    expect(await subjects({ folder: 'trash' })).toEqual(['Inbox three', 'Invoice one']);
    const restored = await bob.org.restore([one.entryId, three.entryId]);
    expect(restored.map((r) => [r.id, r.folder, r.folderId]).sort()).toEqual(
      [
        [one.entryId, 'archive', folderId],
        [three.entryId, 'inbox', null],
      ].sort(),
    );
    expect(await subjects({ folderId })).toEqual(['Invoice one', 'Invoice two']);
    expect(await subjects({ folder: 'inbox' })).toEqual(['Inbox three']);
    // Only mail in Trash is restored.
    await expect(bob.org.restore([three.entryId])).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('a bulk move answers the places before, and Undo puts every entry back', async () => {
    const three = (await bob.api.listMail({ folder: 'inbox' })).entries[0]!;
    const move = await bob.org.move([one.entryId, three.id], { folder: 'archive' });
    expect(await subjects({ folder: 'archive' })).toEqual(['Inbox three', 'Invoice one']);
    await bob.org.undo(move);
    expect(await subjects({ folderId })).toEqual(['Invoice one', 'Invoice two']);
    expect(await subjects({ folder: 'inbox' })).toEqual(['Inbox three']);
    // Bulk marks: read and starred on both; the Starred view spans folders.
    await bob.org.change([one.entryId, three.id], { read: true, starred: true });
    expect(await subjects({ starred: true })).toEqual(['Inbox three', 'Invoice one']);
    expect((await bob.org.folders())[0]).toMatchObject({ total: 2, unread: 1 });
  });

  it('drafts are not moved; a bulk request with nothing to change or an unknown entry is refused', async () => {
    const draft = await bob.mail.send({ to: [], subject: 'draft', text: 'x' }, { draft: true });
    await expect(bob.org.move([draft.entryId], { folder: 'archive' })).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(bob.org.change([draft.entryId], {})).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(bob.org.move(['00000000-0000-4000-8000-000000000000'], { folder: 'archive' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('deleting the folder moves its mail to the Inbox (or where asked); mail from it in Trash then restores to the Inbox', async () => {
    await bob.org.move([two.entryId], { folder: 'trash' });
    expect(await bob.org.deleteFolder(folderId)).toBe(1);
    expect(await bob.org.folders()).toEqual([]);
    expect(await subjects({ folder: 'inbox' })).toEqual(['Inbox three', 'Invoice one']);
    expect((await bob.org.restore([two.entryId]))[0]).toMatchObject({ folder: 'inbox', folderId: null });
    const f = await bob.org.createFolder('Kept');
    await bob.org.move([two.entryId], { folderId: f.id });
    expect(await bob.org.deleteFolder(f.id, 'archive')).toBe(1);
    expect(await subjects({ folder: 'archive' })).toEqual(['Invoice two']);
  });
});

describe('labels', () => {
  it('renames and deletes a label; the new name is sealed like the first', async () => {
    const l = await bob.mail.createLabel(CANARY_LABEL);
    const { entries } = await bob.api.listMail({ folder: 'inbox' });
    await bob.org.change([entries[0]!.id], { addLabels: [l.id] });
    await bob.org.renameLabel(l.id, `${CANARY_LABEL}-2`);
    expect((await bob.mail.labels()).map((x) => x.name)).toEqual([`${CANARY_LABEL}-2`]);
    await expect(alice.org.renameLabel(l.id, 'mine now')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await bob.org.change([entries[0]!.id], { removeLabels: [l.id] });
    expect((await bob.api.getMail(entries[0]!.id)).labelIds).toEqual([]);
    await bob.api.deleteLabel(l.id);
    expect(await bob.mail.labels()).toEqual([]);
  });
});

describe('Empty Trash', () => {
  it('deletes bob’s Trash for good; the message and its blobs stay while alice’s Sent copy holds them, and go with it', async () => {
    const m = await mailBob('With a file', [bytesFile('a.bin', new Uint8Array(5000).fill(7))]);
    await bob.org.move([m.entryId], { folder: 'trash' });
    const trashed = (await bob.api.listMail({ folder: 'trash' })).entries.length;
    expect(await bob.org.emptyTrash()).toBe(trashed);
    expect((await bob.api.listMail({ folder: 'trash' })).entries).toEqual([]);
    expect(await h.db.prisma.blob.count({ where: { messageId: m.messageId } })).toBe(1);
    await alice.api.deleteMail(m.sentEntry);
    expect(await alice.org.emptyTrash()).toBe(1);
    expect(await h.db.prisma.message.count({ where: { id: m.messageId } })).toBe(0);
    expect(await h.db.prisma.blob.count({ where: { messageId: m.messageId } })).toBe(0);
    expect(await h.db.prisma.blobPart.count({ where: { blob: { messageId: m.messageId } } })).toBe(0);
  });

  it('under legal hold the emptied Trash leaves bob’s sight but is kept in held_mailbox_entries', async () => {
    const m = await mailBob('Held one');
    await bob.api.deleteMail(m.entryId);
    await h.db.prisma.user.updateMany({ where: { localPart: 'bob' }, data: { legalHoldAt: h.clock.now } });
    expect(await bob.org.emptyTrash()).toBe(1);
    expect((await bob.api.listMail({ folder: 'trash' })).entries).toEqual([]);
    expect(await h.db.prisma.heldMailboxEntry.count({ where: { id: m.entryId } })).toBe(1);
    expect(await h.db.prisma.message.count({ where: { id: m.messageId } })).toBe(1);
    await h.db.prisma.user.updateMany({ where: { localPart: 'bob' }, data: { legalHoldAt: null } });
  });
});

describe('Report spam / Not spam', () => {
  it('Report spam moves the mail to Spam and records the sender for bob; Not spam moves it back and allows the sender', async () => {
    const m = await mailBob('Is this spam');
    expect(await bob.org.reportSpam([m.entryId], 'spam')).toEqual([ALICE]);
    expect((await bob.api.getMail(m.entryId)).folder).toBe('spam');
    expect(await bob.org.senderVerdicts()).toMatchObject([{ address: ALICE, verdict: 'spam' }]);
    expect(await alice.org.senderVerdicts()).toEqual([]);
    expect(await bob.org.reportSpam([m.entryId], 'not-spam')).toEqual([ALICE]);
    expect((await bob.api.getMail(m.entryId)).folder).toBe('inbox');
    expect(await bob.org.senderVerdicts()).toMatchObject([{ address: ALICE, verdict: 'allow' }]);
    // One's own Sent copy never records oneself.
    expect(await alice.org.reportSpam([m.sentEntry], 'spam')).toEqual([]);
    await bob.org.forgetSenderVerdict(ALICE);
    expect(await bob.org.senderVerdicts()).toEqual([]);
    const gone = await h.app.inject({ method: 'DELETE', url: `/api/v1/mail/sender-verdicts/${encodeURIComponent(ALICE)}`, headers: bearer(bob.token) });
    expect(gone.statusCode).toBe(404);
  });

  it('the list and Remove are per user: bob cannot see or remove the verdict alice holds', async () => {
    tick();
    const r = await bob.mail.send({ to: [ALICE], subject: 'From bob', text: 'hello' });
    const entry = await h.db.prisma.mailboxEntry.findFirstOrThrow({ where: { messageId: r.messageId, user: { localPart: 'alice' } } });
    expect(await alice.org.reportSpam([entry.id], 'spam')).toEqual([BOB]);
    expect(await bob.org.senderVerdicts()).toEqual([]);
    const other = await h.app.inject({ method: 'DELETE', url: `/api/v1/mail/sender-verdicts/${encodeURIComponent(BOB)}`, headers: bearer(bob.token) });
    expect(other.statusCode).toBe(404);
    expect(await alice.org.senderVerdicts()).toMatchObject([{ address: BOB, verdict: 'spam' }]);
    await alice.org.forgetSenderVerdict(BOB);
    expect(await alice.org.senderVerdicts()).toEqual([]);
  });
});

describe('canary', () => {
  it('no folder or label name reached the server in plaintext: not in any request, not in any table', async () => {
    expect(sent.length).toBeGreaterThan(20);
    for (const canary of [CANARY_FOLDER, CANARY_LABEL, CANARY_RENAMED]) {
      expect(sent.filter((b) => b.includes(canary))).toEqual([]);
      const hits = await h.db.prisma.$queryRawUnsafe<{ n: bigint }[]>(
        `SELECT (SELECT count(*) FROM mail_folders WHERE position(convert_to($1, 'UTF8') in name) > 0) + (SELECT count(*) FROM labels WHERE position(convert_to($1, 'UTF8') in name) > 0) AS n`,
        canary,
      );
      expect(Number(hits[0]!.n)).toBe(0);
    }
  });
});
