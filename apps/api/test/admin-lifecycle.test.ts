/**
 * The admin side and the account lifecycle against misuse (docs/admin.md; from an adversarial
 * review, each test failed on the code before its fix). Real Postgres, the in-process API, the real client flows for
 * devices, mail and escrow. Nothing here is faked (no DNS or remote host is involved); rows that
 * stand for another organisation's outbound traffic are written with Prisma as the relay writes them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '@sealmail/client';
import { EscrowAdmin, Identity, memoryKeyStore } from '@sealmail/client/identity';
import { hashPassword } from '@sealmail/server';
import { bearer, harness, injectFetch, signedInDevice, userIdOf, type Harness } from './helpers';

let h: Harness;
const ADMIN = 'admin@example.test';
const ADMIN2 = 'second-admin@example.test';
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';

let admin: { token: string; escrow: EscrowAdmin };
let admin2: string;
let alice: Awaited<ReturnType<typeof signedInDevice>>;

const call = (method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', url: string, token: string, payload?: unknown) =>
  h.app.inject({ method, url, headers: bearer(token), ...(payload !== undefined ? { payload: payload as object } : {}) });

/** A browser device of `address` set up with the real client flow (an admin's can hold the escrow key). */
async function browserDevice(address: string, password: string) {
  const res = await h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address, password } });
  const token = (res.json() as { token: string }).token;
  const api = new ApiClient({ baseUrl: 'http://api.invalid', fetch: injectFetch(h.app), token });
  const identity = new Identity(api, memoryKeyStore());
  await identity.setUpThisDevice({ address, name: 'Console', kind: 'browser' });
  return { token, escrow: new EscrowAdmin(api, identity) };
}

const entriesOf = async (address: string) => h.db.prisma.mailboxEntry.count({ where: { userId: await userIdOf(h, address) } });

beforeAll(async () => {
  h = await harness();
  admin = await browserDevice(ADMIN, h.password(ADMIN));
  // A second administrator of the same organisation.
  const domain = await h.db.prisma.domain.findUniqueOrThrow({ where: { name: 'example.test' } });
  await h.db.prisma.user.create({ data: { accountId: domain.accountId, domainId: domain.id, localPart: 'second-admin', displayName: 'Second Admin', role: 'admin', passwordHash: await hashPassword('pw-second-admin') } });
  admin2 = (await browserDevice(ADMIN2, 'pw-second-admin')).token;
  alice = await signedInDevice(h.app, ALICE, h.password(ALICE));
  // Bob has keys: mail to him could be sealed if the server let it through.
  await signedInDevice(h.app, BOB, h.password(BOB));
}, 120_000);
afterAll(async () => h?.close());

describe('addresses are unique across users, aliases, lists, shared mailboxes and resources', () => {
  it('a shared mailbox on a mailing list’s address is refused (409) and no user is made there', { timeout: 60_000 }, async () => {
    const list = await call('POST', '/api/v1/admin/lists', admin.token, { address: 'team@example.test', name: 'Team', members: [ALICE] });
    expect(list.statusCode, list.body).toBe(200);
    const shared = await call('POST', '/api/v1/admin/shared-mailboxes', admin.token, { address: 'team@example.test', displayName: 'Team inbox' });
    expect(shared.statusCode, shared.body).toBe(409);
    expect(await h.db.prisma.user.count({ where: { localPart: 'team', domain: { name: 'example.test' } } })).toBe(0);
  });

  it('a user, an alias or a mailing list on a room’s address is refused with ADDRESS_TAKEN', { timeout: 60_000 }, async () => {
    const room = await call('POST', '/api/v1/admin/resources', admin.token, { address: 'room-4@example.test', name: 'Room 4', kind: 'room' });
    expect(room.statusCode, room.body).toBe(200);
    const user = await call('POST', '/api/v1/admin/users', admin.token, { address: 'room-4@example.test', displayName: 'Room Four' });
    expect(user.json()).toMatchObject({ error: { code: 'ADDRESS_TAKEN' } });
    const alias = await call('POST', `/api/v1/admin/users/${BOB}/aliases`, admin.token, { alias: 'room-4@example.test' });
    expect(alias.json()).toMatchObject({ error: { code: 'ADDRESS_TAKEN' } });
    const list = await call('POST', '/api/v1/admin/lists', admin.token, { address: 'room-4@example.test', name: 'Room list', members: [] });
    expect(list.json()).toMatchObject({ error: { code: 'ADDRESS_TAKEN' } });
  });
});

