import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiReady, directoryLookup, health, ready, serverInfo } from '@sealmail/contract';
import { bearer, harness, type Harness } from './helpers';

let h: Harness;
let token: string;
beforeAll(async () => {
  h = await harness();
  token = (await h.deviceSignIn('alice@example.test')).token;
});
afterAll(() => h?.close());

describe('operational routes', () => {
  it('/healthz answers while the process runs', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(health.response.parse(res.json()).status).toBe('ok');
  });

  it('/readyz checks the database', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(ready.response.parse(res.json())).toEqual({ status: 'ready' });
  });

  it('/api/v1/ready is the same check where a web host forwards it (the admin console asks there)', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/api/v1/ready' });
    expect(res.statusCode).toBe(200);
    expect(apiReady.response.parse(res.json())).toEqual({ status: 'ready' });
  });

  it('/api/v1/info names the service and version; the domains only to a signed-in caller (tenants.test.ts)', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/api/v1/info' });
    expect(serverInfo.response.parse(res.json())).toEqual({ service: 'sealmail', version: '1.2.3' });
    const signedIn = await h.app.inject({ method: 'GET', url: '/api/v1/info', headers: bearer(token) });
    expect(serverInfo.response.parse(signedIn.json())).toEqual({ service: 'sealmail', version: '1.2.3', domains: ['example.test'] });
  });
});

describe('directory lookup', () => {
  const lookup = (addresses: string[], t = token) => h.app.inject({ method: 'POST', url: '/api/v1/directory/lookup', headers: bearer(t), payload: { addresses } });

  it('needs a session', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/api/v1/directory/lookup', payload: { addresses: ['alice@example.test'] } });
    expect(res.statusCode).toBe(401);
  });

  it('tells which addresses have a mailbox, case-insensitively', async () => {
    const res = await lookup(['Alice@Example.test', 'nobody@example.test', 'bob@elsewhere.test']);
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
    await h.db.prisma.user.updateMany({ where: { localPart: 'bob' }, data: { status: 'suspended' } });
    expect((await lookup(['bob@example.test'])).json()).toEqual({ results: [{ address: 'bob@example.test', exists: false }] });
  });
});
