/**
 * The client address the sign-in throttle and the sessions list see, through the web host that
 * serves the apps and forwards /api (packages/server/src/webhost.ts): the host replaces any
 * X-Forwarded-For a client sends with the client's real address, and the API believes it only
 * from trusted proxies (SEALMAIL_TRUSTED_PROXIES, loopback by default). Without this every
 * browser user would share the web host's address, and one attacker could slow them all down.
 */
import { request } from 'node:https';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildWebHost, createLogger, loadOrCreateTls, SESSION_COOKIES, strictCsp, type TlsMaterial } from '@sealmail/server';
import { harness, type Harness } from './helpers';

let h: Harness;
let dir: string;
let tls: TlsMaterial;
let plainHost: FastifyInstance;
let behindBalancer: FastifyInstance;
const ALICE = 'alice@example.test';

beforeAll(async () => {
  h = await harness({}, { trustedProxies: ['loopback'] });
  const apiUrl = await h.app.listen({ host: '127.0.0.1', port: 0 });
  dir = await mkdtemp(join(tmpdir(), 'sealmail-xff-'));
  tls = await loadOrCreateTls({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
  await writeFile(join(dir, 'index.html'), '<!doctype html><title>t</title>');
  const logger = createLogger({ level: 'silent' });
  plainHost = await buildWebHost({ root: dir, csp: strictCsp(), apiUrl, tls, logger, sessionCookie: SESSION_COOKIES.web });
  await plainHost.listen({ host: '127.0.0.1', port: 0 });
  // A web host behind a load balancer on loopback (SEALMAIL_WEB_TRUSTED_PROXIES=loopback).
  behindBalancer = await buildWebHost({ root: dir, csp: strictCsp(), apiUrl, tls, logger, sessionCookie: SESSION_COOKIES.web, trustedProxies: ['loopback'] });
  await behindBalancer.listen({ host: '127.0.0.1', port: 0 });
}, 60_000);
afterAll(async () => {
  await plainHost?.close();
  await behindBalancer?.close();
  await h?.close();
  await rm(dir, { recursive: true, force: true });
});

function signInThrough(host: FastifyInstance, forwardedFor: string): Promise<number> {
  const port = (host.server.address() as { port: number }).port;
  const body = JSON.stringify({ address: ALICE, password: h.password(ALICE) });
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/api/v1/auth/sign-in', method: 'POST', ca: tls.cert, servername: 'localhost', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-forwarded-for': forwardedFor } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const sessionsFrom = (ip: string) => h.db.prisma.session.count({ where: { ip } });

describe('client address through the web host', () => {
  it('a client cannot choose its address: the web host forwards the one it sees', async () => {
    expect(await signInThrough(plainHost, '203.0.113.66')).toBe(200);
    expect(await sessionsFrom('203.0.113.66')).toBe(0);
    expect(await sessionsFrom('127.0.0.1')).toBe(1);
  });

  it("behind a trusted load balancer the web host passes on the balancer's client address", async () => {
    expect(await signInThrough(behindBalancer, '203.0.113.67')).toBe(200);
    expect(await sessionsFrom('203.0.113.67')).toBe(1);
  });
});
