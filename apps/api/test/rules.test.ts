/**
 * Filters, out-of-office and send-as through the API (docs/mail.md "Filters", "Out-of-office",
 * "Aliases and send-as"): real Postgres, the real relay (pg-boss) delivering to a real smtp-server
 * on loopback that stands in for remote MX hosts (MX answers come from a table: DNS is outside).
 *
 * - a forward address is usable only after the code mailed to it comes back;
 * - metadata filters run on mail between users (label, star) — never forwarding E2EE mail;
 * - content filters are sealed on the device: their text never reaches the server (canary);
 * - out-of-office texts are sealed at rest; a colleague gets one reply per period; an outside
 *   reply leaves through the relay DKIM-signed with Auto-Submitted and In-Reply-To;
 * - mail to an alias and to user+tag arrives; a reply from the alias is labelled E2E Encrypted
 *   from the alias on the recipient's device; a From the user does not own is refused.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { simpleParser } from 'mailparser';
import { ApiClientError } from '@sealmail/client';
import { filterReplace, forwardAdd, forwardVerify, outOfOfficeGet, outOfOfficePut, sendAddresses } from '@sealmail/contract';
import { ContentRules, contentOutcome, memoryKeyStore } from '@sealmail/client/identity';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { seedDemo } from '@sealmail/db';
import { ephemeralServerMailKey, loadOrCreateDkimKey, postgresBlobStore, replyOutOfOffice, SecretBox } from '@sealmail/mailstore';
import { createLogger, defaultAuthSettings, loadOrCreateTls, type TlsMaterial } from '@sealmail/server';
import { buildApp } from '../src/app';
import { startRemoteMx, until, signedInDevice } from './helpers';

let tdb: TestDatabase;
let app: FastifyInstance;
let dir: string;
let tls: TlsMaterial;
let mx: Awaited<ReturnType<typeof startRemoteMx>>;
let passwords: Record<string, string>;
const clock = { now: new Date(Math.floor(Date.now() / 60_000) * 60_000) };
const serverKey = ephemeralServerMailKey();
const CANARY = `canary-content-rule-${randomBytes(6).toString('hex')}`;

const stores = new Map<string, ReturnType<typeof memoryKeyStore>>();
const storeOf = (address: string) => stores.get(address) ?? stores.set(address, memoryKeyStore()).get(address)!;

async function device(address: string) {
  return signedInDevice(app, address, passwords[address]!, { store: storeOf(address) });
}
type Device = Awaited<ReturnType<typeof device>>;
let alice: Device;
let bob: Device;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealmail-rules-api-'));
  tls = await loadOrCreateTls({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
  mx = await startRemoteMx(tls);
  tdb = await createTestDatabase();
  const seed = await seedDemo(tdb.prisma, { domain: 'example.test' });
  passwords = Object.fromEntries(seed.users.map((u) => [u.address, u.password!]));
  app = await buildApp({
    logger: createLogger({ level: 'silent' }),
    db: tdb.prisma,
    version: 't',
    now: () => clock.now,
    auth: defaultAuthSettings,
    serverKey,
    outbound: {
      connectionString: tdb.connectionString,
      hostname: 'mx.example.test',
      dkim: (domain) => loadOrCreateDkimKey(dir, domain),
      // The stand-in MX is on loopback (a public address in production).
      allowPrivateTargets: true,
      resolveMx: async () => [{ exchange: 'localhost', priority: 10 }],
      port: mx.port,
      tls: { ca: tls.cert },
      sweepSeconds: 0.2,
    },
  });
  const a = await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'alice' } });
  await tdb.prisma.userAlias.create({ data: { userId: a.id, domainId: a.domainId, localPart: 'sales' } });
  alice = await device('alice@example.test');
  bob = await device('bob@example.test');
}, 120_000);

afterAll(async () => {
  await app?.close();
  await mx?.close();
  await tdb?.drop();
  await rm(dir, { recursive: true, force: true });
});

const newestEntry = (address: string) => tdb.prisma.mailboxEntry.findFirstOrThrow({ where: { user: { localPart: address.split('@')[0]! }, role: { not: 'sender-copy' } }, orderBy: { receivedAt: 'desc' } });
const advance = () => void (clock.now = new Date(clock.now.getTime() + 1000));

describe('forward addresses', () => {
  it('refuses an unverified address in a filter; a code mailed to it verifies it', async () => {
    const added = await alice.api.call(forwardAdd, { address: 'alice@home.example' });
    expect(added.verified).toBe(false);
    const mail = await until(async () => mx.received.find((m) => m.rcpt.includes('alice@home.example')));
    const parsed = await simpleParser(mail.raw);
    expect(parsed.subject).toBe('Confirm forwarding from alice@example.test');
    const code = /^ {4}(\S+)$/m.exec(parsed.text ?? '')![1]!;
    // Not verified yet: a filter forwarding there is refused.
    await expect(alice.api.call(filterReplace, { filters: [{ conditions: { from: 'boss.example' }, actions: { forwardTo: added.id } }] })).rejects.toMatchObject({ code: 'FORWARD_UNVERIFIED' });
    await expect(alice.api.request(forwardVerify, { params: { id: added.id }, body: { code: 'not-the-code' } })).rejects.toMatchObject({ code: 'FORWARD_CODE_INVALID' });
    expect((await alice.api.request(forwardVerify, { params: { id: added.id }, body: { code } })).verified).toBe(true);
    const saved = await alice.api.call(filterReplace, { filters: [{ conditions: { from: 'boss.example' }, actions: { forwardTo: added.id } }] });
    expect(saved.filters).toHaveLength(1);
    // Bob cannot use Alice's forward address.
    await expect(bob.api.call(filterReplace, { filters: [{ conditions: { from: 'x.example' }, actions: { forwardTo: added.id } }] })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await alice.api.call(filterReplace, { filters: [] });
  });

  it('mails at most 10 confirmation codes a day per user: adding and removing, or adding one again, does not make the server mail anyone without end', async () => {
    const sentTo = (a: string) => mx.received.filter((m) => m.rcpt.includes(a)).length;
    // Bob (10 a day): the same outside address added again and again.
    for (let i = 0; i < 10; i++) await bob.api.call(forwardAdd, { address: 'target@victim.example' });
    await until(async () => sentTo('target@victim.example') === 10);
    const refused = await bob.api.call(forwardAdd, { address: 'target@victim.example' }).catch((err: unknown) => err);
    expect(refused).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    // …and another address: still refused the same day.
    await expect(bob.api.call(forwardAdd, { address: 'other@victim.example' })).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    await new Promise((r) => setTimeout(r, 500));
    expect(sentTo('target@victim.example')).toBe(10);
    expect(sentTo('other@victim.example')).toBe(0);
    // A day later (the window moved back a day, not the sessions' clock), one more.
    await tdb.prisma.$executeRaw`UPDATE rate_limits SET window_start = window_start - interval '1 day' WHERE key LIKE 'forward-code:%'`;
    await bob.api.call(forwardAdd, { address: 'other@victim.example' });
    await until(async () => sentTo('other@victim.example') === 1);
  });

  it('refuses addresses on this server’s own domains (an alias is the way there)', async () => {
    await expect(alice.api.call(forwardAdd, { address: 'bob@example.test' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });
});

describe('metadata filters on mail between users', () => {
  it('label and star a colleague’s E2EE mail at delivery', async () => {
    const label = await alice.mail.createLabel('From Bob');
    await alice.api.call(filterReplace, { filters: [{ conditions: { from: 'bob@example.test' }, actions: { labelIds: [label.id], star: true } }] });
    advance();
    await bob.mail.send({ to: ['alice@example.test'], subject: 'Filtered', text: 'hi' });
    expect(await newestEntry('alice@example.test')).toMatchObject({ folder: 'inbox', starred: true, labelIds: [label.id] });
    await alice.api.call(filterReplace, { filters: [] });
  });
});

describe('content filters (on the device)', () => {
  it('apply on the device after decryption; their text never reaches the server (canary)', async () => {
    const rules = new ContentRules(alice.api, alice.identity, 'alice@example.test');
    const label = await alice.mail.createLabel('Canary');
    await rules.save([{ field: 'subject', contains: CANARY, labelId: label.id, star: true }]);
    expect(await rules.load()).toEqual([{ field: 'subject', contains: CANARY, labelId: label.id, star: true }]);
    advance();
    await bob.mail.send({ to: ['alice@example.test'], subject: `Report ${CANARY.toUpperCase()}`, text: 'body' });
    const entry = await newestEntry('alice@example.test');
    const opened = await alice.mail.open(entry.id);
    expect(contentOutcome(await rules.load(), opened)).toMatchObject({ labelIds: [label.id], star: true });
    expect(await rules.apply([opened])).toBe(1);
    expect(await tdb.prisma.mailboxEntry.findUniqueOrThrow({ where: { id: entry.id } })).toMatchObject({ starred: true, labelIds: [label.id] });
    // Every table, as text and hex: the rule's text (and the mail's subject carrying it) is nowhere.
    const tables = await tdb.prisma.$queryRaw<{ tablename: string }[]>`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`;
    expect(tables.map((t) => t.tablename)).toContain('content_rules');
    const hex = (s: string) => Buffer.from(s).toString('hex');
    for (const { tablename } of tables) {
      const rows = await tdb.prisma.$queryRawUnsafe<{ t: string }[]>(`SELECT t::text AS t FROM "${tablename}" t`);
      const dump = rows.map((r) => r.t).join('\n').toLowerCase();
      expect(dump.includes(CANARY), `canary in ${tablename}`).toBe(false);
      expect(dump.includes(hex(CANARY)), `canary (hex) in ${tablename}`).toBe(false);
    }
    // The sealed rules are really stored (the scan is not vacuous).
    expect((await tdb.prisma.contentRules.findFirstOrThrow()).record.length).toBeGreaterThan(CANARY.length);
  });
});

describe('out-of-office', () => {
  it('seals its texts at rest and answers a colleague once per period, from the address the mail came to', async () => {
    const saved = await alice.api.call(outOfOfficePut, { enabled: true, subject: 'Away this week', text: 'Colleagues: ask Dan.', outsideText: 'Customers: back on Monday.' });
    expect(saved).toMatchObject({ enabled: true, subject: 'Away this week', text: 'Colleagues: ask Dan.', outsideText: 'Customers: back on Monday.' });
    expect(await alice.api.call(outOfOfficeGet)).toEqual(saved);
    const row = await tdb.prisma.outOfOffice.findUniqueOrThrow({ where: { userId: (await alice.identity.thisDevice('alice@example.test')).userId } });
    expect(JSON.stringify(row)).not.toMatch(/ask Dan|Monday|Away this week/);
    advance();
    await bob.mail.send({ to: ['sales@example.test'], subject: 'Question', text: 'Are you there?' });
    const reply = await newestEntry('bob@example.test');
    const opened = await bob.mail.open(reply.id);
    expect(opened.protection).toBe('Server Encrypted');
    expect(opened.mime.subject).toBe('Away this week');
    expect(opened.mime.text).toContain('Colleagues: ask Dan.');
    expect(opened.mime.from?.address).toBe('sales@example.test');
    expect(opened.mime.autoSubmitted).toBe('auto-replied');
    advance();
    await bob.mail.send({ to: ['alice@example.test'], subject: 'Again', text: '?' });
    expect((await newestEntry('bob@example.test')).id).toBe(reply.id);
    // Refused dates: the end before the start.
    await expect(alice.api.call(outOfOfficePut, { enabled: true, text: 'x', startsAt: '2026-12-02T00:00:00Z', endsAt: '2026-12-01T00:00:00Z' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('an outside reply leaves through the relay, DKIM-signed, with Auto-Submitted and In-Reply-To', async () => {
    const userId = (await alice.identity.thisDevice('alice@example.test')).userId;
    const deps = { db: tdb.prisma, blobs: postgresBlobStore(tdb.prisma), hostname: 'mx.example.test', now: () => clock.now, logger: createLogger({ level: 'silent' }), secrets: new SecretBox(serverKey), serverPublicKey: serverKey.publicKey };
    expect(await replyOutOfOffice(deps, { userId, address: 'alice@example.test', replyTo: 'carol@customer.example', outside: true, inReplyTo: 'q1@customer.example' })).toBe(true);
    expect(await replyOutOfOffice(deps, { userId, address: 'alice@example.test', replyTo: 'carol@customer.example', outside: true, inReplyTo: 'q2@customer.example' })).toBe(false);
    const got = await until(async () => mx.received.find((m) => m.rcpt.includes('carol@customer.example')), 60_000);
    const raw = got.raw.toString('latin1');
    expect(raw).toMatch(/^DKIM-Signature: .*d=example\.test/m);
    expect(raw).toMatch(/^Auto-Submitted: auto-replied/m);
    expect(raw).toMatch(/^In-Reply-To: <q1@customer\.example>/m);
    expect((await simpleParser(got.raw)).text).toContain('Customers: back on Monday.');
    await alice.api.call(outOfOfficePut, { enabled: false, text: '' });
  }, 90_000);
});

describe('aliases and send-as', () => {
  it('mail to an alias and to user+tag arrives; the reply from the alias is E2E Encrypted from the alias', async () => {
    advance();
    await bob.mail.send({ to: ['sales@example.test'], subject: 'To sales', text: 'Quote please' });
    const incoming = await newestEntry('alice@example.test');
    const opened = await alice.mail.open(incoming.id);
    expect(opened.mime.subject).toBe('To sales');
    advance();
    await bob.mail.send({ to: ['alice+orders@example.test'], subject: 'Tagged', text: 'x' });
    expect((await alice.mail.open((await newestEntry('alice@example.test')).id)).mime.to).toEqual(['alice+orders@example.test']);
    // The reply goes from the address the mail came to.
    expect(await alice.api.call(sendAddresses)).toEqual({ primary: 'alice@example.test', aliases: ['sales@example.test'] });
    advance();
    await alice.mail.send({ from: 'sales@example.test', to: ['bob@example.test'], subject: 'Re: To sales', text: '100 EUR', inReplyTo: opened });
    const reply = await bob.mail.open((await newestEntry('bob@example.test')).id);
    expect(reply.protection).toBe('E2E Encrypted');
    expect(reply.warning).toBeNull();
    expect(reply.sender.address).toBe('sales@example.test');
    expect(reply.senderVia).toBe('alice@example.test');
    expect((await tdb.prisma.message.findFirstOrThrow({ where: { id: (await newestEntry('bob@example.test')).messageId } })).senderAddress).toBe('sales@example.test');
  });

  it('refuses a From the user does not own', async () => {
    const err = await alice.mail.send({ from: 'bob@example.test', to: ['bob@example.test'], subject: 'Forged', text: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiClientError);
    expect((err as ApiClientError).code).toBe('FROM_NOT_OWNED');
  });

  it('a +tag form of the user’s own address is theirs to send from, verified the same way', async () => {
    advance();
    await alice.mail.send({ from: 'alice+news@example.test', to: ['bob@example.test'], subject: 'Newsletter', text: 'x' });
    const got = await bob.mail.open((await newestEntry('bob@example.test')).id);
    expect(got).toMatchObject({ protection: 'E2E Encrypted', warning: null, sender: { address: 'alice+news@example.test' }, senderVia: 'alice@example.test' });
  });
});
