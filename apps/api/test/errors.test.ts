/**
 * Every error code of the registry is produced by a real request, with the documented body, and
 * no stack trace or internal message ever reaches the client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { errorCodes, errorRegistry, MAX_EVENTS_PER_CALENDAR, type ErrorCode } from '@sealmail/contract';
import { createDb } from '@sealmail/db';
import { buildWebHost, createLogger, hashPassword, makeSelfSignedCertificate, SESSION_COOKIES, strictCsp } from '@sealmail/server';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../src/app';
import { ApiClient } from '@sealmail/client';
import { EscrowAdmin, Identity, memoryKeyStore } from '@sealmail/client/identity';
import { createHash, randomUUID } from 'node:crypto';
import { createLink, encodeEnvelope, fromHex, pieceCiphertextLength, generatePerUserKey, LinkType, publicKeysOf, signSessionBinding, toBase64Url } from '@sealmail/crypto';
import { bearer, ChainClient, harness, injectFetch, userIdOf, type Harness } from './helpers';

let h: Harness;
let deadApp: FastifyInstance;
let webHost: FastifyInstance;
let webRoot: string;

/** One raw HTTP/1.1 exchange with a listening app (for what Node's parser answers itself). */
async function rawRequest(app: FastifyInstance, request: string) {
  if (!app.server.listening) await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  const raw = await new Promise<string>((resolve, reject) => {
    const sock = netConnect(port, '127.0.0.1', () => sock.write(request));
    let out = '';
    sock.on('data', (d: Buffer) => (out += d.toString('latin1')));
    sock.on('close', () => resolve(out));
    sock.on('error', (e) => (out ? resolve(out) : reject(e)));
  });
  const [head, body = ''] = raw.split('\r\n\r\n');
  const statusCode = Number(/^HTTP\/1\.1 (\d{3})/.exec(head ?? '')?.[1]);
  const headers = Object.fromEntries((head ?? '').split('\r\n').slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  return { statusCode, headers, body, json: () => JSON.parse(body) as unknown };
}

/** A user of the demo organisation with a known password, for one probe. */
async function makeUser(localPart: string, data: { status?: 'suspended'; totpSecret?: string; role?: 'admin'; mustChangePassword?: boolean } = {}) {
  const domain = await h.db.prisma.domain.findUniqueOrThrow({ where: { name: 'example.test' } });
  await h.db.prisma.user.create({
    data: { accountId: domain.accountId, domainId: domain.id, localPart, displayName: localPart, passwordHash: await hashPassword('pw-' + localPart), ...data },
  });
  return { address: `${localPart}@example.test`, password: 'pw-' + localPart };
}
/** A signed-in client with its own device keys (real client flows through app.inject). */
async function deviceFor(u: { address: string; password: string }) {
  const token = ((await signIn(u)).json() as { token: string }).token;
  const api = new ApiClient({ baseUrl: 'http://api.invalid', fetch: injectFetch(h.app), token });
  const identity = new Identity(api, memoryKeyStore());
  await identity.setUpThisDevice({ address: u.address, name: 'Probe', kind: 'cli' });
  return { api, identity, token };
}
/** A user in another organisation (its own account and domain). */
async function makeUserIn(localPart: string, domainName: string) {
  const account = await h.db.prisma.account.create({ data: { name: domainName } });
  const domain = await h.db.prisma.domain.create({ data: { accountId: account.id, name: domainName } });
  await h.db.prisma.user.create({ data: { accountId: account.id, domainId: domain.id, localPart, displayName: localPart, passwordHash: 'x' } });
}
/** A send whose recipients are checked (the sealed parts are junk, so a valid recipient fails later). */
async function sendProbe(lists: { to: string[]; external?: string[]; sendAt?: string; from?: string }, sender?: { address: string; password: string }) {
  const d = await deviceFor(sender ?? (await makeUser(`sender-${Math.random().toString(36).slice(2, 8)}`)));
  const { deviceId, userId } = await d.identity.thisDevice((await d.api.session()).user.address).then((m) => ({ deviceId: m.device.deviceId, userId: m.userId }));
  const manifest = new Uint8Array(40);
  const manifestHash = new Uint8Array(createHash('sha256').update(manifest).digest());
  const envelope = encodeEnvelope({ messageId: 'probe@example.test', sender: { kind: 'device', userId, deviceId, signingPublicKey: new Uint8Array(32) }, recipients: [], manifestHash, bccCommitment: new Uint8Array(32) });
  return h.app.inject({
    method: 'POST',
    url: '/api/v1/mail/messages',
    headers: bearer(d.token),
    payload: { envelope: toBase64Url(envelope), manifest: toBase64Url(manifest), body: toBase64Url(new Uint8Array(pieceCiphertextLength(0))), ...lists, boxes: [{ address: 'bob@example.test', record: 'AAAA' }] },
  });
}
const signIn = (payload: Record<string, unknown>) => h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload });

