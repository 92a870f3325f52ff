/**
 * The web hosts over real HTTPS, in front of a stand-in API (an HTTPS server that records what
 * reaches it and answers with both apps' session cookies):
 *  - each host passes on only its own app's session cookie, in both directions;
 *  - the link viewer's host forwards only the public link routes, and no cookie ever reaches it
 *    past its front door, the API behind it, or the browser from it;
 *  - the host's own errors (404, API down, headers too large) are in the registry format;
 *  - files are sent pre-compressed (brotli or gzip, as accepted) with the security headers, and
 *    content-hashed assets are cached for good while the page is revalidated;
 *  - the shared TLS policy: TLS 1.3, or TLS 1.2 with ECDHE + AEAD; CBC suites and TLS 1.1 refused.
 */
import { createServer as createHttpsServer, type Server } from 'node:https';
import { request as httpsRequest } from 'node:https';
import type { ConnectionOptions } from 'node:tls';
import { tlsHandshake } from '../src/testing';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorRegistry } from '@sealmail/contract';
import { buildWebHost, createLogger, makeSelfSignedCertificate, SESSION_COOKIES, strictCsp, TLS_POLICY } from '../src/index';

const PAGE = '<!doctype html><title>app</title>' + '<!-- padding -->'.repeat(50);
const SCRIPT = 'console.log("a hashed asset");'.repeat(100);
let dir: string;
let tls: { cert: string; key: string };
let api: Server;
const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
const hosts: Record<'web' | 'admin' | 'viewer', { app: FastifyInstance; port: number }> = {} as never;
let downHost: FastifyInstance;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealmail-webhost-'));
  await writeFile(join(dir, 'index.html'), PAGE);
  await mkdir(join(dir, 'assets'));
  // What the front ends' build writes: each file and its .br and .gz copies beside it.
  for (const [file, text] of [['index.html', PAGE], ['assets/index-Ab12Cd34.js', SCRIPT]] as const) {
    await writeFile(join(dir, file), text);
    await writeFile(join(dir, `${file}.br`), brotliCompressSync(text));
    await writeFile(join(dir, `${file}.gz`), gzipSync(text));
  }
  tls = await makeSelfSignedCertificate(['localhost', '127.0.0.1']);
  api = createHttpsServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    res.setHeader('set-cookie', [`${SESSION_COOKIES.web}=w; Path=/; Secure; HttpOnly`, `${SESSION_COOKIES.admin}=a; Path=/; Secure; HttpOnly`, 'other=1; Path=/']);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ ok: true }));
  });
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
  const apiUrl = `https://127.0.0.1:${(api.address() as { port: number }).port}`;
  const logger = createLogger({ level: 'silent' });
  const make = async (sessionCookie: string | null, apiPrefix?: string) => {
    const app = await buildWebHost({ root: dir, csp: strictCsp(), apiUrl, apiCa: tls.cert, sessionCookie, ...(apiPrefix ? { apiPrefix } : {}), tls, logger });
    await app.listen({ host: '127.0.0.1', port: 0 });
    return { app, port: (app.server.address() as { port: number }).port };
  };
  hosts.web = await make(SESSION_COOKIES.web);
  hosts.admin = await make(SESSION_COOKIES.admin);
  hosts.viewer = await make(null, '/api/v1/links');
  downHost = await buildWebHost({ root: dir, csp: strictCsp(), apiUrl: 'https://127.0.0.1:9', sessionCookie: SESSION_COOKIES.web, tls, logger });
});

afterAll(async () => {
  await Promise.all(Object.values(hosts).map((h) => h.app.close()));
  await downHost?.close();
  await new Promise((r) => api?.close(r));
  await rm(dir, { recursive: true, force: true });
});

/** A browser on one host name sends every cookie of it to every port: so do we. */
const BROWSER_COOKIES = `${SESSION_COOKIES.web}=webtoken; ${SESSION_COOKIES.admin}=admintoken; sealmail_session=old; other=1`;

