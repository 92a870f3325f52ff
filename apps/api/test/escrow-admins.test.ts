/**
 * Several escrow admins and eDiscovery (docs/admin.md "Escrow & discovery"), on a real Postgres
 * through the in-process API with the real client flows (Identity, EscrowAdmin, exportDiscovery):
 * an admin designates a second escrow admin (recorded); the key reaches that person's device boxed
 * by the admin's device; after the first escrow admin's key is gone, the second one still opens a
 * user's mail: an mbox with exactly the requested messages, decrypted, whose manifest hashes match,
 * the opening with its case reference in the change history and in the user's openings list. The
 * authorisation matrix: user, admin, escrow admin, another organisation's admin.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleParser } from 'mailparser';
import { ApiClient } from '@sealmail/client';
import { EscrowAdmin, exportDiscovery, Identity, memoryKeyStore, sha256Hex, splitMbox } from '@sealmail/client/identity';
import { seedDemo } from '@sealmail/db';
import { deliverLocal, ephemeralServerMailKey, postgresBlobStore } from '@sealmail/mailstore';
import { createLogger } from '@sealmail/server';
import { bearer, harness, injectFetch, userIdOf, type Harness } from './helpers';

let h: Harness;
const ADMIN = 'admin@example.test';
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const OTHER_ADMIN = 'admin@other.test';
let otherPasswords: Record<string, string>;

beforeAll(async () => {
  h = await harness();
  const other = await seedDemo(h.db.prisma, { domain: 'other.test' });
  otherPasswords = Object.fromEntries(other.users.map((u) => [u.address, u.password!]));
}, 60_000);
afterAll(() => h?.close());

async function deviceOf(address: string, password?: string) {
  const res = await h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address, password: password ?? h.password(address) } });
  const token = (res.json() as { token: string }).token;
  const api = new ApiClient({ baseUrl: 'http://api.invalid', fetch: injectFetch(h.app), token });
  const identity = new Identity(api, memoryKeyStore());
  await identity.setUpThisDevice({ address, name: 'Laptop', kind: 'browser' });
  return { api, identity, token, escrow: new EscrowAdmin(api, identity) };
}
type Device = Awaited<ReturnType<typeof deviceOf>>;
const audit = (action: string) => h.db.prisma.auditEvent.findMany({ where: { action }, orderBy: { id: 'asc' } });
const inject = (method: 'GET' | 'POST' | 'DELETE', url: string, token: string, payload?: unknown) => h.app.inject({ method, url, headers: bearer(token), ...(payload ? { payload } : {}) });

let admin: Device;
let alice: Device;
let bob: Device;
let other: Device;

/** Mail from outside to Alice, received at `at` (server-sealed to her newest key, as the ingress does). */
async function mailToAlice(at: string, subject: string, text: string, attachment?: { name: string; content: string }) {
  const boundary = 'b1';
  const raw = attachment
    ? `From: Vendor <billing@vendor.example>\r\nTo: ${ALICE}\r\nSubject: ${subject}\r\nDate: ${new Date(at).toUTCString()}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@vendor.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="${boundary}"\r\n\r\n--${boundary}\r\nContent-Type: text/plain\r\n\r\n${text}\r\n--${boundary}\r\nContent-Type: text/plain; name="${attachment.name}"\r\nContent-Disposition: attachment; filename="${attachment.name}"\r\n\r\n${attachment.content}\r\n--${boundary}--\r\n`
    : `From: Vendor <billing@vendor.example>\r\nTo: ${ALICE}\r\nSubject: ${subject}\r\nDate: ${new Date(at).toUTCString()}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@vendor.example>\r\n\r\n${text}\r\n`;
  await deliverLocal({ db: h.db.prisma, blobs: postgresBlobStore(h.db.prisma), hostname: 'mx.example.test', now: () => new Date(at), logger: createLogger({ level: 'silent' }), serverPublicKey: ephemeralServerMailKey().publicKey }, Buffer.from(raw), {
    mailFrom: 'billing@vendor.example',
    recipients: [{ address: ALICE, userId: await userIdOf(h, ALICE) }],
  });
}

