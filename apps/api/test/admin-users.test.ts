/**
 * The admin console's users, set-up links, legal hold and health (docs/admin.md): each route's
 * authorisation (a user, an escrow admin, another organisation's admin: refused; an admin of the
 * account: allowed), CSV uploads with good and bad rows, set-up links used once and expiring on
 * the injected clock, the last admin kept, and legal hold keeping mail the user deleted for good.
 * Real Postgres; mail is stored by the same local delivery the SMTP ingress uses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword, createLogger } from '@sealmail/server';
import { deliverLocal, postgresBlobStore } from '@sealmail/mailstore';
import { adminUser, INVITATION_TTL_MS, PLANS } from '@sealmail/contract';
import { bearer, harness, userIdOf, type Harness } from './helpers';

let h: Harness;
let admin: string;
let user: string;
let escrowAdmin: string;
let otherAdmin: string;

/** A user with a known password (any account), signed in with a set-up device. */
async function person(address: string, role: 'user' | 'admin' | 'escrow_admin', domainName = 'example.test') {
  const domain = await h.db.prisma.domain.findUniqueOrThrow({ where: { name: domainName } });
  const [localPart] = address.split('@');
  await h.db.prisma.user.create({ data: { accountId: domain.accountId, domainId: domain.id, localPart: localPart!, displayName: localPart!, role, passwordHash: await hashPassword(`pw-${address}`) } });
  h.seed.users.push({ address, password: `pw-${address}`, role } as never);
  return (await h.deviceSignIn(address)).token;
}

