/**
 * The ingress with its seal pool (SEALMAIL_SMTP_SEAL_WORKERS, mailstore's seal-pool.ts): mail
 * sealed in worker threads is stored and opens for the recipient with its attachment, as mail
 * sealed on the event loop does. A real nodemailer client over STARTTLS on loopback, the real
 * Postgres, real worker threads; DNS answers "no such record" from this test (the outside world).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import type { SMTPServer } from 'smtp-server';
import { parseMime } from '@sealmail/client/identity';
import { openMail, type PerUserKey } from '@sealmail/crypto';
import { SealPool } from '@sealmail/mailstore';
import { seedDemo } from '@sealmail/db';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { createLogger, loadOrCreateTls, type TlsMaterial } from '@sealmail/server';
import { buildSmtpServer } from '../src/server';
import { giveKeys } from './keys';

let tdb: TestDatabase;
let tls: TlsMaterial;
let dir: string;
let server: SMTPServer;
let pool: SealPool;
let port = 0;
let bobPuk: PerUserKey;
let bobId: string;
const resolver = async (name: string, type: string): Promise<string[][]> => Promise.reject(Object.assign(new Error(`no ${type} for ${name}`), { code: 'ENOTFOUND' }));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealmail-smtp-pool-'));
  tls = await loadOrCreateTls({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
  tdb = await createTestDatabase();
  await seedDemo(tdb.prisma, { domain: 'example.test' });
  bobId = (await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'bob' } })).id;
  bobPuk = await giveKeys(tdb.prisma, bobId);
  pool = new SealPool(2);
  server = buildSmtpServer({ db: tdb.prisma, logger: createLogger({ level: 'silent' }), tls, hostname: 'mx.example.test', maxMessageBytes: 35 * 1024 * 1024, secure: false, resolver, sealPool: pool });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.server.address() as { port: number }).port;
}, 60_000);

afterAll(async () => {
  await new Promise<void>((r) => server?.close(() => r()));
  await pool?.close();
  await tdb?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('ingress sealing in worker threads', () => {
  it('concurrent messages are sealed by the pool, stored, and open for the recipient with their attachments', async () => {
    const file = randomBytes(70_000);
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, requireTLS: true, tls: { ca: tls.cert, servername: 'localhost' }, pool: true, maxConnections: 4 });
    await Promise.all(Array.from({ length: 6 }, (_, i) => transport.sendMail({ from: 'x@sender.example', to: 'bob@example.test', subject: `pooled ${i}`, text: `body ${i}`, attachments: [{ filename: 'f.bin', content: file }] })));
    transport.close();
    expect(pool.stats.sealed).toBe(6);

    const entries = await tdb.prisma.mailboxEntry.findMany({ where: { userId: bobId }, include: { message: { include: { blobs: { include: { data: { orderBy: { index: 'asc' } } } } } } } });
    expect(entries).toHaveLength(6);
    const subjects: string[] = [];
    for (const e of entries) {
      const m = e.message;
      const ciphertext = Buffer.concat(m.blobs[0]!.data.map((p) => p.data));
      const opened = await openMail({ envelope: m.envelope, record: e.box, manifest: m.manifest, pieces: [m.body, ciphertext], userId: bobId, puk: bobPuk });
      const mime = await parseMime(opened.pieces[0]!);
      subjects.push(mime.subject);
      expect(mime.text.trim()).toBe(`body ${mime.subject.slice('pooled '.length)}`);
      expect(Buffer.from(opened.pieces[1]!).equals(file)).toBe(true);
    }
    expect(subjects.sort()).toEqual(Array.from({ length: 6 }, (_, i) => `pooled ${i}`));
  }, 120_000);
});
