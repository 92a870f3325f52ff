/**
 * Mail that runs itself, at the ingress (docs/mail.md "Filters", "Out-of-office", "Aliases and
 * send-as"): real nodemailer → real ingress over STARTTLS → real Postgres. A metadata filter files,
 * labels and stars new outside mail and forwards it only to a verified address (through the relay:
 * a copy only the server can open, from the address the mail came to); out-of-office answers an
 * outside sender once per period and never mailing lists, bulk, auto-submitted mail, the null
 * sender or no-reply addresses, nor a sender SPF does not vouch for (backscatter); mail to an
 * alias and to user+tag arrives. DNS is outside the machine: the resolver is a table — every
 * sender domain publishes SPF allowing 127.0.0.1, except forged.example (`-all`) and
 * nospf.example (no record); nothing else is published.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { simpleParser } from 'mailparser';
import type { SMTPServer } from 'smtp-server';
import { decodeEnvelope, openMailPiece, openManifest, openServerBox, type PerUserKey } from '@sealmail/crypto';
import { seedDemo } from '@sealmail/db';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { ephemeralServerMailKey, SecretBox, sealOutOfOfficeTexts } from '@sealmail/mailstore';
import { createLogger, loadOrCreateTls, type TlsMaterial } from '@sealmail/server';
import { buildSmtpServer } from '../src/server';
import { giveKeys } from './keys';
import { openNewest } from './mailbox';

let tdb: TestDatabase;
let tls: TlsMaterial;
let dir: string;
let server: SMTPServer;
let port = 0;
let bob: { id: string; puk: PerUserKey };
let labelId = '';
const serverKey = ephemeralServerMailKey();
const secrets = new SecretBox(serverKey);

async function resolver(name: string, type: string): Promise<string[][]> {
  if (type === 'TXT' && !name.startsWith('_') && name !== 'nospf.example') return [[name === 'forged.example' ? 'v=spf1 -all' : 'v=spf1 ip4:127.0.0.1 -all']];
  throw Object.assign(new Error(`no ${type} for ${name}`), { code: 'ENOTFOUND' });
}
const transport = () => nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, requireTLS: true, tls: { ca: tls.cert, servername: 'localhost' }, name: 'client.example.org' });

/** The copies the server relays to `recipient` (forwards, automatic replies), newest first, opened with the server key. */
async function relayedTo(recipient: string) {
  const rows = await tdb.prisma.message.findMany({ where: { deliveries: { some: { recipient } } }, orderBy: { sentAt: 'desc' }, include: { deliveries: true, entries: true } });
  return Promise.all(
    rows.map(async (m) => {
      const { messageKey } = openServerBox({ envelope: m.envelope, box: m.serverBox!, serverPublicKey: serverKey.publicKey, serverSecretKey: serverKey.secretKey });
      const manifest = await openManifest({ envelope: decodeEnvelope(m.envelope), manifest: m.manifest, messageKey });
      const mime = await simpleParser(Buffer.from(await openMailPiece({ manifest, index: 0, ciphertext: m.body })));
      return { message: m, notE2EE: manifest.notE2EE, mime, header: (k: string) => mime.headerLines.find((h) => h.key === k)?.line.replace(/^[^:]*:\s*/, '') };
    }),
  );
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealmail-rules-'));
  tls = await loadOrCreateTls({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
  tdb = await createTestDatabase();
  await seedDemo(tdb.prisma, { domain: 'example.test' });
  const u = await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'bob' } });
  bob = { id: u.id, puk: await giveKeys(tdb.prisma, u.id) };
  await tdb.prisma.userAlias.create({ data: { userId: u.id, domainId: u.domainId, localPart: 'sales' } });
  labelId = (await tdb.prisma.label.create({ data: { userId: u.id, name: new Uint8Array([1, 2, 3]) } })).id;
  server = buildSmtpServer({ db: tdb.prisma, logger: createLogger({ level: 'silent' }), tls, hostname: 'mx.example.test', maxMessageBytes: 1024 * 1024, secure: false, resolver, serverPublicKey: serverKey.publicKey, secrets });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.server.address() as { port: number }).port;
}, 60_000);

