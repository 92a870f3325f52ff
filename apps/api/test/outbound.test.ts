/**
 * Standard mail to the outside world: the client seals it as usual, marks it not-E2EE and boxes
 * the message key to the server; the relay (a pg-boss queue in the same Postgres) rebuilds it,
 * DKIM-signs it and delivers it to a real smtp-server on loopback standing in for the remote MX
 * (DNS answers for MX and DKIM come from tables here: the only parts that are outside). 5xx fails
 * a recipient at once; 4xx is retried until it succeeds; once every outside recipient is final the
 * server box is erased.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { authenticate } from 'mailauth';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { ApiClient } from '@sealmail/client';
import { Identity, Mailer, memoryKeyStore } from '@sealmail/client/identity';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { seedDemo } from '@sealmail/db';
import { loadOrCreateDkimKey } from '@sealmail/mailstore';
import { createLogger, loadOrCreateTls, type TlsMaterial } from '@sealmail/server';
import { buildApp } from '../src/app';
import { injectFetch } from './helpers';

let tdb: TestDatabase;
let app: FastifyInstance;
let dir: string;
let tls: TlsMaterial;
let mx: SMTPServer;
let mxPort = 0;
let passwords: Record<string, string>;
const received: { rcpt: string[]; raw: Buffer }[] = [];
const flaky = new Map<string, number>();

async function device(address: string) {
  const res = await app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address, password: passwords[address] } });
  const api = new ApiClient({ baseUrl: 'http://api.invalid', fetch: injectFetch(app), token: (res.json() as { token: string }).token });
  const identity = new Identity(api, memoryKeyStore());
  await identity.setUpThisDevice({ address, name: 'Laptop', kind: 'cli' });
  return { api, identity, mail: new Mailer(api, identity, address) };
}
async function until<T>(f: () => Promise<T | undefined | false>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealmail-outbound-'));
  tls = await loadOrCreateTls({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
  // The "remote" MX: refuses nobody@ for good, answers flaky@ with 451 once, takes the rest.
  mx = new SMTPServer({
    key: tls.key,
    cert: tls.cert,
    authOptional: true,
    disabledCommands: ['AUTH'],
    logger: false,
    onRcptTo(address, _s, cb) {
      if (address.address.startsWith('nobody@')) return cb(Object.assign(new Error('No such user'), { responseCode: 550 }));
      if (address.address.startsWith('flaky@') && (flaky.get(address.address) ?? 0) === 0) {
        flaky.set(address.address, 1);
        return cb(Object.assign(new Error('Try again later'), { responseCode: 451 }));
      }
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({ rcpt: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks) });
        cb();
      });
    },
  });
  await new Promise<void>((r) => mx.listen(0, '127.0.0.1', r));
  mxPort = (mx.server.address() as { port: number }).port;
  tdb = await createTestDatabase();
  const seed = await seedDemo(tdb.prisma, { domain: 'example.test' });
  passwords = Object.fromEntries(seed.users.map((u) => [u.address, u.password!]));
  app = await buildApp({
    logger: createLogger({ level: 'silent' }),
    db: tdb.prisma,
    version: 't',
    outbound: {
      connectionString: tdb.connectionString,
      hostname: 'mx.example.test',
      dkim: (domain) => loadOrCreateDkimKey(dir, domain),
      resolveMx: async (domain) => (domain === 'example.org' ? [{ exchange: 'localhost', priority: 10 }] : Promise.reject(Object.assign(new Error('nx'), { code: 'ESERVFAIL' }))),
      port: mxPort,
      tls: { ca: tls.cert },
      retry: { limit: 5, delaySeconds: 1, backoff: false },
    },
  });
}, 60_000);
afterAll(async () => {
  await app?.close();
  await new Promise<void>((r) => mx?.close(() => r()));
  await tdb?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('standard mail to the outside world', () => {
  it('is refused on the device unless the sender allows standard mail', async () => {
    const alice = await device('alice@example.test');
    await expect(alice.mail.send({ to: ['carol@example.org'], subject: 'x', text: 'y' })).rejects.toMatchObject({ code: 'NO_E2EE_ROUTE' });
    expect(received).toHaveLength(0);
  });

  it('is relayed DKIM-signed to the remote MX, and the server forgets the key afterwards', async () => {
    const alice = await device('alice@example.test');
    const bob = await device('bob@example.test');
    const file = Buffer.from('quarterly numbers\n'.repeat(1000));
    const sent = await alice.mail.send({
      to: ['bob@example.test', 'carol@example.org'],
      cc: ['nobody@example.org'],
      subject: 'Numbers for everyone',
      text: 'Hello both',
      attachments: [{ name: 'numbers.txt', type: 'text/plain', size: file.length, stream: () => new Blob([file]).stream() }],
      allowStandard: true,
    });
    expect(sent.delivered).toEqual(['bob@example.test']);
    const got = await until(async () => received.find((r) => r.rcpt.includes('carol@example.org')));
    const parsed = await simpleParser(got.raw);
    expect(parsed.subject).toBe('Numbers for everyone');
    expect(parsed.text).toContain('Hello both');
    expect(parsed.attachments.map((a) => [a.filename, a.content.equals(file)])).toEqual([['numbers.txt', true]]);
    // The signature verifies against the domain's published key.
    const dkim = await loadOrCreateDkimKey(dir, 'example.test');
    const auth = await authenticate(got.raw, {
      ip: '127.0.0.1',
      helo: 'mx.example.test',
      sender: 'alice@example.test',
      mta: 'mx.example.org',
      resolver: async (name: string, type: string) => (type === 'TXT' && name === `${dkim.selector}._domainkey.example.test` ? [[dkim.dnsRecord]] : Promise.reject(Object.assign(new Error('nx'), { code: 'ENOTFOUND' }))),
    });
    expect(auth.dkim.results[0]?.status.result).toBe('pass');

    // Final for every outside recipient: carol delivered, nobody failed for good; the box is gone.
    const deliveries = await until(async () => {
      const d = (await alice.api.deliveries(sent.entryId)).deliveries;
      return d.every((x) => x.status !== 'queued') && d;
    });
    expect(deliveries.map((d) => [d.recipient, d.status])).toEqual([
      ['carol@example.org', 'delivered'],
      ['nobody@example.org', 'failed'],
    ]);
    expect(deliveries[1]!.lastError).toMatch(/550/);
    await until(async () => (await tdb.prisma.message.findUniqueOrThrow({ where: { id: sent.messageId } })).serverBox === null);

    // Inside, everyone sees how it was protected.
    const bobs = await bob.mail.open((await bob.api.listMail({ folder: 'inbox' })).entries[0]!.id);
    expect(bobs.protection).toBe('Server Encrypted');
    expect(bobs.signature).toBe('signed-valid');
    expect((await alice.mail.open(sent.entryId)).protection).toBe('Server Encrypted');
    await expect(bob.api.deliveries(bobs.entryId)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('a remote answering 4xx is retried until it takes the mail', async () => {
    const alice = await device('alice@example.test');
    const sent = await alice.mail.send({ to: ['flaky@example.org'], subject: 'Try twice', text: 'x', allowStandard: true });
    const got = await until(async () => received.find((r) => r.rcpt.includes('flaky@example.org')));
    expect((await simpleParser(got.raw)).subject).toBe('Try twice');
    const d = await until(async () => (await alice.api.deliveries(sent.entryId)).deliveries.find((x) => x.status === 'delivered'));
    expect(d.attempts).toBe(2);
  });

  it('the server refuses outside recipients without a server box it can open, or inside its own domains', async () => {
    const alice = await device('alice@example.test');
    let captured: Parameters<ApiClient['sendMail']>[0] | undefined;
    const spy = Object.create(alice.api) as ApiClient;
    spy.sendMail = async (body) => {
      captured = body;
      return { entryId: '', messageId: '', threadId: '', delivered: [], refused: [] };
    };
    await new Mailer(spy, alice.identity, 'alice@example.test').send({ to: ['dave@example.org'], subject: 'p', text: 'p', allowStandard: true });
    const body = { ...captured!, to: [...(captured!.to ?? [])], boxes: [...captured!.boxes], external: [...(captured!.external ?? [])] };
    await expect(alice.api.sendMail({ ...body, serverBox: undefined })).rejects.toMatchObject({ code: 'MAIL_INVALID' });
    await expect(alice.api.sendMail({ ...body, serverBox: body.serverBox!.slice(0, -8) + 'AAAAAAAA' })).rejects.toMatchObject({ code: 'MAIL_INVALID' });
    await expect(alice.api.sendMail({ ...body, to: ['ghost@example.test'], external: ['ghost@example.test'] })).rejects.toMatchObject({ code: 'E2EE_UNAVAILABLE' });
  });
});
