/**
 * SMTP ingest through the whole pipeline (TLS, RCPT check, SPF/DKIM/DMARC, parse, seal to the
 * recipient's key, store durably, then 250), each figure beside its reference from the same run
 * (shared machines: compare ratios, not absolute figures):
 *
 * 1. Speed: 10 KiB messages over 20 concurrent STARTTLS sessions that reuse their connections,
 *    Postgres with fsync on, against a bare smtp-server that only reads DATA.
 * 2. Memory: 20 sessions each sending a 25 MiB message at once: the SMTP process's peak RSS
 *    beside its idle RSS and the message size, and its RSS afterwards. A message the byte budget
 *    refuses (452) is sent again after a pause, as an MTA would, until all are stored.
 *
 * The servers run in child processes (bench/server-child.ts) so their CPU and RSS are their own.
 * The speed part also prints where the machine's CPU went during Sealmail's rounds: the whole
 * machine (/proc/stat), the bench's own client, the server child, and the rest (Postgres).
 * DNS questions are answered "no such record" from memory: no network time is measured.
 *
 * The server child runs as production runs the services (docs/operations.md "Production form"):
 * bundled by esbuild the way scripts/build-services.mjs bundles dist/smtp.mjs and run by plain
 * `node`; `--form=tsx` runs it through the TypeScript loader instead (development, tests).
 *
 *   pnpm --filter @sealmail/smtp bench [-- --only=speed|memory] [--messages=600] [--rounds=3] [--big-sessions=20]
 *                                       [--budget=<bytes>] [--form=compiled|tsx] [--seal-workers=N]
 *                                       [--prof (CPU profile of our server, /tmp)] [--verbose]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';
import nodemailer from 'nodemailer';
import { createLink, generateDeviceKeys, generatePerUserKey, LinkType, publicKeysOf } from '@sealmail/crypto';
import { applyMigrations, createDb, seedDemo, startEmbeddedPostgres } from '@sealmail/db';
import { childEnvironment, loadOrCreateTls, SMTP_MALLOC_ENV } from '@sealmail/server';

/** `--name=value` options after `--` (the bench reads no environment). */
const arg = (name: string): string | undefined => process.argv.find((a) => a === `--${name}` || a.startsWith(`--${name}=`))?.replace(/^[^=]*=?/, '');
const MESSAGES = Number(arg('messages') ?? 600);
const ONLY = arg('only');
const VERBOSE = arg('verbose') !== undefined;
const FORM = arg('form') === 'tsx' ? 'tsx' : 'compiled';
const SESSIONS = 20;
const BIG = 25 * 1024 * 1024;
const body = 'A line of an ordinary message body, repeated to make ten kibibytes.\r\n'.repeat(150);
const MiB = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MB`;

const dir = await mkdtemp(join(tmpdir(), 'ingest-bench-'));
// Durable storage as in production: fsync on (the embedded server's default).
const pg = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port: 20000 + Math.floor(Math.random() * 20000) });
const children: ChildProcess[] = [];
try {
  await applyMigrations(pg.connectionString);
  const db = createDb(pg.connectionString, { maxConnections: 2 });
  await seedDemo(db, { domain: 'example.test' });
  const bob = await db.user.findFirstOrThrow({ where: { localPart: 'bob' } });
  const device = generateDeviceKeys();
  const puk = generatePerUserKey(1);
  const link = createLink({ userId: bob.id, seqno: 0, prev: new Uint8Array(32), time: Date.now(), signer: device, body: { type: LinkType.Root, device: { name: 'Bench', kind: 'cli', keys: publicKeysOf(device) }, puk: { generation: 1, keys: publicKeysOf(puk) } }, newKeys: [puk] });
  await db.sigchainLink.create({ data: { userId: bob.id, seqno: 0, type: LinkType.Root, bytes: new Uint8Array(link.bytes), hash: new Uint8Array(link.hash) } });
  // Room for the memory run's 20 × 25 MiB.
  await db.$executeRaw`UPDATE users SET quota_bytes = 100000000000 WHERE id = ${bob.id}::uuid`.catch(() => undefined);
  await db.$disconnect();
  const tls = await loadOrCreateTls({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
  await writeFile(join(dir, 'c.pem'), tls.cert);

  // The child as a bundle (workspace code bundled, npm packages imported from where pnpm put them).
  const childSource = new URL('./server-child.ts', import.meta.url).pathname;
  let childScript = childSource;
  if (FORM === 'compiled') {
    // @ts-expect-error -- a plain .mjs script without type declarations
    const { workspaceOnlyFor } = (await import('../../../scripts/build-services.mjs')) as { workspaceOnlyFor: (out: string) => Plugin };
    childScript = join(dir, 'smtp-under-test.mjs');
    await build({ entryPoints: [childSource], outfile: childScript, bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'warning', plugins: [workspaceOnlyFor(dir)] });
    // The seal pool's worker, bundled the same way (dist/seal-worker.mjs in production).
    await build({ entryPoints: [new URL('../../../packages/mailstore/src/seal-worker.ts', import.meta.url).pathname], outfile: join(dir, 'seal-worker.mjs'), bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'warning', plugins: [workspaceOnlyFor(dir)] });
  }

  /** Starts a server child; resolves with it and its port. */
  async function start(mode: 'ours' | 'bare', profile = false): Promise<{ child: ChildProcess; port: number }> {
    const prof = profile && arg('prof') !== undefined ? ['--cpu-prof', '--cpu-prof-dir=/tmp/sealmail-smtp-prof'] : [];
    // glibc's malloc as the start command and docker-compose set it for the SMTP process (SMTP_MALLOC_ENV).
    const child = fork(childScript, { execArgv: [...(FORM === 'tsx' ? ['--import', 'tsx'] : []), '--expose-gc', ...prof], env: childEnvironment({ ...SMTP_MALLOC_ENV }), stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.push(child);
    const sealWorkers = Number(arg('seal-workers') ?? 0);
    child.send({ mode, db: pg.connectionString, cert: join(dir, 'c.pem'), key: join(dir, 'k.pem'), data: dir, verbose: VERBOSE, ...(arg('budget') ? { budget: Number(arg('budget')) } : {}), ...(sealWorkers ? { sealWorkers, ...(FORM === 'compiled' ? { sealWorkerUrl: pathToFileURL(join(dir, 'seal-worker.mjs')).href } : {}) } : {}) });
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (m: { port: number }) => resolve(m.port));
      child.once('exit', (code) => reject(new Error(`server child exited (${code})`)));
    });
    return { child, port };
  }
  const stop = (child: ChildProcess) => new Promise<void>((r) => (child.exitCode !== null ? r() : (child.once('exit', () => r()), child.send('stop'))));
  const cpuOf = (child: ChildProcess) => new Promise<number>((r) => (child.once('message', (m: { cpu: number }) => r(m.cpu)), child.send('cpu')));
  const rssOf = (child: ChildProcess) => new Promise<number>((r) => (child.once('message', (m: { rss: number }) => r(m.rss)), child.send('rss')));
  /** A field of /proc/<pid>/status in bytes (0 once the process is gone). */
  const status = (pid: number, field: 'VmRSS' | 'VmHWM') => {
    try {
      return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    } catch {
      return 0;
    }
  };

  const transportTo = (port: number, sessions: number) => nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, requireTLS: true, tls: { ca: tls.cert, servername: 'localhost' }, pool: true, maxConnections: sessions, maxMessages: Infinity });
  async function rate(port: number, count: number): Promise<number> {
    const transport = transportTo(port, SESSIONS);
    const t0 = performance.now();
    await Promise.all(Array.from({ length: count }, (_, i) => transport.sendMail({ from: 'load@sender.example', to: 'bob@example.test', subject: `bench ${i}`, text: body })));
    const secs = (performance.now() - t0) / 1000;
    transport.close();
    return count / secs;
  }

  // 1. Speed.
  if (ONLY !== 'memory') {
  // Both servers up at once, measured in alternating rounds: on a shared machine the load moves
  // between a run of one and a run of the other, so each round's ratio compares neighbours in time.
  const bare = await start('bare');
  const ours = await start('ours', true);
  await rate(bare.port, 100); // warm-up
  await rate(ours.port, 60); // warm-up: modules, pool, key cache
  const ROUNDS = Math.max(1, Number(arg('rounds') ?? 3));
  const per = Math.ceil(MESSAGES / ROUNDS);
  const rounds: { bare: number; ours: number; load: string }[] = [];
  // CPU time each server process used per message (user + system): what the load does not move much.
  const cpu0 = { bare: await cpuOf(bare.child), ours: await cpuOf(ours.child) };
  // Where the machine's CPU went during Sealmail's rounds: the whole machine (/proc/stat), the
  // bench's own client, the server child; the rest is Postgres and everything else.
  const busyMs = () => {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    return ((f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) * 1000) / 100; // user nice system irq softirq steal, in ms (USER_HZ 100)
  };
  const machine = { busy: 0, client: 0, server: 0, wall: 0, messages: 0 };
  for (let r = 0; r < ROUNDS; r++) {
    const bareRate = await rate(bare.port, per);
    const [b0, c0, s0, t0] = [busyMs(), process.cpuUsage(), await cpuOf(ours.child), performance.now()];
    const oursRate = await rate(ours.port, per);
    const c = process.cpuUsage(c0);
    machine.busy += busyMs() - b0;
    machine.client += (c.user + c.system) / 1000;
    machine.server += (await cpuOf(ours.child)) - s0;
    machine.wall += performance.now() - t0;
    machine.messages += per;
    rounds.push({ bare: bareRate, ours: oursRate, load: readFileSync('/proc/loadavg', 'utf8').split(' ')[0]! });
  }
  const cpuPer = { bare: ((await cpuOf(bare.child)) - cpu0.bare) / (per * ROUNDS), ours: ((await cpuOf(ours.child)) - cpu0.ours) / (per * ROUNDS) };
  await stop(bare.child);
  await stop(ours.child);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`\nSMTP ingest, ${ROUNDS} rounds of ${per} messages of 10 KiB each over ${SESSIONS} concurrent STARTTLS sessions (connections reused), Postgres fsync on, Node ${process.version}, ${FORM === 'tsx' ? 'children through tsx' : 'children compiled'}, sealing ${Number(arg('seal-workers') ?? 0) ? `in ${arg('seal-workers')} worker threads` : 'on the event loop'}, loadavg at start ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}\n`);
  for (const [i, r] of rounds.entries()) console.log(`round ${i + 1}: bare ${r.bare.toFixed(0)} msg/s, Sealmail ${r.ours.toFixed(0)} msg/s, ratio ${(r.ours / r.bare).toFixed(2)}, load ${r.load}`);
  console.log('bare smtp-server reading DATA (reference), median'.padEnd(64) + `${median(rounds.map((r) => r.bare)).toFixed(0).padStart(7)} msg/s`);
  console.log('Sealmail ingress: authenticate, parse, seal, store, then 250'.padEnd(64) + `${median(rounds.map((r) => r.ours)).toFixed(0).padStart(7)} msg/s   ratio ${median(rounds.map((r) => r.ours / r.bare)).toFixed(2)} (median of the rounds' ratios; goal ≥ 0.5)`);
  console.log(`CPU per message: bare ${cpuPer.bare.toFixed(2)} ms, Sealmail ${cpuPer.ours.toFixed(2)} ms (each server process's user + system time)`);
  const perMsg = (ms: number) => (ms / machine.messages).toFixed(2);
  console.log(`The machine during Sealmail's rounds: ${((machine.busy / machine.wall) * 100).toFixed(0)} % busy of ${availableParallelism()} cores × 100 %; per message ${perMsg(machine.busy)} ms in all = server ${perMsg(machine.server)} + the bench's client ${perMsg(machine.client)} + Postgres and the rest ${perMsg(machine.busy - machine.server - machine.client)}`);
  }
  if (ONLY !== 'speed') {

  // 2. Memory: 20 × 25 MiB at once (an attachment that base64 makes 25 MiB on the wire).
  const attachment = randomBytes(Math.floor((BIG * 57) / 78) - 64 * 1024);
  const b64 = attachment.toString('base64').replace(/.{76}/g, '$&\r\n');
  // Each message is made once and sent again as it was (an MTA retries the same message).
  const made = new Map<number, Buffer>();
  const big = (i: number) => made.get(i) ?? made.set(i, makeBig(i)).get(i)!;
  const makeBig = (i: number) => Buffer.from(`From: load@sender.example\r\nTo: bob@example.test\r\nSubject: big ${i}\r\nMessage-ID: <big-${i}-${Date.now()}@sender.example>\r\nDate: ${new Date().toUTCString()}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nA large attachment.\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=big.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64}\r\n--b--\r\n`);
  const mem = await start('ours');
  await rate(mem.port, 40); // warm-up, as a server that has been running
  const idle = await rssOf(mem.child);
  let peak = 0;
  const sampler = setInterval(() => mem.child.exitCode === null && (peak = Math.max(peak, status(mem.child.pid!, 'VmRSS'))), 20);
  mem.child.once('exit', (code, sig) => console.error(`memory child exited: ${code} ${sig}`));
  const BIG_SESSIONS = Number(arg('big-sessions') ?? SESSIONS);
  const pending = Array.from({ length: BIG_SESSIONS }, (_, i) => i);
  let refused = 0;
  const t0 = performance.now();
  const size = big(0).length;
  for (let round = 0; pending.length && round < 30; round++) {
    if (round) await new Promise((r) => setTimeout(r, 500));
    const transports = pending.map(() => transportTo(mem.port, 1));
    const results = await Promise.allSettled(pending.map((i, k) => transports[k]!.sendMail({ envelope: { from: 'load@sender.example', to: ['bob@example.test'] }, raw: big(i) })));
    for (const t of transports) t.close();
    const again = pending.filter((_, k) => results[k]!.status === 'rejected');
    for (const r of results) if (r.status === 'rejected' && !/^452|4\.3\.1/.test(String((r.reason as { response?: string }).response ?? ''))) throw r.reason;
    refused += again.length;
    if (VERBOSE) console.error(`round ${round}: ${pending.length - again.length} stored, ${again.length} refused (452), peak ${MiB(peak)}, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    pending.splice(0, pending.length, ...again);
  }
  const secs = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, status(mem.child.pid!, 'VmHWM'));
  await new Promise((r) => setTimeout(r, 1000));
  const after = await rssOf(mem.child);
  await stop(mem.child);
  console.log(`\nSMTP memory, ${SESSIONS} sessions each sending a ${MiB(size)} message at once (${refused} answers 452 on the way, sent again; ${pending.length} never stored; ${secs.toFixed(1)} s)\n`);
  console.log('SMTP process idle RSS (reference)'.padEnd(64) + MiB(idle).padStart(8));
  console.log('SMTP process peak RSS'.padEnd(64) + MiB(peak).padStart(8) + `   goal < 400 MB; ${(peak / size).toFixed(1)}× one message, ${(peak / (size * SESSIONS)).toFixed(2)}× all 20`);
  console.log('SMTP process RSS afterwards'.padEnd(64) + MiB(after).padStart(8));
  }
} finally {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await pg.stop();
  await rm(dir, { recursive: true, force: true });
}
