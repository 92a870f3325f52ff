/**
 * Tenant isolation (issue 12, finding 8), with two organisations on one server: anonymous
 * callers learn no organisation's domains from /api/v1/info; an admin cannot tell whether
 * another organisation's addresses are mailboxes here (list members, directory lookups), unless
 * both domains turned on cross-domain E2EE. (List expansion at the SMTP ingress:
 * apps/smtp/test/lists.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '@sealmail/server';
import { ApiClient } from '@sealmail/client';
import { Identity, memoryKeyStore } from '@sealmail/client/identity';
import { bearer, harness, injectFetch, type Harness } from './helpers';

let h: Harness;
let adminA: string;
let userB: string;

beforeAll(async () => {
  h = await harness();
  const account = await h.db.prisma.account.create({ data: { name: 'Other Org' } });
  const domain = await h.db.prisma.domain.create({ data: { accountId: account.id, name: 'other.test' } });
  await h.db.prisma.domain.create({ data: { accountId: account.id, name: 'secret-project.test' } });
  await h.db.prisma.user.create({ data: { accountId: account.id, domainId: domain.id, localPart: 'bob', displayName: 'Bob Other', passwordHash: await hashPassword('pw-bob-other'), role: 'admin' } });
  adminA = (await h.deviceSignIn('admin@example.test')).token;
  userB = ((await h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address: 'bob@other.test', password: 'pw-bob-other' } })).json() as { token: string }).token;
  // Bob's session acts as his first (approved) device.
  await new Identity(new ApiClient({ baseUrl: 'http://api.invalid', fetch: injectFetch(h.app), token: userB }), memoryKeyStore()).setUpThisDevice({ address: 'bob@other.test', name: 'Laptop', kind: 'cli' });
});
afterAll(async () => h?.close());

describe('/api/v1/info', () => {
  it('tells anonymous callers nothing about any organisation', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/api/v1/info' });
    expect(res.statusCode).toBe(200);
    expect(Object.keys(res.json() as object).sort()).toEqual(['service', 'version']);
    expect(res.body).not.toContain('example.test');
    expect(res.body).not.toContain('other.test');
    expect(res.body).not.toContain('secret-project');
  });

  it("names only the caller's own organisation's domains", async () => {
    expect((await h.app.inject({ method: 'GET', url: '/api/v1/info', headers: bearer(adminA) })).json()).toMatchObject({ domains: ['example.test'] });
    expect((await h.app.inject({ method: 'GET', url: '/api/v1/info', headers: bearer(userB) })).json()).toMatchObject({ domains: ['other.test', 'secret-project.test'] });
  });
});

describe('mailing list members of another organisation', () => {
  it('are outside members, shown exactly like addresses that exist nowhere', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/v1/admin/lists',
      headers: bearer(adminA),
      payload: { address: 'mixed@example.test', name: 'Mixed', members: ['alice@example.test', 'bob@other.test', 'nobody@other.test', 'carol@outside.example'] },
    });
    expect(res.statusCode).toBe(200);
    const members = (res.json() as { members: { address: string; local: boolean }[] }).members;
    expect(members).toEqual([
      { address: 'alice@example.test', local: true },
      { address: 'bob@other.test', local: false },
      { address: 'carol@outside.example', local: false },
      { address: 'nobody@other.test', local: false },
    ]);
    const listed = (await h.app.inject({ method: 'GET', url: '/api/v1/admin/lists', headers: bearer(adminA) })).json() as { lists: { members: { address: string; local: boolean }[] }[] };
    expect(listed.lists[0]!.members.find((m) => m.address === 'bob@other.test')).toEqual({ address: 'bob@other.test', local: false });
  });
});

describe('directory lookup across organisations', () => {
  const lookup = (token: string) => h.app.inject({ method: 'POST', url: '/api/v1/directory/lookup', headers: bearer(token), payload: { addresses: ['bob@other.test', 'nobody@other.test', 'alice@example.test'] } });

  it("does not tell an admin whether another organisation's addresses are here", async () => {
    expect((await lookup(adminA)).json()).toEqual({
      results: [
        { address: 'bob@other.test', exists: false },
        { address: 'nobody@other.test', exists: false },
        { address: 'alice@example.test', exists: true },
      ],
    });
  });

  it('tells it once both domains turned on cross-domain E2EE (they can then encrypt to each other)', async () => {
    await h.db.prisma.domain.updateMany({ where: { name: { in: ['example.test', 'other.test'] } }, data: { crossDomainE2ee: true } });
    try {
      expect(((await lookup(adminA)).json() as { results: { exists: boolean }[] }).results.map((r) => r.exists)).toEqual([true, false, true]);
    } finally {
      await h.db.prisma.domain.updateMany({ where: { name: { in: ['example.test', 'other.test'] } }, data: { crossDomainE2ee: false } });
    }
  });
});
