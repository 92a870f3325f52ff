/**
 * Mail before first sign-in, through the API process's queue (docs/mail.md §7.4): mail from outside
 * for a user an admin created (no keys yet) is held server-encrypted by the ingress's delivery
 * (`deliverLocal` with the server's mail key, as apps/smtp calls it; the SMTP dialogue itself is
 * tested in apps/smtp/test/held.test.ts). The user's first device set-up queues the pg-boss job
 * (real Postgres), which re-seals the mail to the new key: the user's own client opens it,
 * labelled "Server Encrypted". Meanwhile a colleague's client refuses to send E2EE mail to that
 * user with RECIPIENT_HAS_NO_KEYS ("not set up yet").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { MailError } from '@sealmail/client/identity';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { seedDemo } from '@sealmail/db';
import { deliverLocal, ephemeralServerMailKey, postgresBlobStore } from '@sealmail/mailstore';
import { createLogger } from '@sealmail/server';
import { buildApp } from '../src/app';
import { until, signedInDevice } from './helpers';

let tdb: TestDatabase;
let app: FastifyInstance;
let passwords: Record<string, string>;
const serverKey = ephemeralServerMailKey();
const logger = createLogger({ level: 'silent' });

async function device(address: string) {
  return signedInDevice(app, address, passwords[address]!);
}

beforeAll(async () => {
  tdb = await createTestDatabase();
  const seed = await seedDemo(tdb.prisma, { domain: 'example.test' });
  passwords = Object.fromEntries(seed.users.map((u) => [u.address, u.password!]));
  app = await buildApp({ logger, db: tdb.prisma, version: 't', serverKey, heldMail: { connectionString: tdb.connectionString, sweepSeconds: 0 } });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await tdb?.drop();
});

describe('held mail', () => {
  it('a colleague’s client refuses E2EE mail to a user who is not set up yet; mail from outside is held and filed by the job at their first device', { timeout: 90_000 }, async () => {
    const bob = await device('bob@example.test');
    await expect(bob.mail.send({ to: ['alice@example.test'], subject: 'Hi', text: 'secret' })).rejects.toSatisfy(
      (e) => e instanceof MailError && e.code === 'RECIPIENT_HAS_NO_KEYS' && e.address === 'alice@example.test' && /not set up yet/.test(e.message),
    );

    const alice = await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'alice' } });
    const raw = Buffer.from('From: Dana <dana@outside.example>\r\nTo: alice@example.test\r\nSubject: Before your first sign-in\r\nMessage-ID: <held-1@outside.example>\r\n\r\nWelcome, Alice.\r\n');
    const d = await deliverLocal({ db: tdb.prisma, blobs: postgresBlobStore(tdb.prisma), hostname: 'mx.example.test', now: () => new Date(), logger, serverPublicKey: serverKey.publicKey }, raw, { mailFrom: 'dana@outside.example', recipients: [{ address: 'alice@example.test', userId: alice.id }] });
    expect(d).toMatchObject({ held: 1, entries: [] });

    // Alice's first device: the chain's first per-user key queues the job, which files the mail.
    const a = await device('alice@example.test');
    const entry = await until(async () => (await a.api.listMail({ folder: 'inbox' })).entries[0], 30_000);
    const opened = await a.mail.open(entry.id);
    expect(opened.protection).toBe('Server Encrypted');
    expect(opened.mime.subject).toBe('Before your first sign-in');
    expect(opened.mime.text).toContain('Welcome, Alice.');
    expect(await tdb.prisma.heldMail.count()).toBe(0);
    expect((await a.api.listMail({ folder: 'inbox' })).entries).toHaveLength(1);
  });
});
