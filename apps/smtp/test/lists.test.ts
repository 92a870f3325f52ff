/**
 * Mailing lists at the ingress (docs/mail.md §7.3): real nodemailer → real ingress over STARTTLS
 * → real Postgres. Mail to a list address is accepted at RCPT and sealed by the server to every
 * active member with keys, List-Id and List-Post inside the sealed body; a member also named at
 * RCPT gets one copy; a message that already went through the list is not expanded again.
 * Outside members get it through the outbound relay: a copy sealed for nobody but the server's
 * mail key, marked not-E2EE, queued from the list address (the relay itself is tested in
 * apps/api/test/outbound.test.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { simpleParser } from 'mailparser';
import type { SMTPServer } from 'smtp-server';
import { decodeEnvelope, openMailPiece, openManifest, openServerBox, type PerUserKey } from '@sealmail/crypto';
import { ephemeralServerMailKey } from '@sealmail/mailstore';
import { seedDemo } from '@sealmail/db';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { createLogger, loadOrCreateTls, type TlsMaterial } from '@sealmail/server';
import { buildSmtpServer } from '../src/server';
import { Dialog } from './dialog';
import { giveKeys } from './keys';
import { entryCount, openNewest } from './mailbox';

let tdb: TestDatabase;
let tls: TlsMaterial;
let dir: string;
let server: SMTPServer;
let port = 0;
const users: Record<'alice' | 'bob', { id: string; puk: PerUserKey }> = {} as never;
let adminId: string;
const serverKey = ephemeralServerMailKey();

/** SPF for the posting tests' senders (127.0.0.1 may send for them); nothing else is published. */
const SPF_DOMAINS = new Set(['members.example', 'strangers.example', 'example.test']);
async function resolver(name: string, type: string): Promise<string[][]> {
  if (type === 'TXT' && SPF_DOMAINS.has(name)) return [['v=spf1 ip4:127.0.0.1 -all']];
  throw Object.assign(new Error(`no ${type} for ${name}`), { code: 'ENOTFOUND' });
}
const transport = () => nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, requireTLS: true, tls: { ca: tls.cert, servername: 'localhost' }, name: 'client.example.org' });
const counts = async () => ({ alice: await entryCount(tdb.prisma, users.alice.id), bob: await entryCount(tdb.prisma, users.bob.id), admin: await entryCount(tdb.prisma, adminId) });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealmail-lists-'));
  tls = await loadOrCreateTls({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
  tdb = await createTestDatabase();
  await seedDemo(tdb.prisma, { domain: 'example.test' });
  for (const name of ['alice', 'bob'] as const) {
    const u = await tdb.prisma.user.findFirstOrThrow({ where: { localPart: name } });
    users[name] = { id: u.id, puk: await giveKeys(tdb.prisma, u.id) };
  }
  const admin = await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'admin' }, include: { domain: true } });
  adminId = admin.id;
  // The admin has no keys yet (skipped); carol is outside (relayed as standard mail).
  await tdb.prisma.mailingList.create({
    data: { accountId: admin.accountId, domainId: admin.domainId, localPart: 'team', name: 'The "Team"', members: { create: ['alice@example.test', 'bob@example.test', 'admin@example.test', 'carol@outside.example'].map((address) => ({ address })) } },
  });
  server = buildSmtpServer({ db: tdb.prisma, logger: createLogger({ level: 'silent' }), tls, hostname: 'mx.example.test', maxMessageBytes: 1024 * 1024, secure: false, resolver, serverPublicKey: serverKey.publicKey });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.server.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise<void>((r) => server?.close(() => r()));
  await tdb?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('mailing lists', () => {
  it('mail to the list reaches every member with keys, server-sealed, List-Id and List-Post inside', async () => {
    const before = await counts();
    const info = await transport().sendMail({ from: 'dave@outside.example', to: 'team@example.test', subject: 'Agenda', text: 'items' });
    expect(info.accepted).toEqual(['team@example.test']);
    expect(await counts()).toEqual({ alice: before.alice + 1, bob: before.bob + 1, admin: before.admin });
    for (const who of ['alice', 'bob'] as const) {
      const n = await openNewest(tdb.prisma, users[who].id, users[who].puk);
      expect(n.subject).toBe('Agenda');
      expect(n.entry.message.protection).toBe('server');
      expect(n.entry.folder).toBe('inbox');
      expect(n.header('List-Id')).toBe('"The Team" <team.example.test>');
      expect(n.header('List-Post')).toBe('<mailto:team@example.test>');
      expect(n.header('X-Sealmail-Spam')).toMatch(/^score=/);
    }
  });

  it('outside members get it through the outbound relay: a copy only the server can open, sent from the list', async () => {
    await transport().sendMail({ from: 'dave@outside.example', to: 'team@example.test', subject: 'For everyone', text: 'also for carol' });
    const relayed = await tdb.prisma.message.findFirstOrThrow({ where: { deliveries: { some: { recipient: 'carol@outside.example' } } }, orderBy: { sentAt: 'desc' }, include: { deliveries: true, entries: true } });
    expect(relayed.deliveries.map((d) => [d.recipient, d.status])).toEqual([['carol@outside.example', 'queued']]);
    expect(relayed.senderAddress).toBe('team@example.test'); // sent (and DKIM-signed) by the list
    expect(relayed.senderUserId).toBeNull(); // reports about it go nowhere (no backscatter)
    // The members' copies are this same sealed message; the server's box goes once the relay is done.
    expect(relayed.entries.map((e) => e.userId).sort()).toEqual([users.alice.id, users.bob.id].sort());
    const { messageKey } = openServerBox({ envelope: relayed.envelope, box: relayed.serverBox!, serverPublicKey: serverKey.publicKey, serverSecretKey: serverKey.secretKey });
    const manifest = await openManifest({ envelope: decodeEnvelope(relayed.envelope), manifest: relayed.manifest, messageKey });
    expect(manifest.notE2EE).toBe(true);
    const body = await simpleParser(Buffer.from(await openMailPiece({ manifest, index: 0, ciphertext: relayed.body })));
    expect(body.text).toContain('also for carol');
    expect(body.headerLines.find((h) => h.key === 'list-id')?.line).toBe('List-Id: "The Team" <team.example.test>');
    // Spam is not forwarded to the world: all-caps subject, a link showing another domain, no DKIM.
    const before = await tdb.prisma.outboundDelivery.count();
    await transport().sendMail({ from: 'dave@outside.example', to: 'team@example.test', subject: 'VERIFY YOUR ACCOUNT NOW', text: 'x', html: '<a href="https://evil.example/login">https://bank.example.com/login</a>' });
    const alice = await openNewest(tdb.prisma, users.alice.id, users.alice.puk);
    expect(alice.subject).toBe('VERIFY YOUR ACCOUNT NOW');
    expect(alice.entry.folder).toBe('spam'); // the premise: it scored as spam
    expect(await tdb.prisma.outboundDelivery.count()).toBe(before);
  });

  it("another organisation's users on this server are outside members: relayed, never put into their mailboxes", async () => {
    const account = await tdb.prisma.account.create({ data: { name: 'Other Org' } });
    const domain = await tdb.prisma.domain.create({ data: { accountId: account.id, name: 'other.test' } });
    const erin = await tdb.prisma.user.create({ data: { accountId: account.id, domainId: domain.id, localPart: 'erin', displayName: 'Erin', passwordHash: 'x' } });
    await giveKeys(tdb.prisma, erin.id);
    const admin = await tdb.prisma.user.findUniqueOrThrow({ where: { id: adminId } });
    await tdb.prisma.mailingList.create({ data: { accountId: admin.accountId, domainId: admin.domainId, localPart: 'crossorg', name: 'Cross', members: { create: ['alice@example.test', 'erin@other.test'].map((address) => ({ address })) } } });
    const before = { alice: await entryCount(tdb.prisma, users.alice.id), erin: await entryCount(tdb.prisma, erin.id) };
    await transport().sendMail({ from: 'dave@outside.example', to: 'crossorg@example.test', subject: 'Across', text: 'x' });
    expect(await entryCount(tdb.prisma, users.alice.id)).toBe(before.alice + 1);
    expect(await entryCount(tdb.prisma, erin.id)).toBe(before.erin);
    const relayed = await tdb.prisma.outboundDelivery.findMany({ where: { recipient: 'erin@other.test' } });
    expect(relayed.map((d) => d.status)).toEqual(['queued']);
  });

  it('a member also named at RCPT gets one copy (the direct one)', async () => {
    const before = await counts();
    await transport().sendMail({ from: 'dave@outside.example', to: ['team@example.test', 'bob@example.test'], subject: 'Twice named', text: 'x' });
    expect(await counts()).toEqual({ alice: before.alice + 1, bob: before.bob + 1, admin: before.admin });
    const bob = await openNewest(tdb.prisma, users.bob.id, users.bob.puk);
    expect(bob.subject).toBe('Twice named');
    expect(bob.header('List-Id')).toBeUndefined();
    expect((await openNewest(tdb.prisma, users.alice.id, users.alice.puk)).header('List-Id')).toBe('"The Team" <team.example.test>');
  });

  it('a message that already went through the list is not expanded again', async () => {
    const before = await counts();
    const looped = { from: 'dave@outside.example', subject: 'Loop', text: 'x', headers: { 'List-Id': 'Team <team.example.test>' } };
    await expect(transport().sendMail({ ...looped, to: 'team@example.test' })).rejects.toMatchObject({ responseCode: 554, response: expect.stringMatching(/^554 5\.4\.6 /) });
    expect(await counts()).toEqual(before);
    // Other recipients of the looping message still get it; the list does not.
    await transport().sendMail({ ...looped, to: ['team@example.test', 'bob@example.test'] });
    expect(await counts()).toEqual({ ...before, bob: before.bob + 1 });
  });

  it('a blocked sender does not reach the members who blocked it', async () => {
    const bob = await tdb.prisma.user.findUniqueOrThrow({ where: { id: users.bob.id } });
    await tdb.prisma.blockedSender.create({ data: { accountId: bob.accountId, userId: bob.id, pattern: 'pest.example' } });
    const before = await counts();
    await transport().sendMail({ from: 'x@pest.example', to: 'team@example.test', subject: 'Pest', text: 'x' });
    expect(await counts()).toEqual({ ...before, alice: before.alice + 1 });
    // Blocked for the whole account: refused at RCPT.
    await tdb.prisma.blockedSender.create({ data: { accountId: bob.accountId, userId: null, pattern: 'pest.example' } });
    const d = await Dialog.open(port);
    await d.reply();
    await d.cmd('EHLO client.example.org');
    await d.starttls(tls.cert);
    await d.cmd('EHLO client.example.org');
    await d.cmd('MAIL FROM:<x@pest.example>');
    expect((await d.cmd('RCPT TO:<team@example.test>')).text).toMatch(/^550 5\.7\.1 /);
    await d.cmd('RSET');
    await d.cmd('MAIL FROM:<x@fine.example>');
    expect((await d.cmd('RCPT TO:<team@example.test>')).code).toBe(250);
    expect((await d.cmd('RCPT TO:<teams@example.test>')).text).toMatch(/^550 5\.1\.1 /);
    d.close();
  });
});