describe('escrow admins', () => {
  it('an admin designates a second escrow admin (recorded); users, escrow admins and other organisations cannot', { timeout: 60_000 }, async () => {
    admin = await deviceOf(ADMIN);
    alice = await deviceOf(ALICE);
    bob = await deviceOf(BOB);
    other = await deviceOf(OTHER_ADMIN, otherPasswords[OTHER_ADMIN]);
    await admin.escrow.enable(ADMIN);
    await alice.identity.acceptEscrow(ALICE);
    // The enabling admin is the first escrow admin.
    expect((await admin.escrow.admins()).map((a) => a.address)).toEqual([ADMIN]);

    // A user may neither designate nor look.
    expect((await inject('POST', '/api/v1/admin/escrow/admins', alice.token, { address: BOB })).json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect((await inject('GET', '/api/v1/admin/escrow/admins', alice.token)).statusCode).toBe(403);
    // Another organisation's admin: this organisation's users do not exist for them.
    expect((await inject('POST', '/api/v1/admin/escrow/admins', other.token, { address: BOB })).statusCode).toBe(404);
    expect((await inject('GET', '/api/v1/admin/escrow/admins', other.token)).json()).toEqual({ admins: [] });

    const view = await admin.escrow.designate(BOB);
    expect(view).toMatchObject({ address: BOB, role: 'escrow_admin', designatedBy: ADMIN, devices: [{ holdsKey: false }] });
    expect((await h.db.prisma.user.findFirstOrThrow({ where: { localPart: 'bob', domain: { name: 'example.test' } } })).role).toBe('escrow_admin');
    expect((await audit('escrow.admin_designated')).map((e) => e.details)).toEqual([{ user: BOB, actorDeviceId: expect.any(String) }]);
    // Designating again changes nothing and records nothing.
    await admin.escrow.designate(BOB);
    expect(await audit('escrow.admin_designated')).toHaveLength(1);

    // An escrow admin is not an admin: may look, may not designate.
    const bobAgain = await h.signIn(BOB);
    expect((await inject('GET', '/api/v1/admin/escrow/admins', bob.token)).statusCode).toBe(200);
    expect((await inject('POST', '/api/v1/admin/escrow/admins', bobAgain.token, { address: ALICE })).statusCode).toBe(403);
    // Designation needs a fresh re-authentication.
    h.clock.now = new Date(h.clock.now.getTime() + 6 * 60_000);
    expect((await inject('POST', '/api/v1/admin/escrow/admins', admin.token, { address: ALICE })).json()).toMatchObject({ error: { code: 'REAUTH_REQUIRED' } });
    expect((await inject('DELETE', `/api/v1/admin/escrow/admins/${encodeURIComponent(BOB)}`, admin.token)).json()).toMatchObject({ error: { code: 'REAUTH_REQUIRED' } });
    await admin.api.reauth(h.password(ADMIN));
  });

  it('the key reaches the second escrow admin’s device boxed by a device that holds it; nobody else can add boxes', { timeout: 60_000 }, async () => {
    // Bob holds nothing yet: he cannot share or open anything.
    await expect(bob.escrow.shareKey(BOB)).rejects.toMatchObject({ code: 'NO_ESCROW_KEY' });
    expect((await inject('POST', '/api/v1/admin/escrow/boxes', alice.token, { boxes: [{ deviceId: 'ab'.repeat(32), box: 'AA' }] })).statusCode).toBe(403);
    expect((await inject('POST', '/api/v1/admin/escrow/boxes', bob.token, { boxes: [{ deviceId: 'ab'.repeat(32), box: 'AA' }] })).json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
    // A box for a device that is not a designated escrow admin's is refused.
    const aliceDevice = (await h.db.prisma.device.findFirstOrThrow({ where: { user: { localPart: 'alice', domain: { name: 'example.test' } }, kind: 'browser' } })).id;
    expect((await inject('POST', '/api/v1/admin/escrow/boxes', admin.token, { boxes: [{ deviceId: aliceDevice, box: 'AA' }] })).json()).toMatchObject({ error: { code: 'ESCROW_INVALID', field: 'body.boxes.0.deviceId' } });

    const added = await admin.escrow.shareKey(ADMIN);
    expect(added).toEqual([{ address: BOB, deviceId: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
    expect(await admin.escrow.shareKey(ADMIN)).toEqual([]);
    expect((await audit('escrow.key_shared')).map((e) => e.details)).toEqual([expect.objectContaining({ to: added })]);
    expect((await bob.escrow.admins()).find((a) => a.address === BOB)!.devices).toEqual([expect.objectContaining({ holdsKey: true })]);
  });

  it('with the first escrow admin’s key gone, the second one still opens a user’s keys; the last holder cannot be removed', { timeout: 60_000 }, async () => {
    expect((await admin.escrow.undesignate(ADMIN)).boxesDeleted).toBe(1);
    expect((await audit('escrow.admin_removed')).map((e) => e.details)).toEqual([expect.objectContaining({ user: ADMIN, boxesDeleted: 1 })]);
    await expect(admin.escrow.discover(ADMIN, ALICE)).rejects.toMatchObject({ code: 'NO_ESCROW_KEY' });
    const puks = await bob.escrow.discover(BOB, ALICE);
    expect(puks.length).toBeGreaterThan(0);
    // Bob is now the only one holding it.
    expect((await inject('DELETE', `/api/v1/admin/escrow/admins/${encodeURIComponent(BOB)}`, admin.token)).json()).toMatchObject({ error: { code: 'CONFLICT' } });
  });
});

describe('eDiscovery', () => {
  it('exports an mbox with exactly the requested messages, decrypted, and a manifest whose hashes match; the opening is recorded with its case', { timeout: 90_000 }, async () => {
    await mailToAlice('2027-01-10T09:00:00Z', 'Invoice 42 overdue', 'Please pay invoice 42.', { name: 'invoice-42.txt', content: 'Amount: 1200 EUR' });
    await mailToAlice('2027-01-20T09:00:00Z', 'Lunch on Friday', 'Shall we?');
    await mailToAlice('2027-02-05T09:00:00Z', 'Invoice 43', 'Next invoice, outside the range.');
    await mailToAlice('2026-12-31T23:59:59Z', 'Invoice 41', 'Before the range.');

    const req = { adminAddress: BOB, userAddress: ALICE, from: new Date('2027-01-01T00:00:00Z'), to: new Date('2027-02-01T00:00:00Z'), terms: ['INVOICE'], caseRef: 'CASE-2027-001 (Vendor dispute)' };
    const { mbox, manifest } = await exportDiscovery(bob.api, bob.escrow, req);
    expect(manifest).toMatchObject({ caseRef: req.caseRef, user: ALICE, exportedBy: BOB, scanned: 2, unopened: [], terms: ['INVOICE'] });
    expect(manifest.messages.map((m) => m.subject)).toEqual(['Invoice 42 overdue']);
    expect(manifest.messages[0]).toMatchObject({ messageId: 'Invoice42overdue@vendor.example', date: '2027-01-10T09:00:00.000Z', attachments: [{ filename: 'invoice-42.txt' }] });

    // The mbox: one message, its hash as in the manifest, the whole file's hash too.
    expect(manifest.mbox).toEqual({ file: 'messages.mbox', bytes: mbox.length, sha256: await sha256Hex(mbox) });
    const parts = splitMbox(mbox);
    expect(parts).toHaveLength(1);
    expect(await sha256Hex(parts[0]!)).toBe(manifest.messages[0]!.sha256);
    expect(new TextDecoder().decode(mbox)).toMatch(/^From billing@vendor\.example \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\n/);
    const parsed = await simpleParser(Buffer.from(parts[0]!));
    expect(parsed.subject).toBe('Invoice 42 overdue');
    expect(parsed.text).toContain('Please pay invoice 42.');
    expect(parsed.attachments.map((a) => [a.filename, a.content.toString()])).toEqual([['invoice-42.txt', 'Amount: 1200 EUR']]);

    // No terms: every message of the range.
    const all = await exportDiscovery(bob.api, bob.escrow, { ...req, terms: [] });
    expect(all.manifest.messages.map((m) => m.subject)).toEqual(['Invoice 42 overdue', 'Lunch on Friday']);
    expect(splitMbox(all.mbox)).toHaveLength(2);

    // Recorded: in the change history with the case reference, and in Alice's own openings list.
    expect((await audit('escrow.discovery_opened')).map((e) => e.details)).toEqual([
      expect.objectContaining({ user: ALICE, caseRef: req.caseRef, from: '2027-01-01T00:00:00.000Z', to: '2027-02-01T00:00:00.000Z' }),
      expect.objectContaining({ user: ALICE, caseRef: req.caseRef }),
    ]);
    const { openings } = await alice.api.escrowOpenings();
    expect(openings).toContainEqual(expect.objectContaining({ purpose: 'discovery', by: BOB, caseRef: req.caseRef, range: { from: '2027-01-01T00:00:00.000Z', to: '2027-02-01T00:00:00.000Z' } }));
  });

  it('authorisation: only a designated escrow admin’s device holding the key; another organisation’s admin finds no such user; bad input named', async () => {
    const url = `/api/v1/admin/escrow/users/${encodeURIComponent(ALICE)}/discovery`;
    const body = { from: '2027-01-01T00:00:00Z', to: '2027-02-01T00:00:00Z', caseRef: 'CASE-1' };
    expect((await inject('POST', url, alice.token, body)).json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
    // The admin no longer holds the key (not designated any more).
    expect((await inject('POST', url, admin.token, body)).json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect((await inject('POST', url, other.token, body)).statusCode).toBe(404);
    expect((await inject('POST', url, bob.token, { ...body, caseRef: '  ' })).json()).toMatchObject({ error: { code: 'VALIDATION_FAILED', field: 'body.caseRef' } });
    expect((await inject('POST', url, bob.token, { ...body, to: body.from })).json()).toMatchObject({ error: { code: 'VALIDATION_FAILED', field: 'body.to' } });
    expect((await inject('POST', url, bob.token, body)).statusCode).toBe(200);
    // Attachment pieces only of messages this user holds.
    const blob = await h.db.prisma.blob.findFirstOrThrow({ where: { message: { entries: { some: { user: { localPart: 'alice' } } } } } });
    const piece = (token: string, address = ALICE) => inject('GET', `/api/v1/admin/escrow/users/${encodeURIComponent(address)}/discovery/blobs/${blob.id}`, token);
    expect((await piece(bob.token)).statusCode).toBe(200);
    expect((await piece(bob.token, BOB)).statusCode).toBe(404);
    expect((await piece(alice.token)).statusCode).toBe(403);
    expect((await piece(other.token)).statusCode).toBe(404);
  });

  it('a user given the escrow_admin role on the Users screen counts as an escrow admin; removing them makes them a user again', async () => {
    await h.db.prisma.user.updateMany({ where: { localPart: 'alice', domain: { name: 'example.test' } }, data: { role: 'escrow_admin' } });
    expect((await bob.escrow.admins()).find((a) => a.address === ALICE)).toMatchObject({ role: 'escrow_admin', designatedBy: null });
    await admin.api.reauth(h.password(ADMIN));
    expect(await admin.escrow.undesignate(ALICE)).toEqual({ removed: true, boxesDeleted: 0 });
    expect((await h.db.prisma.user.findFirstOrThrow({ where: { localPart: 'alice', domain: { name: 'example.test' } } })).role).toBe('user');
    expect((await bob.escrow.admins()).map((a) => a.address)).toEqual([BOB]);
  });
});
