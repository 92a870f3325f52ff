/**
 * Mail figures, printed beside references measured in the same run (shared, noisy machines:
 * compare ratios, not absolutes):
 *   - seal + send with the real client over HTTP to 1 and to 10 recipients;
 *   - a 10 MiB attachment sealed in chunks and uploaded, beside native AES-256-GCM of the same bytes;
 *   - list-page latency (p50/p99) on a 100,000-message mailbox, first page and deep down, beside
 *     a hello-world Fastify route; and decrypting a page on the device.
 *
 *   pnpm --filter @sealmail/api bench
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { ApiClient } from '@sealmail/client';
import { Identity, Mailer, memoryKeyStore } from '@sealmail/client/identity';
import { applyMigrations, createDb, seedDemo, startEmbeddedPostgres } from '@sealmail/db';
import { createLogger, hashPassword } from '@sealmail/server';
import { buildApp } from '../src/app';

const MAILBOX = 100_000;
const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
const ms = (x: number) => x.toFixed(2).padStart(9);

async function timed(n: number, f: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await f();
    out.push(performance.now() - t0);
  }
  return out;
}

function get(port: number, path: string, agent: Agent, headers: Record<string, string> = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent, headers }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`${path}: HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

const dir = await mkdtemp(join(tmpdir(), 'sealmail-mail-bench-'));
const pg = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port: 20000 + Math.floor(Math.random() * 20000), postgresFlags: ['-c', 'fsync=off'] });
try {
  await applyMigrations(pg.connectionString);
  const db = createDb(pg.connectionString, { maxConnections: 20 });
  const seed = await seedDemo(db, { domain: 'example.test' });
  const domain = await db.domain.findUniqueOrThrow({ where: { name: 'example.test' } });
  const hash = await hashPassword('bench-password');
  const extra = Array.from({ length: 9 }, (_, i) => `user${i}@example.test`);
  for (const a of extra) await db.user.create({ data: { accountId: domain.accountId, domainId: domain.id, localPart: a.split('@')[0]!, displayName: a, passwordHash: hash } });

  const hello = Fastify();
  hello.get('/hello', async () => ({ hello: 'world' }));
  await hello.listen({ host: '127.0.0.1', port: 0 });
  const app = await buildApp({ logger: createLogger({ level: 'silent' }), db, version: 'bench' });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const helloPort = (hello.server.address() as { port: number }).port;
  const apiPort = (app.server.address() as { port: number }).port;
  const base = `http://127.0.0.1:${apiPort}`;

  const password = (a: string) => seed.users.find((u) => u.address === a)?.password ?? 'bench-password';
  async function device(address: string) {
    const token = (await new ApiClient({ baseUrl: base }).signIn(address, password(address))).token;
    const api = new ApiClient({ baseUrl: base, token });
    const identity = new Identity(api, memoryKeyStore());
    await identity.setUpThisDevice({ address, name: 'Bench', kind: 'cli' });
    return { api, identity, token, mail: new Mailer(api, identity, address) };
  }
  const alice = await device('alice@example.test');
  const bob = await device('bob@example.test');
  for (const a of extra) await device(a);
  const ten = ['bob@example.test', ...extra];

  // Seal + send.
  await alice.mail.send({ to: ['bob@example.test'], subject: 'warm-up', text: 'x' });
  const body = 'Hello,\n' + 'a line of an ordinary mail body.\n'.repeat(60);
  const one = await timed(20, () => alice.mail.send({ to: ['bob@example.test'], subject: 'Bench', text: body }));
  const many = await timed(20, () => alice.mail.send({ to: ten, subject: 'Bench', text: body }));
  const big = randomBytes(10 * 1024 * 1024);
  const file = { name: 'big.bin', type: 'application/octet-stream', size: big.length, stream: () => new Blob([big]).stream() };
  const bigSend = await timed(3, () => alice.mail.send({ to: ['bob@example.test'], subject: 'Big', text: 'x', attachments: [file] }));
  const native = await timed(3, async () => {
    const c = createCipheriv('aes-256-gcm', randomBytes(32), randomBytes(12));
    c.update(big);
    c.final();
  });

  // A 100,000-message mailbox for Bob.
  const bobId = (await bob.identity.thisDevice('bob@example.test')).userId;
  const first = await db.mailboxEntry.findFirstOrThrow({ where: { userId: bobId, folder: 'inbox', message: { attachmentSizes: { isEmpty: true } } } });
  await db.$executeRaw`
    INSERT INTO mailbox_entries (id, user_id, message_id, folder, role, box, thread_id, read, size, received_at)
    SELECT gen_random_uuid(), e.user_id, e.message_id, e.folder, e.role, e.box, gen_random_uuid(), i % 3 = 0, e.size, e.received_at - make_interval(secs => i)
    FROM mailbox_entries e, generate_series(1, ${MAILBOX}) AS i WHERE e.id = ${first.id}::uuid`;
  await db.$executeRawUnsafe('ANALYZE mailbox_entries');
  const total = await db.mailboxEntry.count({ where: { userId: bobId, folder: 'inbox' } });
  const deepRow = await db.mailboxEntry.findFirstOrThrow({ where: { userId: bobId, folder: 'inbox' }, orderBy: [{ receivedAt: 'desc' }, { id: 'desc' }], skip: 90_000 });
  const deepCursor = Buffer.from(JSON.stringify([deepRow.receivedAt.toISOString(), deepRow.id])).toString('base64url');
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const auth = { authorization: `Bearer ${bob.token}` };
  for (let i = 0; i < 50; i++) await get(helloPort, '/hello', agent);
  const ref = await timed(300, () => get(helloPort, '/hello', agent));
  const page = await timed(300, () => get(apiPort, '/api/v1/mail/messages?folder=inbox&limit=50', agent, auth));
  const deep = await timed(300, () => get(apiPort, `/api/v1/mail/messages?folder=inbox&limit=50&cursor=${deepCursor}`, agent, auth));
  const summary = await timed(100, () => get(apiPort, '/api/v1/mail/summary', agent, auth));
  const decrypt = await timed(10, () => bob.mail.list({ folder: 'inbox', limit: 50 }));
  agent.destroy();

  console.log(`\nMail, Node ${process.version}, ${new Date().toISOString()}\n`);
  console.log('seal + send (real client over HTTP on loopback, 2 KiB body)'.padEnd(66) + '   p50 ms   p99 ms');
  console.log('  to 1 recipient'.padEnd(66) + ms(q(one, 0.5)) + ms(q(one, 0.99)));
  console.log('  to 10 recipients'.padEnd(66) + ms(q(many, 0.5)) + ms(q(many, 0.99)));
  const mbps = (t: number) => ((big.length / 1048576) / (t / 1000)).toFixed(1);
  console.log(`  10 MiB attachment: ${mbps(q(bigSend, 0.5))} MiB/s end to end; native AES-256-GCM of the same bytes ${mbps(q(native, 0.5))} MiB/s`);
  console.log(`\nlist pages of 50 on a ${total.toLocaleString('en')}-message inbox (sequential requests)`.padEnd(66) + '   p50 ms   p99 ms    vs ref p50');
  for (const [name, xs] of [
    ['  Fastify hello-world (reference)', ref],
    ['  GET /api/v1/mail/messages (first page)', page],
    ['  GET /api/v1/mail/messages (cursor 90,000 deep)', deep],
    ['  GET /api/v1/mail/summary (counts per folder)', summary],
  ] as const) {
    console.log(name.padEnd(66) + ms(q(xs, 0.5)) + ms(q(xs, 0.99)) + `${(q(xs, 0.5) / q(ref, 0.5)).toFixed(1)}x`.padStart(14));
  }
  console.log('  client: fetch + open 50 mails (boxes, manifests, MIME)'.padEnd(66) + ms(q(decrypt, 0.5)) + ms(q(decrypt, 0.99)));
  await app.close();
  await hello.close();
  await db.$disconnect();
} finally {
  await pg.stop();
  await rm(dir, { recursive: true, force: true });
}
