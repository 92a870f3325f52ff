/**
 * A declared SIZE held by a transaction that does not go on (server.ts, ByteBudget). MAIL FROM
 * used to reserve HELD_PER_MESSAGE_BYTE × SIZE of the process's byte budget before any recipient
 * was named, for as long as the session stayed (a NOOP now and then resets smtp-server's idle
 * timer): two anonymous sessions declaring 32 MiB held the whole default budget (256 MiB), and
 * every other sender got 452 4.3.1 while they stayed. Now MAIL holds nothing, the first accepted
 * recipient reserves, and a reservation DATA has not used within `sizeHoldMs` goes back (DATA then
 * takes its bytes as they come). Real SMTP over loopback, the real Postgres.
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
import { buildSmtpServer } from '../src/server';
import { Dialog } from './dialog';

let tdb: TestDatabase;
let dir: string;
let server: SMTPServer;
let port = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealmail-smtp-sizehold-'));
  const tls = await loadOrCreateTls({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
  tdb = await createTestDatabase();
  await seedDemo(tdb.prisma, { domain: 'example.test' });
  // The production limit (35 MiB) and the default budget (256 MiB).
  server = buildSmtpServer({ db: tdb.prisma, logger: createLogger({ level: 'silent' }), tls, hostname: 'mx.example.test', secure: false, maxMessageBytes: 35 * 1024 * 1024, serverPublicKey: ephemeralServerMailKey().publicKey, sizeHoldMs: 1500 });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.server.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise<void>((r) => server?.close(() => r()));
  await tdb?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('a declared SIZE held by a transaction that does not go on', () => {
  it('two idle anonymous transactions do not shut every other sender out', async () => {
    const holders: Dialog[] = [];
    for (let i = 0; i < 2; i++) {
      const d = await Dialog.open(port);
      await d.reply();
      await d.cmd('EHLO idle.example.net');
      expect((await d.cmd('MAIL FROM:<nobody@idle.example.net> SIZE=33554432')).code).toBe(250);
      expect((await d.cmd('NOOP')).code).toBe(250);
      holders.push(d);
    }
    // An ordinary sender with a small message for a real user.
    const d = await Dialog.open(port);
    await d.reply();
    await d.cmd('EHLO mail.example.org');
    const mail = await d.cmd('MAIL FROM:<sender@example.org> SIZE=2000');
    let outcome = mail.text.trim();
    if (mail.code === 250) {
      expect((await d.cmd('RCPT TO:<bob@example.test>')).code).toBe(250);
      expect((await d.cmd('DATA')).code).toBe(354);
      d.write('From: sender@example.org\r\nTo: bob@example.test\r\nSubject: hi\r\n\r\nhello\r\n');
      outcome = (await d.cmd('.')).text.trim();
    }
    for (const h of holders) h.close();
    d.close();
    expect(outcome, 'answer to a legitimate sender while two idle MAIL FROM SIZE=32 MiB sessions are open').toMatch(/^250 /);
  }, 60_000);

  it('two sessions that name a real recipient hold the budget only until their hold ends; one of them still delivers after it', async () => {
    const holders: Dialog[] = [];
    for (let i = 0; i < 2; i++) {
      const d = await Dialog.open(port);
      await d.reply();
      await d.cmd('EHLO idle.example.net');
      expect((await d.cmd('MAIL FROM:<nobody@idle.example.net> SIZE=33554432')).code).toBe(250);
      expect((await d.cmd('RCPT TO:<bob@example.test>')).code).toBe(250);
      holders.push(d);
    }
    const d = await Dialog.open(port);
    await d.reply();
    await d.cmd('EHLO mail.example.org');
    expect((await d.cmd('MAIL FROM:<sender@example.org> SIZE=2000')).code).toBe(250);
    // While they hold it: a temporary answer…
    expect((await d.cmd('RCPT TO:<bob@example.test>')).text).toMatch(/^452 4\.3\.1 /);
    // …that clears once their hold ends, NOOPs or not.
    await expect
      .poll(async () => {
        await holders[0]!.cmd('NOOP');
        return (await d.cmd('RCPT TO:<bob@example.test>')).code;
      }, { timeout: 15_000, interval: 500 })
      .toBe(250);
    expect((await d.cmd('DATA')).code).toBe(354);
    d.write('From: sender@example.org\r\nTo: bob@example.test\r\nSubject: hi\r\n\r\nhello\r\n');
    expect((await d.cmd('.')).code).toBe(250);
    // A holder that goes on to DATA later delivers (its bytes are taken as they come).
    expect((await holders[1]!.cmd('DATA')).code).toBe(354);
    holders[1]!.write('From: nobody@idle.example.net\r\nTo: bob@example.test\r\nSubject: late\r\n\r\nlate\r\n');
    expect((await holders[1]!.cmd('.')).code).toBe(250);
    for (const h of holders) h.close();
    d.close();
  }, 60_000);
});
