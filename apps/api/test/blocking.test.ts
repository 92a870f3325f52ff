/**
 * Blocked senders and mailing lists through the API (real Fastify via inject, real Postgres):
 * users keep their own blocklist; admins keep the account's blocklist and its lists; each admin
 * change is in the change history; bad input gets a registry code. What the ingress does with
 * them is tested in apps/smtp/test/blocking.test.ts and lists.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminListCreate, blockAdd, blockList } from '@sealmail/contract';
import { bearer, harness, type Harness } from './helpers';

let h: Harness;
let alice: string;
let bob: string;
let admin: string;

beforeAll(async () => {
  h = await harness();
  alice = (await h.deviceSignIn('alice@example.test')).token;
  bob = (await h.deviceSignIn('bob@example.test')).token;
  admin = (await h.deviceSignIn('admin@example.test')).token;
});
afterAll(() => h?.close());

const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, token: string, payload?: unknown) => h.app.inject({ method, url, headers: bearer(token), ...(payload === undefined ? {} : { payload: payload as object }) });
const audit = (action: string) => h.db.prisma.auditEvent.findMany({ where: { action }, orderBy: { id: 'asc' } });

describe('a user’s blocked senders', () => {
  it('adds an address and a domain (normalised, idempotent), lists them, removes one', async () => {
    const a = await call('POST', '/api/v1/blocked-senders', alice, { pattern: '  Pest@Junk.Example ' });
    expect(a.statusCode).toBe(200);
    const entry = blockAdd.response.parse(a.json());
    expect(entry).toMatchObject({ pattern: 'pest@junk.example', kind: 'address' });
    expect((await call('POST', '/api/v1/blocked-senders', alice, { pattern: 'pest@junk.example' })).json()).toEqual(entry);
    expect((await call('POST', '/api/v1/blocked-senders', alice, { pattern: 'spam.example' })).json()).toMatchObject({ kind: 'domain' });
    const listed = blockList.response.parse((await call('GET', '/api/v1/blocked-senders', alice)).json());
    expect(listed.blocked.map((b) => b.pattern)).toEqual(['pest@junk.example', 'spam.example']);
    // Stored for Alice only, in her account.
    const rows = await h.db.prisma.blockedSender.findMany({ where: { pattern: 'pest@junk.example' }, include: { user: true } });
    expect(rows.map((r) => r.user?.localPart)).toEqual(['alice']);

    expect((await call('DELETE', `/api/v1/blocked-senders/${entry.id}`, alice)).json()).toEqual({ removed: true });
    expect(blockList.response.parse((await call('GET', '/api/v1/blocked-senders', alice)).json()).blocked.map((b) => b.pattern)).toEqual(['spam.example']);
  });

  it('each user sees and removes only their own', async () => {
    const mine = blockAdd.response.parse((await call('POST', '/api/v1/blocked-senders', alice, { pattern: 'only-alice.example' })).json());
    expect(blockList.response.parse((await call('GET', '/api/v1/blocked-senders', bob)).json()).blocked).toEqual([]);
    const res = await call('DELETE', `/api/v1/blocked-senders/${mine.id}`, bob);
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
    expect(await h.db.prisma.blockedSender.count({ where: { id: mine.id } })).toBe(1);
  });

  it('refuses what is neither an address nor a domain, and needs a session', async () => {
    for (const pattern of ['junk', '@junk.example', 'a b@junk.example', 'pest@', '', 'x'.repeat(300)]) {
      const res = await call('POST', '/api/v1/blocked-senders', alice, { pattern });
      expect(res.statusCode, pattern).toBe(400);
      expect(res.json(), pattern).toMatchObject({ error: { code: 'VALIDATION_FAILED', field: 'body.pattern' } });
    }
    expect((await h.app.inject({ method: 'GET', url: '/api/v1/blocked-senders' })).statusCode).toBe(401);
  });
});

describe('the account’s blocked senders (admin)', () => {
  it('only admins manage it; adds and removals are recorded', async () => {
    expect((await call('GET', '/api/v1/admin/blocked-senders', alice)).json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect((await call('POST', '/api/v1/admin/blocked-senders', alice, { pattern: 'x.example' })).statusCode).toBe(403);
    const entry = blockAdd.response.parse((await call('POST', '/api/v1/admin/blocked-senders', admin, { pattern: 'bulk.example' })).json());
    const rows = await h.db.prisma.blockedSender.findMany({ where: { pattern: 'bulk.example' } });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.userId).toBeNull();
    // Not in the admin's own list, and the other way round.
    expect(blockList.response.parse((await call('GET', '/api/v1/blocked-senders', admin)).json()).blocked).toEqual([]);
    expect(blockList.response.parse((await call('GET', '/api/v1/admin/blocked-senders', admin)).json()).blocked.map((b) => b.pattern)).toEqual(['bulk.example']);
    // A user's own entry cannot be removed through the admin route.
    const alices = blockAdd.response.parse((await call('POST', '/api/v1/blocked-senders', alice, { pattern: 'keep.example' })).json());
    expect((await call('DELETE', `/api/v1/admin/blocked-senders/${alices.id}`, admin)).statusCode).toBe(404);

    expect((await call('DELETE', `/api/v1/admin/blocked-senders/${entry.id}`, admin)).json()).toEqual({ removed: true });
    expect((await audit('blocked_sender.add')).map((e) => e.details)).toEqual([{ pattern: 'bulk.example' }]);
    expect((await audit('blocked_sender.remove')).map((e) => e.details)).toEqual([{ pattern: 'bulk.example' }]);
  });
});

describe('mailing lists (admin)', () => {
  it('creates a list on an own domain, marks local members, updates and deletes it, all recorded', async () => {
    const res = await call('POST', '/api/v1/admin/lists', admin, { address: 'Team@Example.test', name: 'Team', members: ['alice@example.test', 'BOB@example.test', 'bob@example.test', 'carol@outside.example'] });
    expect(res.statusCode).toBe(200);
    const list = adminListCreate.response.parse(res.json());
    expect(list).toMatchObject({
      address: 'team@example.test',
      name: 'Team',
      members: [
        { address: 'alice@example.test', local: true },
        { address: 'bob@example.test', local: true },
        { address: 'carol@outside.example', local: false },
      ],
    });
    const updated = await call('PATCH', `/api/v1/admin/lists/${list.id}`, admin, { name: 'Core team', members: ['alice@example.test'] });
    expect(updated.json()).toMatchObject({ name: 'Core team', members: [{ address: 'alice@example.test', local: true }] });
    expect((await call('GET', '/api/v1/admin/lists', admin)).json()).toMatchObject({ lists: [{ address: 'team@example.test', name: 'Core team' }] });
    expect(await h.db.prisma.mailingListMember.count({ where: { listId: list.id } })).toBe(1);

    expect((await call('DELETE', `/api/v1/admin/lists/${list.id}`, admin)).json()).toEqual({ removed: true });
    expect(await h.db.prisma.mailingList.count()).toBe(0);
    expect((await call('DELETE', `/api/v1/admin/lists/${list.id}`, admin)).statusCode).toBe(404);
    expect((await audit('list.create')).map((e) => e.details)).toEqual([{ address: 'team@example.test', members: 3, posting: 'anyone' }]);
    expect((await audit('list.update')).map((e) => e.details)).toEqual([{ address: 'team@example.test', name: 'Core team', members: 1 }]);
    expect((await audit('list.delete')).map((e) => e.details)).toEqual([{ address: 'team@example.test' }]);
  });

  it('refuses a user’s or another list’s address (ADDRESS_TAKEN), foreign domains and bad names', async () => {
    expect((await call('POST', '/api/v1/admin/lists', admin, { address: 'bob@example.test', name: 'x', members: [] })).json()).toMatchObject({ error: { code: 'ADDRESS_TAKEN', field: 'body.address' } });
    expect((await call('POST', '/api/v1/admin/lists', admin, { address: 'sales@example.test', name: 'Sales', members: [] })).statusCode).toBe(200);
    const again = await call('POST', '/api/v1/admin/lists', admin, { address: 'sales@example.test', name: 'Sales 2', members: [] });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ error: { code: 'ADDRESS_TAKEN' } });
    expect((await call('POST', '/api/v1/admin/lists', admin, { address: 'sales@elsewhere.test', name: 'x', members: [] })).json()).toMatchObject({ error: { code: 'VALIDATION_FAILED', field: 'body.address' } });
    expect((await call('POST', '/api/v1/admin/lists', admin, { address: 'news@example.test', name: 'a\r\nBcc: x', members: [] })).json()).toMatchObject({ error: { code: 'VALIDATION_FAILED', field: 'body.name' } });
    expect((await call('POST', '/api/v1/admin/lists', admin, { address: 'news@example.test', name: 'News', members: ['not-an-address'] })).json()).toMatchObject({ error: { code: 'VALIDATION_FAILED', field: 'body.members.0' } });
    expect((await call('GET', '/api/v1/admin/lists', bob)).statusCode).toBe(403);
  });

  it('another account’s admin cannot see or change the lists', async () => {
    const list = (await h.db.prisma.mailingList.findFirstOrThrow({ where: { localPart: 'sales' } })).id;
    const account = await h.db.prisma.account.create({ data: { name: 'Other' } });
    const domain = await h.db.prisma.domain.create({ data: { accountId: account.id, name: 'other.test' } });
    const { hashPassword } = await import('@sealmail/server');
    await h.db.prisma.user.create({ data: { accountId: account.id, domainId: domain.id, localPart: 'boss', displayName: 'Boss', role: 'admin', passwordHash: await hashPassword('pw-boss-123') } });
    const { token } = await h.deviceSignIn('boss@other.test', { password: 'pw-boss-123' });
    expect((await call('GET', '/api/v1/admin/lists', token)).json()).toEqual({ lists: [] });
    expect((await call('PATCH', `/api/v1/admin/lists/${list}`, token, { name: 'Mine' })).statusCode).toBe(404);
    expect((await call('DELETE', `/api/v1/admin/lists/${list}`, token)).statusCode).toBe(404);
    expect((await call('POST', '/api/v1/admin/lists', token, { address: 'x@example.test', name: 'x', members: [] })).json()).toMatchObject({ error: { code: 'VALIDATION_FAILED', field: 'body.address' } });
  });
});
