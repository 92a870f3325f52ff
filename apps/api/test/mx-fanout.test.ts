/**
 * How many hosts one outbound delivery makes the relay connect to. sendTo (outbound.ts) tried
 * every MX host the recipient domain listed, one after another, each with up to 30 s to connect
 * and 30 s for the greeting; the list was not capped. Now at most MX_HOSTS_PER_ATTEMPT (5), the
 * most preferred first. A domain owner
 * (anyone an out-of-office reply, a forward code or an ordinary mail goes to) publishes many MX
 * names for one victim address, or for black holes: every attempt of every retry over five days
 * connects to each of them (a reflection), and a relay worker is held for hours per attempt.
 * Postfix stops after 5 addresses (smtp_mx_address_limit) and 2 sessions (smtp_mx_session_limit).
 * The remote hosts are stand-ins on loopback; their DNS answers come from a table (outside this machine).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MX_HOSTS_PER_ATTEMPT } from '../src/mail/outbound';
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
let remote: SMTPServer;
let connections = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealmail-mxfan-'));
  tls = await loadOrCreateTls({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
  // Every MX host of many.example is this one address, busy (421 at the greeting).
  remote = new SMTPServer({
    key: tls.key,
    cert: tls.cert,
    authOptional: true,
    logger: false,
    onConnect(_s, cb) {
      connections++;
      cb(Object.assign(new Error('4.3.2 busy, try later'), { responseCode: 421 }));
    },
  });
  await new Promise<void>((r) => remote.listen(0, '127.0.0.1', r));
  tdb = await createTestDatabase();
  const seed = await seedDemo(tdb.prisma, { domain: 'example.test' });
  passwords = Object.fromEntries(seed.users.map((u) => [u.address, u.password!]));
  // The stand-in MX is on loopback (a public address in production).
  app = await relayTestApp(tdb, { dir, tlsCert: tls.cert, outbound: { allowPrivateTargets: true, resolveMx: standInMx({ 'many.example': 40 }), port: (remote.server.address() as { port: number }).port } });
}, 120_000);

afterAll(async () => {
  await app?.close();
  await new Promise<void>((r) => (remote ? remote.close(() => r()) : r()));
  await tdb?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('MX fan-out', () => {
  it('one attempt to a domain listing 40 MX hosts connects to at most a handful of them', async () => {
    const alice = await signedInDevice(app, 'alice@example.test', passwords['alice@example.test']!, { store: memoryKeyStore() });
    await alice.mail.send({ to: ['x@many.example'], subject: 'Hello', text: 'x', allowStandard: true });
    await until(async () => ((await tdb.prisma.outboundDelivery.findFirst({ where: { recipient: 'x@many.example', attempts: { gte: 1 } } })) ? true : null));
    expect(connections).toBe(MX_HOSTS_PER_ATTEMPT);
  }, 120_000);
});