afterAll(async () => {
  await new Promise<void>((r) => server?.close(() => r()));
  await tdb?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('aliases and plus-addressing', () => {
  it('mail to an alias and to user+tag arrives in the user’s mailbox, the tag visible in the sealed To', async () => {
    await transport().sendMail({ from: 'dave@outside.example', to: 'sales@example.test', subject: 'To the alias', text: 'x' });
    expect((await openNewest(tdb.prisma, bob.id, bob.puk)).subject).toBe('To the alias');
    const info = await transport().sendMail({ from: 'dave@outside.example', to: 'bob+receipts@example.test', subject: 'Tagged', text: 'x' });
    expect(info.accepted).toEqual(['bob+receipts@example.test']);
    const opened = await openNewest(tdb.prisma, bob.id, bob.puk);
    expect(opened.subject).toBe('Tagged');
    expect(opened.header('to')).toBe('bob+receipts@example.test');
    // A +tag of an address nobody has is still unknown.
    await expect(transport().sendMail({ from: 'dave@outside.example', to: 'nobody+x@example.test', subject: 'No', text: 'x' })).rejects.toThrow(/550/);
  });
});

describe('metadata filters at delivery', () => {
  it('files a new outside mail into a folder, labels and stars it; other mail is untouched', async () => {
    await tdb.prisma.mailFilter.create({ data: { userId: bob.id, position: 0, conditions: { from: 'invoices.example' }, actions: { folder: 'archive', labelIds: [labelId], star: true, markRead: true } } });
    await transport().sendMail({ from: 'billing@mail.invoices.example', to: 'bob@example.test', subject: 'Invoice 42', text: 'Pay' });
    const filed = await openNewest(tdb.prisma, bob.id, bob.puk);
    expect(filed.subject).toBe('Invoice 42');
    expect(filed.entry).toMatchObject({ folder: 'archive', starred: true, read: true, labelIds: [labelId] });
    await transport().sendMail({ from: 'friend@elsewhere.example', to: 'bob@example.test', subject: 'Hello', text: 'Hi' });
    expect((await openNewest(tdb.prisma, bob.id, bob.puk)).entry).toMatchObject({ folder: 'inbox', starred: false, read: false, labelIds: [] });
    await tdb.prisma.mailFilter.deleteMany({ where: { userId: bob.id } });
  });

  it('matches the address the mail came to, the List-Id, size and attachments', async () => {
    await tdb.prisma.mailFilter.createMany({
      data: [
        { userId: bob.id, position: 0, conditions: { to: 'sales@example.test' }, actions: { labelIds: [labelId] } },
        { userId: bob.id, position: 1, conditions: { listId: 'news.lists.example' }, actions: { folder: 'archive' } },
        { userId: bob.id, position: 2, conditions: { hasAttachment: true, sizeOver: 1000 }, actions: { star: true } },
      ],
    });
    await transport().sendMail({ from: 'dave@outside.example', to: 'sales@example.test', subject: 'Via alias', text: 'x' });
    expect((await openNewest(tdb.prisma, bob.id, bob.puk)).entry).toMatchObject({ folder: 'inbox', labelIds: [labelId], starred: false });
    await transport().sendMail({ from: 'news@lists.example', to: 'bob@example.test', subject: 'Weekly', text: 'x', headers: { 'List-Id': 'News <news.lists.example>' } });
    expect((await openNewest(tdb.prisma, bob.id, bob.puk)).entry).toMatchObject({ folder: 'archive', labelIds: [] });
    await transport().sendMail({ from: 'dave@outside.example', to: 'bob@example.test', subject: 'File', text: 'x', attachments: [{ filename: 'a.bin', content: Buffer.alloc(4000, 7) }] });
    // (A mail with attachments: the entry's flags are what counts here, its pieces are opened elsewhere.)
    expect(await tdb.prisma.mailboxEntry.findFirstOrThrow({ where: { userId: bob.id }, orderBy: { receivedAt: 'desc' } })).toMatchObject({ folder: 'inbox', starred: true });
    await tdb.prisma.mailFilter.deleteMany({ where: { userId: bob.id } });
  });

  it('forwards only to a verified address, through the relay, from the address the mail came to', async () => {
    const unverified = await tdb.prisma.forwardAddress.create({ data: { userId: bob.id, address: 'bob.private@home.example' } });
    const verified = await tdb.prisma.forwardAddress.create({ data: { userId: bob.id, address: 'bob@phone.example', verifiedAt: new Date() } });
    await tdb.prisma.mailFilter.createMany({
      data: [
        { userId: bob.id, position: 0, conditions: { from: 'boss@corp.example' }, actions: { forwardTo: unverified.id } },
        { userId: bob.id, position: 1, conditions: { from: 'boss@corp.example' }, actions: { forwardTo: verified.id } },
      ],
    });
    await transport().sendMail({ from: 'boss@corp.example', to: 'sales@example.test', subject: 'Urgent', text: 'Call me' });
    // Bob has it as usual; the verified address gets a relayed copy, the unverified one nothing.
    expect((await openNewest(tdb.prisma, bob.id, bob.puk)).subject).toBe('Urgent');
    expect(await relayedTo('bob.private@home.example')).toHaveLength(0);
    const [fwd] = await relayedTo('bob@phone.example');
    expect(fwd!.message.senderAddress).toBe('sales@example.test');
    expect(fwd!.message.entries).toHaveLength(0);
    expect(fwd!.notE2EE).toBe(true);
    expect(fwd!.mime.text).toContain('Call me');
    expect(fwd!.header('auto-submitted')).toBeUndefined();
    // An automated message forwarded stays marked so (RFC 3834 §5): no responder past the forward answers it.
    await transport().sendMail({ from: 'boss@corp.example', to: 'sales@example.test', subject: 'Nightly report', text: 'ok', headers: { 'Auto-Submitted': 'auto-generated' } });
    const [report] = await relayedTo('bob@phone.example');
    expect(report!.mime.subject).toBe('Nightly report');
    expect(report!.header('auto-submitted')).toBe('auto-generated');
    await tdb.prisma.mailFilter.deleteMany({ where: { userId: bob.id } });
  });
});

describe('out-of-office (RFC 3834)', () => {
  const periodId = randomUUID();
  beforeAll(async () => {
    const now = Date.now();
    await tdb.prisma.outOfOffice.create({
      data: { userId: bob.id, enabled: true, startsAt: new Date(now - 3600_000), endsAt: new Date(now + 86400_000), periodId, ...sealOutOfOfficeTexts(secrets, bob.id, { subject: 'Away', text: 'Inside text', outsideText: 'Back on Monday (outside text)' }) },
    });
  });

  it('answers an outside sender once per period, with Auto-Submitted and In-Reply-To, from the address the mail came to', async () => {
    await transport().sendMail({ from: 'carol@customer.example', to: 'sales@example.test', subject: 'Question', text: 'Hello?', messageId: '<q1@customer.example>' });
    const [reply, ...more] = await relayedTo('carol@customer.example');
    expect(more).toHaveLength(0);
    expect(reply!.message.senderAddress).toBe('sales@example.test');
    expect(reply!.message.deliveries.map((d) => d.status)).toEqual(['queued']);
    expect(reply!.header('auto-submitted')).toBe('auto-replied');
    expect(reply!.header('in-reply-to')).toBe('<q1@customer.example>');
    expect(reply!.mime.subject).toBe('Away');
    expect(reply!.mime.text).toContain('Back on Monday (outside text)');
    // The second mail within the period: no second reply.
    await transport().sendMail({ from: 'carol@customer.example', to: 'bob@example.test', subject: 'Again', text: 'Hello??' });
    expect(await relayedTo('carol@customer.example')).toHaveLength(1);
    // The texts are sealed at rest: the stored row holds none of them.
    const row = await tdb.prisma.outOfOffice.findUniqueOrThrow({ where: { userId: bob.id } });
    expect(JSON.stringify(row)).not.toMatch(/Monday|Inside text|Away/);
  });

  it('never answers lists, bulk, auto-submitted mail, the null sender or no-reply addresses', async () => {
    const cases: { from: string; envelope?: { from: string; to: string }; headers?: Record<string, string> }[] = [
      { from: 'l1@lists.example', headers: { 'List-Id': '<team.lists.example>' } },
      { from: 'l2@lists.example', headers: { 'List-Unsubscribe': '<mailto:leave@lists.example>' } },
      { from: 'b1@promo.example', headers: { Precedence: 'bulk' } },
      { from: 'b2@promo.example', headers: { Precedence: 'junk' } },
      { from: 'a1@robot.example', headers: { 'Auto-Submitted': 'auto-generated' } },
      { from: 'a2@robot.example', headers: { 'Auto-Submitted': 'auto-replied' } },
      { from: 'noreply@shop.example' },
      { from: 'no-reply@shop.example' },
      { from: 'mailer-daemon@relay.example' },
      { from: 'n1@null.example', envelope: { from: '', to: 'bob@example.test' } },
    ];
    for (const c of cases) {
      await transport().sendMail({ from: c.from, to: 'bob@example.test', subject: 'Automated', text: 'x', ...(c.headers ? { headers: c.headers } : {}), ...(c.envelope ? { envelope: c.envelope } : {}) });
      expect(await relayedTo(c.from), c.from).toHaveLength(0);
    }
    // Auto-Submitted: no is a person's mail and gets its reply.
    await transport().sendMail({ from: 'person@people.example', to: 'bob@example.test', subject: 'Hi', text: 'x', headers: { 'Auto-Submitted': 'no' } });
    expect(await relayedTo('person@people.example')).toHaveLength(1);
  });

  it('never answers an envelope sender SPF does not vouch for (a forged or unverifiable sender: backscatter)', async () => {
    await transport().sendMail({ from: 'victim@forged.example', to: 'bob@example.test', subject: 'Spoofed', text: 'x' });
    await transport().sendMail({ from: 'someone@nospf.example', to: 'bob@example.test', subject: 'Unverifiable', text: 'x' });
    expect((await openNewest(tdb.prisma, bob.id, bob.puk)).subject).toBe('Unverifiable');
    expect(await relayedTo('victim@forged.example')).toHaveLength(0);
    expect(await relayedTo('someone@nospf.example')).toHaveLength(0);
    // The same from a vouched-for sender is answered.
    await transport().sendMail({ from: 'real@people2.example', to: 'bob@example.test', subject: 'Real', text: 'x' });
    expect(await relayedTo('real@people2.example')).toHaveLength(1);
  });

  it('stays quiet outside its dates and when turned off', async () => {
    await tdb.prisma.outOfOffice.update({ where: { userId: bob.id }, data: { startsAt: new Date(Date.now() + 3600_000), periodId: randomUUID() } });
    await transport().sendMail({ from: 'early@people.example', to: 'bob@example.test', subject: 'Hi', text: 'x' });
    expect(await relayedTo('early@people.example')).toHaveLength(0);
    await tdb.prisma.outOfOffice.update({ where: { userId: bob.id }, data: { startsAt: null, enabled: false } });
    await transport().sendMail({ from: 'off@people.example', to: 'bob@example.test', subject: 'Hi', text: 'x' });
    expect(await relayedTo('off@people.example')).toHaveLength(0);
  });
});