const call = (method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', url: string, token: string, payload?: unknown) =>
  h.app.inject({ method, url, headers: bearer(token), ...(payload !== undefined ? { payload: payload as object } : {}) });

beforeAll(async () => {
  h = await harness();
  admin = (await h.deviceSignIn('admin@example.test')).token;
  user = (await h.deviceSignIn('alice@example.test')).token;
  escrowAdmin = await person('keeper@example.test', 'escrow_admin');
  const other = await h.db.prisma.account.create({ data: { name: 'Other Org' } });
  await h.db.prisma.domain.create({ data: { accountId: other.id, name: 'other.test' } });
  otherAdmin = await person('boss@other.test', 'admin', 'other.test');
}, 120_000);
afterAll(async () => h?.close());

describe('authorisation', () => {
  // Every admin route, on a target of the demo organisation (bob).
  const routes: [string, 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', string, unknown?][] = [
    ['list users', 'GET', '/api/v1/admin/users'],
    ['create a user', 'POST', '/api/v1/admin/users', { address: 'matrix@example.test', displayName: 'Matrix' }],
    ['import users', 'POST', '/api/v1/admin/users/import', { csv: 'address,name\nmatrix2@example.test,M2\n' }],
    ['change a user', 'PATCH', '/api/v1/admin/users/bob@example.test', { displayName: 'Bob E.' }],
    ['suspend a user', 'POST', '/api/v1/admin/users/bob@example.test/status', { status: 'active' }],
    ['invite a user', 'POST', '/api/v1/admin/users/bob@example.test/invitation', {}],
    ['add an alias', 'POST', '/api/v1/admin/users/bob@example.test/aliases', { alias: 'robert-matrix@example.test' }],
    ['remove an alias', 'DELETE', '/api/v1/admin/users/bob@example.test/aliases/nothing@example.test'],
    ['set a legal hold', 'PUT', '/api/v1/admin/users/bob@example.test/legal-hold', { reason: 'Matrix check' }],
    ['lift a legal hold', 'DELETE', '/api/v1/admin/users/bob@example.test/legal-hold'],
    ['list legal holds', 'GET', '/api/v1/admin/legal-holds'],
    ['delete a user', 'DELETE', '/api/v1/admin/users/bob@example.test'],
    ['health', 'GET', '/api/v1/admin/health'],
  ];

  it.each(routes)('%s: a user and an escrow admin get 403', async (_name, method, url, payload) => {
    for (const token of [user, escrowAdmin]) {
      const res = await call(method, url, token, payload);
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
    }
  });

  it.each(routes.filter(([, , url]) => url.includes('bob@')))("%s: another organisation's admin is told the user does not exist", async (_name, method, url, payload) => {
    const res = await call(method, url, otherAdmin, payload);
    expect(res.statusCode).toBe(404);
    expect(await h.db.prisma.user.findFirstOrThrow({ where: { localPart: 'bob' } })).toMatchObject({ status: 'active', legalHoldAt: null, displayName: 'Bob Example' });
  });

  it("another organisation's admin sees only their own users and storage", async () => {
    const list = (await call('GET', '/api/v1/admin/users', otherAdmin)).json() as { users: { address: string }[] };
    expect(list.users.map((u) => u.address)).toEqual(['boss@other.test']);
    const health = (await call('GET', '/api/v1/admin/health', otherAdmin)).json() as { storage: { users: number } };
    expect(health.storage.users).toBe(1);
    const created = await call('POST', '/api/v1/admin/users', otherAdmin, { address: 'sneaky@example.test', displayName: 'Sneaky' });
    expect(created.statusCode).toBe(400);
    expect(created.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED', field: 'body.address' } });
  });

  it('an admin of the account lists its users with their plan, quota, usage and keys', async () => {
    const res = await call('GET', '/api/v1/admin/users', admin);
    expect(res.statusCode).toBe(200);
    const users = (res.json() as { users: unknown[] }).users.map((u) => adminUser.parse(u));
    expect(users.map((u) => u.address)).toEqual(expect.arrayContaining(['admin@example.test', 'alice@example.test', 'bob@example.test', 'keeper@example.test']));
    expect(users.find((u) => u.address === 'alice@example.test')).toMatchObject({ hasKeys: true, status: 'active', role: 'user' });
    expect(users.find((u) => u.address === 'bob@example.test')).toMatchObject({ hasKeys: false });
    expect(users.some((u) => u.address.endsWith('other.test'))).toBe(false);
  });
});

describe('creating users', () => {
  it('one user on a plan, with the plan’s quota; a taken address is refused', async () => {
    const res = await call('POST', '/api/v1/admin/users', admin, { address: 'Carol@Example.test', displayName: 'Carol New', plan: 'business_plus' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ address: 'carol@example.test', plan: 'business_plus', quotaBytes: PLANS.business_plus.quotaBytes, usedBytes: 0, hasKeys: false, invitation: null });
    const again = await call('POST', '/api/v1/admin/users', admin, { address: 'carol@example.test', displayName: 'Carol Two' });
    expect(again.json()).toMatchObject({ error: { code: 'ADDRESS_TAKEN' } });
    const custom = await call('POST', '/api/v1/admin/users', admin, { address: 'dora@example.test', displayName: 'Dora', plan: null, quotaBytes: 3 * 1024 ** 3 });
    expect(custom.json()).toMatchObject({ plan: null, quotaBytes: 3 * 1024 ** 3 });
    const audit = await h.db.prisma.auditEvent.findFirst({ where: { action: 'admin.user_created', details: { path: ['user'], equals: 'carol@example.test' } } });
    expect(audit).not.toBeNull();
  });

  it('by CSV: good rows are created, bad rows refused with the reason, nothing half-done', async () => {
    const csv = [
      'Address,Name,Role,Plan,Quota GB',
      'erin@example.test,Erin Example,user,pro,',
      'frank@example.test,"Frank, Jr.",admin,enterprise,',
      'not-an-address,Nobody,user,pro,',
      'carol@example.test,Carol Again,user,pro,',
      'gina@elsewhere.test,Gina,user,pro,',
      'hank@example.test,Hank,overlord,pro,',
      'ida@example.test,Ida,user,custom,2',
      'erin@example.test,Erin Twice,user,pro,',
    ].join('\r\n');
    const res = await call('POST', '/api/v1/admin/users/import', admin, { csv });
    expect(res.statusCode).toBe(200);
    const results = (res.json() as { results: { line: number; address: string; status: string; reason?: string }[] }).results;
    expect(results.map((r) => [r.line, r.status])).toEqual([
      [2, 'created'],
      [3, 'created'],
      [4, 'refused'],
      [5, 'refused'],
      [6, 'refused'],
      [7, 'refused'],
      [8, 'created'],
      [9, 'refused'],
    ]);
    expect(results[2]!.reason).toMatch(/address/);
    expect(results[3]!.reason).toMatch(/already belongs/);
    expect(results[4]!.reason).toMatch(/elsewhere\.test is not a domain of your organisation/);
    expect(results[5]!.reason).toMatch(/^role/);
    const made = await h.db.prisma.user.findMany({ where: { localPart: { in: ['erin', 'frank', 'hank', 'ida', 'gina'] } }, orderBy: { localPart: 'asc' } });
    expect(made.map((u) => [u.localPart, u.role, u.displayName, Number(u.quotaBytes)])).toEqual([
      ['erin', 'user', 'Erin Example', PLANS.pro.quotaBytes],
      ['frank', 'admin', 'Frank, Jr.', PLANS.enterprise.quotaBytes],
      ['ida', 'user', 'Ida', 2 * 1024 ** 3],
    ]);
    // The refused duplicate did not touch the first Erin.
    expect(made[0]!.displayName).toBe('Erin Example');
  });

  it('a CSV without the header row is refused as a whole', async () => {
    const res = await call('POST', '/api/v1/admin/users/import', admin, { csv: 'jane@example.test,Jane\n' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED', field: 'body.csv' } });
    expect(await h.db.prisma.user.count({ where: { localPart: 'jane' } })).toBe(0);
  });
});

describe('set-up links', () => {
  const tokenOf = (link: string) => link.split('#')[1]!;

  it('work once: the user chooses a password, signs in and must set up a device', async () => {
    const res = await call('POST', '/api/v1/admin/users/carol@example.test/invitation', admin, {});
    expect(res.statusCode).toBe(200);
    const { link, expiresAt, mailedTo } = res.json() as { link: string; expiresAt: string; mailedTo: string | null };
    expect(link).toMatch(/\/welcome#[A-Za-z0-9_-]{43}$/);
    expect(mailedTo).toBeNull();
    expect(new Date(expiresAt).getTime() - h.clock.now.getTime()).toBe(INVITATION_TTL_MS);
    // Only a hash is stored.
    const stored = await h.db.prisma.invitation.findFirstOrThrow({ where: { user: { localPart: 'carol' } } });
    expect(Buffer.from(stored.tokenHash).toString('base64url')).not.toContain(tokenOf(link));
    const lookup = await h.app.inject({ method: 'POST', url: '/api/v1/invitations/lookup', payload: { token: tokenOf(link) } });
    expect(lookup.json()).toMatchObject({ address: 'carol@example.test', displayName: 'Carol New' });
    const accept = await h.app.inject({ method: 'POST', url: '/api/v1/invitations/accept', payload: { token: tokenOf(link), password: 'carol chose this' } });
    expect(accept.json()).toEqual({ address: 'carol@example.test' });
    const again = await h.app.inject({ method: 'POST', url: '/api/v1/invitations/accept', payload: { token: tokenOf(link), password: 'someone else now' } });
    expect(again.statusCode).toBe(410);
    expect(again.json()).toMatchObject({ error: { code: 'INVITATION_INVALID' } });
    const signIn = await h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address: 'carol@example.test', password: 'carol chose this' } });
    expect(signIn.statusCode).toBe(200);
    // Signed in, the next step is this device's keys: mail needs an approved device first.
    const token = (signIn.json() as { token: string }).token;
    expect((await call('GET', '/api/v1/mail/messages', token)).json()).toMatchObject({ error: { code: 'DEVICE_REQUIRED' } });
    expect(await h.db.prisma.auditEvent.count({ where: { action: 'auth.invitation_accepted' } })).toBe(1);
  });

  it('expire after 7 days, and a newer link replaces an older one', async () => {
    const first = tokenOf(((await call('POST', '/api/v1/admin/users/dora@example.test/invitation', admin, {})).json() as { link: string }).link);
    const second = tokenOf(((await call('POST', '/api/v1/admin/users/dora@example.test/invitation', admin, {})).json() as { link: string }).link);
    expect((await h.app.inject({ method: 'POST', url: '/api/v1/invitations/lookup', payload: { token: first } })).statusCode).toBe(410);
    const saved = h.clock.now;
    try {
      h.clock.now = new Date(saved.getTime() + INVITATION_TTL_MS - 1000);
      expect((await h.app.inject({ method: 'POST', url: '/api/v1/invitations/lookup', payload: { token: second } })).statusCode).toBe(200);
      h.clock.now = new Date(saved.getTime() + INVITATION_TTL_MS + 1000);
      const late = await h.app.inject({ method: 'POST', url: '/api/v1/invitations/accept', payload: { token: second, password: 'too late for this' } });
      expect(late.json()).toMatchObject({ error: { code: 'INVITATION_INVALID' } });
    } finally {
      h.clock.now = saved;
    }
  });
});

describe('suspension, roles and the last admin', () => {
  it('suspending ends the sessions and refuses sign-in with a clear message; reactivating lets the user in', async () => {
    const bob = await h.signIn('bob@example.test');
    const res = await call('POST', '/api/v1/admin/users/bob@example.test/status', admin, { status: 'suspended' });
    expect(res.json()).toMatchObject({ status: 'suspended' });
    expect((await call('GET', '/api/v1/auth/session', bob.token)).statusCode).toBe(401);
    const refused = await h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address: 'bob@example.test', password: h.password('bob@example.test') } });
    expect(refused.json()).toMatchObject({ error: { code: 'USER_SUSPENDED', message: 'This account is suspended; ask your administrator.' } });
    expect((await call('POST', '/api/v1/admin/users/bob@example.test/status', admin, { status: 'active' })).json()).toMatchObject({ status: 'active' });
    expect((await h.signIn('bob@example.test')).token).toBeTruthy();
  });

  it('the last active admin cannot be demoted, suspended or deleted; with another admin, they can step down', async () => {
    // Frank (an admin from the CSV) is suspended: admin@ is then the only active admin.
    expect((await call('POST', '/api/v1/admin/users/frank@example.test/status', admin, { status: 'suspended' })).statusCode).toBe(200);
    const demote = await call('PATCH', '/api/v1/admin/users/admin@example.test', admin, { role: 'user' });
    expect(demote.statusCode).toBe(409);
    expect(demote.json()).toMatchObject({ error: { code: 'LAST_ADMIN' } });
    expect((await call('POST', '/api/v1/admin/users/admin@example.test/status', admin, { status: 'suspended' })).json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect((await call('DELETE', '/api/v1/admin/users/admin@example.test', admin)).json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect((await h.db.prisma.user.findFirstOrThrow({ where: { localPart: 'admin' } })).role).toBe('admin');
    // Another active admin: the first may become an escrow admin.
    await call('POST', '/api/v1/admin/users/frank@example.test/status', admin, { status: 'active' });
    const frank = await h.db.prisma.user.findFirstOrThrow({ where: { localPart: 'frank' } });
    const bossless = await call('PATCH', '/api/v1/admin/users/frank@example.test', admin, { role: 'escrow_admin' });
    expect(bossless.json()).toMatchObject({ role: 'escrow_admin' });
    await h.db.prisma.user.update({ where: { id: frank.id }, data: { role: 'admin' } });
  });

  it('a role change needs a fresh re-authentication', async () => {
    const saved = h.clock.now;
    try {
      h.clock.now = new Date(saved.getTime() + 60 * 60_000);
      const fresh = (await h.deviceSignIn('admin@example.test')).token;
      h.clock.now = new Date(h.clock.now.getTime() + 30 * 60_000);
      expect((await call('PATCH', '/api/v1/admin/users/erin@example.test', fresh, { role: 'admin' })).json()).toMatchObject({ error: { code: 'REAUTH_REQUIRED' } });
      // A quota change does not.
      expect((await call('PATCH', '/api/v1/admin/users/erin@example.test', fresh, { plan: 'business' })).json()).toMatchObject({ plan: 'business', quotaBytes: PLANS.business.quotaBytes });
    } finally {
      h.clock.now = saved;
    }
  });
});

describe('aliases', () => {
  it('deliver to the user; one that collides with a user, a list or an alias is refused', async () => {
    const res = await call('POST', '/api/v1/admin/users/alice@example.test/aliases', admin, { alias: 'sales@example.test' });
    expect(res.json()).toMatchObject({ aliases: ['sales@example.test'] });
    await call('POST', '/api/v1/admin/lists', admin, { address: 'team@example.test', name: 'Team', members: [] });
    for (const alias of ['bob@example.test', 'team@example.test', 'sales@example.test']) {
      const taken = await call('POST', '/api/v1/admin/users/erin@example.test/aliases', admin, { alias });
      expect(taken.json()).toMatchObject({ error: { code: 'ADDRESS_TAKEN', field: 'body.alias' } });
    }
    // A user or list cannot take an alias's address either.
    expect((await call('POST', '/api/v1/admin/users', admin, { address: 'sales@example.test', displayName: 'S' })).json()).toMatchObject({ error: { code: 'ADDRESS_TAKEN' } });
    expect((await call('POST', '/api/v1/admin/lists', admin, { address: 'sales@example.test', name: 'S', members: [] })).json()).toMatchObject({ error: { code: 'ADDRESS_TAKEN' } });
    const { findMailboxByAddress } = await import('@sealmail/db');
    expect((await findMailboxByAddress(h.db.prisma, 'SALES@example.test'))?.localPart).toBe('alice');
    expect((await call('DELETE', '/api/v1/admin/users/alice@example.test/aliases/sales@example.test', admin)).json()).toMatchObject({ aliases: [] });
    expect(await findMailboxByAddress(h.db.prisma, 'sales@example.test')).toBeNull();
  });
});

describe('legal hold', () => {
  const deliver = async (to: string, subject: string) => {
    const userId = await userIdOf(h, to);
    const raw = Buffer.from(`From: Dave <dave@elsewhere.example>\r\nTo: ${to}\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@elsewhere.example>\r\n\r\nEvidence\r\n`);
    const stored = await deliverLocal({ db: h.db.prisma, blobs: postgresBlobStore(h.db.prisma), hostname: 'mx.example.test', now: () => h.clock.now, logger: createLogger({ level: 'silent' }) }, raw, { mailFrom: 'dave@elsewhere.example', recipients: [{ address: to, userId, folder: 'inbox' }], extraHeaders: [] });
    return stored.entries[0]!.entryId;
  };

  it('keeps mail the held user deletes for good, while the user sees it gone; the user cannot be deleted; lifting lets it go', async () => {
    const alice = (await h.deviceSignIn('alice@example.test')).token;
    const entryId = await deliver('alice@example.test', 'Held invoice');
    const messageId = (await h.db.prisma.mailboxEntry.findUniqueOrThrow({ where: { id: entryId } })).messageId;
    const hold = await call('PUT', '/api/v1/admin/users/alice@example.test/legal-hold', admin, { reason: 'Case 2026-17: invoices' });
    expect(hold.json()).toMatchObject({ legalHold: { reason: 'Case 2026-17: invoices', by: 'admin@example.test' } });
    const usedBefore = Number((await h.db.prisma.user.findFirstOrThrow({ where: { localPart: 'alice' } })).usedBytes);

    // To Trash, then deleted for good from Trash: both answer as usual.
    expect((await call('DELETE', `/api/v1/mail/messages/${entryId}`, alice)).json()).toMatchObject({ deleted: 'trash' });
    expect((await call('DELETE', `/api/v1/mail/messages/${entryId}`, alice)).json()).toMatchObject({ deleted: 'permanently' });
    // Alice sees it gone: not in Trash, not by id, and her quota is refunded.
    expect(((await call('GET', '/api/v1/mail/messages?folder=trash', alice)).json() as { entries: unknown[] }).entries).toEqual([]);
    expect((await call('GET', `/api/v1/mail/messages/${entryId}`, alice)).statusCode).toBe(404);
    expect(Number((await h.db.prisma.user.findFirstOrThrow({ where: { localPart: 'alice' } })).usedBytes)).toBeLessThan(usedBefore);
    // The data stays: the message and Alice's sealed copy of it.
    expect(await h.db.prisma.message.count({ where: { id: messageId } })).toBe(1);
    expect(await h.db.prisma.heldMailboxEntry.findUnique({ where: { id: entryId } })).toMatchObject({ messageId, folder: 'trash' });

    const del = await call('DELETE', '/api/v1/admin/users/alice@example.test', admin);
    expect(del.statusCode).toBe(409);
    expect(del.json()).toMatchObject({ error: { code: 'LEGAL_HOLD' } });
    const holds = (await call('GET', '/api/v1/admin/legal-holds', admin)).json() as { holds: { address: string; keptEntries: number; reason: string }[] };
    expect(holds.holds).toEqual([expect.objectContaining({ address: 'alice@example.test', keptEntries: 1, reason: 'Case 2026-17: invoices' })]);
    expect(await h.db.prisma.auditEvent.count({ where: { action: 'admin.legal_hold_set' } })).toBe(1);

    // Lifting the hold (fresh re-authentication) lets what she deleted go for good.
    const lift = await call('DELETE', '/api/v1/admin/users/alice@example.test/legal-hold', admin);
    expect(lift.json()).toMatchObject({ entriesDeleted: 1, user: { legalHold: null } });
    expect(await h.db.prisma.message.count({ where: { id: messageId } })).toBe(0);
    expect(await h.db.prisma.auditEvent.count({ where: { action: 'admin.legal_hold_lifted' } })).toBe(1);
  });

  it('without a hold, deleting for good deletes', async () => {
    const alice = (await h.deviceSignIn('alice@example.test')).token;
    const entryId = await deliver('alice@example.test', 'Not held');
    const messageId = (await h.db.prisma.mailboxEntry.findUniqueOrThrow({ where: { id: entryId } })).messageId;
    await call('DELETE', `/api/v1/mail/messages/${entryId}`, alice);
    await call('DELETE', `/api/v1/mail/messages/${entryId}`, alice);
    expect(await h.db.prisma.message.count({ where: { id: messageId } })).toBe(0);
    expect(await h.db.prisma.heldMailboxEntry.count({ where: { id: entryId } })).toBe(0);
  });

  it('setting and lifting a hold need a fresh re-authentication', async () => {
    const saved = h.clock.now;
    try {
      h.clock.now = new Date(saved.getTime() + 2 * 3600_000);
      const stale = (await h.deviceSignIn('admin@example.test')).token;
      h.clock.now = new Date(h.clock.now.getTime() + 30 * 60_000);
      expect((await call('PUT', '/api/v1/admin/users/bob@example.test/legal-hold', stale, { reason: 'Late case' })).json()).toMatchObject({ error: { code: 'REAUTH_REQUIRED' } });
    } finally {
      h.clock.now = saved;
    }
  });
});

describe('deleting a user', () => {
  it('deletes their mailbox; mail others hold stays theirs', async () => {
    const ida = await h.db.prisma.user.findFirstOrThrow({ where: { localPart: 'ida' } });
    const res = await call('DELETE', '/api/v1/admin/users/ida@example.test', admin);
    expect(res.json()).toEqual({ deleted: true, messagesDeleted: 0 });
    expect(await h.db.prisma.user.count({ where: { id: ida.id } })).toBe(0);
    expect(await h.db.prisma.auditEvent.count({ where: { action: 'admin.user_deleted' } })).toBe(1);
  });
});

describe('health', () => {
  it('names the database, queue, storage (no SMTP or certificate configured in this test)', async () => {
    const res = await call('GET', '/api/v1/admin/health', admin);
    expect(res.statusCode).toBe(200);
    const body = res.json() as { database: { ok: boolean }; storage: { users: number; usedBytes: number }; smtp: { ok: boolean }; certificate: unknown; version: string };
    expect(body).toMatchObject({ version: '1.2.3', database: { ok: true }, smtp: { ok: false }, certificate: null });
    expect(body.storage.users).toBe(await h.db.prisma.user.count({ where: { domain: { name: 'example.test' } } }));
  });
});
