/**
 * The admin console's change history, mail activity and reports (docs/admin.md), on a real
 * Postgres with the real outbound relay delivering to a real smtp-server on loopback (the remote
 * MX; its MX lookup answers from a table: the only part standing in for something outside).
 * Inbound mail is stored by deliverLocal, the function the SMTP ingress hands authenticated mail
 * to (the ingress itself over SMTP: e2e/admin-history.test.ts).
 *
 * Authorisation: a user is refused (403), an admin allowed, and another organisation's admin sees
 * nothing of this organisation. Escrow admins are not admins: they are refused like users.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { memoryKeyStore } from '@sealmail/client/identity';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { seedDemo } from '@sealmail/db';
import { deliverLocal, ephemeralServerMailKey, loadOrCreateDkimKey, postgresBlobStore } from '@sealmail/mailstore';
import { createLogger, defaultAuthSettings, hashPassword, loadOrCreateTls } from '@sealmail/server';
import { buildApp } from '../src/app';
import { bearer, startRemoteMx, until, signedInDevice } from './helpers';

let tdb: TestDatabase;
let app: FastifyInstance;
let dir: string;
let mx: Awaited<ReturnType<typeof startRemoteMx>>;
const passwords: Record<string, string> = {};
const serverKey = ephemeralServerMailKey();
const stores = new Map<string, ReturnType<typeof memoryKeyStore>>();
const tokens: Record<string, string> = {};

async function device(address: string) {
  if (!stores.has(address)) stores.set(address, memoryKeyStore());
  const d = await signedInDevice(app, address, passwords[address]!, { store: stores.get(address)! });
  tokens[address] = d.token;
  return d;
}

const get = (who: string, url: string) => app.inject({ method: 'GET', url, headers: bearer(tokens[who]!) });
const post = (who: string, url: string) => app.inject({ method: 'POST', url, headers: bearer(tokens[who]!) });
const ADMIN = 'admin@example.test';
const OTHER = 'olga@other.test';
const ESCROW = 'esme@example.test';

let sent: { messageId: string; entryId: string };
let inboundId: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealmail-activity-'));
  const tls = await loadOrCreateTls({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
  mx = await startRemoteMx(tls, (address) => (address.startsWith('nobody@') ? { code: 550, text: '5.1.1 No such user' } : undefined));
  tdb = await createTestDatabase();
  const seed = await seedDemo(tdb.prisma, { domain: 'example.test' });
  for (const u of seed.users) passwords[u.address] = u.password!;
  // A second organisation with its own admin.
  const account = await tdb.prisma.account.create({ data: { name: 'Other Org' } });
  const domain = await tdb.prisma.domain.create({ data: { accountId: account.id, name: 'other.test' } });
  await tdb.prisma.user.create({ data: { accountId: account.id, domainId: domain.id, localPart: 'olga', displayName: 'Olga', passwordHash: await hashPassword('pw-olga-other'), role: 'admin' } });
  passwords[OTHER] = 'pw-olga-other';
  // An escrow admin of this organisation.
  const home = await tdb.prisma.domain.findUniqueOrThrow({ where: { name: 'example.test' } });
  await tdb.prisma.user.create({ data: { accountId: home.accountId, domainId: home.id, localPart: 'esme', displayName: 'Esme Escrow', passwordHash: await hashPassword('pw-esme-escrow'), role: 'escrow_admin' } });
  passwords[ESCROW] = 'pw-esme-escrow';
  app = await buildApp({
    logger: createLogger({ level: 'silent' }),
    db: tdb.prisma,
    version: 't',
    auth: defaultAuthSettings,
    serverKey,
    outbound: {
      connectionString: tdb.connectionString,
      hostname: 'mx.example.test',
      dkim: (d) => loadOrCreateDkimKey(dir, d),
      // The stand-in MX is on loopback (a public address in production).
      allowPrivateTargets: true,
      resolveMx: async (d) => (d === 'example.org' ? [{ exchange: 'localhost', priority: 10 }] : Promise.reject(Object.assign(new Error('nx'), { code: 'ENOTFOUND' }))),
      port: mx.port,
      tls: { ca: tls.cert },
      sweepSeconds: 0.2,
    },
  });
  await device(ADMIN);
  await device(OTHER);
  await device(ESCROW);
  const alice = await device('alice@example.test');
  const bob = await device('bob@example.test');

  // Outbound: standard mail to one outside recipient who takes it and one who is refused for good.
  sent = await alice.mail.send({ to: ['carol@example.org'], cc: ['nobody@example.org', 'bob@example.test'], subject: 'Secret subject line', text: 'Secret body text', allowStandard: true });
  await until(async () => (await tdb.prisma.outboundDelivery.findMany({ where: { messageId: sent.messageId } })).every((d) => d.status !== 'queued' && (d.status === 'delivered' || d.bouncedAt)));

  // Inbound, as the SMTP ingress stores it after authenticating it.
  const bobUser = await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'bob' } });
  const raw = Buffer.from('From: Dave <dave@elsewhere.example>\r\nTo: bob@example.test\r\nSubject: Inbound secret\r\nMessage-ID: <in-1@elsewhere.example>\r\n\r\nInbound body\r\n');
  inboundId = (
    await deliverLocal({ db: tdb.prisma, blobs: postgresBlobStore(tdb.prisma), hostname: 'mx.example.test', now: () => new Date(), logger: createLogger({ level: 'silent' }) }, raw, {
      mailFrom: 'dave@elsewhere.example',
      recipients: [{ address: 'bob@example.test', userId: bobUser.id, folder: 'spam' }],
      authResults: ['mx.example.test; spf=pass smtp.mailfrom=elsewhere.example'],
    })
  ).messageId;
  void bob;
}, 120_000);

afterAll(async () => {
  await app?.close();
  await mx?.close();
  await tdb?.drop();
  await rm(dir, { recursive: true, force: true });
});

const ROUTES: [method: 'GET' | 'POST', url: string][] = [
  ['GET', '/api/v1/admin/history'],
  ['GET', '/api/v1/admin/history/export?format=csv'],
  ['POST', '/api/v1/admin/history/verify'],
  ['GET', '/api/v1/admin/mail/trace'],
  ['GET', '/api/v1/admin/mail/search?party=example'],
  ['GET', '/api/v1/admin/reports'],
];

describe('authorisation', () => {
  it.each(ROUTES)('%s %s: anonymous 401, user 403, escrow admin 403, admin 200', async (method, url) => {
    expect((await app.inject({ method, url })).statusCode).toBe(401);
    for (const who of ['alice@example.test', ESCROW]) {
      const refused = await app.inject({ method, url, headers: bearer(tokens[who]!) });
      expect(refused.statusCode, who).toBe(403);
      expect(refused.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
    }
    expect((await app.inject({ method, url, headers: bearer(tokens[ADMIN]!) })).statusCode).toBe(200);
  });

  it("another organisation's admin sees nothing of this one", async () => {
    const history = (await get(OTHER, '/api/v1/admin/history?limit=500')).json() as { entries: { actor: string | null; action: string }[] };
    expect(history.entries.length).toBeGreaterThan(0);
    expect(history.entries.every((e) => e.actor === OTHER)).toBe(true);
    expect((await get(OTHER, '/api/v1/admin/history/export?format=jsonl')).body).not.toContain('example.test');
    expect((await get(OTHER, '/api/v1/admin/mail/trace')).json()).toEqual({ messages: [], nextBefore: null });
    expect((await get(OTHER, `/api/v1/admin/mail/trace?messageId=${sent.messageId}`)).json()).toEqual({ messages: [], nextBefore: null });
    expect((await get(OTHER, '/api/v1/admin/mail/search?party=example')).json()).toEqual({ results: [], nextBefore: null });
    const reports = (await get(OTHER, '/api/v1/admin/reports')).json() as { days: { inbound: number; outbound: number }[]; storage: { users: { address: string }[]; domains: { domain: string }[] } };
    expect(reports.days.every((d) => d.inbound === 0 && d.outbound === 0)).toBe(true);
    expect(reports.storage.users.map((u) => u.address)).toEqual([OTHER]);
    expect(reports.storage.domains.map((d) => d.domain)).toEqual(['other.test']);
    // Its chain is its own: verifying it does not touch (or depend on) this organisation's entries.
    expect((await post(OTHER, '/api/v1/admin/history/verify')).json()).toMatchObject({ intact: true });
  });
});

describe('change history', () => {
  type Entry = { seq: string; at: string; actor: string | null; action: string; details: Record<string, unknown>; hash: string; prevHash: string };
  const list = async (qs: string) => (await get(ADMIN, `/api/v1/admin/history${qs}`)).json() as { entries: Entry[]; nextBefore: string | null };

  it('lists newest first, filters by actor, action, target and time, and pages', async () => {
    const all = await list('?limit=500');
    expect(all.entries.map((e) => Number(e.seq))).toEqual([...all.entries.map((e) => Number(e.seq))].sort((a, b) => b - a));
    expect(all.entries.some((e) => e.action === 'auth.sign_in' && e.actor === 'alice@example.test')).toBe(true);
    expect(all.entries.every((e, i, a) => i === a.length - 1 || e.prevHash === a[i + 1]!.hash)).toBe(true);

    const alices = await list('?actor=alice@example.test');
    expect(alices.entries.length).toBeGreaterThan(0);
    expect(alices.entries.every((e) => e.actor === 'alice@example.test')).toBe(true);
    expect((await list('?actor=nobody@example.test')).entries).toEqual([]);
    const auth = await list('?action=auth.');
    expect(auth.entries.length).toBeGreaterThan(0);
    expect(auth.entries.every((e) => e.action.startsWith('auth.'))).toBe(true);
    expect((await list('?action=auth.sign_in')).entries.every((e) => e.action === 'auth.sign_in')).toBe(true);

    // Target: the user an admin acted on (details.user), here a password reset of bob.
    expect((await app.inject({ method: 'POST', url: '/api/v1/auth/reauth', headers: bearer(tokens[ADMIN]!), payload: { password: passwords[ADMIN] } })).statusCode).toBe(200);
    expect((await post(ADMIN, '/api/v1/admin/users/bob@example.test/password-reset')).statusCode).toBe(200);
    const targeted = await list('?target=bob@example.test');
    expect(targeted.entries.map((e) => [e.action, e.actor])).toEqual([['admin.password_reset', ADMIN]]);

    const future = new Date(Date.now() + 3600_000).toISOString();
    expect((await list(`?from=${encodeURIComponent(future)}`)).entries).toEqual([]);
    expect((await list(`?to=${encodeURIComponent(future)}&limit=500`)).entries.length).toBeGreaterThanOrEqual(all.entries.length);

    const first = await list('?limit=2');
    expect(first.entries).toHaveLength(2);
    expect(first.nextBefore).toBe(first.entries[1]!.seq);
    const second = await list(`?limit=2&before=${first.nextBefore}`);
    expect(Number(second.entries[0]!.seq)).toBe(Number(first.entries[1]!.seq) - 1);

    expect((await get(ADMIN, '/api/v1/admin/history?from=yesterday')).json()).toMatchObject({ error: { code: 'VALIDATION_FAILED', field: 'querystring.from' } });
    expect((await get(ADMIN, '/api/v1/admin/history?action=DROP TABLE')).statusCode).toBe(400);
  });

  it('exports CSV and JSON lines, oldest first, with the hashes', async () => {
    const csv = await get(ADMIN, '/api/v1/admin/history/export?format=csv&action=auth.sign_in');
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    expect(csv.headers['content-disposition']).toMatch(/^attachment; filename="change-history-\d{4}-\d{2}-\d{2}\.csv"$/);
    const lines = csv.body.trimEnd().split('\r\n');
    expect(lines[0]).toBe('seq,at,actor,actorId,action,details,prevHash,hash');
    expect(lines.length).toBeGreaterThan(2);
    expect(lines.slice(1).every((l) => l.includes(',auth.sign_in,'))).toBe(true);
    expect(lines[1]).toMatch(/,"\{""ip"":""127\.0\.0\.1"",""sessionId"":/); // details JSON, quoted per RFC 4180

    const jsonl = await get(ADMIN, '/api/v1/admin/history/export?format=jsonl');
    expect(jsonl.headers['content-type']).toMatch(/^application\/x-ndjson/);
    const entries = jsonl.body.trimEnd().split('\n').map((l) => JSON.parse(l) as Entry);
    expect(entries.map((e) => Number(e.seq))).toEqual(entries.map((_, i) => i + 1));
    expect(entries[0]!.prevHash).toBe('0'.repeat(64));
    expect(entries.every((e, i) => i === 0 || e.prevHash === entries[i - 1]!.hash)).toBe(true);
    expect((await get(ADMIN, '/api/v1/admin/history/export?format=xml')).statusCode).toBe(400);
  });

  it('verifies the chain, and names the entry that was edited or deleted in the database', async () => {
    const ok = (await post(ADMIN, '/api/v1/admin/history/verify')).json() as { intact: boolean; checked: number; head: { seq: string } };
    expect(ok).toMatchObject({ intact: true, firstBroken: null });
    expect(ok.checked).toBe(Number(ok.head.seq));
    const accountId = (await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'admin' } })).accountId;
    const original = await tdb.prisma.auditEvent.findFirstOrThrow({ where: { accountId, seq: 3 } });
    await tdb.prisma.$executeRawUnsafe(`UPDATE audit_events SET details = jsonb_set(details, '{ip}', '"10.9.9.9"') WHERE account_id = $1::uuid AND seq = 3`, accountId);
    await tdb.prisma.$executeRawUnsafe(`DELETE FROM audit_events WHERE account_id = $1::uuid AND seq = 5`, accountId);
    const broken = (await post(ADMIN, '/api/v1/admin/history/verify')).json() as { intact: boolean; firstBroken: { seq: string; kind: string }; problems: { seq: string; kind: string; message: string }[] };
    expect(broken.intact).toBe(false);
    expect(broken.firstBroken).toMatchObject({ seq: '3', kind: 'edited' });
    expect(broken.problems.map((p) => [p.seq, p.kind])).toEqual([
      ['3', 'edited'],
      ['5', 'missing'],
    ]);
    // Put #3 back as it was: only the deletion remains.
    await tdb.prisma.auditEvent.update({ where: { id: original.id }, data: { details: original.details as object } });
    expect((await post(ADMIN, '/api/v1/admin/history/verify')).json()).toMatchObject({ intact: false, firstBroken: { seq: '5', kind: 'missing', message: 'Entry #5 is missing (deleted).' } });
    // The other organisation's chain is untouched.
    expect((await post(OTHER, '/api/v1/admin/history/verify')).json()).toMatchObject({ intact: true });
  });
});

type Trace = {
  id: string;
  direction: string;
  sender: string;
  received: unknown;
  mailboxes: { address: string; role: string; folder: string }[];
  outbound: { recipient: string; status: string; attempts: number; lastError: string | null; bouncedAt: string | null }[];
};

describe('message trace', () => {
  const trace = async (qs: string) => (await get(ADMIN, `/api/v1/admin/mail/trace${qs}`)).json() as { messages: Trace[]; nextBefore: string | null };

  it('follows outbound mail: mailboxes here, and each outside delivery with attempts, error and bounce', async () => {
    const { messages } = await trace('?recipient=nobody@example.org');
    expect(messages).toHaveLength(1);
    const m = messages[0]!;
    expect(m).toMatchObject({ id: sent.messageId, direction: 'outbound', sender: 'alice@example.test', received: null });
    expect(m.mailboxes.map((b) => [b.address, b.role, b.folder]).sort()).toEqual([
      ['alice@example.test', 'sender-copy', 'sent'],
      ['bob@example.test', 'cc', 'inbox'],
    ]);
    expect(m.outbound.map((o) => [o.recipient, o.status])).toEqual([
      ['carol@example.org', 'delivered'],
      ['nobody@example.org', 'failed'],
    ]);
    expect(m.outbound[1]!.lastError).toMatch(/550/);
    expect(m.outbound[1]!.bouncedAt).not.toBeNull();
    expect(m.outbound[0]!.attempts).toBe(1);
    // The same message by its id, by sender, and within a time range.
    expect((await trace(`?messageId=${sent.messageId}`)).messages.map((x) => x.id)).toEqual([sent.messageId]);
    expect((await trace('?sender=alice@example.test')).messages.map((x) => x.id)).toContain(sent.messageId);
    expect((await trace(`?from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).messages).toEqual([]);
  });

  it('follows inbound mail: received over SMTP, filed in which mailbox (here: spam); never content', async () => {
    const res = await get(ADMIN, '/api/v1/admin/mail/trace?sender=dave@elsewhere.example');
    const { messages } = res.json() as { messages: Trace[] };
    expect(messages.map((m) => m.id)).toEqual([inboundId]);
    expect(messages[0]).toMatchObject({ direction: 'inbound', received: { via: 'smtp', authentication: 'sealed-in-message' }, mailboxes: [{ address: 'bob@example.test', role: 'to', folder: 'spam' }], outbound: [] });
    expect((await trace('?recipient=bob@example.test')).messages.map((m) => m.id).sort()).toEqual([inboundId, sent.messageId].sort());
    const all = (await get(ADMIN, '/api/v1/admin/mail/trace?limit=100')).body;
    for (const secret of ['Secret subject line', 'Secret body text', 'Inbound secret', 'Inbound body', 'spf=pass']) expect(all).not.toContain(secret);
  });

  it('pages newest first', async () => {
    const first = await trace('?limit=1');
    expect(first.messages).toHaveLength(1);
    expect(first.nextBefore).not.toBeNull();
    const second = await trace(`?limit=1&before=${encodeURIComponent(first.nextBefore!)}`);
    expect(second.messages).toHaveLength(1);
    expect(second.messages[0]!.id).not.toBe(first.messages[0]!.id);
    for (const bad of ['9999-99-99T99:99:99.999Z_00000000-0000-0000-0000-000000000000', 'x']) {
      expect((await get(ADMIN, `/api/v1/admin/mail/trace?before=${encodeURIComponent(bad)}`)).json(), bad).toMatchObject({ error: { code: 'VALIDATION_FAILED', field: 'querystring.before' } });
    }
    expect((await get(ADMIN, '/api/v1/admin/history?before=99999999999999999999')).json()).toMatchObject({ error: { code: 'VALIDATION_FAILED', field: 'querystring.before' } });
    // A sealed message id (not a UUID) is looked up as such.
    const mailId = (await tdb.prisma.message.findUniqueOrThrow({ where: { id: sent.messageId } })).mailId;
    expect((await trace(`?messageId=${encodeURIComponent(mailId)}`)).messages.map((m) => m.id)).toEqual([sent.messageId]);
  });
});

describe('metadata search', () => {
  it('finds who mailed whom, when and how large, and records every search with its query', async () => {
    const res = await get(ADMIN, '/api/v1/admin/mail/search?party=example.org');
    const { results } = res.json() as { results: { id: string; sender: string; recipients: string[]; size: number; sentAt: string }[] };
    expect(results.map((r) => r.id)).toEqual([sent.messageId]);
    expect(results[0]!.recipients.sort()).toEqual(['bob@example.test', 'carol@example.org', 'nobody@example.org']);
    expect(results[0]!.size).toBeGreaterThan(0);
    await get(ADMIN, '/api/v1/admin/mail/search?sender=dave@elsewhere.example&minSize=1');
    const recorded = (await get(ADMIN, '/api/v1/admin/history?action=admin.metadata_search')).json() as { entries: { actor: string; details: { query: Record<string, unknown>; results: number } }[] };
    expect(recorded.entries.slice(0, 2).map((e) => [e.actor, e.details.query, e.details.results])).toEqual([
      [ADMIN, { sender: 'dave@elsewhere.example', minSize: 1 }, 1],
      [ADMIN, { party: 'example.org' }, 1],
    ]);
    // A refused search is not a search: nothing recorded for the user's attempt.
    expect((await get('alice@example.test', '/api/v1/admin/mail/search?party=example')).statusCode).toBe(403);
    expect((await get(ADMIN, '/api/v1/admin/mail/search?party=%')).statusCode).toBe(400);
  });
});

describe('reports', () => {
  it('counts mail in and out, spam and bounces per day, and storage per user and domain', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const res = await get(ADMIN, `/api/v1/admin/reports?from=${today}&to=${today}`);
    const r = res.json() as { days: { day: string; inbound: number; outbound: number; spam: number; bounces: number }[]; storage: { users: { address: string; usedBytes: number }[]; domains: { domain: string; usedBytes: number; users: number }[] } };
    // In: Dave's mail and the delivery report the relay sent Alice about nobody@example.org.
    expect(r.days).toEqual([{ day: today, inbound: 2, outbound: 1, spam: 1, bounces: 1 }]);
    const alice = r.storage.users.find((u) => u.address === 'alice@example.test')!;
    expect(alice.usedBytes).toBeGreaterThan(0);
    expect(r.storage.domains).toEqual([{ domain: 'example.test', users: 4, usedBytes: r.storage.users.reduce((n, u) => n + u.usedBytes, 0) }]);
    const month = (await get(ADMIN, '/api/v1/admin/reports')).json() as { days: unknown[]; to: string };
    expect(month.days).toHaveLength(30);
    expect((await get(ADMIN, '/api/v1/admin/reports?from=2026-03-02&to=2026-03-01')).json()).toMatchObject({ error: { code: 'VALIDATION_FAILED', field: 'querystring.to' } });
    expect((await get(ADMIN, '/api/v1/admin/reports?from=2020-01-01&to=2026-01-01')).json()).toMatchObject({ error: { code: 'VALIDATION_FAILED', field: 'querystring.from' } });
    expect((await get(ADMIN, '/api/v1/admin/reports?from=2026-02-30')).statusCode).toBe(400);
  });
});

describe('a deleted user', () => {
  it('leaves the chain intact: their entries keep who acted (actor_ref), shown as a deleted user', async () => {
    const bobId = (await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'bob', domain: { name: 'example.test' } } })).id;
    const before = await tdb.prisma.auditEvent.count({ where: { actorRef: bobId } });
    expect(before).toBeGreaterThan(0);
    expect((await app.inject({ method: 'POST', url: '/api/v1/auth/reauth', headers: bearer(tokens[ADMIN]!), payload: { password: passwords[ADMIN] } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'DELETE', url: '/api/v1/admin/users/bob@example.test', headers: bearer(tokens[ADMIN]!) })).statusCode).toBe(200);
    expect(await tdb.prisma.auditEvent.count({ where: { actorRef: bobId, actorUserId: null } })).toBe(before);
    const entries = ((await get(ADMIN, '/api/v1/admin/history?limit=500')).json() as { entries: { actor: string | null; actorId: string | null }[] }).entries;
    expect(entries.filter((e) => e.actorId === bobId).every((e) => e.actor === null)).toBe(true);
    // Only the deletion the earlier test made (#5) is reported; the user's deletion broke nothing.
    expect((await post(ADMIN, '/api/v1/admin/history/verify')).json()).toMatchObject({ problems: [{ seq: '5', kind: 'missing' }] });
  });
});
