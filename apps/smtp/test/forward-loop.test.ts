/**
 * Loops at the ingress, over real SMTP (loop-marks.ts, deliver.ts):
 *
 * 1. RFC 5321 §6.3: a message that has already passed through many hops (its Received fields) is
 *    in a loop: refused 554 5.4.6 past MAX_RECEIVED_HOPS, not delivered and forwarded again.
 * 2. A forward names the relay it went out through (X-Sealmail-Loop): when a host forwards it back,
 *    it is delivered but not forwarded again — two mailboxes forwarding to each other stop after
 *    one round.
 * 3. A bounce (null sender) or an automatic reply to a list is not spread to its members: a list's
 *    outside members bounce and auto-reply to the list address.
 * The forwarding target's server is a stand-in on loopback; DNS answers come from a table.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { simpleParser } from 'mailparser';
import type { SMTPServer } from 'smtp-server';
import { decodeEnvelope, openMailPiece, openManifest, openServerBox } from '@sealmail/crypto';
import { seedDemo } from '@sealmail/db';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { ephemeralServerMailKey, SecretBox, sealOutOfOfficeTexts } from '@sealmail/mailstore';
import { createLogger, loadOrCreateTls, type TlsMaterial } from '@sealmail/server';
import { buildSmtpServer } from '../src/server';
import { MAX_RECEIVED_HOPS } from '../src/deliver';
import { giveKeys } from './keys';

let tdb: TestDatabase;
let tls: TlsMaterial;
let dir: string;
let server: SMTPServer;
let port = 0;
let bobId = '';
const serverKey = ephemeralServerMailKey();
const secrets = new SecretBox(serverKey);

/** DNS: forged.example publishes `v=spf1 -all` (nothing may send for it); nothing else exists. */
async function resolver(name: string, type: string): Promise<string[][]> {
  if (type === 'TXT' && name === 'forged.example') return [['v=spf1 -all']];
  throw Object.assign(new Error(`no ${type} for ${name}`), { code: 'ENOTFOUND' });
}
const transport = () => nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, requireTLS: true, tls: { ca: tls.cert, servername: 'localhost' }, name: 'client.example.org' });

async function relayedTo(recipient: string) {
  const rows = await tdb.prisma.message.findMany({ where: { deliveries: { some: { recipient } } }, orderBy: { sentAt: 'desc' }, include: { deliveries: true } });
  return Promise.all(
    rows.map(async (m) => {
      const { messageKey } = openServerBox({ envelope: m.envelope, box: m.serverBox!, serverPublicKey: serverKey.publicKey, serverSecretKey: serverKey.secretKey });
      const manifest = await openManifest({ envelope: decodeEnvelope(m.envelope), manifest: m.manifest, messageKey });
      const mime = await simpleParser(Buffer.from(await openMailPiece({ manifest, index: 0, ciphertext: m.body })));
      return { message: m, mime, header: (k: string) => mime.headerLines.find((h) => h.key === k)?.line.replace(/^[^:]*:\s*/, '') };
    }),
  );
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealmail-fwdloop-'));
  tls = await loadOrCreateTls({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
  tdb = await createTestDatabase();
  await seedDemo(tdb.prisma, { domain: 'example.test' });
  const bob = await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'bob' } });
  const alice = await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'alice' } });
  bobId = bob.id;
  await giveKeys(tdb.prisma, bob.id);
  await giveKeys(tdb.prisma, alice.id);
  // Bob forwards everything to his mailbox at home (which, misconfigured, forwards back to him).
  const home = await tdb.prisma.forwardAddress.create({ data: { userId: bob.id, address: 'bob@home.example', verifiedAt: new Date() } });
  await tdb.prisma.mailFilter.create({ data: { userId: bob.id, position: 0, conditions: {}, actions: { forwardTo: home.id } } });
  // Alice is away.
  const now = Date.now();
  await tdb.prisma.outOfOffice.create({
    data: { userId: alice.id, enabled: true, startsAt: new Date(now - 3600_000), endsAt: new Date(now + 86400_000), periodId: randomUUID(), ...sealOutOfOfficeTexts(secrets, alice.id, { subject: 'Away', text: 'Away', outsideText: null }) },
  });
  server = buildSmtpServer({ db: tdb.prisma, logger: createLogger({ level: 'silent' }), tls, hostname: 'mx.example.test', maxMessageBytes: 1024 * 1024, secure: false, resolver, serverPublicKey: serverKey.publicKey, secrets });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.server.address() as { port: number }).port;
}, 60_000);

afterAll(async () => {
  await new Promise<void>((r) => server?.close(() => r()));
  await tdb?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('loops and backscatter at the ingress', () => {
  it('a message past MAX_RECEIVED_HOPS Received fields is refused as a loop (RFC 5321 §6.3), not delivered and forwarded again', async () => {
    const before = { entries: await tdb.prisma.mailboxEntry.count({ where: { userId: bobId } }), forwards: (await relayedTo('bob@home.example')).length };
    // What a forwarding loop looks like after many rounds: each hop added its Received field.
    const hops = Array.from({ length: MAX_RECEIVED_HOPS + 1 }, (_, i) => ({ key: 'Received', value: `from mx${i}.home.example by mx.example.test with ESMTPS id ${i}; Mon, 1 Jun 2026 10:00:00 +0000` }));
    await expect(transport().sendMail({ from: 'dave@outside.example', to: 'bob@example.test', subject: 'Round 40', text: 'x', headers: hops })).rejects.toMatchObject({ responseCode: 554 });
    expect(await tdb.prisma.mailboxEntry.count({ where: { userId: bobId } })).toBe(before.entries);
    expect((await relayedTo('bob@home.example')).length).toBe(before.forwards);
  });

  it('a forward that comes back is delivered, not forwarded again', async () => {
    const before = (await relayedTo('bob@home.example')).length;
    // What home.example sends back: our forward, with the loop mark our relay gave it.
    await transport().sendMail({ from: 'dave@outside.example', to: 'bob@example.test', subject: 'Round 2', text: 'x', headers: { 'X-Sealmail-Loop': 'bob@example.test' } });
    expect(await tdb.prisma.mailboxEntry.count({ where: { userId: bobId } })).toBeGreaterThan(0);
    expect((await relayedTo('bob@home.example')).length).toBe(before);
  });
});

describe('bounces to a list', () => {
  it('a bounce (null sender) to a list address is not relayed to its outside members', async () => {
    // The relay sends a list's outside copies with the list address as envelope sender, so an
    // outside member's asynchronous bounce comes back to the list address.
    const bob = await tdb.prisma.user.findUniqueOrThrow({ where: { id: bobId } });
    await tdb.prisma.mailingList.create({ data: { accountId: bob.accountId, domainId: bob.domainId, localPart: 'team', name: 'Team', members: { create: ['alice@example.test', 'gone@dead.example', 'carol@outside.example'].map((address) => ({ address })) } } });
    await transport()
      .sendMail({ envelope: { from: '', to: 'team@example.test' }, from: 'MAILER-DAEMON@mx.dead.example', to: 'team@example.test', subject: 'Undelivered Mail Returned to Sender', text: '<gone@dead.example>: user unknown' })
      .catch(() => undefined); // refusing it would be fine too
    expect(await relayedTo('gone@dead.example')).toHaveLength(0);
    expect(await relayedTo('carol@outside.example')).toHaveLength(0);
  });
});
