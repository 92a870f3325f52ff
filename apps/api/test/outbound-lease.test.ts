/**
 * The outbound relay's lease (docs/operations.md "Scaling out"): a worker sends and settles only
 * deliveries whose lease is still the one it set. Here worker A stalls between claiming a
 * delivery and sending it (held at its DKIM key lookup, as a paused process or a long GC would
 * hold it); its lease runs out; worker B takes the delivery and sends it. When A resumes it sends
 * nothing and does not overwrite B's outcome: the remote MX (a real smtp-server on loopback,
 * standing in for the outside world) has the mail once. A live lease, renewed while its worker
 * works, is never taken.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { ApiClient } from '@sealmail/client';
import { Identity, Mailer, memoryKeyStore } from '@sealmail/client/identity';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { seedDemo } from '@sealmail/db';
import { ephemeralServerMailKey, loadOrCreateDkimKey, postgresBlobStore } from '@sealmail/mailstore';
import { createLogger, defaultAuthSettings, loadOrCreateTls, type TlsMaterial } from '@sealmail/server';
import { buildApp } from '../src/app';
import { Outbound } from '../src/mail/outbound';
import { injectFetch, startRemoteMx, until } from './helpers';

let dir: string;
let tls: TlsMaterial;
let tdb: TestDatabase;
let app: FastifyInstance;
let mx: Awaited<ReturnType<typeof startRemoteMx>>;
let passwords: Record<string, string>;
const serverKey = ephemeralServerMailKey();
const LEASE = 2;

/** Worker A's DKIM lookup waits here while `held` is set (A has claimed, not yet sent). */
let held: Promise<void> | null = null;
let release = () => {};
let waiting = false;

const resolveMx = async () => [{ exchange: 'localhost', priority: 10 }];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealmail-lease-'));
  tls = await loadOrCreateTls({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
  mx = await startRemoteMx(tls);
  tdb = await createTestDatabase();
  passwords = Object.fromEntries((await seedDemo(tdb.prisma, { domain: 'example.test' })).users.map((u) => [u.address, u.password!]));
  app = await buildApp({
    logger: createLogger({ level: 'silent' }),
    db: tdb.prisma,
    version: 't',
    auth: defaultAuthSettings,
    serverKey,
    outbound: {
      connectionString: tdb.connectionString,
      hostname: 'a.example.test',
      dkim: async (domain) => {
        if (held) {
          waiting = true;
          await held;
        }
        return loadOrCreateDkimKey(dir, domain);
      },
      // The stand-in MX is on loopback (a public address in production).
      allowPrivateTargets: true,
      resolveMx,
      port: mx.port,
      tls: { ca: tls.cert },
      sweepSeconds: 0,
      leaseSeconds: LEASE,
    },
  });
}, 60_000);

afterAll(async () => {
  release();
  await app?.close();
  await mx?.close();
  await tdb?.drop();
  await rm(dir, { recursive: true, force: true });
});

async function sender(address: string) {
  const res = await app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address, password: passwords[address] } });
  const api = new ApiClient({ baseUrl: 'http://api.invalid', fetch: injectFetch(app), token: (res.json() as { token: string }).token });
  const identity = new Identity(api, memoryKeyStore());
  await identity.setUpThisDevice({ address, name: 'Laptop', kind: 'cli' });
  return new Mailer(api, identity, address);
}

describe('the outbound lease', () => {
  it('a worker that lost its lease sends nothing and overwrites nothing; a live lease is not taken', async () => {
    const workerB = new Outbound(tdb.prisma, postgresBlobStore(tdb.prisma), createLogger({ level: 'silent' }), {
      connectionString: tdb.connectionString,
      serverKey,
      hostname: 'b.example.test',
      dkim: (domain) => loadOrCreateDkimKey(dir, domain),
      // The stand-in MX is on loopback (a public address in production).
      allowPrivateTargets: true,
      resolveMx,
      port: mx.port,
      tls: { ca: tls.cert },
      leaseSeconds: LEASE,
    });
    held = new Promise<void>((r) => (release = r));
    const alice = await sender('alice@example.test');
    await alice.send({ to: ['erin@example.org'], subject: 'Leased once', text: 'x', allowStandard: true });
    // A's queue job claims the delivery and stops before sending.
    await until(async () => waiting);
    const row = await tdb.prisma.outboundDelivery.findFirstOrThrow({ where: { recipient: 'erin@example.org' } });
    expect(row.leaseUntil).not.toBeNull();

    // While A holds a live lease (it renews it every third of the lease), B takes nothing: well
    // past one lease length, B's attempts claim no row and send nothing.
    for (let i = 0; i < 4; i++) {
      await workerB.attempt(row.messageId);
      await new Promise((r) => setTimeout(r, (LEASE * 1000) / 2));
    }
    expect(mx.received).toHaveLength(0);
    expect((await tdb.prisma.outboundDelivery.findUniqueOrThrow({ where: { id: row.id } })).status).toBe('queued');

    // A's lease runs out (as when its whole process stalls, renewals included); B takes the
    // delivery and sends it.
    await tdb.prisma.$executeRaw`UPDATE outbound_deliveries SET lease_until = now() - interval '1 second' WHERE id = ${row.id}::uuid`;
    await workerB.attempt(row.messageId);
    expect(mx.received.filter((m) => m.raw.includes('Leased once'))).toHaveLength(1);
    const afterB = await tdb.prisma.outboundDelivery.findUniqueOrThrow({ where: { id: row.id } });
    expect([afterB.status, afterB.attempts, afterB.leaseUntil]).toEqual(['delivered', 1, null]);

    // A resumes: its lease is not the row's any more, so it neither sends nor settles.
    held = null;
    release();
    await new Promise((r) => setTimeout(r, LEASE * 1000));
    expect(mx.received.filter((m) => m.raw.includes('Leased once'))).toHaveLength(1);
    const afterA = await tdb.prisma.outboundDelivery.findUniqueOrThrow({ where: { id: row.id } });
    expect([afterA.status, afterA.attempts, afterA.leaseUntil]).toEqual(['delivered', 1, null]);
  }, 60_000);
});
