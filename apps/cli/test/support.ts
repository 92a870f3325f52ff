/**
 * A real API process (apps/api/src/main.ts) over real TLS (self-signed, trusted through --ca) on
 * a test Postgres, and a way to run the CLI against it as separate "machines" (profiles).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedDemo } from '@sealmail/db';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { childEnvironment, freePort, loadOrCreateTls } from '@sealmail/server';
import { EXIT, run } from '../src/cli';

export interface CliStack {
  url: string;
  caFile: string;
  dir: string;
  tdb: TestDatabase;
  passwords: Record<string, string>;
  /** Runs the CLI with its own profile directory and lines of standard input. */
  cliAs(profile: string, lines: string[], ...argv: string[]): Promise<{ code: number; out: string; err: string; progress: (string | null)[] }>;
  stop(): Promise<void>;
}

export async function startCliStack(): Promise<CliStack> {
  const dir = await mkdtemp(join(tmpdir(), 'sealmail-cli-'));
  const caFile = join(dir, 'cert.pem');
  await loadOrCreateTls({ certFile: caFile, keyFile: join(dir, 'key.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
  const tdb = await createTestDatabase();
  const seed = await seedDemo(tdb.prisma, { domain: 'example.test' });
  const passwords = Object.fromEntries(seed.users.map((u) => [u.address, u.password!]));
  const port = await freePort();
  const api: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: new URL('../../api', import.meta.url).pathname,
    env: childEnvironment({ DATABASE_URL: tdb.connectionString, SEALMAIL_API_PORT: String(port), SEALMAIL_DATA_DIR: dir, SEALMAIL_TLS_CERT: caFile, SEALMAIL_TLS_KEY: join(dir, 'key.pem'), LOG_LEVEL: 'silent' }),
    stdio: 'inherit',
  });
  const url = `https://localhost:${port}`;
  async function cliAs(profile: string, lines: string[], ...argv: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const progress: (string | null)[] = [];
    const queue = [...lines];
    const code = await run([...argv, '--profile', join(dir, profile)], {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      progress: (l) => progress.push(l),
      readLine: async () => queue.shift() ?? '',
      readRest: async () => queue.splice(0).join('\n'),
    });
    return { code, out: out.join('\n'), err: err.join('\n'), progress };
  }
  const deadline = Date.now() + 30_000;
  while ((await cliAs('status', [], 'status', '--api', url, '--ca', caFile)).code !== EXIT.ok) {
    if (Date.now() > deadline || api.exitCode !== null) throw new Error('the API process did not come up');
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    caFile,
    dir,
    tdb,
    passwords,
    cliAs,
    async stop() {
      if (api.exitCode === null) {
        api.kill('SIGTERM');
        await new Promise((r) => api.once('exit', r));
      }
      await tdb.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
