/**
 * A draft's saves share its message id (`DraftSession`, docs/mail.md "Drafts"): an attachment
 * uploaded by one save is kept by the next instead of being sealed and uploaded again (autosave
 * used to send a 25 MiB attachment again after every pause in typing). Through the real API and
 * the real client package on a real Postgres: the saved draft is replaced in the same
 * transaction, nothing is left behind or charged twice, the mail sent from the draft carries the
 * same bytes, a kept piece is taken only by the save that replaces its own draft at its own
 * place, and under legal hold the saved draft stays (the save goes under a new id, uploading again).
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, ApiClientError } from '@sealmail/client';
import { afterDraftRefusal, DraftSession, MailError, Mailer, type AttachmentSource } from '@sealmail/client/identity';
import { pieceCiphertextLength } from '@sealmail/crypto';
import { harness, injectFetch, userIdOf, type Harness } from './helpers';

let h: Harness;
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A device whose uploads (blobs created) and mail requests are counted. */
async function device(address: string) {
  const d = await h.deviceSignIn(address);
  const api = new ApiClient({ baseUrl: 'http://api.invalid', fetch: injectFetch(h.app), token: d.token });
  const count = { blobs: 0, sends: [] as Parameters<ApiClient['sendMail']>[0][], refused: [] as string[] };
  const createBlob = api.createBlob.bind(api);
  api.createBlob = (size) => (count.blobs++, createBlob(size));
  const sendMail = api.sendMail.bind(api);
  api.sendMail = (body) => (count.sends.push(body), sendMail(body).catch((err: unknown) => (count.refused.push(err instanceof ApiClientError ? err.code : String(err)), Promise.reject(err))));
  return { api, mail: new Mailer(api, d.identity, address, address.split('@')[0]), count, userId: await userIdOf(h, address) };
}

/** A file as the composer hands it over: bytes and the composer's id for them. */
const source = (name: string, bytes: Uint8Array, id: string): AttachmentSource => ({
  name,
  type: 'application/octet-stream',
  size: bytes.length,
  id,
  stream: () =>
    new ReadableStream({
      start(c) {
        for (let at = 0; at < bytes.length; at += 1 << 20) c.enqueue(bytes.slice(at, at + (1 << 20)));
        c.close();
      },
    }),
});

let alice: Awaited<ReturnType<typeof device>>;
let bob: Awaited<ReturnType<typeof device>>;
const used = async () => (await alice.api.mailSummary()).quota.usedBytes;
const aliceBlobs = () => h.db.prisma.blob.findMany({ where: { ownerUserId: alice.userId }, orderBy: { pieceIndex: 'asc' } });
const draftsOf = async () => (await alice.mail.list({ folder: 'drafts' })).items;

beforeAll(async () => {
  h = await harness();
  alice = await device(ALICE);
  bob = await device(BOB);
});
afterAll(() => h?.close());

