/**
 * Mailing lists whose expansion feeds back into itself (loop-marks.ts).
 *
 * 1. Two organisations on this server, each with a list naming the other's list as a member.
 *    The relay hands every outside member that is a list of this server to postToList
 *    (list-post.ts), which expanded it without any loop check, so each expansion queued the next
 *    one: one post produced copies without end, in both organisations' mailboxes. Now each relayed
 *    copy names the relays it went through (X-Sealmail-Loop), and a list it already went through
 *    is not expanded again.
 * 2. A list's copy for an outside member left without List-Id / List-Post (the relay kept only
 *    Auto-Submitted of the sealed headers): outside filters and auto-responders could not tell it
 *    was list mail. Now it carries them, Precedence: list, and its loop marks.
 * The outside member's server is a stand-in on loopback; DNS answers come from a table.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { SMTPServer } from 'smtp-server';
import { memoryKeyStore } from '@sealmail/client/identity';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { seedDemo } from '@sealmail/db';
import { loadOrCreateTls, type TlsMaterial } from '@sealmail/server';
import { relayTestApp, signedInDevice, standInMx, until } from './helpers';

let tdb: TestDatabase;
let app: FastifyInstance;
let dir: string;
let tls: TlsMaterial;
let passwords: Record<string, string>;
const received: { mailFrom: string; rcpt: string[]; raw: Buffer }[] = [];
let remote: SMTPServer;

const stores = new Map<string, ReturnType<typeof memoryKeyStore>>();
async function device(address: string) {
  return signedInDevice(app, address, passwords[address]!, { store: stores.get(address) ?? stores.set(address, memoryKeyStore()).get(address)! });
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealmail-listloop-'));
  tls = await loadOrCreateTls({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
  // The remote MX (stands in for example.org), recording the envelope sender too.
  remote = new SMTPServer({
    key: tls.key,
    cert: tls.cert,
    authOptional: true,
    disabledCommands: ['AUTH'],
    logger: false,
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({ mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', rcpt: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks) });
        cb();
      });
    },
  });
  await new Promise<void>((r) => remote.listen(0, '127.0.0.1', r));
  tdb = await createTestDatabase();
  const seed = await seedDemo(tdb.prisma, { domain: 'example.test' });
  const other = await seedDemo(tdb.prisma, { domain: 'other.test' });
  passwords = Object.fromEntries([...seed.users, ...other.users].map((u) => [u.address, u.password!]));
  // The stand-in MX is on loopback (a public address in production).
  app = await relayTestApp(tdb, { dir, tlsCert: tls.cert, outbound: { allowPrivateTargets: true, resolveMx: standInMx({ 'example.org': 1 }), port: (remote.server.address() as { port: number }).port } });
  const domain = await tdb.prisma.domain.findUniqueOrThrow({ where: { name: 'example.test' } });
  const otherDomain = await tdb.prisma.domain.findUniqueOrThrow({ where: { name: 'other.test' } });
  // Two organisations' lists naming each other (an ordinary misconfiguration: "announce the
  // partner's staff list on ours, and ours on theirs").
  await tdb.prisma.mailingList.create({ data: { accountId: domain.accountId, domainId: domain.id, localPart: 'partners', name: 'Partners', members: { create: ['bob@example.test', 'staff@other.test'].map((address) => ({ address })) } } });
  await tdb.prisma.mailingList.create({ data: { accountId: otherDomain.accountId, domainId: otherDomain.id, localPart: 'staff', name: 'Staff', members: { create: ['alice@other.test', 'partners@example.test'].map((address) => ({ address })) } } });
  // A list with one member on another server.
  await tdb.prisma.mailingList.create({ data: { accountId: domain.accountId, domainId: domain.id, localPart: 'team', name: 'The Team', members: { create: ['bob@example.test', 'dave@example.org'].map((address) => ({ address })) } } });
}, 120_000);

afterAll(async () => {
  await app?.close();
  await new Promise<void>((r) => (remote ? remote.close(() => r()) : r()));
  await tdb?.drop();
  await rm(dir, { recursive: true, force: true });
});

const entries = (address: string) => {
  const [localPart, name] = address.split('@');
  return tdb.prisma.mailboxEntry.count({ where: { folder: 'inbox', user: { localPart: localPart!, domain: { name: name! } } } });
};

describe('list loops', () => {
  it('two organisations whose lists name each other: one post gives each member one copy, not copies without end', async () => {
    const alice = await device('alice@example.test');
    await device('bob@example.test');
    await device('alice@other.test');
    const sent = await alice.mail.send({ to: ['partners@example.test'], subject: 'Partner news', text: 'once' });
    expect(sent.refused).toEqual([]);
    await until(async () => ((await entries('alice@other.test')) >= 1 ? true : null));
    // Give the relay a few seconds: with a loop every round adds a copy to both mailboxes.
    await sleep(6000);
    const copies = { bob: await entries('bob@example.test'), aliceOther: await entries('alice@other.test'), messages: await tdb.prisma.message.count() };
    expect(copies.bob).toBe(1);
    expect(copies.aliceOther).toBe(1);
  }, 120_000);

  it("a list's copy to an outside member names the list (List-Id, RFC 2919), says it is list mail, and names the relay it went through", async () => {
    const alice = await device('alice@example.test');
    await alice.mail.send({ to: ['team@example.test'], subject: 'Team news', text: 'for dave too' });
    const out = await until(async () => received.find((r) => r.rcpt.includes('dave@example.org')));
    const text = out.raw.toString('latin1');
    // Without List-Id, an outside member that forwards back to team@ is not recognised as a loop
    // by the ingress (deliver.ts keys on List-Id), and remote auto-responders answer it.
    expect(text).toMatch(/^List-Id: .*<team\.example\.test>/im);
    expect(text).toMatch(/^Precedence: list\r?$/m);
    expect(text).toMatch(/^X-Sealmail-Loop: team@example\.test\r?$/m);
  }, 120_000);
});
