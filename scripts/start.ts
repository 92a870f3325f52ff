/**
 * The start command (README: `npm start`). Brings the whole service up on one machine:
 *   1. configuration (packages/server/src/config.ts), the data directory and the TLS certificate;
 *   2. Postgres: DATABASE_URL when set, otherwise an embedded server with its data in
 *      <data dir>/pg, kept between runs;
 *   3. migrations, then the demo account (example.test) unless SEALMAIL_SEED_DEMO=false;
 *   4. Vite builds of the web client, admin console and link viewer (reused when their inputs
 *      have not changed: scripts/frontend-build.ts);
 *   5. the API, SMTP and web-host processes; prints every URL and port.
 * It supervises the children: one that dies is restarted with a back-off (1 s doubling to 30 s).
 * Ctrl-C (or SIGTERM) stops the children, then Postgres, and exits.
 *
 * `npm start` runs this compiled (dist/start.mjs, scripts/build-services.mjs): the children are
 * then the compiled bundles too, run by plain `node` with no TypeScript loader. Run from source
 * (`node --import tsx scripts/start.ts`, development and tests) its children run from source.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:https';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { childEnvironment, loadConfigOrExit, loadOrCreateTls, SMTP_MALLOC_ENV } from '@sealmail/server';
import { applyMigrations, createDb, seedDemo, startEmbeddedPostgres } from '@sealmail/db';
import { ensureFrontEnds } from './frontend-build';

const root = fileURLToPath(new URL('..', import.meta.url));
/** Set to true by the build (esbuild `define`); absent when this file runs from source. */
declare const __SEALMAIL_COMPILED__: boolean | undefined;
const compiled = typeof __SEALMAIL_COMPILED__ !== 'undefined' && __SEALMAIL_COMPILED__;
/** A child process's command line: its bundle in dist/, or its source through tsx. */
const SERVICES = {
  api: { source: 'apps/api/src/main.ts', bundle: 'dist/api.mjs' },
  smtp: { source: 'apps/smtp/src/main.ts', bundle: 'dist/smtp.mjs' },
  web: { source: 'scripts/web-hosts.ts', bundle: 'dist/web-hosts.mjs' },
} as const;
const childArgs = (service: keyof typeof SERVICES) => (compiled ? [SERVICES[service].bundle] : ['--import', 'tsx', SERVICES[service].source]);
const config = loadConfigOrExit();
const say = (line = '') => process.stdout.write(line + '\n');
const children: { name: string; proc: ChildProcess }[] = [];
let stopPostgres: (() => Promise<void>) | undefined;
let stopping = false;

async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    say('\n[sealmail] stopping…');
    await Promise.all(
      children.map(
        ({ proc }) =>
          new Promise<void>((resolve) => {
            if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
            proc.once('exit', () => resolve());
            proc.kill('SIGTERM');
            setTimeout(() => proc.kill('SIGKILL'), 8000).unref();
          }),
      ),
    );
    if (stopPostgres) {
      await stopPostgres().catch((err: unknown) => say(`[sealmail] stopping Postgres failed: ${String(err)}`));
      say('[sealmail] Postgres stopped');
    }
    say('[sealmail] stopped');
  }
  process.exit(code);
}
const onSignal = () => void shutdown(0);
/** This process alone decides how to stop: libraries' own signal handlers would exit early. */
function ownSignals(): void {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.removeAllListeners(sig);
    process.on(sig, onSignal);
  }
}
ownSignals();

/** Restart back-off of a crashed child: 1 s, doubling to 30 s; a child that ran a minute starts over at 1 s. */
const RESTART_MIN_MS = 1000;
const RESTART_MAX_MS = 30_000;
const STABLE_MS = 60_000;

/**
 * Starts a service process and supervises it: a child that exits while the service is running
 * (a crash, an out-of-memory kill, a `kill -9`) is started again after a back-off, and the
 * others keep running — one failing process does not take the service down.
 */