describe('a draft saved again keeps its uploads', () => {
  const plan = randomBytes(3 * 1024 * 1024 + 17);
  const notes = randomBytes(40_000);
  const notes2 = randomBytes(52_000);

  it('uploads each file once across saves and the send, replaces the saved draft, and leaves nothing behind', async () => {
    const session = new DraftSession();
    const before = await used();
    const mail = (text: string, files: AttachmentSource[]) => ({ to: [BOB], subject: 'The plan', text, attachments: files });

    const d1 = await alice.mail.send(mail('first words', [source('plan.bin', plan, 'p'), source('notes.bin', notes, 'n')]), { draft: true, session });
    expect(alice.count.blobs).toBe(2);
    const afterFirst = await used();

    // Typing on: the next save uploads nothing, and replaces the first under the same id.
    const d2 = await alice.mail.send(mail('more words', [source('plan.bin', plan, 'p'), source('notes.bin', notes, 'n')]), { draft: true, replacesDraft: d1.entryId, session });
    expect(alice.count.blobs).toBe(2);
    expect(d2.entryId).not.toBe(d1.entryId);
    const drafts = await draftsOf();
    expect(drafts.map((d) => d.entryId)).toEqual([d2.entryId]);
    const opened = await alice.mail.open(d2.entryId);
    expect(opened.mime.text).toContain('more words');
    expect(sha(await alice.mail.attachmentBytes(opened, 1))).toBe(sha(plan));
    expect(sha(await alice.mail.attachmentBytes(opened, 2))).toBe(sha(notes));
    // Both blobs now belong to the new draft's message; the old message is gone.
    const blobs = await aliceBlobs();
    expect(blobs.map((b) => [b.messageId, b.pieceIndex])).toEqual([
      [opened.entry.messageId, 1],
      [opened.entry.messageId, 2],
    ]);
    expect(await h.db.prisma.message.count({ where: { mailId: session.messageId! } })).toBe(1);
    // Charged once: only the body's few bytes changed.
    expect(Math.abs(Number((await used()) - afterFirst))).toBeLessThan(1000);

    // The second file swapped for another at its place: only that one is uploaded; the old one's parts go.
    const gone = blobs[1]!.id;
    const d3 = await alice.mail.send(mail('with new notes', [source('plan.bin', plan, 'p'), source('notes2.bin', notes2, 'n2')]), { draft: true, replacesDraft: d2.entryId, session });
    expect(alice.count.blobs).toBe(3);
    expect(await h.db.prisma.blob.count({ where: { id: gone } })).toBe(0);
    expect(await h.db.prisma.blobPart.count({ where: { blobId: gone } })).toBe(0);
    expect((await aliceBlobs()).length).toBe(2);

    // Sending it: nothing uploaded, the draft gone, Bob gets the same bytes under the draft's id.
    const sent = await alice.mail.send(mail('final words', [source('plan.bin', plan, 'p'), source('notes2.bin', notes2, 'n2')]), { replacesDraft: d3.entryId, session });
    expect(alice.count.blobs).toBe(3);
    expect(await draftsOf()).toHaveLength(0);
    const got = (await bob.mail.list({ folder: 'inbox' })).items.find((i) => !('error' in i) && i.subject === 'The plan')!;
    const forBob = await bob.mail.open(got.entryId);
    expect(forBob.mime.text).toContain('final words');
    expect(forBob.mime.messageId).toBe(session.messageId);
    expect(sha(await bob.mail.attachmentBytes(forBob, 1))).toBe(sha(plan));
    expect(sha(await bob.mail.attachmentBytes(forBob, 2))).toBe(sha(notes2));
    expect((await alice.mail.open(sent.entryId)).entry.folder).toBe('sent');
    // Alice holds the sent mail and nothing else: no orphan blob, no leftover charge.
    const sentEntry = await h.db.prisma.mailboxEntry.findUniqueOrThrow({ where: { id: sent.entryId } });
    expect((await aliceBlobs()).every((b) => b.messageId === sentEntry.messageId)).toBe(true);
    expect(BigInt(await used())).toBe(BigInt(before) + sentEntry.size);
    expect(alice.count.refused).toEqual([]);
  });

  it('a draft opened again (Edit draft) continues: its files keep their uploads', async () => {
    const first = new DraftSession();
    const d1 = await alice.mail.send({ to: [BOB], subject: 'Reopened', text: 'one', attachments: [source('plan.bin', plan, 'p'), source('notes.bin', notes, 'n')] }, { draft: true, session: first });
    // Another device, or the same one later: a new session continues the saved draft.
    const later = new DraftSession();
    await alice.mail.continueDraft(await alice.mail.open(d1.entryId), later, [{ piece: 2, fileId: 'n-again' }]);
    expect(later.messageId).toBe(first.messageId);
    const n = alice.count.blobs;
    const d2 = await alice.mail.send({ to: [BOB], subject: 'Reopened', text: 'two', attachments: [source('plan.bin', plan, 'p-again'), source('notes.bin', notes, 'n-again')] }, { draft: true, replacesDraft: d1.entryId, session: later });
    // Only the file not named to the session is uploaded again.
    expect(alice.count.blobs).toBe(n + 1);
    const opened = await alice.mail.open(d2.entryId);
    expect(sha(await alice.mail.attachmentBytes(opened, 1))).toBe(sha(plan));
    expect(sha(await alice.mail.attachmentBytes(opened, 2))).toBe(sha(notes));
    await alice.api.deleteMail(d2.entryId);
  });

  it('a kept piece is taken only by the save that replaces its own draft, at its own place', async () => {
    const session = new DraftSession();
    const files = [source('plan.bin', plan, 'p'), source('notes.bin', notes, 'n')];
    const d1 = await alice.mail.send({ to: [BOB], subject: 'Places', text: 'one', attachments: files }, { draft: true, session });
    const saved = alice.count.sends.at(-1)!;
    const [planBlob, notesBlob] = saved.attachments ?? [];
    const again = { ...saved, boxes: [...saved.boxes], to: [...(saved.to ?? [])], cc: [...(saved.cc ?? [])], bcc: [...(saved.bcc ?? [])] };
    // Not replacing the draft: its blobs are not free.
    await expect(alice.api.sendMail({ ...again })).rejects.toMatchObject({ code: 'MAIL_INVALID' });
    // Replacing it, but each piece at the other's place.
    await expect(alice.api.sendMail({ ...again, attachments: [notesBlob!, planBlob!], replacesDraft: d1.entryId })).rejects.toMatchObject({ code: 'MAIL_INVALID' });
    // Another user naming them, even replacing a draft of their own.
    const bobDraft = await bob.mail.send({ to: [ALICE], subject: 'Mine', text: 'x' }, { draft: true });
    await expect(bob.api.sendMail({ ...bob.count.sends.at(-1)!, attachments: [planBlob!], replacesDraft: bobDraft.entryId })).rejects.toMatchObject({ code: 'MAIL_INVALID' });
    // Nothing of this changed the saved draft.
    const d = await alice.mail.open(d1.entryId);
    expect(sha(await alice.mail.attachmentBytes(d, 2))).toBe(sha(notes));
    // A save that reorders the files uploads both again (a piece is sealed for its place).
    const n = alice.count.blobs;
    const d2 = await alice.mail.send({ to: [BOB], subject: 'Places', text: 'two', attachments: [files[1]!, files[0]!] }, { draft: true, replacesDraft: d1.entryId, session });
    expect(alice.count.blobs).toBe(n + 2);
    const reordered = await alice.mail.open(d2.entryId);
    expect(sha(await alice.mail.attachmentBytes(reordered, 1))).toBe(sha(notes));
    expect(sha(await alice.mail.attachmentBytes(reordered, 2))).toBe(sha(plan));
    await alice.api.deleteMail(d2.entryId);
    await bob.api.deleteMail(bobDraft.entryId);
  });

  it('under legal hold the saved draft stays: the save goes under a new id and uploads again', async () => {
    const session = new DraftSession();
    const files = [source('plan.bin', plan, 'p')];
    const d1 = await alice.mail.send({ to: [BOB], subject: 'Held', text: 'one', attachments: files }, { draft: true, session });
    const firstId = session.messageId;
    await h.db.prisma.user.update({ where: { id: alice.userId }, data: { legalHoldAt: h.clock.now } });
    try {
      const n = alice.count.blobs;
      const d2 = await alice.mail.send({ to: [BOB], subject: 'Held', text: 'two', attachments: files }, { draft: true, replacesDraft: d1.entryId, session });
      // The in-place save was refused (CONFLICT), then made afresh: a new id and a new upload.
      expect(alice.count.refused.at(-1)).toBe('CONFLICT');
      expect(session.messageId).not.toBe(firstId);
      expect(alice.count.blobs).toBe(n + 1);
      expect((await draftsOf()).map((d) => d.entryId)).toEqual([d2.entryId]);
      // The first save is kept out of sight with its attachment, as the hold requires.
      const held = await h.db.prisma.heldMailboxEntry.findUniqueOrThrow({ where: { id: d1.entryId } });
      expect(await h.db.prisma.blob.count({ where: { messageId: held.messageId } })).toBe(1);
      expect(sha(await alice.mail.attachmentBytes(await alice.mail.open(d2.entryId), 1))).toBe(sha(plan));
    } finally {
      await h.db.prisma.user.update({ where: { id: alice.userId }, data: { legalHoldAt: null } });
    }
  });
});

