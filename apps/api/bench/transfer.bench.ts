/**
 * Sealing and transfer figures over real HTTPS on loopback, each beside its reference measured in
 * the same run (shared, noisy machines: compare ratios, not absolutes):
 *   - seal + send with the real client to 1 and to 10 recipients, beside a bare HTTPS round trip
 *     (`GET /healthz`) to the same server;
 *   - a 25 MiB attachment sealed and uploaded (the whole send), and downloaded and opened, beside a
 *     plain HTTPS upload/download of the same bytes to the same server with the same client fetch.
 *
 *   pnpm --filter @sealmail/api exec tsx bench/transfer.bench.ts [send|transfer|browser] [postgres,disk,memory] [rounds]
 *
 * `browser` runs the 25 MiB rows with the web client's code in headless Chromium instead
 * (bench/browser/transfer-entry.ts): the client in the browser's processes and the server in this
 * one, as in use, beside a plain `fetch` of the same bytes from the same page.
 *
 * The 25 MiB rows print the ratio of medians and of the fastest runs, and the CPU time of the
 * whole process (client and server, every thread) per transfer: on a shared machine the wall
 * clock moves with other load, CPU time much less.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiClient } from '@sealmail/client';
import { Identity, Mailer, memoryKeyStore } from '@sealmail/client/identity';
import { httpsFetch } from '@sealmail/client/node';
import { applyMigrations, createDb, seedDemo, startEmbeddedPostgres } from '@sealmail/db';
import { diskBlobStore, type BlobStore } from '@sealmail/mailstore';
import { createLogger, hashPassword, loadOrCreateTls } from '@sealmail/server';
import { buildApp } from '../src/app';

const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
const ms = (x: number) => x.toFixed(1).padStart(9);

/** CPU time (ms) of the whole process, every thread (the hash worker's too), per timed call. */
const cpuOf = new WeakMap<number[], number[]>();
async function timed(n: number, f: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await f();
    out.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  cpuOf.set(out, cpu);
  return out;
}

async function drainAll(body: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
  }
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

const SIZE = 25 * 1024 * 1024;
const mibs = (t: number) => SIZE / 1048576 / (t / 1000);

/** Blob parts held in memory: takes the store (the s3-store work's area) out of the figure. */
function memoryBlobStore(): BlobStore {
  const parts = new Map<string, Map<number, Uint8Array>>();
  const of = (id: string) => parts.get(id) ?? parts.set(id, new Map()).get(id)!;
  return {
    async putPart(id, index, bytes) {
      const old = of(id).get(index)?.length ?? 0;
      of(id).set(index, bytes); // the route's own buffer, never written again: kept, not copied (a copy is no cost of the protocol)
      return old;
    },
    async partSizes(id) {
      return new Map([...of(id)].map(([i, b]) => [i, b.length]));
    },
    async *read(id, n) {
      for (let i = 0; i < n; i++) yield of(id).get(i)!;
    },
    async readPart(id, index) {
      return of(id).get(index) ?? null;
    },
    async listBlobs({ after, limit }) {
      return [...parts.keys()].filter((id) => !after || id > after).sort().slice(0, limit).map((blobId) => ({ blobId, modifiedAt: new Date() }));
    },
    async delete(ids) {
      for (const id of ids) parts.delete(id);
    },
  };
}
/** The browser mode's page script: the web client's code bundled for Chromium. */
async function browserBundle(): Promise<string> {
  const { build } = await import('vite');
  const entry = fileURLToPath(new URL('./browser/transfer-entry.ts', import.meta.url));
  const result = await build({ configFile: false, logLevel: 'silent', build: { write: false, minify: true, lib: { entry, formats: ['iife'], name: 'sealmailTransferBench' } } });
  const outputs = (Array.isArray(result) ? result : [result]) as { output: { type: string; code?: string }[] }[];
  return outputs[0]!.output.find((o) => o.type === 'chunk')!.code!;
}
const bundle = process.argv[2] === 'browser' ? await browserBundle() : null;