describe('who may post', () => {
  const refusal = (p: Promise<unknown>) => p.then(() => null, (err: { responseCode?: number; response?: string }) => ({ code: err.responseCode, text: err.response ?? '' }));
  beforeAll(async () => {
    const admin = await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'admin' } });
    await tdb.prisma.mailingList.create({ data: { accountId: admin.accountId, domainId: admin.domainId, localPart: 'board', name: 'Board', posting: 'members', members: { create: ['alice@example.test', 'dora@members.example'].map((address) => ({ address })) } } });
    await tdb.prisma.mailingList.create({ data: { accountId: admin.accountId, domainId: admin.domainId, localPart: 'staff', name: 'Staff', posting: 'organisation', members: { create: [{ address: 'bob@example.test' }] } } });
  });

  it('a members-only list takes mail from a member SPF vouches for, and refuses (550 5.7.1) anyone else, or a member’s address forged', async () => {
    const before = await counts();
    await transport().sendMail({ from: 'dora@members.example', to: 'board@example.test', subject: 'From a member', text: 'x' });
    expect((await counts()).alice).toBe(before.alice + 1);
    const stranger = await refusal(transport().sendMail({ from: 'eve@strangers.example', to: 'board@example.test', subject: 'Not a member', text: 'x' }));
    expect(stranger).toMatchObject({ code: 550, text: expect.stringMatching(/5\.7\.1 .*only its members may post to board@example\.test/) });
    // A member's address in From, sent by someone else (SPF passes for the envelope's domain, not the From's).
    const forged = await refusal(transport().sendMail({ from: 'dora@members.example', envelope: { from: 'eve@strangers.example', to: 'board@example.test' }, to: 'board@example.test', subject: 'Forged member', text: 'x' }));
    expect(forged).toMatchObject({ code: 550 });
    expect((await counts()).alice).toBe(before.alice + 1);
  });

  it('an organisation-only list takes mail from the organisation’s domains SPF vouches for, and refuses the rest', async () => {
    const before = await counts();
    await transport().sendMail({ from: 'alice@example.test', to: 'staff@example.test', subject: 'From inside', text: 'x' });
    expect((await counts()).bob).toBe(before.bob + 1);
    expect(await refusal(transport().sendMail({ from: 'eve@strangers.example', to: 'staff@example.test', subject: 'From outside', text: 'x' }))).toMatchObject({ code: 550, text: expect.stringMatching(/only people of its organisation/) });
    // Mail to a list anyone may post to is unchanged.
    await transport().sendMail({ from: 'eve@strangers.example', to: 'team@example.test', subject: 'To the open list', text: 'x' });
    expect((await counts()).bob).toBe(before.bob + 2);
  });
});