describe('a draft gone on another device', () => {
  const plan = randomBytes(200_000);
  const mail = (text: string) => ({ to: [BOB], subject: 'Elsewhere', text, attachments: [source('plan.bin', plan, 'p')] });
  const elsewhere = async () => (await draftsOf()).filter((d) => !('error' in d) && d.subject === 'Elsewhere');
  const inboxOfBob = async () => (await bob.mail.list({ folder: 'inbox' })).items.filter((i) => !('error' in i) && i.subject === 'Elsewhere').length;

  it('the server names the field when the draft to replace is gone, and the pieces when a kept one is refused', async () => {
    const d1 = await alice.mail.send({ to: [BOB], subject: 'Gone', text: 'x' }, { draft: true });
    const body = alice.count.sends.at(-1)!;
    await alice.api.deleteMail(d1.entryId);
    await expect(alice.api.sendMail({ ...body, replacesDraft: d1.entryId })).rejects.toMatchObject({ code: 'NOT_FOUND', field: 'body.replacesDraft' });
    await expect(alice.api.sendMail({ ...body, replacesDraft: crypto.randomUUID() })).rejects.toMatchObject({ code: 'NOT_FOUND', field: 'body.replacesDraft' });
    // Bob's draft is not Alice's to replace: gone for her too.
    const bobDraft = await bob.mail.send({ to: [ALICE], subject: 'Mine', text: 'x' }, { draft: true });
    await expect(alice.api.sendMail({ ...body, replacesDraft: bobDraft.entryId })).rejects.toMatchObject({ code: 'NOT_FOUND', field: 'body.replacesDraft' });
    await bob.api.deleteMail(bobDraft.entryId);
  });

  it('deleted elsewhere while the composer is open: the next save is a new draft, uploading again', async () => {
    const session = new DraftSession();
    const d1 = await alice.mail.send(mail('one'), { draft: true, session });
    const firstId = session.messageId;
    await alice.api.deleteMail(d1.entryId); // the phone deletes it
    const n = alice.count.blobs;
    const d2 = await alice.mail.send(mail('two'), { draft: true, replacesDraft: d1.entryId, session });
    expect(alice.count.refused.at(-1)).toBe('NOT_FOUND');
    expect(alice.count.blobs).toBe(n + 1); // its pieces went with the deleted draft: sealed and uploaded again
    expect(session.messageId).not.toBe(firstId);
    expect((await elsewhere()).map((d) => d.entryId)).toEqual([d2.entryId]);
    // The save after that replaces the new draft in place again, keeping its upload.
    const d3 = await alice.mail.send(mail('three'), { draft: true, replacesDraft: d2.entryId, session });
    expect(alice.count.blobs).toBe(n + 1);
    expect((await elsewhere()).map((d) => d.entryId)).toEqual([d3.entryId]);
    expect(sha(await alice.mail.attachmentBytes(await alice.mail.open(d3.entryId), 1))).toBe(sha(plan));
    await alice.api.deleteMail(d3.entryId);
  });

  it('saved again in another composer: this one saves a draft of its own, nothing is lost', async () => {
    const here = new DraftSession();
    const d1 = await alice.mail.send(mail('mine'), { draft: true, session: here });
    const there = new DraftSession();
    await alice.mail.continueDraft(await alice.mail.open(d1.entryId), there, [{ piece: 1, fileId: 'p' }]);
    const theirs = await alice.mail.send(mail('theirs'), { draft: true, replacesDraft: d1.entryId, session: there });
    const mine = await alice.mail.send(mail('mine, more'), { draft: true, replacesDraft: d1.entryId, session: here });
    const texts = await Promise.all((await elsewhere()).map(async (d) => (await alice.mail.open(d.entryId)).mime.text.trim()));
    expect(texts.sort()).toEqual(['mine, more', 'theirs']);
    await alice.api.deleteMail(theirs.entryId);
    await alice.api.deleteMail(mine.entryId);
  });

  it('sending a draft gone elsewhere sends nothing and says so; sent again without it, it goes once', async () => {
    const session = new DraftSession();
    const d1 = await alice.mail.send(mail('to send'), { draft: true, session });
    await alice.api.deleteMail(d1.entryId);
    const before = await inboxOfBob();
    const err = await alice.mail.send(mail('to send'), { replacesDraft: d1.entryId, session }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MailError);
    expect((err as MailError).code).toBe('DRAFT_GONE');
    expect(await inboxOfBob()).toBe(before);
    // As the composer does next: the same mail, no draft to replace.
    await alice.mail.send(mail('to send'), { session });
    expect(await inboxOfBob()).toBe(before + 1);
  });

  it('only refusals about the replaced draft are tried again', () => {
    const session = new DraftSession();
    session.messageId = 'm@example.test';
    const opts = { draft: true, replacesDraft: 'e1', session };
    const refusal = (code: string, field?: string) => new ApiClientError(code === 'NOT_FOUND' ? 404 : code === 'CONFLICT' ? 409 : 400, code as never, code, field);
    expect(afterDraftRefusal(refusal('NOT_FOUND', 'body.replacesDraft'), opts)).toEqual({ draft: true, session });
    expect(afterDraftRefusal(refusal('NOT_FOUND', 'body.replacesDraft'), { ...opts, draft: false })).toBe('gone');
    expect(afterDraftRefusal(refusal('CONFLICT', 'body.replacesDraft'), opts)).toBe(opts);
    expect(afterDraftRefusal(refusal('MAIL_INVALID', 'body.attachments'), opts)).toBe(opts);
    // A mail id taken (an earlier send went through), a mail that is wrong in itself, another thing not found: not again.
    expect(afterDraftRefusal(refusal('CONFLICT', 'body.envelope'), opts)).toBeNull();
    expect(afterDraftRefusal(refusal('MAIL_INVALID'), opts)).toBeNull();
    expect(afterDraftRefusal(refusal('NOT_FOUND'), opts)).toBeNull();
    expect(afterDraftRefusal(refusal('NOT_FOUND', 'body.replacesDraft'), { draft: true })).toBeNull(); // nothing was to be replaced
    expect(afterDraftRefusal(refusal('MAIL_INVALID', 'body.attachments'), { draft: true, replacesDraft: 'e1' })).toBeNull();
  });
});

