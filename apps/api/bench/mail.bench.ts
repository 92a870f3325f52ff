/**
 * Mail figures, printed beside references measured in the same run (shared, noisy machines:
 * compare ratios, not absolutes):
 *   - seal + send with the real client over HTTP to 1 and to 10 recipients;
 *   - a 10 MiB attachment sealed in chunks and uploaded, beside native AES-256-GCM of the same bytes;
 *   - on a 100,000-message mailbox, against the real API process over HTTPS (tsx src/main.ts on
 *     the same Postgres) with autocannon: list pages of 50 (first and 90,000 deep) with 50 clients,
 *     beside a Fastify hello-world route in its own process over HTTPS; folder/label counts
 *     (/mail/summary); the session lookup (/auth/session) with 20 clients beside /healthz and a
 *     route doing one primary-key read through the same Prisma client (bench/reference-server.ts);
 *   - decrypting a page on the device.
 *
 *   pnpm --filter @sealmail/api bench
 *   tsx bench/mail.bench.ts list    (only the 100,000-message mailbox rows; `list profile <dir>`: with a CPU profile of the API process)
 *
 * autocannon runs in two worker threads of its own (its client, not the server, was the limit
 * for large bodies on one thread); the references are driven exactly the same way.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createCipheriv, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { ApiClient } from '@sealmail/client';
import { Identity, Mailer, memoryKeyStore } from '@sealmail/client/identity';
import { applyMigrations, createDb, seedDemo, startEmbeddedPostgres } from '@sealmail/db';
import { createLogger, freePort, hashPassword } from '@sealmail/server';
import { buildApp } from '../src/app';

const MAILBOX = 100_000;
const listOnly = process.argv[2] === 'list';
/** `list profile <dir>`: the API process writes a CPU profile (--cpu-prof) into <dir> when it exits. */
const profileDir = process.argv[3] === 'profile' ? process.argv[4] : undefined;
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