function get(port: number, path: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, method: 'GET', headers, ca: tls.cert, servername: 'localhost' }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('web hosts and session cookies', () => {
  it('the web client host passes on only the web client cookie, both ways', async () => {
    seen.length = 0;
    const res = await get(hosts.web.port, '/api/v1/auth/session', { cookie: BROWSER_COOKIES });
    expect(res.status).toBe(200);
    expect(seen[0]!.headers.cookie).toBe(`${SESSION_COOKIES.web}=webtoken`);
    expect(res.headers['set-cookie']).toEqual([`${SESSION_COOKIES.web}=w; Path=/; Secure; HttpOnly`]);
  });

  it('the admin console host passes on only the admin console cookie, both ways', async () => {
    seen.length = 0;
    const res = await get(hosts.admin.port, '/api/v1/auth/session', { cookie: BROWSER_COOKIES });
    expect(seen[0]!.headers.cookie).toBe(`${SESSION_COOKIES.admin}=admintoken`);
    expect(res.headers['set-cookie']).toEqual([`${SESSION_COOKIES.admin}=a; Path=/; Secure; HttpOnly`]);
  });

  it('the link viewer host forwards only the link routes, never a cookie, and sets none', async () => {
    seen.length = 0;
    const link = await get(hosts.viewer.port, '/api/v1/links/AAAAAAAAAAAAAAAAAAAAAA', { cookie: BROWSER_COOKIES });
    expect(link.status).toBe(200);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.headers.cookie).toBeUndefined();
    expect(link.headers['set-cookie']).toBeUndefined();
    for (const path of ['/api/v1/auth/session', '/api/v1/info', '/api/v1/mail/messages', '/api/v1/linksX']) {
      const res = await get(hosts.viewer.port, path, { cookie: BROWSER_COOKIES });
      expect(res.status, path).toBe(404);
      expect(JSON.parse(res.body)).toEqual({ error: { code: 'NOT_FOUND', message: errorRegistry.NOT_FOUND.message } });
    }
    expect(seen).toHaveLength(1);
    // Its pages set no cookie either.
    const page = await get(hosts.viewer.port, '/m/AAAAAAAAAAAAAAAAAAAAAA', { cookie: BROWSER_COOKIES });
    expect(page.status).toBe(200);
    expect(page.headers['set-cookie']).toBeUndefined();
  });
});

describe("the web host's own errors", () => {
  it('an unreachable API is 502 API_UNAVAILABLE in the registry format', async () => {
    const res = await downHost.inject({ method: 'GET', url: '/api/v1/info' });
    expect(res.statusCode).toBe(502);
    expect(res.json()).toEqual({ error: { code: 'API_UNAVAILABLE', message: errorRegistry.API_UNAVAILABLE.message } });
    expect(res.headers['strict-transport-security']).toBeDefined();
  });

  it('headers over the limit are 431 HEADERS_TOO_LARGE in the registry format, with the security headers', async () => {
    const res = await get(hosts.web.port, '/', { 'x-big': 'a'.repeat(20_000) });
    expect(res.status).toBe(431);
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'HEADERS_TOO_LARGE' } });
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
  });

  it('a badly encoded path is 400 MALFORMED_REQUEST in the registry format', async () => {
    const res = await get(hosts.web.port, '/api/v1/keys/%E0%A4%A/sigchain');
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'MALFORMED_REQUEST' } });
  });
});

