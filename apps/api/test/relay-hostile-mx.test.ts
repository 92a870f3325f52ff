/**
 * The outbound relay (apps/api/src/mail/outbound.ts, smtp-deliver.ts) against recipient domains
 * whose mail hosts are hostile or refuse:
 *
 * - In its production configuration (allowPrivateTargets off) it never connects to a loopback or
 *   private address, whether the MX is an address, a name such as `localhost`, or a name that
 *   resolves into 10.0.0.0/8: it resolves MX names itself, checks the addresses and connects to
 *   the checked address (a second DNS answer cannot switch it). Such mail fails 5.7.1.
 * - It still judges TLS by the MX name (SNI, the certificate an MTA-STS policy asks for) while
 *   connecting to the address.
 * - A recipient refused with 5xx at RCPT TO fails at once with the remote's own answer, even when
 *   a domain-mate in the same session was only deferred (nodemailer then reports one 4xx for all).
 * - A host that greets with 554 is skipped for the next MX host.
 *
 * The "remote" mail hosts are real smtp-servers on loopback (127.0.0.1, .2 and .3, one port); the
 * only things faked are the DNS answers (MX records and MX host addresses come from tables here:
 * DNS is outside this machine). Postgres, the pg-boss queue, the client's sealing and the SMTP
 * sessions are real.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createSecureContext } from 'node:tls';
import { SMTPServer } from 'smtp-server';
import { memoryKeyStore } from '@sealmail/client/identity';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { seedDemo } from '@sealmail/db';
import { MtaSts } from '../src/mail/mta-sts';
import { loadOrCreateTls, type TlsMaterial } from '@sealmail/server';
import { relayTestApp, signedInDevice, startRemoteMx, until } from './helpers';

let dir: string;
let tls: TlsMaterial;
/** One key store per user and database: every sign-in of a user is the same (approved) device. */
const stores = new Map<string, ReturnType<typeof memoryKeyStore>>();
const storeOf = (key: string) => stores.get(key) ?? stores.set(key, memoryKeyStore()).get(key)!;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealmail-hostile-mx-'));
  tls = await loadOrCreateTls({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** An API process with the relay, on its own test database. */
async function relayApp(
  tdb: TestDatabase,
  outbound: { port: number; resolveMx: (d: string) => Promise<{ exchange: string; priority: number }[]>; resolveAddresses?: (host: string) => Promise<string[]>; allowPrivateTargets?: boolean; tls?: { ca: string }; mtaSts?: MtaSts },
) {
  return relayTestApp(tdb, { dir, tlsCert: tls.cert, outbound });
}

describe('relay in its production configuration (allowPrivateTargets off)', () => {
  let tdb: TestDatabase;
  let app: FastifyInstance;
  let mx: Awaited<ReturnType<typeof startRemoteMx>>;
  let passwords: Record<string, string>;

  beforeAll(async () => {
    // A service on this machine's loopback that speaks SMTP (an internal relay, the server's own ingress).
    mx = await startRemoteMx(tls);
    tdb = await createTestDatabase();
    passwords = Object.fromEntries((await seedDemo(tdb.prisma, { domain: 'example.test' })).users.map((u) => [u.address, u.password!]));
    app = await relayApp(tdb, {
      port: mx.port,
      // Faked DNS: attacker.example publishes `MX 10 localhost.` — a name, not an address;
      // inside.example an address in 10.0.0.0/8; sneaky.example a name whose addresses are private
      // (one of them an IPv4-mapped loopback); split.example a private host and a second one
      // whose name does not resolve; nomx.example no MX at all, and its own name is loopback.
      resolveMx: async (d) => {
        if (d === 'attacker.example') return [{ exchange: 'localhost', priority: 10 }];
        if (d === 'inside.example') return [{ exchange: '10.1.2.3', priority: 10 }];
        if (d === 'sneaky.example') return [{ exchange: 'mx.sneaky.example.', priority: 10 }];
        if (d === 'split.example')
          return [
            { exchange: 'mx.sneaky.example', priority: 10 },
            { exchange: 'gone.split.example', priority: 20 },
          ];
        if (d === 'nomx.example') throw Object.assign(new Error('nodata'), { code: 'ENODATA' });
        throw Object.assign(new Error('nx'), { code: 'ENOTFOUND' });
      },
      resolveAddresses: async (host) => {
        if (host === 'mx.sneaky.example') return ['10.9.8.7', '::ffff:127.0.0.1'];
        if (host === 'nomx.example') return ['127.0.0.1'];
        return [];
      },
    });
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await mx?.close();
    await tdb?.drop();
  });

  it('never connects to a loopback address when a recipient domain names its MX host by a name that resolves there (fails it 5.7.1)', async () => {
    const alice = await signedInDevice(app, 'alice@example.test', passwords['alice@example.test']!, { store: storeOf('production alice') });
    const sent = await alice.mail.send({ to: ['victim@attacker.example'], subject: 'Into your network', text: 'x', allowStandard: true });
    const d = await until(async () => (await alice.api.deliveries(sent.entryId)).deliveries.find((x) => x.attempts >= 1 || x.status !== 'queued'), 60_000);
    // The loopback service must not have been handed the mail (the relay was not configured with allowPrivateTargets).
    expect(mx.received.filter((r) => r.rcpt.includes('victim@attacker.example'))).toHaveLength(0);
    expect(d.status).toBe('failed');
    expect(d.lastError).toMatch(/5\.7\.1/);
  }, 90_000);

  it('an MX that is a private address, or a name resolving only to private addresses, fails 5.7.1 at once; the domain itself as implicit MX too', async () => {
    const alice = await signedInDevice(app, 'alice@example.test', passwords['alice@example.test']!, { store: storeOf('production alice') });
    const to = ['a@inside.example', 'b@sneaky.example', 'c@nomx.example'];
    const sent = await alice.mail.send({ to, subject: 'Inward', text: 'x', allowStandard: true });
    const rows = await until(async () => {
      const d = (await alice.api.deliveries(sent.entryId)).deliveries;
      return d.length === to.length && d.every((x) => x.status !== 'queued') && d;
    }, 60_000);
    for (const r of rows) {
      expect([r.recipient, r.status, r.attempts]).toEqual([r.recipient, 'failed', 1]);
      expect(r.lastError, r.recipient).toMatch(/^5\.7\.1 /);
    }
    expect(mx.received.filter((r) => r.rcpt.some((x) => to.includes(x)))).toHaveLength(0);
    // The sender is told (the report is what marks a failure bounced).
    await until(async () => ((await tdb.prisma.outboundDelivery.count({ where: { recipient: { in: to }, bouncedAt: { not: null } } })) === to.length ? true : null), 30_000);
  }, 90_000);

  it('a private MX host beside one whose name does not resolve is skipped, and the mail stays queued (DNS may recover)', async () => {
    const alice = await signedInDevice(app, 'alice@example.test', passwords['alice@example.test']!, { store: storeOf('production alice') });
    const sent = await alice.mail.send({ to: ['d@split.example'], subject: 'Half the way', text: 'x', allowStandard: true });
    const d = await until(async () => (await alice.api.deliveries(sent.entryId)).deliveries.find((x) => x.attempts >= 1), 60_000);
    expect(d.status).toBe('queued');
    expect(d.lastError).toMatch(/^4\.4\.4 mail host gone\.split\.example of split\.example has no address/);
    expect(mx.received.filter((r) => r.rcpt.includes('d@split.example'))).toHaveLength(0);
  }, 90_000);
});

describe('relay talking to remote hosts that refuse', () => {
  let tdb: TestDatabase;
  let app: FastifyInstance;
  let mx: Awaited<ReturnType<typeof startRemoteMx>>;
  let refuser: SMTPServer;
  let refuserConnections = 0;
  let named: SMTPServer;
  /** The TLS server names (SNI) the 127.0.0.3 host was asked for. */
  const namedSni: string[] = [];
  let passwords: Record<string, string>;

  beforeAll(async () => {
    // 127.0.0.1: takes mail, except gone@ (550 5.1.1, no such user, for good) and grey@ (451, greylisted).
    mx = await startRemoteMx(tls, (address) => {
      if (address.startsWith('gone@')) return { code: 550, text: '5.1.1 No such user here' };
      if (address.startsWith('grey@')) return { code: 451, text: '4.7.1 Greylisted, try again later' };
      return undefined;
    });
    // 127.0.0.2, same port: a host that greets with 554 (no SMTP service here for this client).
    refuser = new SMTPServer({
      key: tls.key,
      cert: tls.cert,
      authOptional: true,
      logger: false,
      onConnect(_s, cb) {
        refuserConnections++;
        cb(Object.assign(new Error('5.7.1 No SMTP service here for you'), { responseCode: 554 }));
      },
    });
    await new Promise<void>((r) => refuser.listen(mx.port, '127.0.0.2', r));
    // 127.0.0.3, same port: mail.named.example, with a certificate for that name only (not for
    // its address), recording the server name each TLS handshake asks for.
    const namedTls = await loadOrCreateTls({ certFile: join(dir, 'named-c.pem'), keyFile: join(dir, 'named-k.pem'), selfSigned: true, hostnames: ['mail.named.example'] });
    const namedContext = createSecureContext({ key: namedTls.key, cert: namedTls.cert });
    named = new SMTPServer({
      key: namedTls.key,
      cert: namedTls.cert,
      authOptional: true,
      disabledCommands: ['AUTH'],
      logger: false,
      SNICallback(servername, cb) {
        namedSni.push(servername);
        cb(null, namedContext);
      },
      onData(stream, _session, cb) {
        stream.resume();
        stream.on('end', () => cb());
      },
    });
    await new Promise<void>((r) => named.listen(mx.port, '127.0.0.3', r));
    tdb = await createTestDatabase();
    passwords = Object.fromEntries((await seedDemo(tdb.prisma, { domain: 'example.test' })).users.map((u) => [u.address, u.password!]));
    app = await relayApp(tdb, {
      port: mx.port,
      // The stand-ins are on loopback addresses; production would have public ones.
      allowPrivateTargets: true,
      // Trusted where a policy asks for verified TLS (only named.example's does; the other hosts
      // get opportunistic TLS). Just this one: both self-signed certificates have the same subject.
      tls: { ca: namedTls.cert },
      // Faked DNS: mixed.example's MX is the 127.0.0.1 host; backup.example's preferred MX is the
      // 554-greeting host, its second MX the 127.0.0.1 host that takes the mail; named.example's
      // MX is mail.named.example (127.0.0.3), under an MTA-STS policy in enforce mode.
      resolveMx: async (d) => {
        if (d === 'mixed.example') return [{ exchange: '127.0.0.1', priority: 10 }];
        if (d === 'named.example') return [{ exchange: 'mail.named.example.', priority: 10 }];
        if (d === 'backup.example')
          return [
            { exchange: '127.0.0.2', priority: 10 },
            { exchange: '127.0.0.1', priority: 20 },
          ];
        throw Object.assign(new Error('nx'), { code: 'ENOTFOUND' });
      },
      resolveAddresses: async (host) => (host === 'mail.named.example' ? ['127.0.0.3'] : []),
      // MTA-STS answers from a table (the policy fetch over HTTPS is mta-sts.test.ts's).
      mtaSts: new MtaSts({
        resolveTxt: async (name) => (name === '_mta-sts.named.example' ? [['v=STSv1; id=1;']] : []),
        fetchPolicy: async () => 'version: STSv1\r\nmode: enforce\r\nmx: mail.named.example\r\nmax_age: 86400\r\n',
      }),
    });
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await mx?.close();
    await new Promise<void>((r) => (refuser ? refuser.close(() => r()) : r()));
    await new Promise<void>((r) => (named ? named.close(() => r()) : r()));
    await tdb?.drop();
  });

  it('a recipient refused with 550 at RCPT fails at once (and is reported), even when its domain-mate in the same session got a 451', async () => {
    const alice = await signedInDevice(app, 'alice@example.test', passwords['alice@example.test']!, { store: storeOf('refusing alice') });
    const sent = await alice.mail.send({ to: ['gone@mixed.example', 'grey@mixed.example'], subject: 'Two fates', text: 'x', allowStandard: true });
    const rows = await until(async () => {
      const d = (await alice.api.deliveries(sent.entryId)).deliveries;
      return d.length === 2 && d.every((x) => x.attempts >= 1) && d;
    }, 60_000);
    const gone = rows.find((r) => r.recipient === 'gone@mixed.example')!;
    const grey = rows.find((r) => r.recipient === 'grey@mixed.example')!;
    // The greylisted one waits for the next attempt…
    expect(grey.status).toBe('queued');
    // …but "no such user" will not change on retry: final now, with the remote's own answer.
    expect(gone.status).toBe('failed');
    expect(gone.lastError).toMatch(/550 5\.1\.1/);
    await until(async () => (await tdb.prisma.outboundDelivery.findFirst({ where: { recipient: 'gone@mixed.example', bouncedAt: { not: null } } })) ?? null, 30_000);
  }, 120_000);

  it('a mail host that greets with 554 is skipped for the next MX host, not taken as a final refusal of the mail', async () => {
    const alice = await signedInDevice(app, 'alice@example.test', passwords['alice@example.test']!, { store: storeOf('refusing alice') });
    const sent = await alice.mail.send({ to: ['user@backup.example'], subject: 'Via the backup MX', text: 'x', allowStandard: true });
    const d = await until(async () => (await alice.api.deliveries(sent.entryId)).deliveries.find((x) => x.attempts >= 1), 60_000);
    expect(refuserConnections).toBeGreaterThanOrEqual(1);
    // RFC 5321 §5.1 (try the other addresses), Postfix smtp_skip_5xx_greeting=yes: the next MX took it.
    expect(d.status).toBe('delivered');
    expect(mx.received.filter((r) => r.rcpt.includes('user@backup.example'))).toHaveLength(1);
  }, 120_000);

  it('connects to the MX host\'s resolved address but verifies TLS for its name (SNI and the certificate an enforced MTA-STS policy asks for)', async () => {
    const alice = await signedInDevice(app, 'alice@example.test', passwords['alice@example.test']!, { store: storeOf('refusing alice') });
    const sent = await alice.mail.send({ to: ['user@named.example'], subject: 'By name', text: 'x', allowStandard: true });
    const d = await until(async () => (await alice.api.deliveries(sent.entryId)).deliveries.find((x) => x.attempts >= 1), 60_000);
    // The certificate names mail.named.example only: a check against 127.0.0.3 would have failed
    // (and an enforced policy would have kept the mail queued).
    expect([d.status, d.lastError]).toEqual(['delivered', null]);
    expect(namedSni).toContain('mail.named.example');
  }, 120_000);
});
