/**
 * What every Sealmail process does first: configuration, logger, TLS material; and small
 * helpers for processes and tests.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigOrExit, type Config } from './config';
import { createLogger, type Logger } from './logger';
import { loadOrCreateTls, type TlsMaterial } from './tls';

export interface ProcessBasics {
  config: Config;
  logger: Logger;
  tls: TlsMaterial;
}

/**
 * Loads the configuration (exiting with a clear message when it is invalid), makes the logger
 * and loads the TLS material. With `needsDatabase`, exits when DATABASE_URL is missing.
 */
export async function bootProcess(name: string, opts: { needsDatabase?: boolean } = {}): Promise<ProcessBasics & { databaseUrl: string }> {
  const config = loadConfigOrExit();
  const logger = createLogger({ level: config.logLevel, name });
  if (opts.needsDatabase && !config.databaseUrl) {
    logger.fatal('DATABASE_URL is not set (the start command sets it when it runs its own Postgres)');
    process.exit(78);
  }
  const tls = await loadOrCreateTls({ ...config.tls, hostnames: ['localhost', '127.0.0.1', '::1', config.publicHost] });
  return { config, logger, tls, databaseUrl: config.databaseUrl ?? '' };
}

/** Whether `port` (0: any) can be bound on 127.0.0.1 now; resolves with the port bound, or 0. */
function tryPort(port: number): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(0));
    s.listen(port, '127.0.0.1', () => {
      const bound = (s.address() as { port: number }).port;
      s.close(() => resolve(bound));
    });
  });
}

/** The lowest port the kernel hands out for outgoing connections (Linux; 32768 elsewhere). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 2048 ? low : 32768;
  } catch {
    return 32768;
  }
}

const handedOut = new Set<number>();

/** Whether process `pid` is alive (a signal 0 reaches it, or it exists under another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Claims `port` for this process among all processes of this machine that use freePort: a file
 * per port naming its claimant (created exclusively; a dead claimant's file is taken over). Two
 * test processes starting stacks at once could otherwise both find a port free in the moment
 * before either bound it (a Postgres of an e2e stack then exited at start).
 */
export function claimPort(port: number): boolean {
  const dir = join(tmpdir(), 'sealmail-ports');
  const file = join(dir, String(port));
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, String(process.pid), { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return true; // no shared folder: the bind check alone
    const owner = Number(readFileSync(file, 'utf8').trim());
    if (owner === process.pid || (Number.isInteger(owner) && owner > 0 && alive(owner))) return false;
    writeFileSync(file, String(process.pid));
    return true;
  }
}

/**
 * A TCP port that was free a moment ago on 127.0.0.1 (for tests and throw-away servers), chosen
 * at random below the kernel's range for outgoing connections: a port from that range (what
 * `listen(0)` gives) can be taken by any outgoing connection — a Postgres client, a browser —
 * between the choice and the child's own listen, which made a parallel test run fail with
 * EADDRINUSE. Never the same port twice in one process, nor one another live process of this
 * machine claimed (`claimPort`).
 */
export async function freePort(): Promise<number> {
  const high = Math.min(ephemeralLow(), 32768);
  const low = Math.max(1024, high - 12_000);
  for (let i = 0; i < 64; i++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (handedOut.has(port)) continue;
    if ((await tryPort(port)) === port && claimPort(port)) {
      handedOut.add(port);
      return port;
    }
  }
  // Every try taken (a crowded machine): what the kernel gives.
  const port = await tryPort(0);
  if (!port) throw new Error('no free TCP port on 127.0.0.1');
  handedOut.add(port);
  return port;
}