function getBytes(port: number, path: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, method: 'GET', headers, ca: tls.cert, servername: 'localhost' }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('compression and caching of the built files', () => {
  const securityHeaders = (h: IncomingHttpHeaders) => {
    expect(h['content-security-policy']).toBe(strictCsp());
    expect(h['strict-transport-security']).toMatch(/max-age=\d+/);
    expect(h['x-content-type-options']).toBe('nosniff');
    expect(h['x-frame-options']).toBe('DENY');
    expect(h['referrer-policy']).toBe('no-referrer');
    expect(h.vary).toMatch(/accept-encoding/i);
  };

  it('sends a hashed asset brotli-compressed to a browser that accepts it, cached for good', async () => {
    const res = await getBytes(hosts.web.port, '/assets/index-Ab12Cd34.js', { 'accept-encoding': 'gzip, deflate, br' });
    expect(res.status).toBe(200);
    expect(res.headers['content-encoding']).toBe('br');
    expect(res.headers['content-type']).toMatch(/javascript/);
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(brotliDecompressSync(res.body).toString()).toBe(SCRIPT);
    securityHeaders(res.headers);
  });

  it('sends gzip where only gzip is accepted, and the file as is where nothing is', async () => {
    const gz = await getBytes(hosts.web.port, '/assets/index-Ab12Cd34.js', { 'accept-encoding': 'gzip' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.body).toString()).toBe(SCRIPT);
    securityHeaders(gz.headers);
    const plain = await getBytes(hosts.web.port, '/assets/index-Ab12Cd34.js', { 'accept-encoding': 'identity' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.toString()).toBe(SCRIPT);
    expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    securityHeaders(plain.headers);
  });

  it('revalidates the page on every use, compressed too, also where a client-side route falls back to it', async () => {
    for (const path of ['/', '/index.html', '/mail/inbox']) {
      const res = await getBytes(hosts.web.port, path, { 'accept-encoding': 'br' });
      expect(res.status, path).toBe(200);
      expect(res.headers['content-encoding'], path).toBe('br');
      expect(res.headers['content-type'], path).toMatch(/^text\/html/);
      expect(res.headers['cache-control'], path).toBe('no-cache');
      expect(brotliDecompressSync(res.body).toString(), path).toBe(PAGE);
      securityHeaders(res.headers);
    }
  });

  it('a missing asset is 404 in any encoding', async () => {
    const res = await getBytes(hosts.web.port, '/assets/missing-00000000.js', { 'accept-encoding': 'br' });
    expect(res.status).toBe(404);
    expect(res.headers['content-encoding']).toBeUndefined();
  });
});

const handshake = (port: number, opts: ConnectionOptions) => tlsHandshake(port, tls.cert, opts);

describe('TLS policy of the web hosts', () => {
  it('refuses a client offering only CBC suites over TLS 1.2', async () => {
    for (const ciphers of ['ECDHE-ECDSA-AES128-SHA', 'ECDHE-ECDSA-AES256-SHA384', 'ECDHE-RSA-AES128-SHA']) {
      const r = await handshake(hosts.web.port, { ciphers, maxVersion: 'TLSv1.2' });
      expect(r, ciphers).toHaveProperty('error');
    }
  });

  it('refuses TLS 1.1', async () => {
    const r = await handshake(hosts.web.port, { minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' });
    expect(r).toHaveProperty('error');
  });

  it('accepts TLS 1.2 with ECDHE + AES-GCM or ChaCha20-Poly1305, and TLS 1.3', async () => {
    expect(await handshake(hosts.web.port, { ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256', maxVersion: 'TLSv1.2' })).toEqual({ protocol: 'TLSv1.2', cipher: 'ECDHE-ECDSA-AES128-GCM-SHA256' });
    expect(await handshake(hosts.web.port, { ciphers: 'ECDHE-ECDSA-CHACHA20-POLY1305', maxVersion: 'TLSv1.2' })).toEqual({ protocol: 'TLSv1.2', cipher: 'ECDHE-ECDSA-CHACHA20-POLY1305' });
    expect(await handshake(hosts.web.port, {})).toMatchObject({ protocol: 'TLSv1.3' });
  });

  it('is one policy: every TLS 1.2 suite in it is ECDHE with an AEAD', () => {
    const tls12 = TLS_POLICY.ciphers.split(':').filter((c) => !c.startsWith('TLS_'));
    expect(tls12.length).toBeGreaterThan(0);
    for (const c of tls12) expect(c).toMatch(/^ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/);
    expect(TLS_POLICY.minVersion).toBe('TLSv1.2');
  });
});

describe('the MTA-STS policy path', () => {
  let sts: { app: FastifyInstance; port: number };
  beforeAll(async () => {
    const apiUrl = `https://127.0.0.1:${(api.address() as { port: number }).port}`;
    const app = await buildWebHost({ root: dir, csp: strictCsp(), apiUrl, apiCa: tls.cert, sessionCookie: SESSION_COOKIES.web, tls, logger: createLogger({ level: 'silent' }), mtaStsPolicy: true });
    await app.listen({ host: '127.0.0.1', port: 0 });
    sts = { app, port: (app.server.address() as { port: number }).port };
  });
  afterAll(async () => sts?.app.close());

  it('is forwarded to the API with the host name asked for and no cookie, both ways', async () => {
    seen.length = 0;
    const res = await get(sts.port, '/.well-known/mta-sts.txt', { host: 'mta-sts.customer.example', cookie: BROWSER_COOKIES });
    expect(res.status).toBe(200);
    expect(seen.map((s) => [s.url, s.headers['x-forwarded-host'], s.headers.cookie])).toEqual([['/.well-known/mta-sts.txt', 'mta-sts.customer.example', undefined]]);
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('a host without it does not forward the path', async () => {
    seen.length = 0;
    expect((await get(hosts.admin.port, '/.well-known/mta-sts.txt', { host: 'mta-sts.customer.example' })).status).toBe(404);
    expect(seen).toEqual([]);
  });
});
