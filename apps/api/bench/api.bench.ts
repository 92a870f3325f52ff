/**
 * API latency and throughput, printed beside a hello-world Fastify route measured in the same
 * run on the same machine (these machines are shared and noisy: compare ratios, not absolutes).
 *
 *   pnpm --filter @sealmail/api bench
 *
 * Starts a throw-away embedded Postgres, migrates and seeds it, then drives each route over
 * HTTP on loopback with N concurrent clients for a fixed number of requests.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { request, Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { applyMigrations, createDb, seedDemo, startEmbeddedPostgres } from '@sealmail/db';
import { createLogger } from '@sealmail/server';
import { buildApp } from '../src/app';

const CONCURRENCY = 20;
const REQUESTS = 4000;

function once(port: number, path: string, agent: Agent, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request({ host: '127.0.0.1', port, path, agent, headers }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error(`${path}: HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

async function load(port: number, path: string, headers: Record<string, string> = {}) {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  for (let i = 0; i < 200; i++) await once(port, path, agent, headers); // warm-up
  const times: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < REQUESTS) times.push(await once(port, path, agent, headers));
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  agent.destroy();
  times.sort((a, b) => a - b);
  const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!.toFixed(2);
  return { rps: Math.round(times.length / secs), p50: q(0.5), p99: q(0.99) };
}

const dir = await mkdtemp(join(tmpdir(), 'sealmail-bench-'));
const pg = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port: 20000 + Math.floor(Math.random() * 20000), postgresFlags: ['-c', 'fsync=off'] });
try {
  await applyMigrations(pg.connectionString);
  const db = createDb(pg.connectionString, { maxConnections: 20 });
  const seed = await seedDemo(db, { domain: 'example.test' });
  const logger = createLogger({ level: 'silent' });

  const hello = Fastify();
  hello.get('/hello', async () => ({ hello: 'world' }));
  await hello.listen({ host: '127.0.0.1', port: 0 });
  const app = await buildApp({ logger, db, version: 'bench' });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const helloPort = (hello.server.address() as { port: number }).port;
  const apiPort = (app.server.address() as { port: number }).port;

  const alice = seed.users.find((u) => u.address === 'alice@example.test')!;
  const signIn = await app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address: alice.address, password: alice.password } });
  const token = (signIn.json() as { token: string }).token;

  const rows = [
    ['Fastify hello-world (reference)', await load(helloPort, '/hello')],
    ['GET /healthz', await load(apiPort, '/healthz')],
    ['GET /api/v1/info (1 query)', await load(apiPort, '/api/v1/info')],
    ['GET /api/v1/auth/session (session lookup)', await load(apiPort, '/api/v1/auth/session', { authorization: `Bearer ${token}` })],
  ] as const;
  const ref = rows[0][1].rps;
  console.log(`\nAPI over HTTP on loopback, ${CONCURRENCY} concurrent clients, ${REQUESTS} requests each row\n`);
  console.log('route'.padEnd(44) + 'req/s'.padStart(8) + '  vs ref' + '  p50 ms'.padStart(9) + '  p99 ms'.padStart(9));
  for (const [name, r] of rows) {
    console.log(name.padEnd(44) + String(r.rps).padStart(8) + `${((r.rps / ref) * 100).toFixed(0)}%`.padStart(8) + r.p50.padStart(9) + r.p99.padStart(9));
  }
  await app.close();
  await hello.close();
  await db.$disconnect();
} finally {
  await pg.stop();
  await rm(dir, { recursive: true, force: true });
}