describe('a suspended user receives no mail', () => {
  beforeAll(async () => {
    const res = await call('POST', `/api/v1/admin/users/${BOB}/status`, admin.token, { status: 'suspended' });
    expect(res.statusCode, res.body).toBe(200);
  });
  afterAll(async () => {
    await call('POST', `/api/v1/admin/users/${BOB}/status`, admin.token, { status: 'active' });
  });

  it('a calendar invitation to a suspended colleague puts no mail in their mailbox', { timeout: 60_000 }, async () => {
    const before = await entriesOf(BOB);
    const cal = ((await call('GET', '/api/v1/calendars', alice.token)).json() as { calendars: { id: string }[] }).calendars[0]!.id;
    await call('POST', `/api/v1/calendars/${cal}/events`, alice.token, {
      title: 'Planning',
      start: '2026-12-07T09:00',
      end: '2026-12-07T10:00',
      startTz: 'Europe/Berlin',
      endTz: 'Europe/Berlin',
      attendees: [{ email: BOB, role: 'REQ-PARTICIPANT', partstat: 'NEEDS-ACTION' }],
    });
    // The SMTP ingress refuses a suspended user's address (550 5.1.1); the invitation path must not deliver either.
    expect(await entriesOf(BOB)).toBe(before);
  });

  it('end-to-end mail from a colleague to a suspended user is refused and stored nowhere for them', { timeout: 60_000 }, async () => {
    const before = await entriesOf(BOB);
    const sent = await alice.mail.send({ to: [BOB], subject: 'Are you still here?', text: 'Hello Bob' }).then(
      () => 'sent',
      (err: unknown) => (err as Error).message,
    );
    expect(await entriesOf(BOB), `send answered: ${sent}`).toBe(before);
  });
});

describe('the admin overview', () => {
  it('counts only the organisation’s own failed outbound deliveries', { timeout: 60_000 }, async () => {
    // Another organisation on this server, with a delivery that failed for good (as the relay leaves it).
    const other = await h.db.prisma.account.create({ data: { name: 'Other Org' } });
    const domain = await h.db.prisma.domain.create({ data: { accountId: other.id, name: 'other.test' } });
    const sender = await h.db.prisma.user.create({ data: { accountId: other.id, domainId: domain.id, localPart: 'ceo', displayName: 'CEO', passwordHash: '!' } });
    const message = await h.db.prisma.message.create({
      data: { mailId: '<m1@other.test>', senderUserId: sender.id, senderAddress: 'ceo@other.test', toAddresses: ['partner@elsewhere.example'], ccAddresses: [], protection: 'server', envelope: new Uint8Array(1), manifest: new Uint8Array(1), body: new Uint8Array(1), bodySize: 1, attachmentSizes: [], size: 3n },
    });
    await h.db.prisma.outboundDelivery.create({ data: { messageId: message.id, recipient: 'partner@elsewhere.example', status: 'failed', attempts: 9, lastError: '550 no such user' } });
    // This organisation's own Mail flow shows nothing failed...
    const flow = await call('GET', '/api/v1/admin/outbound?status=failed', admin.token);
    expect(flow.statusCode, flow.body).toBe(200);
    expect((flow.json() as { deliveries: unknown[] }).deliveries).toEqual([]);
    // ...so its overview must not count another organisation's failure either.
    const health = await call('GET', '/api/v1/admin/health', admin.token);
    expect(health.statusCode, health.body).toBe(200);
    expect((health.json() as { queue: { failed: number } }).queue.failed).toBe(0);
  });
});

describe('escrow survives the Users screen', () => {
  it('deleting the only escrow admin who holds the escrow key while escrow is on is refused, as removing their designation is', { timeout: 120_000 }, async () => {
    await admin.escrow.enable(ADMIN);
    // The Escrow screen refuses to remove the last holder of the key.
    const undesignate = await call('DELETE', `/api/v1/admin/escrow/admins/${ADMIN}`, admin2);
    expect(undesignate.json()).toMatchObject({ error: { code: 'CONFLICT' } });
    // Deleting that person on the Users screen must not silently lose the key for every user.
    const del = await call('DELETE', `/api/v1/admin/users/${ADMIN}`, admin2);
    expect(del.statusCode, del.body).toBe(409);
    const escrow = await h.db.prisma.escrowKey.findFirstOrThrow({ where: { status: 'active' } });
    expect(await h.db.prisma.escrowBox.count({ where: { escrowId: escrow.id } })).toBeGreaterThan(0);
  });
});

describe('set-up links', () => {
  it('a set-up link for a user who already set up their account is refused to a session that could not reset their password', { timeout: 60_000 }, async () => {
    const saved = h.clock.now;
    try {
      // Ten minutes later: the admin's session is live, its last proof of the password is not fresh.
      h.clock.now = new Date(saved.getTime() + 10 * 60_000);
      const reset = await call('POST', `/api/v1/admin/users/${ALICE}/password-reset`, admin2, {});
      expect(reset.json()).toMatchObject({ error: { code: 'REAUTH_REQUIRED' } });
      // A set-up link lets whoever holds it choose Alice's password and sign in as her: the same
      // power as a password reset, so it must not be had without the re-authentication either
      // (or must be refused for a user who has a password and keys already).
      const link = await call('POST', `/api/v1/admin/users/${ALICE}/invitation`, admin2, {});
      expect([403, 409], link.body).toContain(link.statusCode);
    } finally {
      h.clock.now = saved;
    }
  });
});
