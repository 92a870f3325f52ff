/**
 * Headers and transport of the API port (issue 12, finding 7): every answer — success, error,
 * 404, 414/431 from the router and Node's parser, a streamed event stream — carries HSTS,
 * nosniff, no-store and a referrer policy; the API's HTTPS takes TLS 1.3 or TLS 1.2 with
 * ECDHE + AEAD only (a client offering only CBC suites is refused).
 */
import { request as httpsRequest } from 'node:https';
import type { ConnectionOptions } from 'node:tls';
import { tlsHandshake } from '@sealmail/server/testing';
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { ApiClient } from '@sealmail/client';
import { Identity, memoryKeyStore } from '@sealmail/client/identity';
import { httpsFetch } from '@sealmail/client/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo } from '@sealmail/db';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { createLogger, defaultAppOrigins, makeSelfSignedCertificate } from '@sealmail/server';
import { buildApp } from '../src/app';

let tdb: TestDatabase;
let app: FastifyInstance;
let port = 0;
let tls: { cert: string; key: string };
let password: string;
let token: string;

beforeAll(async () => {
  tdb = await createTestDatabase();
  const seed = await seedDemo(tdb.prisma, { domain: 'example.test' });
  password = seed.users.find((u) => u.address === 'alice@example.test')!.password!;
  tls = await makeSelfSignedCertificate(['localhost', '127.0.0.1']);
  app = await buildApp({ logger: createLogger({ level: 'silent' }), db: tdb.prisma, version: 't', tls });
  await app.listen({ host: '127.0.0.1', port: 0 });
  port = (app.server.address() as { port: number }).port;
  token = (JSON.parse((await call('POST', '/api/v1/auth/sign-in', { 'content-type': 'application/json' }, JSON.stringify({ address: 'alice@example.test', password }))).body) as { token: string }).token;
  // The session acts as Alice's first (approved) device, as mail routes require.
  const api = new ApiClient({ baseUrl: `https://127.0.0.1:${port}`, fetch: httpsFetch(tls.cert), token });
  await new Identity(api, memoryKeyStore()).setUpThisDevice({ address: 'alice@example.test', name: 'Laptop', kind: 'cli' });
});

afterAll(async () => {
  await app?.close();
  await tdb?.drop();
});

/** One real HTTPS request; for streams, the answer's head only. */
function call(method: string, path: string, headers: Record<string, string> = {}, body?: string, headOnly = false) {
  return new Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, method, headers, ca: tls.cert, servername: 'localhost' }, (res) => {
      if (headOnly) {
        resolve({ status: res.statusCode!, headers: res.headers, body: '' });
        res.destroy();
        return;
      }
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const json = { 'content-type': 'application/json' };
const auth = () => ({ authorization: `Bearer ${token}` });

const table: { name: string; status: number; send: () => ReturnType<typeof call> }[] = [
  { name: 'health', status: 200, send: () => call('GET', '/healthz') },
  { name: 'readiness', status: 200, send: () => call('GET', '/readyz') },
  { name: 'server info', status: 200, send: () => call('GET', '/api/v1/info') },
  { name: 'sign-in (carries the token)', status: 200, send: () => call('POST', '/api/v1/auth/sign-in', json, JSON.stringify({ address: 'alice@example.test', password })) },
  { name: 'wrong password', status: 401, send: () => call('POST', '/api/v1/auth/sign-in', json, JSON.stringify({ address: 'alice@example.test', password: 'nope' })) },
  { name: 'current session', status: 200, send: () => call('GET', '/api/v1/auth/session', auth()) },
  { name: 'no session', status: 401, send: () => call('GET', '/api/v1/auth/session') },
  { name: 'unknown route', status: 404, send: () => call('GET', '/api/v1/nothing-here') },
  { name: 'unknown route, other method', status: 404, send: () => call('DELETE', '/nothing') },
  { name: 'HEAD', status: 200, send: () => call('HEAD', '/healthz') },
  { name: 'validation error', status: 400, send: () => call('POST', '/api/v1/directory/lookup', { ...json, ...auth() }, JSON.stringify({ addresses: ['x'] })) },
  { name: 'malformed JSON', status: 400, send: () => call('POST', '/api/v1/directory/lookup', { ...json, ...auth() }, '{"addresses":') },
  { name: 'unsupported media type', status: 415, send: () => call('POST', '/api/v1/directory/lookup', { 'content-type': 'text/plain', ...auth() }, 'x') },
  { name: 'cross-origin POST', status: 403, send: () => call('POST', '/api/v1/auth/sign-out', { cookie: '__Host-sealmail-web=x', origin: 'https://evil.example' }) },
  { name: 'same-origin POST', status: 401, send: () => call('POST', '/api/v1/auth/sign-out', { cookie: '__Host-sealmail-web=x', origin: defaultAppOrigins.web[0]! }) },
  { name: 'link not found', status: 404, send: () => call('GET', '/api/v1/links/AAAAAAAAAAAAAAAAAAAAAA') },
  { name: 'badly encoded path', status: 400, send: () => call('GET', '/api/v1/keys/%E0%A4%A/sigchain') },
  { name: 'over-long path parameter (414)', status: 414, send: () => call('GET', `/api/v1/keys/${'a'.repeat(2000)}/sigchain`) },
  { name: 'headers too large (431)', status: 431, send: () => call('GET', '/api/v1/info', { 'x-big': 'a'.repeat(20_000) }) },
  { name: 'mail event stream', status: 200, send: () => call('GET', '/api/v1/mail/events', auth(), undefined, true) },
];

describe('security headers on every API answer', () => {
  it.each(table)('$name ($status)', async ({ status, send }) => {
    const res = await send();
    expect(res.status).toBe(status);
    expect(res.headers['strict-transport-security']).toMatch(/^max-age=\d{7,}/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(String(res.headers['cache-control'])).toContain('no-store');
    if (status >= 400) expect(JSON.parse(res.body)).toMatchObject({ error: { code: expect.stringMatching(/^[A-Z_]+$/), message: expect.any(String) } });
  });
});

const handshake = (opts: ConnectionOptions) => tlsHandshake(port, tls.cert, opts);

describe('TLS policy of the API port', () => {
  it('refuses a client offering only CBC suites over TLS 1.2', async () => {
    expect(await handshake({ ciphers: 'ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-ECDSA-AES128-SHA256', maxVersion: 'TLSv1.2' })).toHaveProperty('error');
  });

  it('accepts TLS 1.2 with ECDHE + AES-GCM, and TLS 1.3', async () => {
    expect(await handshake({ ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256', maxVersion: 'TLSv1.2' })).toEqual({ protocol: 'TLSv1.2', cipher: 'ECDHE-ECDSA-AES128-GCM-SHA256' });
    expect(await handshake({})).toMatchObject({ protocol: 'TLSv1.3' });
  });
});
