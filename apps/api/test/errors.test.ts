/**
 * Every error code of the registry is produced by a real request, with the documented body, and
 * no stack trace or internal message ever reaches the client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { errorCodes, errorRegistry, type ErrorCode } from '@sealmail/contract';
import { createDb } from '@sealmail/db';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { createLogger } from '@sealmail/server';
import { buildApp } from '../src/app';

let tdb: TestDatabase;
let app: FastifyInstance;
let deadApp: FastifyInstance;
const logger = createLogger({ level: 'silent' });

beforeAll(async () => {
  tdb = await createTestDatabase();
  app = await buildApp({ logger, db: tdb.prisma, version: '0.0.0-test' });
  // A route that fails unexpectedly, to prove 500s carry no internals.
  app.get('/api/v1/test-explode', async () => {
    throw new Error('secret internal detail at /srv/sealmail/thing.ts:42');
  });
  // An API whose database is unreachable (nothing listens on port 9).
  deadApp = await buildApp({ logger, db: createDb('postgres://nobody:nothing@127.0.0.1:9/none'), version: '0.0.0-test' });
});

afterAll(async () => {
  await app?.close();
  await deadApp?.close();
  await tdb?.drop();
});

type Probe = () => Promise<{ statusCode: number; json: () => unknown; body: string }>;

const probes: Record<ErrorCode, Probe> = {
  NOT_FOUND: () => app.inject({ method: 'GET', url: '/api/v1/no-such-route' }),
  MALFORMED_JSON: () => app.inject({ method: 'POST', url: '/api/v1/directory/lookup', headers: { 'content-type': 'application/json' }, payload: '{"addresses": [' }),
  VALIDATION_FAILED: () => app.inject({ method: 'POST', url: '/api/v1/directory/lookup', payload: { addresses: ['alice@example.test', 'not-an-address'] } }),
  UNSUPPORTED_MEDIA_TYPE: () => app.inject({ method: 'POST', url: '/api/v1/directory/lookup', headers: { 'content-type': 'text/plain' }, payload: 'hello' }),
  PAYLOAD_TOO_LARGE: () => app.inject({ method: 'POST', url: '/api/v1/directory/lookup', payload: { addresses: ['x'.repeat(2 * 1024 * 1024)] } }),
  DATABASE_UNAVAILABLE: () => deadApp.inject({ method: 'GET', url: '/readyz' }),
  INTERNAL: () => app.inject({ method: 'GET', url: '/api/v1/test-explode' }),
};

describe('error registry, end to end', () => {
  it('has a probe for every code', () => {
    expect(Object.keys(probes).sort()).toEqual([...errorCodes].sort());
  });

  it.each(errorCodes)('%s is reachable with its status and body', async (code) => {
    const res = await probes[code]();
    expect(res.statusCode).toBe(errorRegistry[code].status);
    const body = res.json() as { error: { code: string; message: string } };
    expect(body.error.code).toBe(code);
    expect(body.error.message).toBe(errorRegistry[code].message);
    expect(res.body).not.toMatch(/at .*\.ts:\d+|secret internal detail|stack/i);
  });

  it('names the offending field on validation errors', async () => {
    const res = await probes.VALIDATION_FAILED();
    expect((res.json() as { error: { field: string } }).error.field).toBe('body.addresses.1');
    const missing = await app.inject({ method: 'POST', url: '/api/v1/directory/lookup', payload: {} });
    expect(missing.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED', field: 'body.addresses' } });
    const extra = await app.inject({ method: 'POST', url: '/api/v1/directory/lookup', payload: { addresses: ['a@example.test'], admin: true } });
    expect(extra.statusCode).toBe(400);
  });

  it('answers unknown routes with 404 JSON for every method', async () => {
    for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'] as const) {
      const res = await app.inject({ method, url: '/nope' });
      expect(res.statusCode).toBe(404);
      expect(res.headers['content-type']).toContain('application/json');
      expect(res.json()).toEqual({ error: { code: 'NOT_FOUND', message: errorRegistry.NOT_FOUND.message } });
    }
  });
});