const dir = await mkdtemp(join(tmpdir(), 'sealmail-transfer-bench-'));
const pg = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port: 20000 + Math.floor(Math.random() * 20000), postgresFlags: ['-c', 'fsync=off'] });
try {
  await applyMigrations(pg.connectionString);
  const db = createDb(pg.connectionString, { maxConnections: 20 });
  const seed = await seedDemo(db, { domain: 'example.test' });
  const domain = await db.domain.findUniqueOrThrow({ where: { name: 'example.test' } });
  const hash = await hashPassword('bench-password');
  const extra = Array.from({ length: 9 }, (_, i) => `user${i}@example.test`);
  for (const a of extra) await db.user.create({ data: { accountId: domain.accountId, domainId: domain.id, localPart: a.split('@')[0]!, displayName: a, passwordHash: hash } });

  const tls = await loadOrCreateTls({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
  /** The API, plus the reference: the same bytes to and from the same server, no sealing, no storage. */
  async function server(blobs?: BlobStore) {
    // The bench page's origin is this server's own (known once it listens): the web client's, for the CSRF guard.
    const web: string[] = [];
    const app = await buildApp({ logger: createLogger({ level: 'silent' }), db, version: 'bench', tls, origins: { web, admin: [] }, ...(blobs ? { blobs } : {}) });
    let held: Buffer = Buffer.alloc(0);
    await app.register(async (s) => {
      s.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: 2 * SIZE }, (_req, body, done) => done(null, body));
      s.put('/bench/plain', async (req) => {
        held = req.body as Buffer;
        return { size: held.length };
      });
      s.get('/bench/plain', async (_req, reply) => reply.header('content-type', 'application/octet-stream').send(held));
      // The bench page: the API's own policy (default-src 'none') would forbid its fetches.
      if (bundle) s.get('/bench/page', async (_req, reply) => (reply.raw.removeHeader('content-security-policy'), reply.type('text/html').send('<!doctype html><title>transfer bench</title>')));
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = `https://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    web.push(base);
    return { app, base };
  }
  const { app, base } = await server();
  const fetchImpl = httpsFetch(tls.cert);

  const password = (a: string) => seed.users.find((u) => u.address === a)?.password ?? 'bench-password';
  async function device(address: string) {
    const token = (await new ApiClient({ baseUrl: base, fetch: fetchImpl }).signIn(address, password(address))).token;
    const api = new ApiClient({ baseUrl: base, fetch: fetchImpl, token });
    const store = memoryKeyStore();
    const identity = new Identity(api, store);
    await identity.setUpThisDevice({ address, name: 'Bench', kind: 'cli' });
    /** The same device talking to another server on the same database. */
    const on = (otherBase: string) => {
      const other = new ApiClient({ baseUrl: otherBase, fetch: fetchImpl, token });
      return new Mailer(other, new Identity(other, store), address);
    };
    return { api, identity, token, mail: new Mailer(api, identity, address), on };
  }
  const alice = await device('alice@example.test');
  const bob = await device('bob@example.test');
  for (const a of extra) await device(a);
  const ten = ['bob@example.test', ...extra];

  const only = process.argv[2]; // `send` or `transfer` to run one part
  const sends = only === 'transfer' || only === 'browser' ? 1 : 20;
  // Seal + send.
  const health = async () => {
    const res = await fetchImpl(`${base}/healthz`);
    await res.arrayBuffer();
  };
  await timed(20, health);
  const rtt = await timed(40, health);
  await alice.mail.send({ to: ten, subject: 'warm-up', text: 'x' });
  const body = 'Hello,\n' + 'a line of an ordinary mail body.\n'.repeat(60);
  const one = await timed(sends, () => alice.mail.send({ to: ['bob@example.test'], subject: 'Bench', text: body }));
  const many = await timed(sends, () => alice.mail.send({ to: ten, subject: 'Bench', text: body }));

  // 25 MiB up and down.
  const big = new Uint8Array(randomBytes(SIZE));
  // The same in-memory bytes as the reference, read in 1 MiB views (Node's Blob.stream() would add its own copies and hops).
  const views = () =>
    new ReadableStream<Uint8Array>({
      start(c) {
        for (let at = 0; at < big.length; at += 1 << 20) c.enqueue(big.subarray(at, at + (1 << 20)));
        c.close();
      },
    });
  const file = { name: 'big.bin', type: 'application/octet-stream', size: big.length, stream: views };
  /** 25 MiB up and down through `base`: sealed with the real client, and plain, interleaved so both see the same load. */
  async function transfer(base: string, runs: number) {
    const a = alice.on(base);
    const b = bob.on(base);
    const plainUp = async () => {
      const res = await fetchImpl(`${base}/bench/plain`, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: big });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`plain upload: HTTP ${res.status}`);
    };
    const plainDown = async () => {
      const res = await fetchImpl(`${base}/bench/plain`);
      if ((await drainAll(res.body!)).length !== SIZE) throw new Error('plain download: short');
    };
    let n = 0;
    const sealedUpload = () => a.upload(`${crypto.randomUUID()}@example.test`, ++n, file);
    const sealedUp = () => a.send({ to: ['bob@example.test'], subject: 'Big', text: 'x', attachments: [file] });
    await plainUp();
    await plainDown();
    const { entryId } = await sealedUp();
    const entry = (await b.list({ folder: 'inbox', limit: 5 })).items.find((i) => !('error' in i) && i.subject === 'Big')!;
    void entryId;
    const sealedDown = async () => {
      const opened = await b.open(entry.entryId);
      if ((await b.attachmentBytes(opened, 1)).length !== SIZE) throw new Error('sealed download: short');
    };
    await sealedDown();
    await sealedUpload();
    const r = { upload: [] as number[], up: { plain: [] as number[], sealed: [] as number[] }, down: { plain: [] as number[], sealed: [] as number[] } };
    const cpu = { upload: [] as number[], upPlain: [] as number[], downPlain: [] as number[], downSealed: [] as number[] };
    const add = (into: number[], cpuInto: number[] | null, t: number[]) => {
      into.push(...t);
      cpuInto?.push(...cpuOf.get(t)!);
    };
    for (let i = 0; i < runs; i++) {
      add(r.up.plain, cpu.upPlain, await timed(1, plainUp));
      add(r.up.sealed, null, await timed(1, sealedUp));
      add(r.upload, cpu.upload, await timed(1, sealedUpload));
      add(r.down.plain, cpu.downPlain, await timed(1, plainDown));
      add(r.down.sealed, cpu.downSealed, await timed(1, sealedDown));
    }
    return { ...r, cpu };
  }
  // `transfer postgres,disk 5` runs five rounds (default 3).
  const runs = only === 'send' || only === 'browser' ? 0 : Number(process.argv[4] ?? 3);
  if (only === 'browser') {
    await inBrowser((process.argv[3] ?? 'postgres,disk').split(','), Number(process.argv[4] ?? 5));
    await app.close();
    await db.$disconnect();
    process.exit(0);
  }
  /** The 25 MiB rows with the web client's code in Chromium, per store. */
  async function inBrowser(storeNames: string[], rounds: number) {
    const executablePath = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));
    if (!executablePath) throw new Error('No Chromium found (install the chromium package).');
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath, args: ['--headless', '--no-sandbox', '--disable-gpu', '--ignore-certificate-errors', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    const med = (xs: number[]) => q(xs, 0.5);
    const lines: string[] = [];
    const version = browser.version();
    try {
      for (const name of storeNames) {
        const target = name === 'postgres' ? { base } : name === 'disk' ? await server(diskBlobStore({ db, dir: join(dir, 'blobs') })) : await server(memoryBlobStore());
        const page = await browser.newPage();
        page.on('pageerror', (err) => console.error(`bench page: ${err.message}`));
        await page.goto(`${target.base}/bench/page`);
        // Through the DevTools protocol: the API's Content-Security-Policy (default-src 'none') does not govern it.
        await page.evaluate(bundle!);
        // Two users per store whose first device is the browser's (a second device would wait for approval).
        const inPage = [`${name}-alice@example.test`, `${name}-bob@example.test`];
        for (const a of inPage) await db.user.create({ data: { accountId: domain.accountId, domainId: domain.id, localPart: a.split('@')[0]!, displayName: a, passwordHash: hash } });
        const account = (address: string) => ({ address, password: 'bench-password' });
        const r = await page.evaluate(
          (o) => (globalThis as unknown as { __sealmailTransferBench: (o: unknown) => Promise<Record<string, number[]>> }).__sealmailTransferBench(o),
          { alice: account(inPage[0]!), bob: account(inPage[1]!), rounds },
        );
        await page.close();
        if ('app' in target) await target.app.close();
        const row = (label: string, sealed: number[], plain: number[]) =>
          lines.push(label.padEnd(64) + mibs(med(sealed)).toFixed(1).padStart(9) + mibs(med(plain)).toFixed(1).padStart(17) + `${(med(plain) / med(sealed)).toFixed(2)}x`.padStart(8) + `${(Math.min(...plain) / Math.min(...sealed)).toFixed(2)}x`.padStart(12));
        lines.push(`  blob parts: ${name}`);
        row('    sealed + uploaded (parts + complete) vs plain fetch PUT', r.upload!, r.plainUp!);
        row('    downloaded + opened vs plain fetch GET', r.sealedDown!, r.plainDown!);
      }
    } finally {
      await browser.close();
    }
    console.log(`\n25 MiB attachment, the web client's code in Chromium ${version}, server in Node ${process.version} (median of ${rounds}; best: the fastest run of each), ${new Date().toISOString()}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    console.log(''.padEnd(64) + '    MiB/s  reference MiB/s   ratio  best ratio');
    for (const l of lines) console.log(l);
  }
  // `transfer postgres,disk` runs only the stores named (default: all three).
  const stores = (process.argv[3] ?? 'postgres,disk,memory').split(',');
  const viaPostgres = runs && stores.includes('postgres') ? await transfer(base, runs) : null;
  // The disk store writes each part with fsync (the bench's Postgres runs with fsync=off).
  const disk = runs && stores.includes('disk') ? await server(diskBlobStore({ db, dir: join(dir, 'blobs') })) : null;
  const viaDisk = disk ? await transfer(disk.base, runs) : null;
  const memory = runs && stores.includes('memory') ? await server(memoryBlobStore()) : null;
  const viaMemory = memory ? await transfer(memory.base, runs) : null;

  console.log(`\nSealing and transfer over HTTPS on loopback, Node ${process.version}, ${new Date().toISOString()}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
  console.log('seal + send (real client, 2 KiB body)'.padEnd(56) + '   p50 ms   p99 ms');
  console.log('  bare HTTPS round trip GET /healthz (reference)'.padEnd(56) + ms(q(rtt, 0.5)) + ms(q(rtt, 0.99)));
  console.log('  to 1 recipient'.padEnd(56) + ms(q(one, 0.5)) + ms(q(one, 0.99)));
  console.log('  to 10 recipients'.padEnd(56) + ms(q(many, 0.5)) + ms(q(many, 0.99)));
  console.log(`\n25 MiB attachment (median of ${runs}; best: the fastest run of each, the least disturbed by other load)`);
  console.log(''.padEnd(64) + '    MiB/s  reference MiB/s   ratio  best ratio');
  const row = (name: string, sealed: number[], plain: number[]) =>
    console.log(
      name.padEnd(64) +
        mibs(q(sealed, 0.5)).toFixed(1).padStart(9) +
        mibs(q(plain, 0.5)).toFixed(1).padStart(17) +
        `${(q(plain, 0.5) / q(sealed, 0.5)).toFixed(2)}x`.padStart(8) +
        `${(Math.min(...plain) / Math.min(...sealed)).toFixed(2)}x`.padStart(12),
    );
  const cpuRow = (name: string, sealed: number[], plain: number[]) =>
    console.log(name.padEnd(64) + `${q(sealed, 0.5).toFixed(0)} ms`.padStart(9) + `${q(plain, 0.5).toFixed(0)} ms`.padStart(17) + `${(q(sealed, 0.5) / q(plain, 0.5)).toFixed(2)}x`.padStart(8));
  for (const [label, r] of [['blob parts in Postgres (default store)', viaPostgres], ['blob parts on disk (SEALMAIL_BLOB_STORE=disk)', viaDisk], ['blob parts in memory (client + protocol alone)', viaMemory]] as const) {
    if (!r) continue;
    console.log(`  ${label}`);
    row('    sealed + uploaded (the upload: parts + complete) vs plain PUT', r.upload, r.up.plain);
    row('    sealed + uploaded (the whole send) vs plain HTTPS PUT', r.up.sealed, r.up.plain);
    row('    downloaded + opened vs plain HTTPS GET', r.down.sealed, r.down.plain);
    cpuRow('    CPU, all threads, upload (parts + complete) vs plain PUT', r.cpu.upload, r.cpu.upPlain);
    cpuRow('    CPU, all threads, download + open vs plain GET', r.cpu.downSealed, r.cpu.downPlain);
  }
  await disk?.app.close();
  await memory?.app.close();
  await app.close();
  await db.$disconnect();
} finally {
  await pg.stop();
  await rm(dir, { recursive: true, force: true });
}
