/**
 * Standard mail to the outside world: the client seals it as usual, marks it not-E2EE and boxes
 * the message key to the server; the relay (a pg-boss queue in the same Postgres) rebuilds it,
 * DKIM-signs it and delivers it to a real smtp-server on loopback standing in for the remote MX
 * (DNS answers for MX and DKIM come from tables here: the only parts that are outside). 5xx fails
 * a recipient at once; 4xx is retried on the back-off schedule until it succeeds or the queue
 * lifetime passes (driven by an injected clock: the relay's sweeper runs every 200 ms of real
 * time and asks that clock what is due); every failure reaches the sender as an RFC 3464 report;
 * once every outside recipient is final the server box is erased.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { authenticate } from 'mailauth';
import { simpleParser } from 'mailparser';
import type { ApiClient } from '@sealmail/client';
import { Mailer, memoryKeyStore } from '@sealmail/client/identity';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { seedDemo } from '@sealmail/db';
import { deliverLocal, ephemeralServerMailKey, loadOrCreateDkimKey, postgresBlobStore } from '@sealmail/mailstore';
import { createLogger, defaultAuthSettings, hashPassword, loadOrCreateTls, tableDnssecResolver, type DnsTable, type TlsMaterial } from '@sealmail/server';
import { address, adminUserInvite } from '@sealmail/contract';
import { buildApp } from '../src/app';
import { MtaSts } from '../src/mail/mta-sts';
import { addressLiteral, defaultRetrySchedule, isPrivateAddress, retryDelaySeconds } from '../src/mail/outbound';
import { startRemoteMx, until, signedInDevice } from './helpers';

let tdb: TestDatabase;
let app: FastifyInstance;
let dir: string;
let tls: TlsMaterial;
let mx: Awaited<ReturnType<typeof startRemoteMx>>;
let mxPort = 0;
let passwords: Record<string, string>;
let received: { rcpt: string[]; raw: Buffer }[] = [];
const flaky = new Map<string, number>();
/** The relay's clock; tests move it to make retries due. */
const clock = { now: new Date(Math.floor(Date.now() / 60_000) * 60_000) };
/** MTA-STS policy files by domain: one that names the MX the relay finds, one that does not. */
const STS_POLICIES: Record<string, string> = {
  'sts-ok.org': 'version: STSv1\r\nmode: enforce\r\nmx: localhost\r\nmax_age: 86400\r\n',
  'sts-bad.org': 'version: STSv1\r\nmode: enforce\r\nmx: mail.sts-bad.org\r\nmax_age: 86400\r\n',
};
/** Every relay process of a deployment loads the same server mail key (from the data folder). */
const serverKey = ephemeralServerMailKey();
const advance = (seconds: number) => void (clock.now = new Date(clock.now.getTime() + seconds * 1000));
/** DNSSEC view for DANE: signed zones and TLSA records (a table: DNS is outside this machine). Empty: DANE applies nowhere. */
const dnssecTable: DnsTable = {};

/** One key store per user: every sign-in of a user is the same (approved) device. */
const stores = new Map<string, ReturnType<typeof memoryKeyStore>>();
const storeOf = (address: string) => stores.get(address) ?? stores.set(address, memoryKeyStore()).get(address)!;

