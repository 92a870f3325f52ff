import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { directoryLookup, health, ready, serverInfo } from '@sealmail/contract';
import { seedDemo } from '@sealmail/db';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { createLogger } from '@sealmail/server';
import { buildApp } from '../src/app';

let tdb: TestDatabase;
let app: FastifyInstance;

beforeAll(async () => {
  tdb = await createTestDatabase();
  await seedDemo(tdb.prisma, { domain: 'example.test' });
  app = await buildApp({ logger: createLogger({ level: 'silent' }), db: tdb.prisma, version: '1.2.3' });
});
afterAll(async () => {
  await app?.close();
  await tdb?.drop();
});

describe('operational routes', () => {
  it('/healthz answers while the process runs', async () => {
    const res = await app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(health.response.parse(res.json()).status).toBe('ok');
  });

  it('/readyz checks the database', async () => {
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(ready.response.parse(res.json())).toEqual({ status: 'ready' });
  });

  it('/api/v1/info names the service, version and domains from the database', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/v1/info' });
    expect(serverInfo.response.parse(res.json())).toEqual({ service: 'sealmail', version: '1.2.3', domains: ['example.test'] });
  });
});

describe('directory lookup', () => {
  it('tells which addresses have a mailbox, case-insensitively', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/directory/lookup',
      payload: { addresses: ['Alice@Example.test', 'nobody@example.test', 'bob@elsewhere.test'] },
    });
    expect(res.statusCode).toBe(200);
    expect(directoryLookup.response.parse(res.json())).toEqual({
      results: [
        { address: 'alice@example.test', exists: true },
        { address: 'nobody@example.test', exists: false },
        { address: 'bob@elsewhere.test', exists: false },
      ],
    });
  });

  it('does not count suspended users', async () => {
    await tdb.prisma.user.updateMany({ where: { localPart: 'bob' }, data: { status: 'suspended' } });
    const res = await app.inject({ method: 'POST', url: '/api/v1/directory/lookup', payload: { addresses: ['bob@example.test'] } });
    expect(res.json()).toEqual({ results: [{ address: 'bob@example.test', exists: false }] });
  });
});
