/**
 * The SMTP ingress over real TLS on loopback: STARTTLS and implicit TLS, the recipient check at
 * RCPT against the directory in a real Postgres, and SIZE. (Delivery itself: delivery.test.ts.)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SMTPServer } from 'smtp-server';
import { seedDemo } from '@sealmail/db';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { createLogger, loadOrCreateTls, type TlsMaterial } from '@sealmail/server';
import { ephemeralServerMailKey } from '@sealmail/mailstore';
import { buildSmtpServer, ByteBudget } from '../src/server';
import { Dialog } from './dialog';

let tdb: TestDatabase;
let tls: TlsMaterial;
let dir: string;
const servers: SMTPServer[] = [];
let port = 0;
let securePort = 0;
/** A listener that serves 2 connections at once. */
let limitedPort = 0;
/** A listener with 1 MB messages and 1.5 MB of message bytes in memory. */
let budgetPort = 0;
let perClientPort = 0;

async function listen(s: SMTPServer): Promise<number> {
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.server.address() as { port: number }).port;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealmail-smtp-'));
  tls = await loadOrCreateTls({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
  tdb = await createTestDatabase();
  await seedDemo(tdb.prisma, { domain: 'example.test' });
  const common = { db: tdb.prisma, logger: createLogger({ level: 'silent' }), tls, hostname: 'mx.example.test', maxMessageBytes: 35 * 1024 * 1024 };
  port = await listen(buildSmtpServer({ ...common, secure: false }));
  securePort = await listen(buildSmtpServer({ ...common, secure: true }));
  // With the server's mail key, mail for mailboxes without keys is held (accepted) rather than deferred.
  limitedPort = await listen(buildSmtpServer({ ...common, secure: false, maxSessions: 2 }));
  budgetPort = await listen(buildSmtpServer({ ...common, secure: false, maxMessageBytes: 1_000_000, budget: new ByteBudget(1_500_000), serverPublicKey: ephemeralServerMailKey().publicKey }));
  perClientPort = await listen(buildSmtpServer({ ...common, secure: false, maxSessions: 10, maxSessionsPerClient: 2 }));
});

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  await tdb?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('SMTP ingress', () => {
  it('offers STARTTLS, SIZE, 8BITMIME and SMTPUTF8, and negotiates TLS 1.3', async () => {
    const d = await Dialog.open(port);
    expect((await d.reply()).code).toBe(220);
    const ehlo = await d.cmd('EHLO client.example.org');
    expect(ehlo.code).toBe(250);
    expect(ehlo.text).toContain('STARTTLS');
    expect(ehlo.text).toContain(`SIZE ${35 * 1024 * 1024}`);
    expect(ehlo.text).toContain('8BITMIME');
    expect(ehlo.text).toContain('SMTPUTF8');
    expect(ehlo.text).toContain('ENHANCEDSTATUSCODES');
    expect(ehlo.text).not.toContain('AUTH');
    expect(await d.starttls(tls.cert)).toEqual({ protocol: 'TLSv1.3' });
    expect((await d.cmd('EHLO client.example.org')).code).toBe(250);
    d.close();
  });

  it('STARTTLS follows the shared TLS policy: a client offering only CBC suites is refused, TLS 1.2 with AEAD works', async () => {
    const cbc = await Dialog.open(port);
    await cbc.reply();
    await cbc.cmd('EHLO client.example.org');
    await expect(cbc.starttls(tls.cert, { ciphers: 'ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA', maxVersion: 'TLSv1.2' })).rejects.toThrow();
    cbc.close();
    const old = await Dialog.open(port);
    await old.reply();
    await old.cmd('EHLO client.example.org');
    await expect(old.starttls(tls.cert, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' })).rejects.toThrow();
    old.close();
    const aead = await Dialog.open(port);
    await aead.reply();
    await aead.cmd('EHLO client.example.org');
    expect(await aead.starttls(tls.cert, { ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384', maxVersion: 'TLSv1.2' })).toEqual({ protocol: 'TLSv1.2' });
    expect((await aead.cmd('EHLO client.example.org')).code).toBe(250);
    aead.close();
  });

  it('implicit TLS follows the same policy', async () => {
    const { connect } = await import('node:tls');
    const attempt = (opts: object) =>
      new Promise<string>((resolve) => {
        const s = connect({ host: '127.0.0.1', port: securePort, ca: tls.cert, servername: 'localhost', ...opts }, () => {
          resolve(s.getProtocol() ?? 'none');
          s.destroy();
        });
        s.on('error', () => resolve('refused'));
      });
    expect(await attempt({ ciphers: 'ECDHE-ECDSA-AES128-SHA', maxVersion: 'TLSv1.2' })).toBe('refused');
    expect(await attempt({ ciphers: 'ECDHE-ECDSA-CHACHA20-POLY1305', maxVersion: 'TLSv1.2' })).toBe('TLSv1.2');
  });

  it('refuses unknown recipients at RCPT with 550 5.1.1 and accepts known ones', async () => {
    const d = await Dialog.open(port);
    await d.reply();
    await d.cmd('EHLO client.example.org');
    await d.starttls(tls.cert);
    await d.cmd('EHLO client.example.org');
    expect((await d.cmd('MAIL FROM:<sender@example.org>')).code).toBe(250);
    const unknown = await d.cmd('RCPT TO:<nobody@example.test>');
    expect(unknown.code).toBe(550);
    expect(unknown.text).toMatch(/^550 5\.1\.1 /);
    const otherDomain = await d.cmd('RCPT TO:<alice@elsewhere.test>');
    expect(otherDomain.code).toBe(550);
    // Known, but without keys yet (never signed in): mail cannot be sealed to it, so come back later.
    expect((await d.cmd('RCPT TO:<Alice@Example.TEST>')).code).toBe(450);
    d.close();
  });

  it('refuses a declared size over the limit at MAIL with 552 5.3.4', async () => {
    const d = await Dialog.open(port);
    await d.reply();
    await d.cmd('EHLO client.example.org');
    const r = await d.cmd(`MAIL FROM:<sender@example.org> SIZE=${36 * 1024 * 1024}`);
    expect(r.code).toBe(552);
    expect(r.text).toMatch(/^552 5\.3\.4 /);
    d.close();
  });

  it('answers 421 past the limit of connections, and takes a new one once a connection ends', async () => {
    const a = await Dialog.open(limitedPort);
    const b = await Dialog.open(limitedPort);
    expect((await a.reply()).code).toBe(220);
    expect((await b.reply()).code).toBe(220);
    const c = await Dialog.open(limitedPort);
    expect((await c.reply()).text).toMatch(/^421 .*Too many connected clients/);
    c.close();
    a.close();
    await expect
      .poll(async () => {
        const d = await Dialog.open(limitedPort);
        const code = (await d.reply()).code;
        d.close();
        return code;
      }, { timeout: 10_000 })
      .toBe(220);
    b.close();
  });

  it('answers 421 past one client address’s share of the connections; other addresses still get in, and it gets in again once one ends', async () => {
    const a = await Dialog.open(perClientPort);
    const b = await Dialog.open(perClientPort);
    expect((await a.reply()).code).toBe(220);
    expect((await b.reply()).code).toBe(220);
    const c = await Dialog.open(perClientPort);
    expect((await c.reply()).text).toMatch(/^421 4\.7\.0 Too many connections from your address/);
    c.close();
    // Another host (another loopback address) is not held up by this one.
    const other = await Dialog.open(perClientPort, { localAddress: '127.0.0.2' });
    expect((await other.reply()).code).toBe(220);
    other.close();
    a.close();
    await expect
      .poll(async () => {
        const d = await Dialog.open(perClientPort);
        const code = (await d.reply()).code;
        d.close();
        return code;
      }, { timeout: 10_000 })
      .toBe(220);
    b.close();
  });

  it('answers 452 4.3.1 past the budget of message bytes in memory — at the first recipient for a declared SIZE, at the end of DATA otherwise — and takes the mail once it frees', async () => {
    const open = async () => {
      const d = await Dialog.open(budgetPort);
      await d.reply();
      await d.cmd('EHLO client.example.org');
      return d;
    };
    const a = await open();
    expect((await a.cmd('MAIL FROM:<sender@example.org> SIZE=1000000')).code).toBe(250);
    expect((await a.cmd('RCPT TO:<bob@example.test>')).code).toBe(250);
    const b = await open();
    // MAIL holds nothing (size-hold.test.ts); the first recipient reserves the declared SIZE.
    expect((await b.cmd('MAIL FROM:<sender@example.org> SIZE=1000000')).code).toBe(250);
    const refused = await b.cmd('RCPT TO:<bob@example.test>');
    expect(refused.text).toMatch(/^452 4\.3\.1 /);
    // Undeclared: 800 KB arrive while A holds 1 MB of the 1.5 MB budget.
    expect((await b.cmd('RSET')).code).toBe(250);
    expect((await b.cmd('MAIL FROM:<sender@example.org>')).code).toBe(250);
    expect((await b.cmd('RCPT TO:<bob@example.test>')).code).toBe(250);
    expect((await b.cmd('DATA')).code).toBe(354);
    b.write(`Subject: big\r\n\r\n${'x'.repeat(998)}\r\n`.repeat(800));
    expect((await b.cmd('.')).text).toMatch(/^452 4\.3\.1 /);
    // A's transaction ends (the connection closes): the same mail now goes through.
    a.close();
    await expect.poll(async () => (await b.cmd('RSET')).code === 250 && (await b.cmd('MAIL FROM:<sender@example.org> SIZE=900000')).code === 250 && (await b.cmd('RCPT TO:<bob@example.test>')).code, { timeout: 10_000 }).toBe(250);
    expect((await b.cmd('DATA')).code).toBe(354);
    b.write(`Subject: big\r\n\r\n${'x'.repeat(998)}\r\n`.repeat(800));
    expect((await b.cmd('.')).code).toBe(250);
    b.close();
  });

  it('speaks implicit TLS on the second port', async () => {
    const d = await Dialog.open(securePort, { tls: { ca: tls.cert } });
    expect((await d.reply()).code).toBe(220);
    const ehlo = await d.cmd('EHLO client.example.org');
    expect(ehlo.code).toBe(250);
    expect(ehlo.text).not.toContain('STARTTLS');
    expect((await d.cmd('MAIL FROM:<sender@example.org>')).code).toBe(250);
    expect((await d.cmd('RCPT TO:<bob@example.test>')).code).toBe(450);
    expect((await d.cmd('RCPT TO:<nobody@example.test>')).code).toBe(550);
    d.close();
  });
});
