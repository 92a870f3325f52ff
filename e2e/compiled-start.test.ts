/**
 * The production form of `npm start` (scripts/bootstrap.mjs start): it builds the services into
 * dist/ when they are stale and runs them compiled — the start command and each child as plain
 * `node dist/<name>.mjs`, with no TypeScript loader in its arguments or its NODE_OPTIONS. The
 * compiled API answers /readyz (its database is reachable), the compiled SMTP ingress greets with
 * 220, a child killed with SIGKILL is started again (compiled), and Ctrl-C (SIGINT) stops every
 * child and Postgres.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { childEnvironment } from '@sealmail/server';
import { httpsGet, smtpGreeting } from '@sealmail/server/testing';
import { portOpen, repoRoot, stackEnvironment } from './support';
import { rm } from 'node:fs/promises';

const { dataDir, ports, env } = await stackEnvironment();
let proc: ChildProcess | undefined;
let out = '';

afterAll(async () => {
  if (proc && proc.exitCode === null) {
    proc.kill('SIGINT');
    await new Promise((r) => proc!.once('exit', r));
  }
  await rm(dataDir, { recursive: true, force: true });
});

/** A process's command line and NODE_OPTIONS, as the kernel has them. */
function processArgs(pid: number): { argv: string[]; nodeOptions: string } {
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  return { argv, nodeOptions: environ.find((e) => e.startsWith('NODE_OPTIONS='))?.slice('NODE_OPTIONS='.length) ?? '' };
}

/** Child processes of `pid` (from /proc: each process's stat names its parent). */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return Number(readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z');
const pidsOf = (name: string) => [...out.matchAll(new RegExp(`\\[sealmail\\] ${name} started \\(pid (\\d+)\\)`, 'g'))].map((m) => Number(m[1]));

const readyz = (ca: string) => httpsGet(ports.api, '/readyz', ca);

describe('npm start in production form', () => {
  it('runs compiled services with no TypeScript loader, restarts a killed one, and Ctrl-C stops them all', async () => {
    // NODE_OPTIONS cleared: a loader could otherwise come in through the environment.
    proc = spawn(process.execPath, ['scripts/bootstrap.mjs', 'start'], { cwd: repoRoot, env: childEnvironment({ ...env, NODE_OPTIONS: '' }), stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await expect.poll(() => (proc!.exitCode !== null ? `exited:\n${out}` : out.includes('Press Ctrl-C to stop.')), { timeout: 180_000, interval: 200 }).toBe(true);
    for (const f of ['api', 'smtp', 'web-hosts', 'start', 'migrate', 'blob-migrate']) expect(existsSync(join(repoRoot, 'dist', `${f}.mjs`)), f).toBe(true);

    // The start command and each child: plain node on a bundle.
    const start = childrenOf(proc.pid!)[0]!;
    expect(processArgs(start).argv.slice(1)).toEqual(['dist/start.mjs']);
    const children = { api: 'dist/api.mjs', smtp: 'dist/smtp.mjs', web: 'dist/web-hosts.mjs' };
    for (const [name, bundle] of Object.entries(children)) {
      const [pid] = pidsOf(name);
      const { argv, nodeOptions } = processArgs(pid!);
      expect(argv.slice(1), name).toEqual([bundle]);
      expect(argv.join(' ') + nodeOptions, name).not.toMatch(/tsx|--import|--loader|--require/);
    }
    // The SMTP process's malloc returns large freed buffers to the system (SMTP_MALLOC_ENV).
    const smtpEnviron = readFileSync(`/proc/${pidsOf('smtp')[0]!}/environ`, 'utf8').split('\0');
    expect(smtpEnviron).toEqual(expect.arrayContaining(['MALLOC_MMAP_THRESHOLD_=131072', 'MALLOC_ARENA_MAX=2']));

    const ca = readFileSync(join(dataDir, 'tls', 'cert.pem'), 'utf8');
    expect(await readyz(ca)).toEqual({ status: 200, body: JSON.stringify({ status: 'ready' }) });
    expect(await smtpGreeting(ports.smtp)).toMatch(/^220 /);

    // kill -9 of the API: the supervisor starts a compiled one again; SMTP never stopped.
    const [api1] = pidsOf('api');
    process.kill(api1!, 'SIGKILL');
    await expect.poll(() => out, { timeout: 30_000 }).toMatch(/\[sealmail\] api exited \(SIGKILL\); restarting in 1 s/);
    await expect.poll(() => pidsOf('api').length, { timeout: 30_000 }).toBe(2);
    const api2 = pidsOf('api')[1]!;
    expect(processArgs(api2).argv.slice(1)).toEqual(['dist/api.mjs']);
    await expect.poll(() => readyz(ca).then((r) => r.status, () => 0), { timeout: 60_000 }).toBe(200);
    expect(await smtpGreeting(ports.smtp)).toMatch(/^220 /);

    // Ctrl-C: every child and Postgres stop, and the command exits 0.
    const running = [api2, pidsOf('smtp')[0]!, pidsOf('web')[0]!, start];
    proc.kill('SIGINT');
    const code = await new Promise<number | null>((r) => (proc!.exitCode !== null ? r(proc!.exitCode) : proc!.once('exit', (c) => r(c))));
    expect(code).toBe(0);
    expect(out).toContain('[sealmail] Postgres stopped');
    for (const pid of running) await expect.poll(() => alive(pid), { timeout: 10_000 }).toBe(false);
    for (const p of Object.values(ports)) expect(await portOpen(p), `port ${p} still open`).toBe(false);
  }, 300_000);
});