beforeAll(async () => {
  h = await harness();
  // A route that fails unexpectedly, to prove 500s carry no internals.
  h.app.get('/api/v1/test-explode', async () => {
    throw new Error('secret internal detail at /srv/sealmail/thing.ts:42');
  });
  // An API whose database is unreachable (nothing listens on port 9).
  deadApp = await buildApp({ logger: createLogger({ level: 'silent' }), db: createDb('postgres://nobody:nothing@127.0.0.1:9/none'), version: '0' });
  // A web host whose API is down (nothing listens on port 9).
  webRoot = await mkdtemp(join(tmpdir(), 'sealmail-errors-web-'));
  await writeFile(join(webRoot, 'index.html'), '<!doctype html><title>t</title>');
  webHost = await buildWebHost({ root: webRoot, csp: strictCsp(), apiUrl: 'https://127.0.0.1:9', sessionCookie: SESSION_COOKIES.web, tls: await makeSelfSignedCertificate(['localhost']), logger: createLogger({ level: 'silent' }) });
});

afterAll(async () => {
  await deadApp?.close();
  await webHost?.close();
  if (webRoot) await rm(webRoot, { recursive: true, force: true });
  await h?.close();
});

type Probe = () => Promise<{ statusCode: number; json: () => unknown; body: string }>;

const lookup = async (payload: unknown, headers: Record<string, string> = {}) => {
  const { token } = await h.deviceSignIn('alice@example.test');
  return h.app.inject({ method: 'POST', url: '/api/v1/directory/lookup', headers: { ...bearer(token), ...headers }, payload: payload as string });
};

/** A request on alice's default calendar (`/api/v1/calendars/<id>/<sub>`). */
const calendarCall = async (method: 'POST' | 'DELETE', sub: string, payload?: unknown) => {
  const { token } = await h.deviceSignIn('alice@example.test');
  const list = (await h.app.inject({ method: 'GET', url: '/api/v1/calendars', headers: bearer(token) })).json() as { calendars: { id: string }[] };
  const url = `/api/v1/calendars/${list.calendars[0]!.id}${sub ? `/${sub}` : ''}`;
  return h.app.inject({ method, url, headers: bearer(token), ...(payload === undefined ? {} : { payload: payload as object }) });
};

/** A new user's first device (a) and a second one that asked to join (b), each with its own session. */
async function firstDeviceAndRequest(localPart: string) {
  const u = await makeUser(localPart);
  const chain = new ChainClient(h, await userIdOf(h, u.address));
  const signInAs = async () => ((await signIn(u)).json() as { token: string }).token;
  const a = { ...(await chain.newDevice('alice@example.test')), token: await signInAs() };
  const b = { ...(await chain.newDevice('alice@example.test')), token: await signInAs() };
  await chain.root(a);
  await chain.request(b);
  return { chain, a, b, signInAs };
}