/** GET over HTTPS trusting `ca`; resolves with the status code. */
function httpsStatus(url: string, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
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

  const app = await buildApp({ logger: createLogger({ level: 'silent' }), db, version: 'bench' });
  await app.listen({ host: '127.0.0.1', port: 0 });
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
  const reps = listOnly ? 0 : 1;
  const one = await timed(20 * reps, () => alice.mail.send({ to: ['bob@example.test'], subject: 'Bench', text: body }));
  const many = await timed(20 * reps, () => alice.mail.send({ to: ten, subject: 'Bench', text: body }));
  const big = randomBytes(10 * 1024 * 1024);
  const file = { name: 'big.bin', type: 'application/octet-stream', size: big.length, stream: () => new Blob([big]).stream() };
  const bigSend = await timed(3 * reps, () => alice.mail.send({ to: ['bob@example.test'], subject: 'Big', text: 'x', attachments: [file] }));
  const native = await timed(3 * reps, async () => {
    const c = createCipheriv('aes-256-gcm', randomBytes(32), randomBytes(12));
    c.update(big);
    c.final();
  });

  // A 100,000-message mailbox for Bob.
  const bobId = (await bob.identity.thisDevice('bob@example.test')).userId;
  const labelId = (await db.label.create({ data: { userId: bobId, name: new Uint8Array(40) } })).id;
  const first = await db.mailboxEntry.findFirstOrThrow({ where: { userId: bobId, folder: 'inbox', message: { attachmentSizes: { isEmpty: true } } } });
  await db.$executeRaw`
    INSERT INTO mailbox_entries (id, user_id, message_id, folder, role, box, thread_id, read, starred, label_ids, size, received_at)
    SELECT gen_random_uuid(), e.user_id, e.message_id, e.folder, e.role, e.box, gen_random_uuid(), i % 3 = 0, i % 17 = 0,
           CASE WHEN i % 10 = 0 THEN ARRAY[${labelId}] ELSE ARRAY[]::text[] END, e.size, e.received_at - make_interval(secs => i)
    FROM mailbox_entries e, generate_series(1, ${MAILBOX}) AS i WHERE e.id = ${first.id}::uuid`;
  await db.$executeRawUnsafe('ANALYZE mailbox_entries');
  const total = await db.mailboxEntry.count({ where: { userId: bobId, folder: 'inbox' } });
  const deepRow = await db.mailboxEntry.findFirstOrThrow({ where: { userId: bobId, folder: 'inbox' }, orderBy: [{ receivedAt: 'desc' }, { id: 'desc' }], skip: 90_000 });
  const auth = { authorization: `Bearer ${bob.token}` };
  const deepCursor = Buffer.from(JSON.stringify([deepRow.receivedAt.toISOString(), deepRow.id])).toString('base64url');
  const decrypt = await timed(10 * reps, () => bob.mail.list({ folder: 'inbox', limit: 50 }));

  // The real API process over HTTPS on the same database, and the references in their own process.
  const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
  const apiPortHttps = await freePort();
  const children: ChildProcess[] = [];
  const started = async (args: string[], ready: (out: string) => number | null) => {
    const child = spawn(globalThis.process.execPath, ['--import', 'tsx', ...args], { cwd: here('..'), stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    for (let i = 0; i < 600; i++) {
      const port = ready(out);
      if (port) return port;
      if (child.exitCode !== null) throw new Error(`${args[0]} exited: ${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${args[0]} did not start`);
  };
  try {
    // env(1) adds the API's settings to the environment this process was started with.
    const settings = { DATABASE_URL: pg.connectionString, SEALMAIL_DATA_DIR: join(dir, 'data'), SEALMAIL_API_PORT: String(apiPortHttps), SEALMAIL_SEED_DEMO: 'false', LOG_LEVEL: 'warn' };
    const apiChild = spawn('env', [...Object.entries(settings).map(([k, v]) => `${k}=${v}`), globalThis.process.execPath, ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), '--import', 'tsx', 'src/main.ts'], { cwd: here('..'), stdio: ['ignore', 'ignore', 'inherit'] });
    children.push(apiChild);
    for (let i = 0; ; i++) {
      const ca = await readFile(join(dir, 'data', 'tls', 'cert.pem'), 'utf8').catch(() => null);
      if (ca && (await httpsStatus(`https://127.0.0.1:${apiPortHttps}/healthz`, ca).catch(() => 0)) === 200) break;
      if (apiChild.exitCode !== null || i > 600) throw new Error('the API process did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    const cert = await readFile(join(dir, 'data', 'tls', 'cert.pem'), 'utf8');
    const key = await readFile(join(dir, 'data', 'tls', 'key.pem'), 'utf8');
    await writeFile(join(dir, 'ref.json'), JSON.stringify({ cert, key, databaseUrl: pg.connectionString, userId: bobId }));
    const refPort = await started(['bench/reference-server.ts', join(dir, 'ref.json')], (out) => Number(/port (\d+)/.exec(out)?.[1]) || null);

    type Run = { name: string; rps: number; p50: number; p99: number };
    const runs: Run[] = [];
    const load = async (name: string, url: string, connections: number, headers: Record<string, string> = {}, body?: unknown): Promise<Run> => {
      const post = body === undefined ? {} : { method: 'POST' as const, body: JSON.stringify(body), headers: { ...headers, 'content-type': 'application/json' } };
      const opts = { url, connections, headers, tlsOptions: { ca: cert }, workers: 2, ...post };
      await autocannon({ ...opts, duration: 2 }); // warm-up
      const r = await autocannon({ ...opts, duration: 8 });
      if (r.non2xx || r.errors) throw new Error(`${name}: ${r.non2xx} non-2xx, ${r.errors} errors`);
      const run = { name, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99 };
      runs.push(run);
      return run;
    };
    /**
     * The same with wrk (C, its own process, two threads) when it is installed (Debian `wrk`): a
     * cross-check that the JS load generator is not what limits a row. wrk does not verify the
     * certificate (loopback, our own).
     */
    const wrk = async (name: string, url: string, connections: number, headers: Record<string, string> = {}): Promise<Run | null> => {
      const args = ['-t2', `-c${connections}`, '-d8s', '--latency', ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]), url];
      const out = await new Promise<string | null>((resolve) => execFile('wrk', args, (err, stdout) => resolve(err ? null : stdout)));
      if (!out) return null;
      if (/Non-2xx/.test(out)) throw new Error(`${name}: non-2xx answers under wrk`);
      const msOf = (p: string) => {
        const m = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)`).exec(out);
        return m ? Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1) : NaN;
      };
      const run = { name: `${name} [wrk]`, rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]), p50: msOf('50'), p99: msOf('99') };
      runs.push(run);
      return run;
    };
    const api = `https://127.0.0.1:${apiPortHttps}`;
    const ref = `https://127.0.0.1:${refPort}`;
    const hello = await load('Fastify hello-world (reference)', `${ref}/hello`, 50);
    // What the client lists with: rows without ciphertexts, then the sealed parts of cold rows in one batch.
    const first50 = await load('GET /api/v1/mail/rows (first page of 50)', `${api}/api/v1/mail/rows?folder=inbox&limit=50`, 50, auth);
    const deep50 = await load('GET /api/v1/mail/rows (cursor 90,000 deep)', `${api}/api/v1/mail/rows?folder=inbox&limit=50&cursor=${deepCursor}`, 50, auth);
    const label50 = await load('GET /api/v1/mail/rows (a label, 1 in 10)', `${api}/api/v1/mail/rows?label=${labelId}&limit=50`, 50, auth);
    const pageIds = (await db.mailboxEntry.findMany({ where: { userId: bobId, folder: 'inbox' }, orderBy: [{ receivedAt: 'desc' }, { id: 'desc' }], take: 50, select: { id: true } })).map((e) => e.id);
    await load('POST /api/v1/mail/sealed (50 cold rows, once per page)', `${api}/api/v1/mail/sealed`, 50, auth, { ids: pageIds });
    await load('GET /api/v1/mail/messages (whole page of 50, before)', `${api}/api/v1/mail/messages?folder=inbox&limit=50`, 50, auth);
    await load('GET /api/v1/mail/rows (first page of 50), 1 client', `${api}/api/v1/mail/rows?folder=inbox&limit=50`, 1, auth);
    const counts = await load('GET /api/v1/mail/summary (folder + label counts)', `${api}/api/v1/mail/summary`, 50, auth);
    // "At any size": the same counts for a mailbox of a few mails, and with fewer clients at once.
    const countsSmall = await load('GET /api/v1/mail/summary, a mailbox of a few mails', `${api}/api/v1/mail/summary`, 50, { authorization: `Bearer ${alice.token}` });
    const counts10 = await load('GET /api/v1/mail/summary (folder + label counts), 10 clients', `${api}/api/v1/mail/summary`, 10, auth);
    const wrkHello = await wrk('Fastify hello-world (reference)', `${ref}/hello`, 50);
    const wrkRows = await wrk('GET /api/v1/mail/rows (first page of 50)', `${api}/api/v1/mail/rows?folder=inbox&limit=50`, 50, auth);
    await wrk('GET /api/v1/mail/messages (whole page of 50, before)', `${api}/api/v1/mail/messages?folder=inbox&limit=50`, 50, auth);
    const wrkCounts = await wrk('GET /api/v1/mail/summary (folder + label counts)', `${api}/api/v1/mail/summary`, 50, auth);
    const healthz = await load('/healthz (reference), 20 clients', `${api}/healthz`, 20);
    const pk = await load('one primary-key read via Prisma (reference), 20 clients', `${ref}/pk`, 20);
    const sessionRun = await load('GET /api/v1/auth/session (session lookup), 20 clients', `${api}/api/v1/auth/session`, 20, auth);

    // The API process's resident memory after the runs (its caches included: SEALMAIL_API_CACHE).
    const rss = await readFile(`/proc/${apiChild.pid}/status`, 'utf8').then((t) => /VmRSS:\s+(\d+)/.exec(t)?.[1], () => undefined);
    console.log(`\nMail, Node ${globalThis.process.version}, ${new Date().toISOString()}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
    if (!listOnly) {
      console.log('seal + send (real client over HTTP on loopback, 2 KiB body)'.padEnd(66) + '   p50 ms   p99 ms');
      console.log('  to 1 recipient'.padEnd(66) + ms(q(one, 0.5)) + ms(q(one, 0.99)));
      console.log('  to 10 recipients'.padEnd(66) + ms(q(many, 0.5)) + ms(q(many, 0.99)));
      const mbps = (t: number) => ((big.length / 1048576) / (t / 1000)).toFixed(1);
      console.log(`  10 MiB attachment: ${mbps(q(bigSend, 0.5))} MiB/s end to end; native AES-256-GCM of the same bytes ${mbps(q(native, 0.5))} MiB/s`);
    }
    console.log(`\n${total.toLocaleString('en')}-message inbox; the API process over HTTPS, autocannon 8 s per row`.padEnd(70) + '     req/s   p50 ms   p99 ms');
    for (const r of runs) console.log(`  ${r.name}`.padEnd(70) + r.rps.toFixed(0).padStart(10) + ms(r.p50) + ms(r.p99));
    const ratio = (a: Run, b: Run) => (a.rps / b.rps).toFixed(2);
    console.log('\ntargets (issue 19)');
    console.log(`  list page of 50 (rows), p99 < 15 ms:             first ${first50.p99} ms, deep ${deep50.p99} ms, label ${label50.p99} ms`);
    console.log(`  list throughput ≥ 0.25× hello-world:      first ${ratio(first50, hello)}×, deep ${ratio(deep50, hello)}×, label ${ratio(label50, hello)}×`);
    console.log(`  counts p99 < 5 ms:                        ${counts.p99} ms (${ratio(counts, hello)}× hello-world throughput; hello-world's own p99 ${hello.p99} ms), 10 clients ${counts10.p99} ms; a mailbox of a few mails ${countsSmall.p99} ms`);
    if (wrkHello && wrkRows && wrkCounts) console.log(`  with wrk:                                 list ${ratio(wrkRows, wrkHello)}× hello-world, p99 ${wrkRows.p99} ms; counts p99 ${wrkCounts.p99} ms (${ratio(wrkCounts, wrkHello)}×)`);
    if (rss) console.log(`  API process resident memory after the runs: ${(Number(rss) / 1024).toFixed(0)} MiB`);
    console.log(`  session lookup ≥ a primary-key read:      ${ratio(sessionRun, pk)}× the PK read's req/s, ${ratio(sessionRun, healthz)}× /healthz`);
    if (!listOnly) console.log('  client: fetch + open 50 mails (boxes, manifests, MIME)'.padEnd(66) + ms(q(decrypt, 0.5)) + ms(q(decrypt, 0.99)));
  } finally {
    for (const c of children) {
      c.kill('SIGTERM');
      if (c.exitCode === null) await once(c, 'exit');
    }
  }
  await app.close();
  await db.$disconnect();
} finally {
  await pg.stop();
  await rm(dir, { recursive: true, force: true });
}
