/**
 * A user of this server posting to their organisation's mailing list (docs/mail.md "Posting to
 * a list from inside"): the client sends the list address as standard mail (lists are not end to
 * end encrypted, MISSION §4), the relay (a pg-boss queue on this test's Postgres) expands it here
 * with the ingress's rules — members of the organisation get a server-sealed copy with List-Id
 * inside, the outside member gets it over real SMTP from the list address at a loopback
 * smtp-server standing in for the remote MX (its MX answer comes from a table: the only part
 * that is outside).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { simpleParser } from 'mailparser';
import { memoryKeyStore } from '@sealmail/client/identity';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { seedDemo } from '@sealmail/db';
import { loadOrCreateTls, type TlsMaterial } from '@sealmail/server';
import { relayTestApp, signedInDevice, standInMx, startRemoteMx, until } from './helpers';

let tdb: TestDatabase;
let app: FastifyInstance;
let dir: string;
let tls: TlsMaterial;
let mx: Awaited<ReturnType<typeof startRemoteMx>>;
let passwords: Record<string, string>;

/** One key store per user: every sign-in of a user is the same (approved) device. */
const stores = new Map<string, ReturnType<typeof memoryKeyStore>>();
async function device(address: string) {
  return signedInDevice(app, address, passwords[address]!, { store: stores.get(address) ?? stores.set(address, memoryKeyStore()).get(address)! });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealmail-listpost-'));
  tls = await loadOrCreateTls({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
  mx = await startRemoteMx(tls);
  tdb = await createTestDatabase();
  const seed = await seedDemo(tdb.prisma, { domain: 'example.test' });
  const other = await seedDemo(tdb.prisma, { domain: 'other.test' });
  passwords = Object.fromEntries([...seed.users, ...other.users].map((u) => [u.address, u.password!]));
  // The stand-in MX is on loopback (a public address in production).
  app = await relayTestApp(tdb, { dir, tlsCert: tls.cert, outbound: { allowPrivateTargets: true, resolveMx: standInMx({ 'example.org': 1 }), port: mx.port } });
  const domain = await tdb.prisma.domain.findUniqueOrThrow({ where: { name: 'example.test' } });
  await tdb.prisma.mailingList.create({
    data: { accountId: domain.accountId, domainId: domain.id, localPart: 'team', name: 'The Team', members: { create: ['bob@example.test', 'admin@example.test', 'dave@example.org'].map((address) => ({ address })) } },
  });
  const otherDomain = await tdb.prisma.domain.findUniqueOrThrow({ where: { name: 'other.test' } });
  await tdb.prisma.mailingList.create({ data: { accountId: otherDomain.accountId, domainId: otherDomain.id, localPart: 'staff', name: 'Staff', members: { create: [{ address: 'alice@other.test' }] } } });
}, 120_000);

afterAll(async () => {
  await app?.close();
  await mx?.close();
  await tdb?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('posting to a list from inside', () => {
  it('alice posts to team@: bob and admin get a server-sealed copy, the outside member gets it from the list address over SMTP', async () => {
    const alice = await device('alice@example.test');
    const bob = await device('bob@example.test');
    const admin = await device('admin@example.test');
    expect([...(await alice.mail.ownLists())]).toEqual(['team@example.test']);
    // No "allow standard" needed: a list of one's own organisation is known to be server-expanded.
    const sent = await alice.mail.send({ to: ['team@example.test'], subject: 'Team lunch on Friday', text: 'Pizza at noon.' });
    expect(sent.refused).toEqual([]);

    for (const u of [bob, admin]) {
      const item = await until(async () => (await u.mail.list({ folder: 'inbox' })).items.find((i) => 'subject' in i && i.subject === 'Team lunch on Friday'));
      if (!('subject' in item)) throw new Error('not opened');
      expect(item.protection).toBe('Server Encrypted');
      expect(item.from.address).toBe('alice@example.test');
      const opened = await u.mail.open(item.entryId);
      expect(opened.mime.text).toContain('Pizza at noon.');
    }
    const bobEntry = await tdb.prisma.mailboxEntry.findFirstOrThrow({ where: { user: { localPart: 'bob', domain: { name: 'example.test' } } }, include: { message: true } });
    expect(bobEntry.message.protection).toBe('server');

    const out = await until(async () => mx.received.find((r) => r.rcpt.includes('dave@example.org')));
    const parsed = await simpleParser(out.raw);
    expect(parsed.subject).toBe('Team lunch on Friday');
    expect(parsed.from?.value[0]?.address).toBe('team@example.test');
    expect(parsed.text).toContain('Pizza at noon.');
    expect(out.raw.toString('latin1')).toMatch(/^DKIM-Signature:[^]*?\bd=example\.test;/m);

    // The sender sees the list as delivered in her Sent copy.
    const deliveries = await until(async () => {
      const d = (await alice.api.request((await import('@sealmail/contract')).mailDeliveries, { params: { entryId: sent.entryId } })).deliveries;
      return d.every((x) => x.status === 'delivered') && d.length ? d : null;
    });
    expect(deliveries.map((d) => d.recipient)).toEqual(['team@example.test']);
  }, 120_000);

  it("another organisation's list on this server is not posted to through the relay, and an unknown address on one's own domain stays refused", async () => {
    const alice = await device('alice@example.test');
    await expect(alice.mail.send({ to: ['staff@other.test'], subject: 'x', text: 'y', allowStandard: true })).rejects.toMatchObject({ code: 'E2EE_UNAVAILABLE' });
    await expect(alice.mail.send({ to: ['nobody@example.test'], subject: 'x', text: 'y', allowStandard: true })).rejects.toMatchObject({ code: 'E2EE_UNAVAILABLE' });
  }, 60_000);

  it('a members-only list refuses a colleague who is not a member (naming the list), takes a member, and the admin sets who may post', async () => {
    const admin = await device('admin@example.test');
    const made = await admin.api.request((await import('@sealmail/contract')).adminListCreate, { body: { address: 'board@example.test', name: 'Board', members: ['bob@example.test', 'admin@example.test'], posting: 'members' } });
    expect(made.posting).toBe('members');
    const alice = await device('alice@example.test');
    const refused = await alice.mail.send({ to: ['board@example.test'], subject: 'May I?', text: 'x' }).catch((err: unknown) => err);
    expect(refused).toMatchObject({ code: 'FORBIDDEN', field: 'body.to.0', message: expect.stringMatching(/Only members of board@example\.test may post/) });
    const bob = await device('bob@example.test');
    expect((await bob.mail.send({ to: ['board@example.test'], subject: 'Board minutes', text: 'x' })).refused).toEqual([]);
    // Opened to the organisation: Alice may post now.
    const changed = await admin.api.request((await import('@sealmail/contract')).adminListUpdate, { params: { id: made.id }, body: { posting: 'organisation' } });
    expect(changed.posting).toBe('organisation');
    expect((await alice.mail.send({ to: ['board@example.test'], subject: 'Now I may', text: 'x' })).refused).toEqual([]);
  }, 60_000);
});
