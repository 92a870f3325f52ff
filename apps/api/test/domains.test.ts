/**
 * Domains in the admin console (issue 14, docs/admin.md "Domains"): adding a domain, proving
 * ownership with a DNS TXT record, the records to publish and their checker, DKIM key rotation
 * over two selectors (a relayed message verifies with mailauth before and after), removal.
 * DNS is outside this machine: every lookup the API makes goes to a table (`dns` below) through
 * the same resolver module production uses; the remote MX is a real smtp-server on loopback.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { authenticate } from 'mailauth';
import { memoryKeyStore } from '@sealmail/client/identity';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { seedDemo } from '@sealmail/db';
import type { DomainDetail, RecordCheck } from '@sealmail/contract';
import { createLogger, defaultAuthSettings, hashPassword, loadOrCreateTls, tableResolver, type DnsTable, type TlsMaterial } from '@sealmail/server';
import { buildApp } from '../src/app';
import { bearer, startRemoteMx, until, signedInDevice } from './helpers';

let tdb: TestDatabase;
let app: FastifyInstance;
let dir: string;
let tls: TlsMaterial;
let mx: Awaited<ReturnType<typeof startRemoteMx>>;
let passwords: Record<string, string>;
const clock = { now: new Date(Math.floor(Date.now() / 60_000) * 60_000) };
/** The DNS the API sees. The recipient domain's MX points at the loopback MX. */
const dns: DnsTable = { 'MX example.org': [{ exchange: 'localhost', priority: 10 }] };
const HOSTS = { smtp: 'mx.sealmail.example', public: 'mail.sealmail.example' };
const stores = new Map<string, ReturnType<typeof memoryKeyStore>>();

let admin: string;
let user: string;
let otherAdmin: string;
let escrowAdmin: string;

async function device(address: string, password = passwords[address]!) {
  if (!stores.has(address)) stores.set(address, memoryKeyStore());
  return signedInDevice(app, address, password, { store: stores.get(address)! });
}

const call = (token: string, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: Record<string, unknown>) =>
  app.inject({ method, url: `/api/v1/admin/domains${url}`, headers: bearer(token), ...(payload ? { payload } : {}) });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealmail-domains-'));
  tls = await loadOrCreateTls({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
  mx = await startRemoteMx(tls);
  tdb = await createTestDatabase();
  const seed = await seedDemo(tdb.prisma, { domain: 'example.test' });
  passwords = Object.fromEntries(seed.users.map((u) => [u.address, u.password!]));
  app = await buildApp({
    logger: createLogger({ level: 'silent' }),
    db: tdb.prisma,
    version: 't',
    now: () => clock.now,
    auth: defaultAuthSettings,
    resolver: tableResolver(() => dns),
    mailHosts: HOSTS,
    // The relay signs with the database's DKIM keys (no `dkim` option) and resolves MX through `dns`.
    // The stand-in MX is on loopback (a public address in production).
    outbound: { connectionString: tdb.connectionString, hostname: 'mx.example.test', port: mx.port, tls: { ca: tls.cert }, sweepSeconds: 0.2, allowPrivateTargets: true },
  });
  // Another organisation with its own admin and domain.
  const account = await tdb.prisma.account.create({ data: { name: 'Other Org' } });
  const domain = await tdb.prisma.domain.create({ data: { accountId: account.id, name: 'other.test', verifiedAt: new Date() } });
  await tdb.prisma.user.create({ data: { accountId: account.id, domainId: domain.id, localPart: 'root', displayName: 'Root', passwordHash: await hashPassword('pw-root-other'), role: 'admin' } });
  admin = (await device('admin@example.test')).token;
  user = (await device('bob@example.test')).token;
  otherAdmin = (await device('root@other.test', 'pw-root-other')).token;
  // An escrow admin of the demo organisation: escrow and discovery only, not domains.
  const home = await tdb.prisma.domain.findUniqueOrThrow({ where: { name: 'example.test' } });
  await tdb.prisma.user.create({ data: { accountId: home.accountId, domainId: home.id, localPart: 'keeper', displayName: 'Keeper', passwordHash: await hashPassword('pw-keeper-escrow'), role: 'escrow_admin' } });
  escrowAdmin = (await device('keeper@example.test', 'pw-keeper-escrow')).token;
}, 120_000);