describe('send progress', () => {
  it('reports the attachment ciphertext the server took, part by part, of what there is to send', async () => {
    const big = randomBytes(9 * 1024 * 1024 + 5);
    const small = randomBytes(70_000);
    const seen: [number, number][] = [];
    const session = new DraftSession();
    const files = [source('big.bin', big, 'b'), source('small.bin', small, 's')];
    const d = await alice.mail.send({ to: [BOB], subject: 'Progress', text: 'x', attachments: files }, { draft: true, session, onProgress: (sent, total) => void seen.push([sent, total]) });
    const total = pieceCiphertextLength(big.length) + pieceCiphertextLength(small.length);
    expect(seen[0]).toEqual([0, total]);
    expect(seen.at(-1)).toEqual([total, total]);
    // Three 4 MiB parts of the big file and one of the small: one report each after the first.
    expect(seen).toHaveLength(1 + 3 + 1);
    expect(seen.every(([s, t], i) => t === total && (i === 0 || s > seen[i - 1]![0]))).toBe(true);
    // Sending the draft keeps both pieces: nothing to upload, nothing reported.
    seen.length = 0;
    await alice.mail.send({ to: [BOB], subject: 'Progress', text: 'x', attachments: files }, { replacesDraft: d.entryId, session, onProgress: (sent, t) => void seen.push([sent, t]) });
    expect(seen).toEqual([]);
  });
});
