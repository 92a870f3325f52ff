/**
 * Nothing acknowledged is lost: the SMTP process (src/main.ts, a real child process) takes a few
 * hundred messages over 20 concurrent TLS connections and is killed with SIGKILL in the middle.
 * Every message that got a 250 is in the mailbox — opened here with the recipient's key — and
 * nothing half-stored is left (no message without its entry).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { parseMime } from '@sealmail/client/identity';
import { openMail, type PerUserKey } from '@sealmail/crypto';
import { seedDemo } from '@sealmail/db';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { childEnvironment, freePort, loadOrCreateTls, type TlsMaterial } from '@sealmail/server';
import { giveKeys } from './keys';

let tdb: TestDatabase;
let dir: string;
let tls: TlsMaterial;
let proc: ChildProcess | undefined;
let bobId: string;
let bobPuk: PerUserKey;

async function startSmtp(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: new URL('..', import.meta.url).pathname,
    env: childEnvironment({ DATABASE_URL: tdb.connectionString, SEALMAIL_SMTP_PORT: String(port), SEALMAIL_SMTPS_PORT: String(await freePort()), SEALMAIL_DATA_DIR: dir, SEALMAIL_TLS_CERT: join(dir, 'c.pem'), SEALMAIL_TLS_KEY: join(dir, 'k.pem'), LOG_LEVEL: 'silent' }),
    stdio: 'ignore',
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const up = await nodemailer
      .createTransport({ host: '127.0.0.1', port, secure: false, requireTLS: true, tls: { ca: tls.cert, servername: 'localhost' } })
      .verify()
      .then(() => true, () => false);
    if (up) return child;
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('the SMTP process did not come up');
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealmail-crash-'));
  tls = await loadOrCreateTls({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
  tdb = await createTestDatabase();
  await seedDemo(tdb.prisma, { domain: 'example.test' });
  bobId = (await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'bob' } })).id;
  bobPuk = await giveKeys(tdb.prisma, bobId);
}, 60_000);
afterAll(async () => {
  if (proc && proc.exitCode === null) proc.kill('SIGKILL');
  await tdb?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('kill -9 during a load of messages', () => {
  it('keeps every message that got a 250', async () => {
    const port = await freePort();
    proc = await startSmtp(port);
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, requireTLS: true, tls: { ca: tls.cert, servername: 'localhost' }, pool: true, maxConnections: 20, maxMessages: Infinity });
    const acked = new Set<string>();
    let killed = false;
    const sends = Array.from({ length: 300 }, (_, i) =>
      transport.sendMail({ from: 'load@sender.example', to: 'bob@example.test', subject: `load ${i}`, text: `message number ${i}\r\n`.repeat(50) }).then(
        (info) => {
          if (/^250 /.test(info.response)) acked.add(`load ${i}`);
          if (acked.size >= 80 && !killed) {
            killed = true;
            proc!.kill('SIGKILL');
          }
        },
        () => undefined,
      ),
    );
    await Promise.all(sends);
    transport.close();
    expect(killed).toBe(true);
    expect(acked.size).toBeGreaterThanOrEqual(80);
    expect(acked.size).toBeLessThan(300);

    // Every acknowledged message is there and opens; nothing is half-stored.
    const entries = await tdb.prisma.mailboxEntry.findMany({ where: { userId: bobId }, include: { message: true } });
    const subjects = new Set<string>();
    for (const e of entries) {
      const opened = await openMail({ envelope: e.message.envelope, record: e.box, manifest: e.message.manifest, pieces: [e.message.body], userId: bobId, puk: bobPuk });
      subjects.add((await parseMime(opened.pieces[0]!)).subject);
    }
    for (const s of acked) expect(subjects.has(s), s).toBe(true);
    expect(await tdb.prisma.message.count({ where: { entries: { none: {} } } })).toBe(0);
    const used = await tdb.prisma.user.findUniqueOrThrow({ where: { id: bobId }, select: { usedBytes: true } });
    expect(Number(used.usedBytes)).toBe(entries.reduce((n, e) => n + Number(e.size), 0));

    // A restarted process takes mail again.
    proc = await startSmtp(port);
    const again = await nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, requireTLS: true, tls: { ca: tls.cert, servername: 'localhost' } }).sendMail({ from: 'x@sender.example', to: 'bob@example.test', subject: 'after restart', text: 'ok' });
    expect(again.response).toMatch(/^250 /);
    // Two process starts and 300 TLS sessions: on a loaded 2-core machine this takes well over 30 s.
  }, 120_000);
});