afterAll(async () => {
  await app?.close();
  await mx?.close();
  await tdb?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('who may manage domains', () => {
  // Every domain route, on a domain of the admin's organisation.
  const routes: [method: 'GET' | 'POST' | 'DELETE', url: string, payload?: Record<string, unknown>][] = [
    ['GET', ''],
    ['GET', '/matrix.test'],
    ['POST', '/matrix.test/verify'],
    ['POST', '/matrix.test/check'],
    ['POST', '/matrix.test/dkim/next'],
    ['POST', '/matrix.test/dkim/activate', { confirmPublished: true }],
    ['POST', '/matrix.test/dkim/retire'],
    ['DELETE', '/matrix.test'],
  ];

  it('a user and an escrow admin: 403 on every route, nothing added', async () => {
    for (const who of [user, escrowAdmin]) {
      expect((await call(who, 'POST', '', { name: 'matrix.test' })).statusCode).toBe(403);
      for (const [m, url, body] of routes) expect((await call(who, m, url, body)).json(), `${m} ${url}`).toMatchObject({ error: { code: 'FORBIDDEN' } });
    }
    expect(await tdb.prisma.domain.count({ where: { name: 'matrix.test' } })).toBe(0);
  });

  it("an admin: allowed; another organisation's admin: 404 as if it did not exist, and it does not appear in their list", async () => {
    expect((await call(admin, 'POST', '', { name: 'matrix.test' })).statusCode).toBe(200);
    for (const [m, url, body] of routes.slice(1)) {
      const res = await call(otherAdmin, m, url, body);
      expect([res.statusCode, (res.json() as { error: { code: string } }).error.code], `${m} ${url}`).toEqual([404, 'NOT_FOUND']);
    }
    expect(((await call(otherAdmin, 'GET', '')).json() as { domains: { name: string }[] }).domains.map((d) => d.name)).toEqual(['other.test']);
    // The admin's own calls succeed (the DKIM steps in their order: next, switch, retire).
    for (const [m, url, body] of routes) expect((await call(admin, m, url, body)).statusCode, `${m} ${url}`).toBe(200);
    expect(await tdb.prisma.domain.count({ where: { name: 'matrix.test' } })).toBe(0);
  }, 60_000);

  it('changes need a fresh re-authentication', async () => {
    clock.now = new Date(clock.now.getTime() + 10 * 60_000);
    try {
      expect((await call(admin, 'POST', '', { name: 'late.test' })).json()).toMatchObject({ error: { code: 'REAUTH_REQUIRED' } });
      expect((await call(admin, 'DELETE', '/example.test')).json()).toMatchObject({ error: { code: 'REAUTH_REQUIRED' } });
      // Reading and checking do not.
      expect((await call(admin, 'POST', '/example.test/check')).statusCode).toBe(200);
    } finally {
      clock.now = new Date(clock.now.getTime() - 10 * 60_000);
    }
  });

  it('a domain another organisation has cannot be added (DOMAIN_TAKEN, without saying whose)', async () => {
    const res = await call(admin, 'POST', '', { name: 'Other.Test' });
    expect(res.json()).toMatchObject({ error: { code: 'DOMAIN_TAKEN' } });
    expect(res.body).not.toContain('Other Org');
  });
});

describe('adding a domain and proving it is ours', () => {
  let added: DomainDetail;

  it('starts unverified with a random token in its TXT record; recorded in the change history', async () => {
    const res = await call(admin, 'POST', '', { name: 'new.example' });
    expect(res.statusCode).toBe(200);
    added = res.json() as DomainDetail;
    expect(added.verifiedAt).toBeNull();
    expect(added.verification).toMatchObject({ type: 'TXT', name: '_sealmail-verify.new.example' });
    expect(added.verification.value).toMatch(/^sealmail-verify=[0-9a-f]{32}$/);
    const other = (await call(admin, 'POST', '', { name: 'second.example' })).json() as DomainDetail;
    expect(other.verification.value).not.toBe(added.verification.value);
    const audit = await tdb.prisma.auditEvent.findMany({ where: { action: 'domain.add' } });
    expect(audit.map((a) => (a.details as { domain: string }).domain)).toContain('new.example');
    const listed = ((await call(admin, 'GET', '')).json() as { domains: { name: string; verifiedAt: string | null }[] }).domains;
    expect(listed.find((d) => d.name === 'new.example')?.verifiedAt).toBeNull();
    expect(listed.find((d) => d.name === 'example.test')?.verifiedAt).not.toBeNull(); // the seed's domain counts as verified
  });

  it('an unverified domain made outside the console (SQL) gets its token when opened', async () => {
    const home = await tdb.prisma.domain.findUniqueOrThrow({ where: { name: 'example.test' } });
    await tdb.prisma.domain.create({ data: { accountId: home.accountId, name: 'sql-made.example' } });
    const d = (await call(admin, 'GET', '/sql-made.example')).json() as DomainDetail;
    expect(d.verification.value).toMatch(/^sealmail-verify=[0-9a-f]{32}$/);
    expect((await call(admin, 'POST', '/sql-made.example/verify')).json()).toMatchObject({ verified: false, expected: { value: d.verification.value } });
  });

  it('an unverified domain gets no mailing lists, users, aliases, shared mailboxes or rooms', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/admin/lists', headers: bearer(admin), payload: { address: 'team@new.example', name: 'Team', members: [] } });
    expect(res.json()).toMatchObject({ error: { code: 'DOMAIN_UNVERIFIED', field: 'body.address' } });
    const user = await app.inject({ method: 'POST', url: '/api/v1/admin/users', headers: bearer(admin), payload: { address: 'dana@new.example', displayName: 'Dana' } });
    expect(user.json()).toMatchObject({ error: { code: 'DOMAIN_UNVERIFIED', field: 'body.address' } });
    const alias = await app.inject({ method: 'POST', url: '/api/v1/admin/users/alice@example.test/aliases', headers: bearer(admin), payload: { alias: 'alice@new.example' } });
    expect(alias.json()).toMatchObject({ error: { code: 'DOMAIN_UNVERIFIED', field: 'body.alias' } });
    const shared = await app.inject({ method: 'POST', url: '/api/v1/admin/shared-mailboxes', headers: bearer(admin), payload: { address: 'support@new.example', displayName: 'Support' } });
    expect(shared.json()).toMatchObject({ error: { code: 'DOMAIN_UNVERIFIED', field: 'body.address' } });
    const room = await app.inject({ method: 'POST', url: '/api/v1/admin/resources', headers: bearer(admin), payload: { address: 'room1@new.example', name: 'Room 1', kind: 'room' } });
    expect(room.json()).toMatchObject({ error: { code: 'DOMAIN_UNVERIFIED', field: 'body.address' } });
    expect(await tdb.prisma.user.count({ where: { domain: { name: 'new.example' } } })).toBe(0);
    expect(await tdb.prisma.calendarResource.count({ where: { domain: { name: 'new.example' } } })).toBe(0);
  });

  it('verify: missing record → not verified, nothing found', async () => {
    expect((await call(admin, 'POST', '/new.example/verify')).json()).toMatchObject({ verified: false, verifiedAt: null, found: [] });
  });

  it('verify: a record with another token → not verified, and what was found is shown', async () => {
    dns['TXT _sealmail-verify.new.example'] = [['sealmail-verify=0123456789abcdef0123456789abcdef'], ['unrelated']];
    expect((await call(admin, 'POST', '/new.example/verify')).json()).toMatchObject({ verified: false, found: ['sealmail-verify=0123456789abcdef0123456789abcdef'] });
    expect((await tdb.prisma.domain.findUniqueOrThrow({ where: { name: 'new.example' } })).verifiedAt).toBeNull();
  });

  it('verify: the right token (even split in two strings) → verified, recorded; lists may then be made', async () => {
    const v = added.verification.value;
    dns['TXT _sealmail-verify.new.example'] = [[v.slice(0, 10), v.slice(10)]];
    const res = (await call(admin, 'POST', '/new.example/verify')).json() as { verified: boolean; verifiedAt: string };
    expect(res.verified).toBe(true);
    expect(res.verifiedAt).toBe(clock.now.toISOString());
    expect((await tdb.prisma.auditEvent.findMany({ where: { action: 'domain.verify' } })).map((a) => (a.details as { domain: string }).domain)).toEqual(['new.example']);
    const list = await app.inject({ method: 'POST', url: '/api/v1/admin/lists', headers: bearer(admin), payload: { address: 'team@new.example', name: 'Team', members: [] } });
    expect(list.statusCode).toBe(200);
  });
});

describe('the records to publish and the checker', () => {
  it('are made from the configuration: MX, SPF, DKIM, DMARC, MTA-STS (TXT, host, policy), TLS-RPT', async () => {
    const d = (await call(admin, 'GET', '/second.example')).json() as DomainDetail;
    const by = Object.fromEntries(d.records.map((r) => [r.id, r]));
    expect(by.mx).toMatchObject({ type: 'MX', name: 'second.example', value: 'mx.sealmail.example', priority: 10 });
    expect(by.spf).toMatchObject({ type: 'TXT', name: 'second.example', value: 'v=spf1 mx a:mx.sealmail.example -all' });
    expect(by['dkim:sealmail']).toMatchObject({ type: 'TXT', name: 'sealmail._domainkey.second.example' });
    expect(by['dkim:sealmail']!.value).toMatch(/^v=DKIM1; k=rsa; p=[A-Za-z0-9+/=]{300,}$/);
    expect(by.dmarc).toMatchObject({ name: '_dmarc.second.example', value: 'v=DMARC1; p=quarantine; rua=mailto:postmaster@second.example' });
    expect(by['mta-sts']!.value).toMatch(/^v=STSv1; id=[0-9a-f]{20}$/);
    expect(by['mta-sts-host']).toMatchObject({ type: 'CNAME', name: 'mta-sts.second.example', value: 'mail.sealmail.example' });
    expect(by['tls-rpt']).toMatchObject({ name: '_smtp._tls.second.example', value: 'v=TLSRPTv1; rua=mailto:postmaster@second.example' });
    expect(d.mtaStsPolicy).toEqual({ url: 'https://mta-sts.second.example/.well-known/mta-sts.txt', content: 'version: STSv1\nmode: enforce\nmx: mx.sealmail.example\nmax_age: 604800\n' });
    expect(d.dkim).toEqual([expect.objectContaining({ selector: 'sealmail', state: 'active' })]);
  });

  it('says per record what is right, missing or wrong on a half-configured domain, and what to change', async () => {
    const d = (await call(admin, 'GET', '/second.example')).json() as DomainDetail;
    const dkim = d.records.find((r) => r.id === 'dkim:sealmail')!;
    dns['MX second.example'] = [{ exchange: 'mx.sealmail.example.', priority: 10 }];
    dns['TXT second.example'] = [['v=spf1 include:_spf.google.com -all'], ['google-site-verification=xyz']];
    dns[`TXT ${dkim.name}`] = [[dkim.value.slice(0, 200), dkim.value.slice(200)]];
    dns['TXT _dmarc.second.example'] = [['v=DMARC1; p=none']];
    dns['CNAME mta-sts.second.example'] = ['mail.sealmail.example'];
    const res = (await call(admin, 'POST', '/second.example/check')).json() as { results: RecordCheck[] };
    const status = Object.fromEntries(res.results.map((r) => [r.record.id, r]));
    expect(Object.fromEntries(res.results.map((r) => [r.record.id, r.status]))).toEqual({
      verify: 'missing',
      mx: 'ok',
      spf: 'wrong',
      'dkim:sealmail': 'ok',
      dmarc: 'wrong',
      'mta-sts': 'missing',
      'mta-sts-host': 'ok',
      'tls-rpt': 'missing',
    });
    expect(status.spf!.found).toEqual(['v=spf1 include:_spf.google.com -all']);
    expect(status.spf!.advice).toContain('Add "mx"');
    expect(status.dmarc!.advice).toContain('p=quarantine');
    expect(status['tls-rpt']!.advice).toBe('Publish TXT _smtp._tls.second.example "v=TLSRPTv1; rua=mailto:postmaster@second.example".');
    expect(status.mx!.advice).toBeUndefined();
  });

  it('an MX elsewhere and a different DKIM key are wrong, with what was found', async () => {
    dns['MX second.example'] = [{ exchange: 'aspmx.l.google.com', priority: 1 }];
    const dkimName = 'sealmail._domainkey.second.example';
    dns[`TXT ${dkimName}`] = [['v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAstale']];
    const res = (await call(admin, 'POST', '/second.example/check')).json() as { results: RecordCheck[] };
    const by = Object.fromEntries(res.results.map((r) => [r.record.id, r]));
    expect(by.mx).toMatchObject({ status: 'wrong', found: ['1 aspmx.l.google.com'] });
    expect(by.mx!.advice).toContain('mx.sealmail.example');
    expect(by['dkim:sealmail']).toMatchObject({ status: 'wrong', found: ['v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAstale'] });
  });
});

describe('DKIM keys and their rotation', () => {
  let alice: Awaited<ReturnType<typeof device>>;

  /** Sends a standard mail to the loopback MX and answers the raw message it received. */
  async function relay(subject: string) {
    await alice.mail.send({ to: ['carol@example.org'], subject, text: 'hello', allowStandard: true });
    return (await until(async () => mx.received.find((r) => r.raw.toString().includes(`Subject: ${subject}`)))).raw;
  }
  /** mailauth's DKIM verdict and selector, with DNS answering only `published`. */
  async function verify(raw: Buffer, published: DnsTable) {
    const auth = await authenticate(raw, { ip: '127.0.0.1', helo: 'mx.example.test', sender: 'alice@example.test', mta: 'mx.example.org', resolver: tableResolver(published) as never });
    const r = auth.dkim.results[0]!;
    return { result: r.status.result, selector: (r as { selector?: string }).selector };
  }
  const detail = async () => (await call(admin, 'GET', '/example.test')).json() as DomainDetail;
  const recordOf = (d: DomainDetail, selector: string) => d.dkim.find((k) => k.selector === selector)!.record;

  beforeAll(async () => {
    alice = await device('alice@example.test');
  });

  it('a relayed message verifies against the active selector before and after a rotation; the old key stays listed until retired', async () => {
    const before = await detail();
    expect(before.dkim.map((k) => [k.selector, k.state])).toEqual([['sealmail', 'active']]);
    const first = await relay('Before rotation');
    const oldRecord = recordOf(before, 'sealmail');
    expect(await verify(first, { [`TXT ${oldRecord.name}`]: [[oldRecord.value]] })).toEqual({ result: 'pass', selector: 'sealmail' });

    // The next key under the other selector; signing stays on the active one until it is published.
    const prepared = (await call(admin, 'POST', '/example.test/dkim/next')).json() as DomainDetail;
    expect(prepared.dkim.map((k) => [k.selector, k.state])).toEqual([['sealmail', 'active'], ['sealmail2', 'next']]);
    const nextRecord = recordOf(prepared, 'sealmail2');
    expect(nextRecord.value).not.toBe(oldRecord.value);
    expect((await call(admin, 'POST', '/example.test/dkim/activate', {})).json()).toMatchObject({ error: { code: 'DKIM_NOT_PUBLISHED' } });
    expect(await verify(await relay('Still the old key'), { [`TXT ${oldRecord.name}`]: [[oldRecord.value]] })).toEqual({ result: 'pass', selector: 'sealmail' });

    // Published: the checker sees it and signing switches.
    dns[`TXT ${nextRecord.name}`] = [[nextRecord.value]];
    const switched = (await call(admin, 'POST', '/example.test/dkim/activate', {})).json() as DomainDetail;
    expect(switched.dkim.map((k) => [k.selector, k.state])).toEqual([['sealmail2', 'active'], ['sealmail', 'old']]);
    expect(switched.records.map((r) => r.id)).toEqual(expect.arrayContaining(['dkim:sealmail2', 'dkim:sealmail']));
    const after = await relay('After rotation');
    expect(await verify(after, { [`TXT ${nextRecord.name}`]: [[nextRecord.value]] })).toEqual({ result: 'pass', selector: 'sealmail2' });
    // Signed with the new key only: against the old record alone it does not verify.
    expect((await verify(after, { [`TXT ${oldRecord.name}`]: [[oldRecord.value]] })).result).not.toBe('pass');

    // Rotating again needs the old key retired first; retiring removes it from the records.
    expect((await call(admin, 'POST', '/example.test/dkim/next')).json()).toMatchObject({ error: { code: 'DKIM_ROTATION_PENDING' } });
    const retired = (await call(admin, 'POST', '/example.test/dkim/retire')).json() as DomainDetail;
    expect(retired.dkim.map((k) => [k.selector, k.state])).toEqual([['sealmail2', 'active']]);
    expect(retired.records.some((r) => r.id === 'dkim:sealmail')).toBe(false);
    expect((await tdb.prisma.auditEvent.findMany({ where: { action: { startsWith: 'domain.dkim_' } }, orderBy: { createdAt: 'asc' } })).map((a) => a.action)).toEqual(
      expect.arrayContaining(['domain.dkim_prepare', 'domain.dkim_activate', 'domain.dkim_retire']),
    );
  }, 120_000);

  it('private keys are sealed at rest', async () => {
    const rows = await tdb.prisma.dkimKey.findMany();
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      expect(r.privateKey.startsWith('v1.')).toBe(true);
      expect(r.privateKey).not.toContain('PRIVATE KEY');
    }
  });

  it('the admin may confirm publication when the checker cannot see it yet', async () => {
    await call(admin, 'POST', '', { name: 'confirm.example' });
    await call(admin, 'POST', '/confirm.example/dkim/next');
    const res = (await call(admin, 'POST', '/confirm.example/dkim/activate', { confirmPublished: true })).json() as DomainDetail;
    expect(res.dkim.find((k) => k.state === 'active')?.selector).toBe('sealmail2');
    const audit = await tdb.prisma.auditEvent.findFirstOrThrow({ where: { action: 'domain.dkim_activate', details: { path: ['domain'], equals: 'confirm.example' } } });
    expect(audit.details).toMatchObject({ seenInDns: false, selector: 'sealmail2', previous: 'sealmail' });
  }, 60_000);
});

