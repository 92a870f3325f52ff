/**
 * Scheduled send, signatures and templates (docs/mail.md "Scheduled send", "Signatures and
 * templates"), against the real API on real Postgres with the real pg-boss release job and an
 * injected clock: a mail sealed by the sender's device waits in their Outbox, the recipient sees
 * nothing until the clock reaches its time, then the job releases it — with the sender signed
 * out — and the recipient's client opens it as E2E Encrypted. Cancelling and editing (cancel,
 * reschedule) work; a cancelled one never leaves; the server holds only sealed parts. Signatures
 * and templates are sealed to their user: canaries in them appear in no table.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ApiClientError } from '@sealmail/client';
import { ComposeBook, memoryKeyStore, signatureFor } from '@sealmail/client/identity';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { seedDemo } from '@sealmail/db';
import { createLogger } from '@sealmail/server';
import { buildApp } from '../src/app';
import { ScheduledSends } from '../src/mail/scheduled';
import { until, signedInDevice } from './helpers';
import { MailEvents, postgresBlobStore } from '@sealmail/mailstore';

const logger = createLogger({ level: 'silent' });
const CANARY = {
  subject: `canary-sched-subject-${randomBytes(4).toString('hex')}`,
  body: `canary-sched-body-${randomBytes(4).toString('hex')}`,
  signature: `canary-signature-${randomBytes(4).toString('hex')}`,
  template: `canary-template-${randomBytes(4).toString('hex')}`,
};
let tdb: TestDatabase;
let app: FastifyInstance;
let passwords: Record<string, string>;
// Starts at the real time (pg-boss and Postgres read the real clock); the tests move it on.
const clock = { now: new Date(Math.floor(Date.now() / 60_000) * 60_000) };
const stores = new Map<string, ReturnType<typeof memoryKeyStore>>();

async function device(address: string) {
  if (!stores.has(address)) stores.set(address, memoryKeyStore());
  const d = await signedInDevice(app, address, passwords[address]!, { store: stores.get(address)! });
  return { ...d, book: new ComposeBook(d.api, d.identity, address) };
}

async function dumpHas(needles: string[]): Promise<string[]> {
  const tables = await tdb.prisma.$queryRaw<{ tablename: string }[]>`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`;
  const hex = (s: string) => Buffer.from(s).toString('hex');
  const found: string[] = [];
  for (const { tablename } of tables) {
    const rows = await tdb.prisma.$queryRawUnsafe<{ t: string }[]>(`SELECT t::text AS t FROM "${tablename}" t`);
    const dump = rows.map((r) => r.t).join('\n');
    for (const n of needles) if (dump.includes(n) || dump.includes(hex(n))) found.push(`${n} in ${tablename}`);
  }
  return found;
}

const later = (minutes: number) => new Date(clock.now.getTime() + minutes * 60_000);

beforeAll(async () => {
  tdb = await createTestDatabase();
  const seed = await seedDemo(tdb.prisma, { domain: 'example.test' });
  passwords = Object.fromEntries(seed.users.map((u) => [u.address, u.password!]));
  app = await buildApp({
    logger,
    db: tdb.prisma,
    version: 't',
    now: () => clock.now,
    scheduled: { connectionString: tdb.connectionString, sweepSeconds: 1 },
    // The relay runs, but outside hosts are outside this machine: every MX lookup fails (mail stays queued).
    outbound: { connectionString: tdb.connectionString, hostname: 'mx.example.test', viewerUrl: 'https://localhost:9', sweepSeconds: 0, resolveMx: async () => Promise.reject(Object.assign(new Error('nx'), { code: 'ENOTFOUND' })) },
  });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await tdb?.drop();
});

describe('scheduled send', () => {
  it('waits in the Outbox, leaves at the injected time through the job with the sender signed out, and the recipient opens it E2E Encrypted', { timeout: 120_000 }, async () => {
    const alice = await device('alice@example.test');
    const bob = await device('bob@example.test');
    const sendAt = later(60);
    const r = await alice.mail.send({ to: ['bob@example.test'], subject: CANARY.subject, text: `Hello Bob, ${CANARY.body}` }, { sendAt });
    expect(r.scheduledId).toBeTruthy();
    expect(r.delivered).toEqual([]);

    expect((await alice.api.listMail({ folder: 'outbox' })).entries.map((e) => e.id)).toEqual([r.entryId]);
    expect((await bob.api.listMail({ folder: 'inbox' })).entries).toHaveLength(0);
    const waiting = await alice.book.scheduled();
    expect(waiting).toEqual([expect.objectContaining({ id: r.scheduledId, entryId: r.entryId, sendAt: sendAt.toISOString(), status: 'scheduled', to: ['bob@example.test'] })]);
    // The sender's own Outbox copy opens on their device (to edit it).
    expect((await alice.mail.open(r.entryId)).mime.subject).toBe(CANARY.subject);
    // The server holds sealed parts only: no canary anywhere, the plan included.
    expect(await dumpHas([CANARY.subject, CANARY.body])).toEqual([]);
    const plan = JSON.stringify((await tdb.prisma.scheduledSend.findUniqueOrThrow({ where: { id: r.scheduledId! } })).plan);
    expect(plan).toContain('bob@example.test');

    // Not due yet: a release now does nothing.
    const job = new ScheduledSends(tdb.prisma, postgresBlobStore(tdb.prisma), new MailEvents(), logger, () => clock.now, () => null, { connectionString: '' });
    expect(await job.release(r.scheduledId!)).toBe(false);

    // Every session of the sender ends; then the clock passes the time and the sweeper's job releases it.
    expect((await app.inject({ method: 'POST', url: '/api/v1/auth/sign-out', headers: { authorization: `Bearer ${alice.token}` } })).statusCode).toBeLessThan(300);
    expect(await tdb.prisma.session.count({ where: { user: { localPart: 'alice' }, revokedAt: null } })).toBe(0);
    clock.now = later(61);
    const entry = await until(async () => (await bob.api.listMail({ folder: 'inbox' })).entries[0], 60_000);
    const opened = await bob.mail.open(entry.id);
    expect(opened.protection).toBe('E2E Encrypted');
    expect(opened.warning).toBeNull();
    expect(opened.mime.subject).toBe(CANARY.subject);
    expect(opened.mime.text).toContain(CANARY.body);
    // Its Date header is the scheduled time (sealed ahead with it).
    expect(new Date(opened.mime.date!).getTime()).toBe(sendAt.getTime());
    const row = await tdb.prisma.scheduledSend.findUniqueOrThrow({ where: { id: r.scheduledId! } });
    expect(row.status).toBe('sent');
    expect(row.releasedAt?.toISOString()).toBe(clock.now.toISOString());
    // The sender's copy is in Sent now, at the release time.
    const senderEntry = await tdb.prisma.mailboxEntry.findUniqueOrThrow({ where: { id: r.entryId } });
    expect(senderEntry.folder).toBe('sent');
    expect(senderEntry.receivedAt.toISOString()).toBe(clock.now.toISOString());
    // A release run again (a second job, another process) files nothing twice.
    expect(await job.release(r.scheduledId!)).toBe(false);
    expect((await bob.api.listMail({ folder: 'inbox' })).entries).toHaveLength(1);
    expect(await dumpHas([CANARY.subject, CANARY.body])).toEqual([]);
  });

  it('cancelled before its time it never leaves; editing is cancel and schedule again; cancelling one that left is 409', { timeout: 120_000 }, async () => {
    const alice = await device('alice@example.test');
    const bob = await device('bob@example.test');
    const before = (await bob.api.listMail({ folder: 'inbox' })).entries.length;
    const first = await alice.mail.send({ to: ['bob@example.test'], subject: 'First version', text: 'one' }, { sendAt: later(30) });
    const usedWhileWaiting = (await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'alice' } })).usedBytes;
    // Edit: the device opens the Outbox copy, cancels the held one and schedules the new text.
    const draft = await alice.mail.open(first.entryId);
    await alice.book.cancelScheduled(first.scheduledId!);
    expect(await tdb.prisma.mailboxEntry.findUnique({ where: { id: first.entryId } })).toBeNull();
    expect((await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'alice' } })).usedBytes).toBeLessThan(usedWhileWaiting);
    const second = await alice.mail.send({ to: ['bob@example.test'], subject: `${draft.mime.subject} (edited)`, text: 'two' }, { sendAt: later(45) });
    // A third one is cancelled outright.
    const third = await alice.mail.send({ to: ['bob@example.test'], subject: 'Never', text: 'three' }, { sendAt: later(40) });
    await alice.book.cancelScheduled(third.scheduledId!);
    expect((await alice.book.scheduled()).map((s) => s.id)).toEqual([second.scheduledId]);
    // Another user cannot see or cancel it.
    await expect(bob.book.cancelScheduled(second.scheduledId!)).rejects.toSatisfy((e) => e instanceof ApiClientError && e.status === 404);

    clock.now = later(50);
    const job = new ScheduledSends(tdb.prisma, postgresBlobStore(tdb.prisma), new MailEvents(), logger, () => clock.now, () => null, { connectionString: '' });
    expect(await job.release(first.scheduledId!)).toBe(false);
    expect(await job.release(third.scheduledId!)).toBe(false);
    await until(async () => (await bob.api.listMail({ folder: 'inbox' })).entries.length > before, 60_000);
    const inbox = (await bob.mail.list({ folder: 'inbox' })).items;
    const subjects = inbox.map((i) => ('subject' in i ? i.subject : i.error));
    expect(subjects).toContain('First version (edited)');
    expect(subjects).not.toContain('First version');
    expect(subjects).not.toContain('Never');
    await expect(alice.book.cancelScheduled(second.scheduledId!)).rejects.toSatisfy((e) => e instanceof ApiClientError && e.code === 'SCHEDULED_ALREADY_SENT');
  });

  it('standard mail and links are sealed ahead too: nothing is queued for outside until the time, then the relay gets them', { timeout: 120_000 }, async () => {
    const alice = await device('alice@example.test');
    const standard = await alice.mail.send({ to: ['carol@example.org'], subject: 'Standard later', text: 'x', allowStandard: true }, { sendAt: later(20) });
    const linked = await alice.mail.send({ to: ['bob@example.test', 'dave@example.net'], subject: 'Link later', text: 'y', links: { expiresIn: '7d' } }, { sendAt: later(20) });
    const msg = (id: string) => tdb.prisma.mailboxEntry.findUniqueOrThrow({ where: { id } }).then((e) => tdb.prisma.message.findUniqueOrThrow({ where: { id: e.messageId } }));
    const m1 = await msg(standard.entryId);
    const m2 = await msg(linked.entryId);
    // Held: no server box on the message, no delivery, no link row yet (the plan holds them sealed).
    expect(m1.serverBox).toBeNull();
    expect(await tdb.prisma.outboundDelivery.count({ where: { messageId: m1.id } })).toBe(0);
    expect(await tdb.prisma.mailLink.count({ where: { sourceMessageId: m2.id } })).toBe(0);
    clock.now = later(21);
    const job = new ScheduledSends(tdb.prisma, postgresBlobStore(tdb.prisma), new MailEvents(), logger, () => clock.now, () => null, { connectionString: '' });
    await job.release(standard.scheduledId!);
    await job.release(linked.scheduledId!);
    expect((await msg(standard.entryId)).serverBox).not.toBeNull();
    expect(await tdb.prisma.outboundDelivery.findMany({ where: { messageId: m1.id }, select: { recipient: true, status: true } })).toEqual([{ recipient: 'carol@example.org', status: 'queued' }]);
    const links = await tdb.prisma.mailLink.findMany({ where: { sourceMessageId: m2.id } });
    expect(links.map((l) => [l.recipient, l.expiresAt.getTime() - clock.now.getTime()])).toEqual([['dave@example.net', 7 * 86_400_000]]);
    expect(await tdb.prisma.outboundDelivery.count({ where: { linkId: links[0]!.id } })).toBe(1);
    expect((await tdb.prisma.mailboxEntry.findUniqueOrThrow({ where: { id: linked.entryId } })).folder).toBe('sent');
  });

  it('refuses a time in the past, more than a year ahead, and a scheduled draft', async () => {
    const alice = await device('alice@example.test');
    for (const sendAt of [later(-60 * 24), later(60 * 24 * 400)]) {
      await expect(alice.mail.send({ to: ['bob@example.test'], subject: 'x', text: 'y' }, { sendAt })).rejects.toSatisfy((e) => e instanceof ApiClientError && e.code === 'SCHEDULE_INVALID');
    }
    await expect(alice.mail.send({ to: [], subject: 'x', text: 'y' }, { draft: true, sendAt: later(5) })).rejects.toSatisfy((e) => e instanceof ApiClientError && e.code === 'SCHEDULE_INVALID');
  });

  it('a mail whose sealing device was revoked before its time does not leave (recipients would flag it); it fails in the Outbox', { timeout: 60_000 }, async () => {
    const alice = await device('alice@example.test');
    const r = await alice.mail.send({ to: ['bob@example.test'], subject: 'From a lost laptop', text: 'x' }, { sendAt: later(10) });
    const row = await tdb.prisma.scheduledSend.findUniqueOrThrow({ where: { id: r.scheduledId! } });
    // The device's revocation as the server records it (the chain link itself is tested in keys tests).
    await tdb.prisma.device.update({ where: { userId_id: { userId: row.userId, id: row.deviceId } }, data: { status: 'revoked' } });
    clock.now = later(11);
    const job = new ScheduledSends(tdb.prisma, postgresBlobStore(tdb.prisma), new MailEvents(), logger, () => clock.now, () => null, { connectionString: '' });
    await job.release(r.scheduledId!);
    const after = await tdb.prisma.scheduledSend.findUniqueOrThrow({ where: { id: r.scheduledId! } });
    expect(after.status).toBe('failed');
    expect(after.error).toMatch(/removed/);
    expect((await tdb.prisma.mailboxEntry.findUniqueOrThrow({ where: { id: r.entryId } })).folder).toBe('outbox');
    await tdb.prisma.device.update({ where: { userId_id: { userId: row.userId, id: row.deviceId } }, data: { status: 'approved' } });
  });
});

describe('signatures and templates', () => {
  it('are sealed to their user: they round-trip on the device, the server holds no canary, others cannot touch them', { timeout: 60_000 }, async () => {
    const alice = await device('alice@example.test');
    const bob = await device('bob@example.test');
    const work = await alice.book.saveSignature({ name: 'Work', html: `<p>Alice, <a href="https://example.test">Example</a> ${CANARY.signature}</p>`, text: `Alice ${CANARY.signature}`, address: 'alice@example.test', isDefault: true });
    const other = await alice.book.saveSignature({ name: 'Short', html: '<p>A.</p>', text: 'A.', address: 'alice@example.test', isDefault: true });
    const any = await alice.book.saveSignature({ name: 'Any', html: '<p>-- A</p>', text: '-- A', address: null, isDefault: true });
    const tpl = await alice.book.saveTemplate({ name: 'Invoice reminder', subject: 'Invoice {{number}}', html: `<p>Dear {{name}}, ${CANARY.template}</p>`, text: `Dear {{name}}, ${CANARY.template}` });

    const sigs = await alice.book.signatures();
    expect(sigs).toHaveLength(3);
    const byId = new Map(sigs.map((s) => [s.id, s]));
    expect(byId.get(work.id)).toMatchObject({ name: 'Work', text: `Alice ${CANARY.signature}`, isDefault: false }); // the later default for the address won
    expect(byId.get(other.id)).toMatchObject({ isDefault: true });
    expect(signatureFor(sigs.filter((s) => !('unreadable' in s)) as { address: string | null; isDefault: boolean; id: string }[], 'alice@example.test')?.id).toBe(other.id);
    expect(signatureFor([byId.get(any.id) as { address: string | null; isDefault: boolean }], 'alias@example.test')).toMatchObject({ address: null });
    expect(await alice.book.templates()).toEqual([expect.objectContaining({ id: tpl.id, subject: 'Invoice {{number}}', text: `Dear {{name}}, ${CANARY.template}` })]);

    expect(await dumpHas([CANARY.signature, CANARY.template, 'Invoice reminder', 'Invoice {{number}}'])).toEqual([]);

    // Bob sees none of them and cannot overwrite or delete them.
    expect(await bob.book.signatures()).toEqual([]);
    expect(await bob.book.templates()).toEqual([]);
    await expect(bob.book.saveSignature({ id: work.id, name: 'x', html: '', text: '', address: null, isDefault: false })).rejects.toSatisfy((e) => e instanceof ApiClientError && e.status === 404);
    await expect(bob.book.deleteTemplate(tpl.id)).rejects.toSatisfy((e) => e instanceof ApiClientError && e.status === 404);
    // A signature for an address that is not the user's is refused.
    await expect(alice.book.saveSignature({ name: 'x', html: '', text: 'x', address: 'bob@example.test', isDefault: false })).rejects.toSatisfy((e) => e instanceof ApiClientError && e.code === 'VALIDATION_FAILED');
    // A box moved to another id does not open (the id is bound into the seal).
    const stored = await tdb.prisma.mailSignature.findUniqueOrThrow({ where: { id: work.id } });
    await tdb.prisma.mailSignature.update({ where: { id: other.id }, data: { sealed: stored.sealed } });
    expect((await alice.book.signatures()).find((s) => s.id === other.id)).toEqual({ id: other.id, unreadable: true });

    await alice.book.deleteSignature(work.id);
    await alice.book.deleteTemplate(tpl.id);
    expect((await alice.book.signatures()).map((s) => s.id)).not.toContain(work.id);
    expect(await alice.book.templates()).toEqual([]);
  });

  it('the undo-send delay is a preference of the user: off by default, one of 0/5/10/20/30', async () => {
    const alice = await device('alice@example.test');
    expect(await alice.book.undoSendSeconds()).toBe(0);
    expect(await alice.book.setUndoSendSeconds(10)).toBe(10);
    expect(await alice.book.undoSendSeconds()).toBe(10);
    await expect(alice.book.setUndoSendSeconds(7)).rejects.toSatisfy((e) => e instanceof ApiClientError && e.code === 'VALIDATION_FAILED');
    await alice.book.setUndoSendSeconds(0);
  });
});
