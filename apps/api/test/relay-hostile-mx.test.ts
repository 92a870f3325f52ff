/**
 * Review of the outbound relay (apps/api/src/mail/outbound.ts): each test names what a correct
 * relay does and fails on the code as it was reviewed.
 *
 * The "remote" mail hosts are real smtp-servers on loopback (127.0.0.1 and 127.0.0.2, one port);
 * the only things faked are the DNS answers (MX records come from a table here: DNS is outside
 * this machine). Postgres, the pg-boss queue, the client's sealing and the SMTP sessions are real.
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
import { ephemeralServerMailKey, loadOrCreateDkimKey } from '@sealmail/mailstore';
import { createLogger, defaultAuthSettings, loadOrCreateTls, type TlsMaterial } from '@sealmail/server';
import { buildApp } from '../src/app';
import { signedInDevice, startRemoteMx, until } from './helpers';

let dir: string;
let tls: TlsMaterial;
/** One key store per user and database: every sign-in of a user is the same (approved) device. */
const stores = new Map<string, ReturnType<typeof memoryKeyStore>>();
const storeOf = (key: string) => stores.get(key) ?? stores.set(key, memoryKeyStore()).get(key)!;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealmail-review-outbound-'));
  tls = await loadOrCreateTls({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** An API process with the relay, on its own test database. */
async function relayApp(tdb: TestDatabase, outbound: { port: number; resolveMx: (d: string) => Promise<{ exchange: string; priority: number }[]>; allowPrivateTargets?: boolean }) {
  return buildApp({
    logger: createLogger({ level: 'silent' }),
    db: tdb.prisma,
    version: 't',
    auth: defaultAuthSettings,
    serverKey: ephemeralServerMailKey(),
    outbound: {
      connectionString: tdb.connectionString,
      hostname: 'mx.example.test',
      dkim: (domain) => loadOrCreateDkimKey(dir, domain),
      tls: { ca: tls.cert },
      sweepSeconds: 0.2,
      ...outbound,
    },
  });
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
      // Faked DNS: attacker.example publishes `MX 10 localhost.` — a name, not an address.
      resolveMx: async (d) => (d === 'attacker.example' ? [{ exchange: 'localhost', priority: 10 }] : Promise.reject(Object.assign(new Error('nx'), { code: 'ENOTFOUND' }))),
    });
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await mx?.close();
    await tdb?.drop();
  });

  it('never connects to a loopback address when a recipient domain names its MX host by a name that resolves there (fails it 5.7.1)', async () => {
    const alice = await signedInDevice(app, 'alice@example.test', passwords['alice@example.test']!, { store: memoryKeyStore() });
    const sent = await alice.mail.send({ to: ['victim@attacker.example'], subject: 'Into your network', text: 'x', allowStandard: true });
    const d = await until(async () => (await alice.api.deliveries(sent.entryId)).deliveries.find((x) => x.attempts >= 1 || x.status !== 'queued'), 60_000);
    // The loopback service must not have been handed the mail (the relay was not configured with allowPrivateTargets).
    expect(mx.received.filter((r) => r.rcpt.includes('victim@attacker.example'))).toHaveLength(0);
    expect(d.status).toBe('failed');
    expect(d.lastError).toMatch(/5\.7\.1/);
  }, 90_000);
});

describe('relay talking to remote hosts that refuse', () => {
  let tdb: TestDatabase;
  let app: FastifyInstance;
  let mx: Awaited<ReturnType<typeof startRemoteMx>>;
  let refuser: SMTPServer;
  let refuserConnections = 0;
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
    tdb = await createTestDatabase();
    passwords = Object.fromEntries((await seedDemo(tdb.prisma, { domain: 'example.test' })).users.map((u) => [u.address, u.password!]));
    app = await relayApp(tdb, {
      port: mx.port,
      // The stand-ins are on loopback addresses; production would have public ones.
      allowPrivateTargets: true,
      // Faked DNS: mixed.example's MX is the 127.0.0.1 host; backup.example's preferred MX is the
      // 554-greeting host, its second MX the 127.0.0.1 host that takes the mail.
      resolveMx: async (d) => {
        if (d === 'mixed.example') return [{ exchange: '127.0.0.1', priority: 10 }];
        if (d === 'backup.example')
          return [
            { exchange: '127.0.0.2', priority: 10 },
            { exchange: '127.0.0.1', priority: 20 },
          ];
        throw Object.assign(new Error('nx'), { code: 'ENOTFOUND' });
      },
    });
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await mx?.close();
    await new Promise<void>((r) => (refuser ? refuser.close(() => r()) : r()));
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
});