describe('removing a domain', () => {
  it('is refused while users or lists are on it, saying how many', async () => {
    const res = await call(admin, 'DELETE', '/example.test');
    expect(res.statusCode).toBe(409);
    const users = await tdb.prisma.user.count({ where: { domain: { name: 'example.test' } } });
    expect(res.json()).toMatchObject({ error: { code: 'DOMAIN_IN_USE', message: `example.test still has ${users} users: move or delete them first.` } });
    const listed = await call(admin, 'DELETE', '/new.example');
    expect(listed.json()).toMatchObject({ error: { code: 'DOMAIN_IN_USE', message: 'new.example still has 1 mailing list: move or delete them first.' } });
    // An alias of a user on another domain keeps this one too.
    expect((await app.inject({ method: 'POST', url: '/api/v1/admin/users/alice@example.test/aliases', headers: bearer(admin), payload: { alias: 'alice@confirm.example' } })).statusCode).toBe(409); // unverified
    await tdb.prisma.domain.update({ where: { name: 'confirm.example' }, data: { verifiedAt: new Date() } });
    expect((await app.inject({ method: 'POST', url: '/api/v1/admin/users/alice@example.test/aliases', headers: bearer(admin), payload: { alias: 'alice@confirm.example' } })).statusCode).toBe(200);
    expect((await call(admin, 'DELETE', '/confirm.example')).json()).toMatchObject({ error: { code: 'DOMAIN_IN_USE', message: 'confirm.example still has 1 alias: move or delete them first.' } });
    await tdb.prisma.domain.update({ where: { name: 'confirm.example' }, data: { verifiedAt: null } });
    expect(await tdb.prisma.domain.count({ where: { name: { in: ['example.test', 'new.example'] } } })).toBe(2);
  });

  it('is refused while rooms or equipment are on it (they and their bookings would go with it)', async () => {
    const home = await tdb.prisma.domain.findUniqueOrThrow({ where: { name: 'example.test' } });
    const d = await tdb.prisma.domain.create({ data: { accountId: home.accountId, name: 'rooms.example', verifiedAt: new Date() } });
    const room = await app.inject({ method: 'POST', url: '/api/v1/admin/resources', headers: bearer(admin), payload: { address: 'boardroom@rooms.example', name: 'Boardroom', kind: 'room' } });
    expect(room.statusCode, room.body).toBe(200);
    expect((await call(admin, 'DELETE', '/rooms.example')).json()).toMatchObject({ error: { code: 'DOMAIN_IN_USE', message: 'rooms.example still has 1 room or equipment: move or delete them first.' } });
    expect(await tdb.prisma.calendarResource.count({ where: { domainId: d.id } })).toBe(1);
  });

  it('an empty domain is removed with its DKIM keys, and the removal recorded', async () => {
    const d = await tdb.prisma.domain.findUniqueOrThrow({ where: { name: 'second.example' } });
    expect(await tdb.prisma.dkimKey.count({ where: { domainId: d.id } })).toBe(1);
    expect((await call(admin, 'DELETE', '/second.example')).json()).toEqual({ removed: true });
    expect(await tdb.prisma.domain.count({ where: { name: 'second.example' } })).toBe(0);
    expect(await tdb.prisma.dkimKey.count({ where: { domainId: d.id } })).toBe(0);
    expect((await tdb.prisma.auditEvent.findMany({ where: { action: 'domain.remove' } })).map((a) => (a.details as { domain: string }).domain)).toContain('second.example');
    expect((await call(admin, 'GET', '/second.example')).statusCode).toBe(404);
  });
});

describe('the MTA-STS policy file', () => {
  const fetchPolicy = (host: string) => app.inject({ method: 'GET', url: '/.well-known/mta-sts.txt', headers: { host } });

  it('is served for a verified domain at mta-sts.<domain>, as the records say', async () => {
    const res = await fetchPolicy('mta-sts.new.example');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toBe(((await call(admin, 'GET', '/new.example')).json() as DomainDetail).mtaStsPolicy.content);
  });

  it('is 404 for unverified and unknown domains and other host names', async () => {
    expect((await fetchPolicy('mta-sts.confirm.example')).statusCode).toBe(404); // added, never verified
    expect((await fetchPolicy('mta-sts.nowhere.example')).statusCode).toBe(404);
    expect((await fetchPolicy('new.example')).statusCode).toBe(404);
  });
});