function startChild(name: keyof typeof SERVICES, env: Record<string, string>, delayMs = RESTART_MIN_MS): void {
  const startedAt = Date.now();
  const proc = spawn(process.execPath, childArgs(name), { cwd: root, env: childEnvironment(env), stdio: ['ignore', 'inherit', 'inherit'] });
  const slot = children.findIndex((c) => c.name === name);
  if (slot >= 0) children[slot] = { name, proc };
  else children.push({ name, proc });
  say(`[sealmail] ${name} started (pid ${proc.pid})`);
  proc.on('exit', (code, signal) => {
    if (stopping) return;
    const wait = Date.now() - startedAt >= STABLE_MS ? RESTART_MIN_MS : delayMs;
    say(`[sealmail] ${name} exited (${signal ?? code}); restarting in ${wait / 1000} s`);
    setTimeout(() => {
      if (!stopping) startChild(name, env, Math.min(RESTART_MAX_MS, wait * 2));
    }, wait);
  });
}

function healthy(port: number, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/healthz', ca, servername: 'localhost', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function waitHealthy(name: string, port: number, ca: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (await healthy(port, ca)) return;
    if (stopping) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${name} did not become healthy on port ${port}`);
}

try {
  await mkdir(config.dataDir, { recursive: true });
  const hostnames = ['localhost', '127.0.0.1', '::1', config.publicHost];
  const tls = await loadOrCreateTls({ ...config.tls, hostnames });

  let databaseUrl = config.databaseUrl;
  let pgNote = 'external (DATABASE_URL)';
  if (!databaseUrl) {
    const pg = await startEmbeddedPostgres({ dataDir: join(config.dataDir, 'pg'), port: config.ports.postgres });
    stopPostgres = pg.stop;
    ownSignals();
    databaseUrl = pg.connectionString;
    pgNote = `embedded, 127.0.0.1:${config.ports.postgres}, data in ${join(config.dataDir, 'pg')}`;
  }
  const applied = await applyMigrations(databaseUrl);
  const db = createDb(databaseUrl);
  const seed = config.demo.seed ? await seedDemo(db, { domain: config.demo.domain, credentialsFile: join(config.dataDir, 'demo-credentials.json') }) : null;
  await db.$disconnect();

  const frontEnds = await ensureFrontEnds(root);

  const env = { DATABASE_URL: databaseUrl, SEALMAIL_DATA_DIR: config.dataDir };
  startChild('api', env);
  startChild('smtp', { ...SMTP_MALLOC_ENV, ...env });
  await waitHealthy('api', config.ports.api, tls.cert);
  startChild('web', env);
  await Promise.all([config.ports.web, config.ports.admin, config.ports.viewer].map((p) => waitHealthy('web', p, tls.cert)));

  const host = config.publicHost;
  say('');
  say('Sealmail is running.');
  say(`  Web client      https://${host}:${config.ports.web}`);
  say(`  Admin console   https://${host}:${config.ports.admin}`);
  say(`  Link viewer     https://${host}:${config.ports.viewer}`);
  say(`  API             https://${host}:${config.ports.api}   (/healthz, /readyz, /api/v1/…)`);
  say(`  SMTP            ${host}:${config.ports.smtp} (STARTTLS), ${host}:${config.ports.smtps} (implicit TLS)`);
  say(`  Postgres        ${pgNote}`);
  say(`  Migrations      ${applied.length ? `applied ${applied.join(', ')}` : 'up to date'}`);
  say(`  Front ends      ${[...frontEnds.built.map((a) => `${a} built`), ...frontEnds.reused.map((a) => `${a} unchanged`)].join(', ')}`);
  say(`  TLS certificate ${config.tls.selfSigned ? `self-signed${tls.created ? ' (new)' : ''}, ${config.tls.certFile}` : config.tls.certFile}`);
  say(`  SHA-256         ${tls.fingerprint256}`);
  if (seed) {
    say('');
    say(`Demo account "${seed.accountName}", domain ${seed.domain}:`);
    for (const u of seed.users) say(`  ${u.address.padEnd(24)} ${u.role.padEnd(6)} password: ${u.password}`);
    say(`  (kept in ${join(config.dataDir, 'demo-credentials.json')})`);
  }
  say('');
  ownSignals();
  say('Press Ctrl-C to stop.');
} catch (err) {
  say(`[sealmail] start failed: ${err instanceof Error && err.message ? err.message : inspect(err)}`);
  await shutdown(1);
}