const probes: Record<ErrorCode, Probe> = {
  NOT_FOUND: () => h.app.inject({ method: 'GET', url: '/api/v1/no-such-route' }),
  MALFORMED_JSON: () => lookup('{"addresses": [', { 'content-type': 'application/json' }),
  VALIDATION_FAILED: () => lookup({ addresses: ['alice@example.test', 'not-an-address'] }),
  UNSUPPORTED_MEDIA_TYPE: () => lookup('hello', { 'content-type': 'text/plain' }),
  PAYLOAD_TOO_LARGE: () => lookup({ addresses: ['x'.repeat(2 * 1024 * 1024)] }),
  MALFORMED_REQUEST: () => h.app.inject({ method: 'GET', url: '/api/v1/keys/%E0%A4%A/sigchain' }),
  URI_TOO_LONG: () => h.app.inject({ method: 'GET', url: `/api/v1/keys/${'a'.repeat(1100)}@example.test/sigchain` }),
  HEADERS_TOO_LARGE: () => rawRequest(h.app, `GET /api/v1/info HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`),
  CROSS_ORIGIN: async () => {
    const { cookie } = await h.signIn('bob@example.test');
    return h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-out', headers: { cookie, origin: 'https://evil.example' } });
  },
  API_UNAVAILABLE: () => webHost.inject({ method: 'GET', url: '/api/v1/info' }),
  UNAUTHENTICATED: () => h.app.inject({ method: 'GET', url: '/api/v1/auth/session' }),
  INVALID_CREDENTIALS: () => signIn({ address: 'alice@example.test', password: 'wrong' }),
  TOTP_REQUIRED: async () => {
    const u = await makeUser('totp-required', { totpSecret: 'JBSWY3DPEHPK3PXP' });
    return signIn(u);
  },
  TOTP_INVALID: async () => {
    const u = await makeUser('totp-invalid', { totpSecret: 'JBSWY3DPEHPK3PXP' });
    return signIn({ ...u, totp: '000000' });
  },
  TOTP_ENROLLMENT_REQUIRED: async () => {
    const u = await makeUser('must-enrol');
    const domain = await h.db.prisma.domain.findUniqueOrThrow({ where: { name: 'example.test' } });
    await h.db.prisma.account.update({ where: { id: domain.accountId }, data: { requireTotp: true } });
    const { token } = (await signIn(u)).json() as { token: string };
    const res = await h.app.inject({ method: 'POST', url: '/api/v1/directory/lookup', headers: bearer(token), payload: { addresses: ['alice@example.test'] } });
    await h.db.prisma.account.update({ where: { id: domain.accountId }, data: { requireTotp: false } });
    return res;
  },
  USER_SUSPENDED: async () => signIn(await makeUser('suspended', { status: 'suspended' })),
  DELEGATION_INVALID: async () => {
    // A key box for someone who holds no grant on alice's mailbox.
    const { token } = await h.deviceSignIn('alice@example.test');
    return h.app.inject({ method: 'POST', url: '/api/v1/delegation/boxes', headers: bearer(token), payload: { mailboxBoxes: [{ delegateUserId: await userIdOf(h, 'bob@example.test'), generation: 1, delegateGeneration: 1, box: 'AAAA' }] } });
  },
  MAILBOX_NOT_DELEGATED: async () => {
    const { token } = await h.deviceSignIn('alice@example.test');
    return h.app.inject({ method: 'GET', url: `/api/v1/delegation/mailboxes/${await userIdOf(h, 'bob@example.test')}/messages`, headers: bearer(token) });
  },
  FORBIDDEN: async () => {
    const { token } = await h.signIn('bob@example.test');
    return h.app.inject({ method: 'PUT', url: '/api/v1/admin/security', headers: bearer(token), payload: { requireTotp: true } });
  },
  LAST_ADMIN: async () => {
    // The only admin of an organisation of their own steps down.
    const account = await h.db.prisma.account.create({ data: { name: 'Solo' } });
    const domain = await h.db.prisma.domain.create({ data: { accountId: account.id, name: 'solo.test' } });
    await h.db.prisma.user.create({ data: { accountId: account.id, domainId: domain.id, localPart: 'boss', displayName: 'Boss', role: 'admin', passwordHash: await hashPassword('pw-boss') } });
    const d = await deviceFor({ address: 'boss@solo.test', password: 'pw-boss' });
    return h.app.inject({ method: 'PATCH', url: '/api/v1/admin/users/boss@solo.test', headers: bearer(d.token), payload: { role: 'user' } });
  },
  LEGAL_HOLD: async () => {
    await makeUser('held-probe');
    const { token } = await h.deviceSignIn('admin@example.test');
    await h.app.inject({ method: 'PUT', url: '/api/v1/admin/users/held-probe@example.test/legal-hold', headers: bearer(token), payload: { reason: 'Case 12' } });
    return h.app.inject({ method: 'DELETE', url: '/api/v1/admin/users/held-probe@example.test', headers: bearer(token) });
  },
  INVITATION_INVALID: () => h.app.inject({ method: 'POST', url: '/api/v1/invitations/lookup', payload: { token: 'x'.repeat(43) } }),
  ADDRESS_TAKEN: async () => {
    const { token } = await h.deviceSignIn('admin@example.test');
    return h.app.inject({ method: 'POST', url: '/api/v1/admin/lists', headers: bearer(token), payload: { address: 'alice@example.test', name: 'Taken', members: [] } });
  },
  CALENDAR_ICS_INVALID: () => calendarCall('POST', 'import', { ics: 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\nEND:VCALENDAR\r\n' }),
  CALENDAR_UNKNOWN_TIME_ZONE: () => calendarCall('POST', 'events', { title: 'Zone', start: '2026-05-01T09:00', end: '2026-05-01T10:00', startTz: 'Mars/Olympus_Mons' }),
  CALENDAR_RECURRENCE_INVALID: () => calendarCall('POST', 'events', { title: 'Every second', start: '2026-05-01T09:00', end: '2026-05-01T10:00', startTz: 'UTC', rrule: 'FREQ=SECONDLY;INTERVAL=1' }),
  CALENDAR_RANGE_TOO_LONG: async () => {
    const { token } = await h.deviceSignIn('alice@example.test');
    return h.app.inject({ method: 'GET', url: '/api/v1/occurrences?from=2026-01-01&to=2028-01-01&tz=UTC', headers: bearer(token) });
  },
  CALENDAR_DEFAULT_UNDELETABLE: () => calendarCall('DELETE', ''),
  CALENDAR_FULL: async () => {
    // A calendar of its own, filled to the cap with placeholder rows (only their count matters).
    const { token } = await h.deviceSignIn('alice@example.test');
    const cal = (await h.app.inject({ method: 'POST', url: '/api/v1/calendars', headers: bearer(token), payload: { name: 'Full' } })).json() as { id: string };
    await h.db.prisma.$executeRaw`INSERT INTO calendar_events (id, calendar_id, uid_digest, ics, start_utc, updated_at) SELECT gen_random_uuid(), ${cal.id}::uuid, 'filler-' || i, 'x', now(), now() FROM generate_series(1, ${MAX_EVENTS_PER_CALENDAR}) AS i`;
    return h.app.inject({ method: 'POST', url: `/api/v1/calendars/${cal.id}/events`, headers: bearer(token), payload: { title: 'One more', start: '2026-05-01T09:00', end: '2026-05-01T10:00', startTz: 'UTC' } });
  },
  CONTACT_VERSION_CONFLICT: async () => {
    const { token } = await h.deviceSignIn('alice@example.test');
    const id = randomUUID();
    await h.app.inject({ method: 'POST', url: '/api/v1/contacts', headers: bearer(token), payload: { id, box: 'AAAA' } });
    await h.app.inject({ method: 'PUT', url: `/api/v1/contacts/${id}`, headers: bearer(token), payload: { version: 1, box: 'AAAB' } });
    // A second device still editing version 1.
    return h.app.inject({ method: 'PUT', url: `/api/v1/contacts/${id}`, headers: bearer(token), payload: { version: 1, box: 'AAAC' } });
  },
  CONTACTS_FULL: async () => {
    const u = await makeUser('full-book');
    const { token } = await deviceFor(u);
    const userId = await userIdOf(h, u.address);
    await h.db.prisma.contact.createMany({ data: Array.from({ length: 10_000 }, () => ({ id: randomUUID(), userId, box: new Uint8Array([1]) })) });
    return h.app.inject({ method: 'POST', url: '/api/v1/contacts', headers: bearer(token), payload: { id: randomUUID(), box: 'AAAA' } });
  },
  CALENDAR_GRANTEE_INVALID: async () => {
    const { token } = await h.deviceSignIn('alice@example.test');
    const cal = ((await h.app.inject({ method: 'GET', url: '/api/v1/calendars', headers: bearer(token) })).json() as { calendars: { id: string }[] }).calendars[0]!.id;
    return h.app.inject({ method: 'PUT', url: `/api/v1/calendars/${cal}/grants`, headers: bearer(token), payload: { address: 'nobody@elsewhere.test', level: 'view' } });
  },
  CALENDAR_READ_ONLY: async () => {
    const { token } = await h.deviceSignIn('alice@example.test');
    const cal = ((await h.app.inject({ method: 'GET', url: '/api/v1/calendars', headers: bearer(token) })).json() as { calendars: { id: string }[] }).calendars[0]!.id;
    await h.app.inject({ method: 'PUT', url: `/api/v1/calendars/${cal}/grants`, headers: bearer(token), payload: { address: 'bob@example.test', level: 'view' } });
    const bob = await h.deviceSignIn('bob@example.test');
    return h.app.inject({ method: 'POST', url: `/api/v1/calendars/${cal}/events`, headers: bearer(bob.token), payload: { title: 'Not mine', start: '2026-05-01T09:00', end: '2026-05-01T10:00', startTz: 'UTC' } });
  },
  CALENDAR_NOT_INVITED: async () => {
    // alice answers her own event (she organises it; nobody invited her).
    const made = (await calendarCall('POST', 'events', { title: 'Mine', start: '2026-05-01T09:00', end: '2026-05-01T10:00', startTz: 'UTC' })).json() as { id: string };
    return calendarCall('POST', `events/${made.id}/respond`, { partstat: 'ACCEPTED' });
  },
  CALENDAR_INVITATION_NOT_SENT: async () => {
    // The attendee's mailbox is full: the event is saved, the invitation mail is not.
    await makeUser('fullbox');
    await h.db.prisma.user.update({ where: { domainId_localPart: { domainId: (await h.db.prisma.domain.findUniqueOrThrow({ where: { name: 'example.test' } })).id, localPart: 'fullbox' } }, data: { quotaBytes: 0 } });
    return calendarCall('POST', 'events', { title: 'Full', start: '2026-05-01T09:00', end: '2026-05-01T10:00', startTz: 'UTC', attendees: [{ email: 'fullbox@example.test' }] });
  },
  CONFLICT: async () => {
    const { token } = await h.signIn('bob@example.test');
    return h.app.inject({ method: 'POST', url: '/api/v1/auth/totp/confirm', headers: bearer(token), payload: { code: '123456' } });
  },
  RATE_LIMITED: async () => {
    // From a client address of its own, so the wait it starts touches no other probe.
    const u = await makeUser('limited');
    let res;
    for (let i = 0; i < 7; i++) res = await h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', remoteAddress: '203.0.113.9', payload: { address: u.address, password: 'x' } });
    return res!;
  },
  PASSWORD_CHANGE_REQUIRED: async () => {
    const u = await makeUser('was-reset', { mustChangePassword: true });
    const { token } = (await signIn(u)).json() as { token: string };
    return h.app.inject({ method: 'GET', url: '/api/v1/auth/sessions', headers: bearer(token) });
  },
  PASSWORD_INCORRECT: async () => {
    const d = await deviceFor(await makeUser('wrong-current'));
    return h.app.inject({ method: 'POST', url: '/api/v1/auth/password', headers: bearer(d.token), payload: { currentPassword: 'not-it', newPassword: 'a brand new password' } });
  },
  REAUTH_REQUIRED: async () => {
    const u = await makeUser('stale-admin', { role: 'admin' });
    const d = await deviceFor(u);
    // The sign-in counted as a re-authentication; make it old.
    await h.db.prisma.session.updateMany({ where: { user: { localPart: 'stale-admin' } }, data: { reauthAt: new Date(h.clock.now.getTime() - 10 * 60_000) } });
    return h.app.inject({ method: 'PUT', url: '/api/v1/admin/security', headers: bearer(d.token), payload: { requireTotp: false } });
  },
  DEVICE_NOT_APPROVED: async () => {
    const u = await makeUser('two-devices');
    await deviceFor(u);
    const pending = await deviceFor(u); // a second key store: a new device, waiting for approval
    return h.app.inject({ method: 'POST', url: '/api/v1/directory/lookup', headers: bearer(pending.token), payload: { addresses: ['alice@example.test'] } });
  },
  SIGCHAIN_INVALID: async () => {
    const { token } = await h.signIn('alice@example.test');
    return h.app.inject({ method: 'POST', url: '/api/v1/keys/sigchain', headers: bearer(token), payload: { link: 'AAAA' } });
  },
  DEVICE_REQUIRED: async () => {
    const { token } = await h.signIn('alice@example.test');
    return h.app.inject({ method: 'GET', url: `/api/v1/keys/puk-boxes/${'0'.repeat(64)}`, headers: bearer(token) });
  },
  DEVICE_PROOF_INVALID: async () => {
    const { token } = await h.signIn('alice@example.test');
    return h.app.inject({ method: 'POST', url: '/api/v1/keys/session-device', headers: bearer(token), payload: { deviceId: '0'.repeat(64), signature: 'A'.repeat(86) } });
  },
  ESCROW_INVALID: async () => {
    const admin = await deviceFor(await makeUser('escrow-invalid', { role: 'admin' }));
    return h.app.inject({ method: 'POST', url: '/api/v1/admin/escrow', headers: bearer(admin.token), payload: { publicKeys: 'AAAA', certificate: 'AAAA', endorsement: 'AAAA', boxes: [{ deviceId: '0'.repeat(64), box: 'AA' }] } });
  },
  ESCROW_ENFORCED: async () => {
    const adminUser = await makeUser('escrow-admin', { role: 'admin' });
    const admin = await deviceFor(adminUser);
    await new EscrowAdmin(admin.api, admin.identity).enable(adminUser.address);
    const u = await makeUser('escrow-user');
    const user = await deviceFor(u);
    await user.identity.acceptEscrow(u.address);
    const { keys, userId, state } = await user.identity.thisDevice(u.address);
    const puk = generatePerUserKey(state.puks.length + 1);
    const link = createLink({ userId, seqno: state.length, prev: state.headHash, time: 1, signer: keys, body: { type: LinkType.EscrowRemove, deviceId: state.escrow!.id, puk: { generation: puk.generation, keys: publicKeysOf(puk) } }, newKeys: [puk] });
    return h.app.inject({ method: 'POST', url: '/api/v1/keys/sigchain', headers: bearer(user.token), payload: { link: toBase64Url(link.bytes) } });
  },
  DEVICE_REVOKED: async () => {
    const { chain, a, b } = await firstDeviceAndRequest('revoked-device');
    await chain.revoke(a, b, [a]);
    return h.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: bearer(b.token) });
  },
  KEY_RESET_REFUSED: async () => {
    const u = await makeUser('nothing-to-reset');
    const { token } = (await signIn(u)).json() as { token: string };
    return h.app.inject({ method: 'POST', url: '/api/v1/keys/reset', headers: bearer(token), payload: { password: u.password, confirm: 'start my key history afresh' } });
  },
  DEVICE_REQUEST_EXPIRED: async () => {
    const { chain, a, b, signInAs } = await firstDeviceAndRequest('stale-request');
    const then = h.clock.now;
    h.clock.now = new Date(then.getTime() + 8 * 24 * 3600 * 1000);
    try {
      const fresh = { ...a, token: await signInAs() };
      await h.app.inject({ method: 'POST', url: '/api/v1/keys/session-device', headers: bearer(fresh.token), payload: { deviceId: a.id, signature: toBase64Url(signSessionBinding(a.keys.signing.secretKey, { userId: chain.userId, sessionId: ((await h.app.inject({ method: 'GET', url: '/api/v1/auth/session', headers: bearer(fresh.token) })).json() as { id: string }).id, deviceId: fromHex(a.id) })) } });
      return await chain.approve(fresh, b, [a]);
    } finally {
      h.clock.now = then;
    }
  },
  MESSAGE_TOO_LARGE: async () => {
    const d = await deviceFor(await makeUser('too-large'));
    return h.app.inject({ method: 'POST', url: '/api/v1/blobs', headers: bearer(d.token), payload: { size: 27 * 1024 * 1024 } });
  },
  QUOTA_EXCEEDED: async () => {
    const d = await deviceFor(await makeUser('quota-full'));
    await h.db.prisma.user.updateMany({ where: { localPart: 'quota-full' }, data: { quotaBytes: 10 } });
    return h.app.inject({ method: 'POST', url: '/api/v1/blobs', headers: bearer(d.token), payload: { size: 1000 } });
  },
  RECIPIENT_UNKNOWN: () => sendProbe({ to: ['ghost@example.test'] }),
  E2EE_UNAVAILABLE: async () => {
    await makeUserIn('stranger', 'elsewhere.test');
    return sendProbe({ to: ['stranger@elsewhere.test'] });
  },
  MAIL_INVALID: () => sendProbe({ to: ['bob@example.test'] }),
  IMPORT_UNAVAILABLE: async () => {
    const admin = await deviceFor(await makeUser('import-admin', { role: 'admin' }));
    const target = await h.db.prisma.user.findFirstOrThrow({ where: { localPart: 'bob' } });
    return h.app.inject({ method: 'POST', url: `/api/v1/admin/imports/mail?userId=${target.id}&format=eml`, headers: { ...bearer(admin.token), 'content-type': 'message/rfc822' }, payload: 'Subject: hi\r\n\r\nhello\r\n' });
  },
  OUTBOUND_UNAVAILABLE: () => sendProbe({ to: ['carol@example.org'], external: ['carol@example.org'] }),
  FROM_NOT_OWNED: () => sendProbe({ to: ['bob@example.test'], from: 'alice@example.test' }),
  FORWARD_UNVERIFIED: async () => {
    const d = await deviceFor(await makeUser('forward-unverified'));
    const fwd = await h.db.prisma.forwardAddress.create({ data: { userId: await userIdOf(h, 'forward-unverified@example.test'), address: 'me@elsewhere.example' } });
    return h.app.inject({ method: 'PUT', url: '/api/v1/mail/filters', headers: bearer(d.token), payload: { filters: [{ conditions: { from: 'boss.example' }, actions: { forwardTo: fwd.id } }] } });
  },
  FORWARD_CODE_INVALID: async () => {
    const d = await deviceFor(await makeUser('forward-code'));
    const fwd = await h.db.prisma.forwardAddress.create({ data: { userId: await userIdOf(h, 'forward-code@example.test'), address: 'me@elsewhere.example', codeHash: new Uint8Array(32), expiresAt: new Date(h.clock.now.getTime() + 3600_000) } });
    return h.app.inject({ method: 'POST', url: `/api/v1/mail/forward-addresses/${fwd.id}/verify`, headers: bearer(d.token), payload: { code: 'wrong-code-123' } });
  },
  POLICY_IMMUTABLE: async () => {
    const home = await h.db.prisma.domain.findUniqueOrThrow({ where: { name: 'example.test' } });
    await h.db.prisma.domain.create({ data: { accountId: home.accountId, name: 'once.test' } });
    const admin = await deviceFor(await makeUser('policy-admin', { role: 'admin' }));
    const set = (encryptionPolicy: string) => h.app.inject({ method: 'PATCH', url: '/api/v1/admin/domains/once.test', headers: bearer(admin.token), payload: { encryptionPolicy } });
    expect((await set('secure_only')).statusCode).toBe(200);
    expect((await set('secure_only')).statusCode).toBe(200); // the same choice again is fine
    return set('standard_default');
  },
  POLICY_FORBIDS_STANDARD: async () => {
    const home = await h.db.prisma.domain.findUniqueOrThrow({ where: { name: 'example.test' } });
    const strict = await h.db.prisma.domain.create({ data: { accountId: home.accountId, name: 'strict.test', encryptionPolicy: 'secure_only' } });
    await h.db.prisma.user.create({ data: { accountId: home.accountId, domainId: strict.id, localPart: 'careful', displayName: 'careful', passwordHash: await hashPassword('pw-careful') } });
    return sendProbe({ to: ['carol@example.org'], external: ['carol@example.org'] }, { address: 'careful@strict.test', password: 'pw-careful' });
  },
  SCHEDULE_INVALID: () => sendProbe({ to: ['bob@example.test'], sendAt: new Date(h.clock.now.getTime() - 86_400_000).toISOString() }),
  SCHEDULED_ALREADY_SENT: async () => {
    const d = await deviceFor(await makeUser('scheduled-gone'));
    const userId = (await d.identity.thisDevice((await d.api.session()).user.address)).userId;
    const row = await h.db.prisma.scheduledSend.create({ data: { userId, entryId: randomUUID(), messageId: randomUUID(), deviceId: 'x', sendAt: h.clock.now, status: 'sent', plan: { holders: [], external: [] } } });
    return h.app.inject({ method: 'DELETE', url: `/api/v1/mail/scheduled/${row.id}`, headers: bearer(d.token) });
  },
  LINK_EXPIRED: async () => {
    const id = 'expiredLinkProbe000000';
    await h.db.prisma.mailLink.create({ data: { id, sourceMessageId: randomUUID(), senderUserId: randomUUID(), recipient: 'carol@example.org', passwordBox: new Uint8Array(74), expiresAt: new Date(h.clock.now.getTime() - 1000), expiredAt: h.clock.now } });
    return h.app.inject({ method: 'GET', url: `/api/v1/links/${id}` });
  },
  LINK_REVOKED: async () => {
    // Withdrawn by its sender a week before it would have expired.
    const id = 'revokedLinkProbe000000';
    await h.db.prisma.mailLink.create({ data: { id, sourceMessageId: randomUUID(), senderUserId: randomUUID(), recipient: 'carol@example.org', passwordBox: new Uint8Array(74), expiresAt: new Date(h.clock.now.getTime() + 7 * 86400_000), expiredAt: h.clock.now } });
    return h.app.inject({ method: 'GET', url: `/api/v1/links/${id}` });
  },
  UPLOAD_INCOMPLETE: async () => {
    const d = await deviceFor(await makeUser('half-upload'));
    const { blobId } = await d.api.createBlob(100);
    return h.app.inject({ method: 'POST', url: `/api/v1/blobs/${blobId}/complete`, headers: bearer(d.token) });
  },
  RANGE_NOT_SATISFIABLE: async () => {
    const d = await deviceFor(await makeUser('range-asker'));
    const { blobId } = await d.api.createBlob(10);
    await d.api.uploadPart(blobId, 0, new Uint8Array(10));
    await d.api.completeBlob(blobId);
    return h.app.inject({ method: 'GET', url: `/api/v1/blobs/${blobId}`, headers: { ...bearer(d.token), range: 'bytes=10-' } });
  },
  DOMAIN_TAKEN: async () => {
    const admin = await deviceFor(await makeUser('domain-taker', { role: 'admin' }));
    return h.app.inject({ method: 'POST', url: '/api/v1/admin/domains', headers: bearer(admin.token), payload: { name: 'example.test' } });
  },
  DOMAIN_UNVERIFIED: async () => {
    const admin = await deviceFor(await makeUser('unverified-lister', { role: 'admin' }));
    expect((await h.app.inject({ method: 'POST', url: '/api/v1/admin/domains', headers: bearer(admin.token), payload: { name: 'not-yet.test' } })).statusCode).toBe(200);
    return h.app.inject({ method: 'POST', url: '/api/v1/admin/lists', headers: bearer(admin.token), payload: { address: 'team@not-yet.test', name: 'Team', members: [] } });
  },
  DOMAIN_IN_USE: async () => {
    const admin = await deviceFor(await makeUser('domain-remover', { role: 'admin' }));
    return h.app.inject({ method: 'DELETE', url: '/api/v1/admin/domains/example.test', headers: bearer(admin.token) });
  },
  DKIM_NOT_PUBLISHED: async () => {
    const admin = await deviceFor(await makeUser('dkim-hasty', { role: 'admin' }));
    expect((await h.app.inject({ method: 'POST', url: '/api/v1/admin/domains/example.test/dkim/next', headers: bearer(admin.token) })).statusCode).toBe(200);
    return h.app.inject({ method: 'POST', url: '/api/v1/admin/domains/example.test/dkim/activate', headers: bearer(admin.token), payload: {} });
  },
  DKIM_NO_NEXT_KEY: async () => {
    const admin = await deviceFor(await makeUser('dkim-early', { role: 'admin' }));
    await h.app.inject({ method: 'POST', url: '/api/v1/admin/domains', headers: bearer(admin.token), payload: { name: 'dkim-fresh.test' } });
    return h.app.inject({ method: 'POST', url: '/api/v1/admin/domains/dkim-fresh.test/dkim/activate', headers: bearer(admin.token), payload: { confirmPublished: true } });
  },
  DKIM_NO_OLD_KEY: async () => {
    const admin = await deviceFor(await makeUser('dkim-tidy', { role: 'admin' }));
    await h.app.inject({ method: 'POST', url: '/api/v1/admin/domains', headers: bearer(admin.token), payload: { name: 'dkim-tidy.test' } });
    return h.app.inject({ method: 'POST', url: '/api/v1/admin/domains/dkim-tidy.test/dkim/retire', headers: bearer(admin.token) });
  },
  DKIM_ROTATION_PENDING: async () => {
    const admin = await deviceFor(await makeUser('dkim-rotator', { role: 'admin' }));
    const post = (path: string, payload?: unknown) => h.app.inject({ method: 'POST', url: `/api/v1/admin/domains/dkim-twice.test${path}`, headers: bearer(admin.token), ...(payload ? { payload: payload as Record<string, unknown> } : {}) });
    await h.app.inject({ method: 'POST', url: '/api/v1/admin/domains', headers: bearer(admin.token), payload: { name: 'dkim-twice.test' } });
    expect((await post('/dkim/next')).statusCode).toBe(200);
    expect((await post('/dkim/activate', { confirmPublished: true })).statusCode).toBe(200);
    return post('/dkim/next');
  },
  DATABASE_UNAVAILABLE: () => deadApp.inject({ method: 'GET', url: '/readyz' }),
  INTERNAL: () => h.app.inject({ method: 'GET', url: '/api/v1/test-explode' }),
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
    if (!['RATE_LIMITED', 'CONFLICT', 'SIGCHAIN_INVALID', 'DELEGATION_INVALID', 'DEVICE_REQUIRED', 'DEVICE_PROOF_INVALID', 'FORBIDDEN', 'ESCROW_INVALID', 'MAIL_INVALID', 'UPLOAD_INCOMPLETE', 'RECIPIENT_UNKNOWN', 'DOMAIN_UNVERIFIED', 'DOMAIN_IN_USE', 'CALENDAR_ICS_INVALID', 'CALENDAR_UNKNOWN_TIME_ZONE', 'CALENDAR_RECURRENCE_INVALID', 'CALENDAR_GRANTEE_INVALID', 'CALENDAR_NOT_INVITED', 'CALENDAR_INVITATION_NOT_SENT'].includes(code)) expect(body.error.message).toBe(errorRegistry[code].message);
    expect(res.body).not.toMatch(/at .*\.ts:\d+|secret internal detail|stack/i);
  });

  it('names the offending field on validation errors', async () => {
    const res = await probes.VALIDATION_FAILED();
    expect((res.json() as { error: { field: string } }).error.field).toBe('body.addresses.1');
    expect((await lookup({})).json()).toMatchObject({ error: { code: 'VALIDATION_FAILED', field: 'body.addresses' } });
    expect((await lookup({ addresses: ['a@example.test'], admin: true })).statusCode).toBe(400);
    const bad = await signIn({ address: 'alice@example.test', password: 'x', totp: '12ab56' });
    expect(bad.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED', field: 'body.totp' } });
  });

  it('answers unknown routes with 404 JSON for every method', async () => {
    for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'] as const) {
      const res = await h.app.inject({ method, url: '/nope' });
      expect(res.statusCode).toBe(404);
      expect(res.headers['content-type']).toContain('application/json');
      expect(res.json()).toEqual({ error: { code: 'NOT_FOUND', message: errorRegistry.NOT_FOUND.message } });
    }
  });
});
