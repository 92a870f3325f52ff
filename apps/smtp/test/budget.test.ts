/**
 * The byte budget under concurrent DATA without a declared SIZE: a transaction that cannot take
 * more gives back what it held at once (server.ts), so two messages that together pass the budget
 * do not starve each other into 452s forever — the one that got there first is stored. Real
 * SMTP over loopback, the real Postgres; nothing is mocked.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SMTPServer } from 'smtp-server';
import { seedDemo } from '@sealmail/db';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { ephemeralServerMailKey } from '@sealmail/mailstore';
import { createLogger, loadOrCreateTls } from '@sealmail/server';
import { buildSmtpServer, ByteBudget, HELD_PER_MESSAGE_BYTE } from '../src/server';
import { Dialog } from './dialog';

/** Counts what transactions give back. */
class CountingBudget extends ByteBudget {
  gives = 0;
  override give(bytes: number): void {
    if (bytes > 0) this.gives++;
    super.give(bytes);
  }
}

let tdb: TestDatabase;
let dir: string;
let server: SMTPServer;
let port = 0;
const budget = new CountingBudget(1_500_000);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealmail-smtp-budget-'));
  const tls = await loadOrCreateTls({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
  tdb = await createTestDatabase();
  await seedDemo(tdb.prisma, { domain: 'example.test' });
  server = buildSmtpServer({ db: tdb.prisma, logger: createLogger({ level: 'silent' }), tls, hostname: 'mx.example.test', secure: false, maxMessageBytes: 1_000_000, budget, serverPublicKey: ephemeralServerMailKey().publicKey });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.server.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise<void>((r) => server?.close(() => r()));
  await tdb?.drop();
  await rm(dir, { recursive: true, force: true });
});

const lines = (n: number) => `${'x'.repeat(998)}\r\n`.repeat(n);

async function inData(): Promise<Dialog> {
  const d = await Dialog.open(port);
  await d.reply();
  await d.cmd('EHLO client.example.org');
  expect((await d.cmd('MAIL FROM:<sender@example.org>')).code).toBe(250);
  expect((await d.cmd('RCPT TO:<bob@example.test>')).code).toBe(250);
  expect((await d.cmd('DATA')).code).toBe(354);
  return d;
}

describe('the byte budget with concurrent DATA', () => {
  it('a transaction refused mid-DATA frees its share at once, and the other one is stored', async () => {
    // A holds 300 KB × HELD_PER_MESSAGE_BYTE (1.2 MB) of the 1.5 MB budget.
    const a = await inData();
    a.write(`Subject: first\r\n\r\n${lines(300)}`);
    await expect.poll(() => budget.inUse, { timeout: 20_000 }).toBeGreaterThanOrEqual(290_000 * HELD_PER_MESSAGE_BYTE);
    // B takes what is left, runs out, and gives it back before its DATA ends.
    const b = await inData();
    b.write(`Subject: second\r\n\r\n${lines(300)}`);
    await expect.poll(() => budget.gives, { timeout: 20_000 }).toBeGreaterThanOrEqual(1);
    // A needs the rest of the budget (capped at the whole budget): it is there.
    a.write(lines(100));
    expect((await a.cmd('.')).code).toBe(250);
    expect((await b.cmd('.')).text).toMatch(/^452 4\.3\.1 /);
    a.close();
    b.close();
    await expect.poll(() => budget.inUse, { timeout: 10_000 }).toBe(0);
  }, 60_000);
});