async function device(address: string) {
  return signedInDevice(app, address, passwords[address]!, { store: storeOf(address) });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealmail-outbound-'));
  tls = await loadOrCreateTls({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
  // The "remote" MX: refuses nobody@ for good, slow… always with 452, flaky@ with 451 once; takes the rest.
  mx = await startRemoteMx(tls, (address) => {
    if (address.startsWith('nobody@')) return { code: 550, text: '5.1.1 No such user' };
    if (address.startsWith('slow')) return { code: 452, text: '4.2.2 Mailbox busy, try later' };
    if (address.startsWith('flaky@') && (flaky.get(address) ?? 0) === 0) {
      flaky.set(address, 1);
      return { code: 451, text: 'Try again later' };
    }
    return undefined;
  });
  mxPort = mx.port;
  received = mx.received;
  tdb = await createTestDatabase();
  const seed = await seedDemo(tdb.prisma, { domain: 'example.test' });
  passwords = Object.fromEntries(seed.users.map((u) => [u.address, u.password!]));
  app = await relayApp();
}, 60_000);

/** An API process with the relay (tests start a second one to show two workers never send twice). */
function relayApp() {
  return buildApp({
    logger: createLogger({ level: 'silent' }),
    db: tdb.prisma,
    version: 't',
    now: () => clock.now,
    // Sessions outlive the jump past the 5-day queue lifetime below.
    auth: { ...defaultAuthSettings, sessionIdleMs: 30 * 86400_000, sessionMaxMs: 60 * 86400_000 },
    serverKey,
    outbound: {
      connectionString: tdb.connectionString,
      hostname: 'mx.example.test',
      dkim: (domain) => loadOrCreateDkimKey(dir, domain),
      // The stand-in MX is on loopback (a public address in production); the relay that refuses
      // private targets is relay-hostile-mx.test.ts.
      allowPrivateTargets: true,
      // gone.example does not exist (NXDOMAIN); nomail.example publishes a null MX (RFC 7505).
      resolveMx: async (domain) => {
        if (['example.org', 'sts-ok.org', 'sts-bad.org', 'neighbour.test', 'dane.org'].includes(domain)) return [{ exchange: 'localhost', priority: 10 }];
        if (domain === 'nomail.example') return [{ exchange: '', priority: 0 }];
        throw Object.assign(new Error('nx'), { code: domain === 'gone.example' ? 'ENOTFOUND' : 'ESERVFAIL' });
      },
      port: mxPort,
      tls: { ca: tls.cert },
      sweepSeconds: 0.2,
      // MTA-STS: TXT answers and policy files come from tables (nothing outside is asked; the
      // fetch over HTTPS itself is tested in mta-sts.test.ts).
      mtaSts: new MtaSts({
        resolveTxt: async (name) => (STS_POLICIES[name.replace(/^_mta-sts\./, '')] ? [['v=STSv1; id=20261123;']] : []),
        fetchPolicy: async (domain) => STS_POLICIES[domain]!,
      }),
      dnssec: tableDnssecResolver(() => dnssecTable),
    },
  });
}

/** Reports already looked at by an earlier test (each test reads the new ones). */
const seenReports = new Set<string>();

/** The delivery reports in a user's inbox, opened: text and the message/delivery-status part. */
async function reports(u: Awaited<ReturnType<typeof device>>) {
  const out: { text: string; status: string }[] = [];
  for (const e of (await u.api.listMail({ folder: 'inbox' })).entries) {
    if (e.from !== 'mailer-daemon@mx.example.test' || seenReports.has(e.id)) continue;
    // Each test signs in a new device; reports sealed to an earlier device's key generation are skipped.
    const m = await u.mail.open(e.id).catch(() => null);
    if (!m) continue;
    if (m.mime.subject !== 'Undelivered Mail Returned to Sender') continue;
    const part = m.attachments.find((a) => a.contentType === 'message/delivery-status');
    out.push({ text: m.mime.text, status: part ? new TextDecoder().decode(await u.mail.attachmentBytes(m, part.piece)) : '' });
    seenReports.add(e.id);
  }
  return out;
}

afterAll(async () => {
  await app?.close();
  await mx?.close();
  await tdb?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('standard mail to the outside world', () => {
  it('is refused on the device unless the sender allows standard mail', async () => {
    const alice = await device('alice@example.test');
    await expect(alice.mail.send({ to: ['carol@example.org'], subject: 'x', text: 'y' })).rejects.toMatchObject({ code: 'NO_E2EE_ROUTE' });
    expect(received).toHaveLength(0);
  });

  it('an inline image keeps its Content-ID in a multipart/related when relayed as standard mail', async () => {
    const alice = await device('alice@example.test');
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4, 5]);
    await alice.mail.send({
      to: ['dora@example.org'],
      subject: 'Inline chart',
      text: 'The chart',
      html: '<p>The chart <img src="cid:chart-9@sealmail.invalid" alt="chart"></p>',
      attachments: [{ name: 'chart.png', type: 'image/png', size: png.length, stream: () => new Blob([png]).stream(), contentId: 'chart-9@sealmail.invalid' }],
      allowStandard: true,
    });
    const got = await until(async () => received.find((r) => r.rcpt.includes('dora@example.org')));
    expect(got.raw.toString('latin1')).toMatch(/Content-Type: multipart\/related/);
    const parsed = await simpleParser(got.raw);
    // mailparser puts a related part the HTML names by cid: into the HTML: it found the image by its Content-ID.
    expect(parsed.html).toContain(`src="data:image/png;base64,${png.toString('base64')}"`);
    const image = parsed.attachments.find((a) => a.filename === 'chart.png')!;
    expect(image.cid).toBe('chart-9@sealmail.invalid');
    expect(image.related).toBe(true);
    expect(image.content.equals(png)).toBe(true);
  });

  it('is relayed DKIM-signed to the remote MX, and the server forgets the key afterwards', async () => {
    const alice = await device('alice@example.test');
    const bob = await device('bob@example.test');
    const file = Buffer.from('quarterly numbers\n'.repeat(1000));
    const sent = await alice.mail.send({
      to: ['bob@example.test', 'carol@example.org'],
      cc: ['nobody@example.org'],
      subject: 'Numbers for everyone',
      text: 'Hello both',
      attachments: [{ name: 'numbers.txt', type: 'text/plain', size: file.length, stream: () => new Blob([file]).stream() }],
      allowStandard: true,
    });
    expect(sent.delivered).toEqual(['bob@example.test']);
    const got = await until(async () => received.find((r) => r.rcpt.includes('carol@example.org')));
    const parsed = await simpleParser(got.raw);
    expect(parsed.subject).toBe('Numbers for everyone');
    expect(parsed.text).toContain('Hello both');
    expect(parsed.attachments.map((a) => [a.filename, a.content.equals(file)])).toEqual([['numbers.txt', true]]);
    // The signature verifies against the domain's published key.
    const dkim = await loadOrCreateDkimKey(dir, 'example.test');
    const auth = await authenticate(got.raw, {
      ip: '127.0.0.1',
      helo: 'mx.example.test',
      sender: 'alice@example.test',
      mta: 'mx.example.org',
      resolver: async (name: string, type: string) => (type === 'TXT' && name === `${dkim.selector}._domainkey.example.test` ? [[dkim.dnsRecord]] : Promise.reject(Object.assign(new Error('nx'), { code: 'ENOTFOUND' }))),
    });
    expect(auth.dkim.results[0]?.status.result).toBe('pass');

    // Final for every outside recipient: carol delivered, nobody failed for good; the box is gone.
    const deliveries = await until(async () => {
      const d = (await alice.api.deliveries(sent.entryId)).deliveries;
      return d.every((x) => x.status !== 'queued') && d;
    });
    expect(deliveries.map((d) => [d.recipient, d.status])).toEqual([
      ['carol@example.org', 'delivered'],
      ['nobody@example.org', 'failed'],
    ]);
    expect(deliveries[1]!.lastError).toMatch(/550/);
    await until(async () => (await tdb.prisma.message.findUniqueOrThrow({ where: { id: sent.messageId } })).serverBox === null);

    // The sender gets an RFC 3464 report about nobody@ (only), sealed into her own inbox.
    const [report, ...more] = await until(async () => {
      const r = await reports(alice);
      return r.length > 0 && r;
    });
    expect(more).toHaveLength(0);
    expect(report!.text).toContain('<nobody@example.org>');
    expect(report!.text).not.toContain('carol@example.org');
    expect(report!.status).toMatch(/^Reporting-MTA: dns; mx\.example\.test$/m);
    expect(report!.status).toMatch(/^Final-Recipient: rfc822; nobody@example\.org$/m);
    expect(report!.status).toMatch(/^Action: failed$/m);
    expect(report!.status).toMatch(/^Status: 5\.1\.1$/m);
    expect(report!.status).toMatch(/^Diagnostic-Code: smtp; 550 5\.1\.1 No such user$/m);
    expect(report!.status).toMatch(/^Remote-MTA: dns; localhost$/m);
    expect((await alice.api.deliveries(sent.entryId)).deliveries[1]!.bouncedAt).not.toBeNull();

    // Inside, everyone sees how it was protected.
    const bobs = await bob.mail.open((await bob.api.listMail({ folder: 'inbox' })).entries[0]!.id);
    expect(bobs.protection).toBe('Server Encrypted');
    expect(bobs.signature).toBe('signed-valid');
    expect((await alice.mail.open(sent.entryId)).protection).toBe('Server Encrypted');
    await expect(bob.api.deliveries(bobs.entryId)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('a remote answering 4xx is tried again when the back-off has passed, and then takes the mail', async () => {
    const alice = await device('alice@example.test');
    const sent = await alice.mail.send({ to: ['flaky@example.org'], subject: 'Try twice', text: 'x', allowStandard: true });
    const first = await until(async () => (await alice.api.deliveries(sent.entryId)).deliveries.find((x) => x.attempts === 1));
    expect(first.status).toBe('queued');
    expect(first.lastError).toMatch(/451/);
    expect(new Date(first.nextAttemptAt!).getTime() - clock.now.getTime()).toBe(300_000);
    // Not before its time: a few sweeps later, still one attempt and nothing received.
    await new Promise((r) => setTimeout(r, 800));
    expect((await alice.api.deliveries(sent.entryId)).deliveries[0]!.attempts).toBe(1);
    expect(received.find((r) => r.rcpt.includes('flaky@example.org'))).toBeUndefined();
    advance(300);
    const got = await until(async () => received.find((r) => r.rcpt.includes('flaky@example.org')));
    expect((await simpleParser(got.raw)).subject).toBe('Try twice');
    const d = await until(async () => (await alice.api.deliveries(sent.entryId)).deliveries.find((x) => x.status === 'delivered'));
    expect(d.attempts).toBe(2);
    expect(d.bouncedAt).toBeNull();
  });

  it('the back-off grows from minutes to hours, and after 5 days the relay gives up and reports it', async () => {
    // The schedule itself: 5 min doubling, at most 4 hours, given up 5 days after queueing.
    expect([1, 2, 3, 4, 5, 6, 7, 8, 20].map((n) => retryDelaySeconds(n, defaultRetrySchedule))).toEqual([300, 600, 1200, 2400, 4800, 9600, 14400, 14400, 14400]);
    expect(defaultRetrySchedule.lifetimeSeconds).toBe(5 * 86400);

    const alice = await device('alice@example.test');
    const queuedAt = clock.now.getTime();
    const sent = await alice.mail.send({ to: ['slow@example.org'], subject: 'Patience', text: 'x', allowStandard: true });
    const seen: number[] = [];
    for (let attempt = 1; attempt <= 4; attempt++) {
      const d = await until(async () => (await alice.api.deliveries(sent.entryId)).deliveries.find((x) => x.attempts === attempt));
      expect(d.status).toBe('queued');
      expect(d.lastError).toMatch(/452 4\.2\.2/);
      const wait = (new Date(d.nextAttemptAt!).getTime() - clock.now.getTime()) / 1000;
      seen.push(wait);
      if (attempt < 4) advance(wait);
    }
    expect(seen).toEqual([300, 600, 1200, 2400]);
    // Jump to just past the lifetime: the next attempt fails for good and the sender hears of it.
    clock.now = new Date(queuedAt + 5 * 86400_000 + 1000);
    const final = await until(async () => (await alice.api.deliveries(sent.entryId)).deliveries.find((x) => x.status === 'failed'));
    expect(final.lastError).toMatch(/^gave up after 120 hours in the queue; last error: .*452/);
    expect(final.attempts).toBe(5);
    const report = await until(async () => {
      const r = await reports(alice);
      return r.find((x) => x.text.includes('slow@example.org'));
    });
    expect(report.status).toMatch(/^Status: 4\.4\.7$/m);
    expect(report.status).toMatch(/^Final-Recipient: rfc822; slow@example\.org$/m);
    await until(async () => (await tdb.prisma.message.findUniqueOrThrow({ where: { id: sent.messageId } })).serverBox === null);
    expect(received.find((r) => r.rcpt.includes('slow@example.org'))).toBeUndefined();
  });

  it('admins see the queue, retry now and cancel (the sender is told); users cannot', async () => {
    const alice = await device('alice@example.test');
    const admin = await device('admin@example.test');
    const sent = await alice.mail.send({ to: ['slow2@example.org', 'slow3@example.org'], subject: 'Queue me', text: 'x', allowStandard: true });
    await until(async () => (await alice.api.deliveries(sent.entryId)).deliveries.every((x) => x.attempts === 1));
    const queue = (await admin.api.adminOutbound()).deliveries.filter((d) => d.recipient.startsWith('slow2') || d.recipient.startsWith('slow3')).sort((a, b) => a.recipient.localeCompare(b.recipient));
    expect(queue.map((d) => [d.recipient, d.status, d.kind, d.sender, d.attempts])).toEqual([
      ['slow2@example.org', 'queued', 'mail', 'alice@example.test', 1],
      ['slow3@example.org', 'queued', 'mail', 'alice@example.test', 1],
    ]);
    await expect(alice.api.adminOutbound()).rejects.toMatchObject({ status: 403 });
    const [two, three] = queue;
    // Retry now: a second attempt without the clock moving.
    await admin.api.adminOutboundRetry(two!.id);
    await until(async () => (await alice.api.deliveries(sent.entryId)).deliveries.find((x) => x.recipient.startsWith('slow2') && x.attempts === 2));
    // Cancel: final at once, reported to the sender, and the server box goes once nothing is queued.
    const cancelled = await admin.api.adminOutboundCancel(three!.id);
    expect(cancelled.status).toBe('cancelled');
    await expect(admin.api.adminOutboundCancel(three!.id)).rejects.toMatchObject({ code: 'CONFLICT' });
    const report = await until(async () => (await reports(alice)).find((r) => r.text.includes('slow3@example.org')));
    expect(report.text).toContain('cancelled by an administrator');
    await admin.api.adminOutboundCancel(two!.id);
    await until(async () => (await tdb.prisma.message.findUniqueOrThrow({ where: { id: sent.messageId } })).serverBox === null);
    // Nothing left to read it with: a retry is refused.
    await expect(admin.api.adminOutboundRetry(two!.id)).rejects.toMatchObject({ code: 'CONFLICT' });
    const audit = await tdb.prisma.auditEvent.findMany({ where: { action: { startsWith: 'outbound.' } }, orderBy: { createdAt: 'asc' } });
    expect(audit.map((a) => a.action)).toEqual(['outbound.retry', 'outbound.cancel', 'outbound.cancel']);
  });

  it('two relay processes on one queue send each recipient its copy once', async () => {
    const second = await relayApp();
    try {
      const alice = await device('alice@example.test');
      const subjects = Array.from({ length: 6 }, (_, i) => `Once only ${i}`);
      for (const subject of subjects) await alice.mail.send({ to: [`many${subject.at(-1)}@example.org`], subject, text: 'x', allowStandard: true });
      await until(async () => subjects.every((sub) => received.some((r) => r.raw.includes(sub))));
      await new Promise((r) => setTimeout(r, 1000)); // any duplicate would arrive meanwhile
      for (const sub of subjects) expect(received.filter((r) => r.raw.includes(sub))).toHaveLength(1);
    } finally {
      await second.close();
    }
  });

  it("a domain's encryption policy is chosen once; secure-only users send links, never standard mail", async () => {
    const home = await tdb.prisma.domain.findUniqueOrThrow({ where: { name: 'example.test' } });
    await tdb.prisma.domain.create({ data: { accountId: home.accountId, name: 'strict.test' } });
    await tdb.prisma.user.create({ data: { accountId: home.accountId, domainId: (await tdb.prisma.domain.findUniqueOrThrow({ where: { name: 'strict.test' } })).id, localPart: 'dana', displayName: 'Dana', passwordHash: await hashPassword('pw-dana-123456') } });
    passwords['dana@strict.test'] = 'pw-dana-123456';
    const admin = await device('admin@example.test');
    const dana = await device('dana@strict.test');
    expect((await dana.api.mailPolicy()).encryptionPolicy).toBeNull();
    expect((await admin.api.setEncryptionPolicy('strict.test', 'secure_only')).encryptionPolicy).toBe('secure_only');
    await expect(admin.api.setEncryptionPolicy('strict.test', 'standard_default')).rejects.toMatchObject({ status: 409, code: 'POLICY_IMMUTABLE' });
    await expect(dana.api.setEncryptionPolicy('strict.test', 'standard_default')).rejects.toMatchObject({ status: 403 });
    expect((await dana.api.mailPolicy()).encryptionPolicy).toBe('secure_only');
    expect((await tdb.prisma.domain.findUniqueOrThrow({ where: { name: 'strict.test' } })).encryptionPolicy).toBe('secure_only');
    const audit = await tdb.prisma.auditEvent.findMany({ where: { action: 'domain.encryption_policy' } });
    expect(audit.map((a) => a.details)).toEqual([{ domain: 'strict.test', policy: 'secure_only', actorDeviceId: expect.any(String) }]);

    await expect(dana.mail.send({ to: ['erin@example.org'], subject: 'Plain?', text: 'x', allowStandard: true })).rejects.toMatchObject({ code: 'POLICY_FORBIDS_STANDARD' });
    const sent = await dana.mail.send({ to: ['erin@example.org'], subject: 'Linked', text: 'x', links: { expiresIn: '1d' } });
    const notice = await until(async () => received.find((r) => r.rcpt.includes('erin@example.org')));
    expect((await simpleParser(notice.raw)).text).toMatch(/\/m\/[A-Za-z0-9_-]{22}#/);
    expect(received.some((r) => r.raw.includes('Plain?'))).toBe(false);
    expect((await dana.api.links(sent.entryId)).links.map((l) => [l.recipient, l.expired])).toEqual([['erin@example.org', false]]);
    // No links to the organisation's own domains (mailboxes there get mail end to end; lists and unknown addresses nothing).
    await expect(dana.mail.send({ to: ['ghost@example.test'], subject: 'x', text: 'x', links: { expiresIn: '1d' } })).rejects.toMatchObject({ code: 'E2EE_UNAVAILABLE' });
  });

  it('a domain that does not exist and a null MX fail at once with a report, not after five days', async () => {
    // (A private MX fails the same way, 5.7.1: relay-hostile-mx.test.ts, where the relay refuses private targets.)
    const alice = await device('alice@example.test');
    const sent = await alice.mail.send({ to: ['x@gone.example', 'y@nomail.example'], subject: 'Nowhere to go', text: 'x', allowStandard: true });
    const final = await until(async () => {
      const d = (await alice.api.deliveries(sent.entryId)).deliveries;
      return d.every((x) => x.status === 'failed') && d;
    });
    expect(final.map((d) => [d.recipient, d.attempts])).toEqual([['x@gone.example', 1], ['y@nomail.example', 1]]);
    // The reports about them (one per attempt round that failed someone), read until both are in.
    const blocks: string[] = [];
    await until(async () => {
      for (const r of await reports(alice)) blocks.push(...r.status.split(/\r?\n\r?\n/));
      return ['x@gone.example', 'y@nomail.example'].every((who) => blocks.some((b) => b.includes(`Final-Recipient: rfc822; ${who}`)));
    });
    // The per-recipient blocks of the message/delivery-status parts (RFC 3464 §2.3).
    const statusOf = (who: string) => /^Status: ([0-9.]+)$/m.exec(blocks.find((b) => b.includes(`Final-Recipient: rfc822; ${who}`)) ?? '')?.[1];
    expect(statusOf('x@gone.example')).toBe('5.1.2');
    expect(statusOf('y@nomail.example')).toBe('5.1.10');
    expect(received.some((r) => r.raw.includes('Nowhere to go'))).toBe(false);
  });

  it('address literals only in brackets, never private ones; an IP address is not a mail domain for the API either', () => {
    expect(addressLiteral('example.org')).toBeNull();
    expect(addressLiteral('[192.0.2.7]')).toBe('192.0.2.7');
    expect(addressLiteral('[IPv6:2001:db8::1]')).toBe('2001:db8::1');
    expect(() => addressLiteral('192.0.2.7')).toThrow(/5\.1\.2 .*brackets/);
    expect(() => addressLiteral('[not-an-ip]')).toThrow(/5\.1\.2/);
    for (const ip of ['127.0.0.1', '10.0.0.8', '172.20.1.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1']) expect(isPrivateAddress(ip), ip).toBe(true);
    for (const ip of ['192.0.2.7', '8.8.8.8', '2001:db8::1', '::ffff:8.8.8.8']) expect(isPrivateAddress(ip), ip).toBe(false);
    // Every address the API takes (recipients, aliases, members) goes through the contract's schema.
    expect(address.safeParse('x@127.0.0.1').error?.issues[0]?.message).toMatch(/an IP address is not a mail domain/);
    expect(address.safeParse('x@host.example').success).toBe(true);
  });

  it('MTA-STS: an enforced policy is followed — verified TLS to a listed MX, and no delivery to an MX it does not list', async () => {
    const alice = await device('alice@example.test');
    const ok = await alice.mail.send({ to: ['fran@sts-ok.org'], subject: 'Policy allows', text: 'x', allowStandard: true });
    const bad = await alice.mail.send({ to: ['gil@sts-bad.org'], subject: 'Policy forbids', text: 'x', allowStandard: true });
    await until(async () => received.find((r) => r.rcpt.includes('fran@sts-ok.org')));
    expect((await alice.api.deliveries(ok.entryId)).deliveries[0]!.status).toBe('delivered');
    const held = await until(async () => (await alice.api.deliveries(bad.entryId)).deliveries.find((d) => d.attempts === 1));
    expect(held.status).toBe('queued'); // retried later: the policy may change, the MX may be fixed
    expect(held.lastError).toMatch(/no MX host of sts-bad\.org matches its MTA-STS policy/);
    expect(received.some((r) => r.rcpt.includes('gil@sts-bad.org'))).toBe(false);
  });

  it('DANE: under signed TLSA records the MX certificate must match them or the mail waits; records in an unsigned zone are not DANE', async () => {
    const alice = await device('alice@example.test');
    // DANE-EE, SPKI, SHA-256 (3 1 1): the stand-in MX's own key, as most DANE domains publish it.
    const spki = createHash('sha256').update(new X509Certificate(tls.cert).publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
    const delivered = async (to: string, entryId: string) => {
      await until(async () => received.find((r) => r.rcpt.includes(to)));
      expect((await alice.api.deliveries(entryId)).deliveries[0]!.status).toBe('delivered');
    };
    try {
      dnssecTable['DNSSEC'] = ['dane.org', 'localhost'];
      dnssecTable['TLSA _25._tcp.localhost'] = [{ usage: 3, selector: 1, matchingType: 1, data: spki }];
      const ok = await alice.mail.send({ to: ['hal@dane.org'], subject: 'DANE match', text: 'x', allowStandard: true });
      await delivered('hal@dane.org', ok.entryId);

      // Another key than the one published: not delivered, tried again later (the records or the certificate may be fixed).
      dnssecTable['TLSA _25._tcp.localhost'] = [{ usage: 3, selector: 1, matchingType: 1, data: 'ab'.repeat(32) }];
      const bad = await alice.mail.send({ to: ['ida@dane.org'], subject: 'DANE mismatch', text: 'x', allowStandard: true });
      const held = await until(async () => (await alice.api.deliveries(bad.entryId)).deliveries.find((d) => d.attempts === 1));
      expect(held.status).toBe('queued');
      expect(held.lastError).toMatch(/matches none of the 1 TLSA record/);
      expect(received.some((r) => r.rcpt.includes('ida@dane.org'))).toBe(false);

      // The same records in a zone that is not signed are not DANE's to enforce: opportunistic TLS delivers.
      dnssecTable['DNSSEC'] = [];
      const unsigned = await alice.mail.send({ to: ['jo@dane.org'], subject: 'No DNSSEC', text: 'x', allowStandard: true });
      await delivered('jo@dane.org', unsigned.entryId);
    } finally {
      for (const k of Object.keys(dnssecTable)) delete dnssecTable[k];
    }
  });

  it('cross-domain E2EE off on either side: a user of another organisation on this server gets an expiring link', async () => {
    const account = await tdb.prisma.account.create({ data: { name: 'Neighbour' } });
    const domain = await tdb.prisma.domain.create({ data: { accountId: account.id, name: 'neighbour.test', crossDomainE2ee: true } });
    await tdb.prisma.user.create({ data: { accountId: account.id, domainId: domain.id, localPart: 'ivo', displayName: 'Ivo', passwordHash: await hashPassword('pw-ivo-123456') } });
    passwords['ivo@neighbour.test'] = 'pw-ivo-123456';
    await device('ivo@neighbour.test'); // Ivo has keys; only example.test has not turned cross-domain E2EE on
    const alice = await device('alice@example.test');
    await expect(alice.mail.send({ to: ['ivo@neighbour.test'], subject: 'x', text: 'x' })).rejects.toMatchObject({ code: 'NO_E2EE_ROUTE' });
    const sent = await alice.mail.send({ to: ['ivo@neighbour.test'], subject: 'Across organisations', text: 'x', links: { expiresIn: '7d' } });
    // The notice goes to the neighbour's MX (here the stand-in; on one server, its own ingress).
    const notice = await until(async () => received.find((r) => r.rcpt.includes('ivo@neighbour.test')));
    expect((await simpleParser(notice.raw)).text).toMatch(/\/m\/[A-Za-z0-9_-]{22}#[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}/);
    expect((await alice.api.links(sent.entryId)).links[0]).toMatchObject({ recipient: 'ivo@neighbour.test', expired: false });
  });

  it('mail the ingress queued for the outside members of a list is relayed from the list, and the relay-only copy then goes', async () => {
    // What the SMTP ingress stores for a list whose members are all outside (apps/smtp/test/lists.test.ts).
    const admin = await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'admin' } });
    const raw = Buffer.from('From: Dave <dave@elsewhere.example>\r\nTo: team@example.test\r\nSubject: Via the list\r\nMessage-ID: <list-1@elsewhere.example>\r\n\r\nHello outside members\r\n');
    const stored = await deliverLocal(
      { db: tdb.prisma, blobs: postgresBlobStore(tdb.prisma), hostname: 'mx.example.test', now: () => clock.now, logger: createLogger({ level: 'silent' }) },
      raw,
      { mailFrom: 'dave@elsewhere.example', recipients: [], extraHeaders: [['List-Id', '<team.example.test>']], relay: { to: ['hana@example.org'], sender: 'team@example.test', serverPublicKey: serverKey.publicKey, blobOwnerUserId: admin.id } },
    );
    const got = await until(async () => received.find((r) => r.rcpt.includes('hana@example.org')));
    const parsed = await simpleParser(got.raw);
    expect(parsed.subject).toBe('Via the list');
    expect(parsed.text).toContain('Hello outside members');
    expect(parsed.from?.value[0]).toMatchObject({ name: 'Dave', address: 'team@example.test' }); // sent as the list
    const dkim = await loadOrCreateDkimKey(dir, 'example.test');
    const auth = await authenticate(got.raw, {
      ip: '127.0.0.1',
      helo: 'mx.example.test',
      sender: 'team@example.test',
      mta: 'mx.example.org',
      resolver: async (name: string, type: string) => (type === 'TXT' && name === `${dkim.selector}._domainkey.example.test` ? [[dkim.dnsRecord]] : Promise.reject(Object.assign(new Error('nx'), { code: 'ENOTFOUND' }))),
    });
    expect(auth.dkim.results[0]?.status.result).toBe('pass');
    // No mailbox holds it and no link points at it: once delivered, it is gone.
    await until(async () => (await tdb.prisma.message.count({ where: { id: stored.messageId } })) === 0);
  });

  it('the server refuses outside recipients without a server box it can open, or inside its own domains', async () => {
    const alice = await device('alice@example.test');
    let captured: Parameters<ApiClient['sendMail']>[0] | undefined;
    const spy = Object.create(alice.api) as ApiClient;
    spy.sendMail = async (body) => {
      captured = body;
      return { entryId: '', messageId: '', threadId: '', delivered: [], refused: [] };
    };
    await new Mailer(spy, alice.identity, 'alice@example.test').send({ to: ['dave@example.org'], subject: 'p', text: 'p', allowStandard: true });
    const body = { ...captured!, to: [...(captured!.to ?? [])], boxes: [...captured!.boxes], external: [...(captured!.external ?? [])] };
    await expect(alice.api.sendMail({ ...body, serverBox: undefined })).rejects.toMatchObject({ code: 'MAIL_INVALID' });
    await expect(alice.api.sendMail({ ...body, serverBox: body.serverBox!.slice(0, -8) + 'AAAAAAAA' })).rejects.toMatchObject({ code: 'MAIL_INVALID' });
    await expect(alice.api.sendMail({ ...body, to: ['ghost@example.test'], external: ['ghost@example.test'] })).rejects.toMatchObject({ code: 'E2EE_UNAVAILABLE' });
  });

  it('a report to a sender whose mailbox filled up lands a little past the quota; one that does not fit even so is given up once, leaving no copy behind', async () => {
    const bob = await device('bob@example.test');
    const { id } = await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'bob', domain: { name: 'example.test' } }, select: { id: true } });
    const usage = () => tdb.prisma.user.findUniqueOrThrow({ where: { id }, select: { usedBytes: true, quotaBytes: true } });
    const saved = await usage();
    // Stored copies of reports that no mailbox holds (each try of the code before left one).
    const loose = () => tdb.prisma.message.count({ where: { senderAddress: 'mailer-daemon@mx.example.test', entries: { none: {} }, heldEntries: { none: {} } } });
    const looseBefore = await loose();
    const giveUp = async (to: string) => {
      const sent = await bob.mail.send({ to: [to], subject: `Full ${to}`, text: 'x', allowStandard: true });
      await until(async () => (await bob.api.deliveries(sent.entryId)).deliveries.find((x) => x.attempts === 1));
      return sent;
    };

    // 1. The mailbox is full to the byte when the relay gives up: the report still lands.
    await giveUp('slow-full1@example.org');
    await tdb.prisma.user.update({ where: { id }, data: { quotaBytes: (await usage()).usedBytes } });
    clock.now = new Date(clock.now.getTime() + 5 * 86400_000 + 1000);
    await until(async () => (await reports(bob)).find((r) => r.text.includes('slow-full1@example.org')));
    const after = await usage();
    expect(after.usedBytes).toBeGreaterThan(after.quotaBytes);
    expect(after.usedBytes - after.quotaBytes).toBeLessThanOrEqual(1n << 20n);

    // 2. Past the quota by more than the allowance: the report is given up (marked, once), and
    // no sweep after stores or tries anything more.
    await tdb.prisma.user.update({ where: { id }, data: { quotaBytes: after.usedBytes + 1_000_000n } });
    const sent = await giveUp('slow-full2@example.org');
    const bump = (await usage()).quotaBytes - (await usage()).usedBytes + (2n << 20n);
    await tdb.prisma.user.update({ where: { id }, data: { usedBytes: { increment: bump } } });
    clock.now = new Date(clock.now.getTime() + 5 * 86400_000 + 1000);
    const final = await until(async () => (await bob.api.deliveries(sent.entryId)).deliveries.find((x) => x.status === 'failed' && x.bouncedAt));
    expect(final.recipient).toBe('slow-full2@example.org');
    const usedThen = (await usage()).usedBytes;
    await new Promise((r) => setTimeout(r, 1000));
    expect(await loose()).toBe(looseBefore);
    expect((await usage()).usedBytes).toBe(usedThen);
    expect((await reports(bob)).some((r) => r.text.includes('slow-full2@example.org'))).toBe(false);
    await tdb.prisma.user.update({ where: { id }, data: { usedBytes: { decrement: bump }, quotaBytes: saved.quotaBytes } });
  }, 90_000);
});

describe('set-up links by mail (docs/admin.md, Users)', () => {
  it('go out through the relay from the admin’s address, DKIM-signed; a refusal is reported and the link still shown', async () => {
    const admin = await device('admin@example.test');
    const sent = await admin.api.request(adminUserInvite, { params: { address: 'bob@example.test' }, body: { sendTo: 'bob.private@example.org' } });
    expect(sent).toMatchObject({ mailedTo: 'bob.private@example.org', mailProblem: null });
    const got = await until(async () => received.find((r) => r.rcpt.includes('bob.private@example.org')));
    const parsed = await simpleParser(got.raw);
    expect(parsed.from?.value[0]?.address).toBe('admin@example.test');
    expect(parsed.text).toContain(sent.link);
    expect(parsed.text).toContain('bob@example.test');
    const dkim = await loadOrCreateDkimKey(dir, 'example.test');
    const auth = await authenticate(got.raw, {
      ip: '127.0.0.1',
      helo: 'mx.example.test',
      sender: 'admin@example.test',
      mta: 'mx.example.org',
      resolver: async (name: string, type: string) => (type === 'TXT' && name === `${dkim.selector}._domainkey.example.test` ? [[dkim.dnsRecord]] : Promise.reject(Object.assign(new Error('nx'), { code: 'ENOTFOUND' }))),
    });
    expect(auth.dkim.results[0]?.status.result).toBe('pass');

    const refused = await admin.api.request(adminUserInvite, { params: { address: 'bob@example.test' }, body: { sendTo: 'nobody@example.org' } });
    expect(refused.mailedTo).toBeNull();
    expect(refused.mailProblem).toMatch(/550/);
    expect(refused.link).toMatch(/\/welcome#[A-Za-z0-9_-]{43}$/);
  });
});
