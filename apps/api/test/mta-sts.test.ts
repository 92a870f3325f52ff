/**
 * MTA-STS (RFC 8461) for the outbound relay, against a real HTTPS policy host: a `node:https`
 * server on loopback with certificates made by the project's own helper, trusted as the test CA.
 * DNS is the only stand-in: TXT answers come from a table, and `mta-sts.<domain>` resolves to
 * 127.0.0.1 through the fetcher's address table — the certificate is still checked against
 * `mta-sts.<domain>`. The enforce-mode transport options are tried on a real smtp-server with
 * STARTTLS through nodemailer.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createSecureContext } from 'node:tls';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSelfSignedCertificate } from '@sealmail/server';
import {
  MAX_AGE_LIMIT_SECONDS,
  MemoryStsPolicyStore,
  MtaSts,
  MtaStsError,
  createPolicyFetcher,
  filterMxByPolicy,
  isStsDeliveryFailure,
  mxAllowed,
  parseStsPolicy,
  parseStsRecord,
  stsTransportOptions,
  type AppliedStsPolicy,
  type MtaStsErrorCode,
} from '../src/mail/mta-sts';

/** What the policy host answers for `mta-sts.<domain>`. */
interface Answer {
  status?: number;
  type?: string;
  body?: string;
  location?: string;
  /** Never answer (for the time limit). */
  hang?: boolean;
}

const ENFORCE = 'version: STSv1\r\nmode: enforce\r\nmx: mx1.good.test\r\nmx: *.mail.good.test\r\nmax_age: 86400\r\n';
/** Domains served with the certificate for their own `mta-sts.` name; `wrongcert.test` gets another one. */
const DOMAINS = ['good.test', 'testing.test', 'twotxt.test', 'noid.test', 'nomx.test', 'badmode.test', 'badage.test', 'redirect.test', 'html.test', 'big.test', 'slow.test', 'cache.test', 'wrongcert.test'];

let server: Server;
let port = 0;
let ca: string[];
const answers = new Map<string, Answer>();
const requests = new Map<string, number>();
/** DNS: TXT answers by name. */
const txt = new Map<string, string[][]>();
const hosts = Object.fromEntries(DOMAINS.map((d) => [`mta-sts.${d}`, '127.0.0.1']));
const clock = { now: new Date('2026-03-01T12:00:00Z') };
const advance = (seconds: number) => void (clock.now = new Date(clock.now.getTime() + seconds * 1000));

function resolveTxt(name: string): Promise<string[][]> {
  const r = txt.get(name);
  return r ? Promise.resolve(r) : Promise.reject(Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' }));
}
const fetcher = (extra: { timeoutMs?: number } = {}) => createPolicyFetcher({ ca, port, hosts, ...extra });
function sts(extra: Partial<ConstructorParameters<typeof MtaSts>[0]> = {}) {
  return new MtaSts({ resolveTxt, fetch: { ca, port, hosts }, now: () => clock.now, store: new MemoryStsPolicyStore(), ...extra });
}
async function fetchError(domain: string, f = fetcher()): Promise<MtaStsErrorCode> {
  const err = await f(domain).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MtaStsError);
  return (err as MtaStsError).code;
}
function policyError(text: string): MtaStsError {
  try {
    parseStsPolicy(text);
  } catch (err) {
    expect(err).toBeInstanceOf(MtaStsError);
    return err as MtaStsError;
  }
  throw new Error('parsed');
}

beforeAll(async () => {
  const good = await makeSelfSignedCertificate(DOMAINS.filter((d) => d !== 'wrongcert.test').map((d) => `mta-sts.${d}`));
  // Trusted, but for another name than the one asked for.
  const other = await makeSelfSignedCertificate(['mta-sts.other.test']);
  ca = [good.cert, other.cert];
  const otherContext = createSecureContext({ cert: other.cert, key: other.key });
  server = createServer(
    {
      cert: good.cert,
      key: good.key,
      SNICallback: (name, cb) => cb(null, name === 'mta-sts.wrongcert.test' ? otherContext : undefined),
    },
    (req, res) => {
      const domain = (req.headers.host ?? '').replace(/:\d+$/, '').replace(/^mta-sts\./, '');
      requests.set(domain, (requests.get(domain) ?? 0) + 1);
      const a = answers.get(domain);
      if (!a || req.url !== '/.well-known/mta-sts.txt') return void res.writeHead(404).end();
      if (a.hang) return;
      res.writeHead(a.status ?? 200, { 'content-type': a.type ?? 'text/plain; charset=utf-8', ...(a.location ? { location: a.location } : {}) });
      res.end(a.body ?? '');
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;

  for (const d of DOMAINS) {
    txt.set(`_mta-sts.${d}`, [['v=STSv1; id=20260301T000000;']]);
    answers.set(d, { body: ENFORCE.replaceAll('good.test', d) });
  }
  answers.set('testing.test', { body: 'version: STSv1\nmode: testing\nmx: mx.testing.test\nmax_age: 604800\n' });
  txt.set('_mta-sts.twotxt.test', [['v=STSv1; id=one;'], ['v=STSv1; id=two;']]);
  txt.set('_mta-sts.noid.test', [['v=STSv1; ext=1;']]);
  answers.set('nomx.test', { body: 'version: STSv1\nmode: enforce\nmax_age: 86400\n' });
  answers.set('badmode.test', { body: 'version: STSv1\nmode: Enforce\nmx: mx.badmode.test\nmax_age: 86400\n' });
  answers.set('badage.test', { body: 'version: STSv1\nmode: enforce\nmx: mx.badage.test\nmax_age: one day\n' });
  answers.set('redirect.test', { status: 301, location: `https://mta-sts.good.test:${port}/.well-known/mta-sts.txt` });
  answers.set('html.test', { type: 'text/html', body: ENFORCE });
  answers.set('big.test', { body: ENFORCE + `x-padding: ${'a'.repeat(70 * 1024)}\n` });
  answers.set('slow.test', { hang: true });
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('TXT record (RFC 8461 §3.1)', () => {
  it('takes the one v=STSv1 record, joining its strings and ignoring other records', () => {
    expect(parseStsRecord([['v=spf1 -all'], ['v=STSv1; id=', 'abc123']])).toEqual({ id: 'abc123' });
    expect(parseStsRecord([['v=STSv1 ; id=a1 ; ext=x:y ;']])).toEqual({ id: 'a1' });
    expect(parseStsRecord([['v=STSv1; id=first; id=second']])).toEqual({ id: 'first' });
  });

  it.each<[string, string[][], MtaStsErrorCode]>([
    ['nothing', [], 'record-missing'],
    ['no separator after the version', [['v=STSv1 id=a']], 'record-missing'],
    ['two records', [['v=STSv1; id=a;'], ['v=STSv1; id=b;']], 'record-multiple'],
    ['no id', [['v=STSv1; ext=1;']], 'record-invalid'],
    ['no fields', [['v=STSv1;']], 'record-invalid'],
    ['an id of 33 characters', [[`v=STSv1; id=${'a'.repeat(33)}`]], 'record-invalid'],
    ['an id with a hyphen', [['v=STSv1; id=2026-03-01']], 'record-invalid'],
    ['an empty field in the middle', [['v=STSv1;; id=a']], 'record-invalid'],
  ])('refuses %s', (_, answers, code) => {
    expect(() => parseStsRecord(answers)).toThrow(expect.objectContaining({ code }));
  });

  it('two records or a record without id mean no policy, and nothing is fetched', async () => {
    const s = sts();
    expect(await s.policyFor('twotxt.test')).toBeNull();
    expect(await s.policyFor('noid.test')).toBeNull();
    expect(requests.get('twotxt.test')).toBeUndefined();
    expect(requests.get('noid.test')).toBeUndefined();
  });

  it('no record at all means no policy', async () => {
    expect(await sts().policyFor('nowhere.test')).toBeNull();
  });
});

describe('policy file (RFC 8461 §3.2)', () => {
  it('parses an enforce policy with a wildcard mx', () => {
    expect(parseStsPolicy(ENFORCE)).toEqual({ version: 'STSv1', mode: 'enforce', mx: ['mx1.good.test', '*.mail.good.test'], maxAge: 86400 });
  });

  it('accepts LF endings, no final newline, unknown fields, and a none policy without mx; the first of a repeated field counts', () => {
    expect(parseStsPolicy('version: STSv1\nmode:none\nmax_age: 0\nmode: enforce\nfuture_field: some value')).toEqual({ version: 'STSv1', mode: 'none', mx: [], maxAge: 0 });
  });

  it('caps max_age at one year', () => {
    expect(parseStsPolicy(ENFORCE.replace('86400', '9999999999')).maxAge).toBe(MAX_AGE_LIMIT_SECONDS);
  });

  it.each<[string, string, string]>([
    ['missing mx', 'version: STSv1\nmode: enforce\nmax_age: 86400\n', 'mx'],
    ['missing mx in testing mode', 'version: STSv1\nmode: testing\nmax_age: 86400\n', 'mx'],
    ['a bad mode', 'version: STSv1\nmode: report\nmx: a.test\nmax_age: 86400\n', 'mode'],
    ['a mode in capitals', 'version: STSv1\nmode: ENFORCE\nmx: a.test\nmax_age: 86400\n', 'mode'],
    ['a non-numeric max_age', 'version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 1d\n', 'max_age'],
    ['a negative max_age', 'version: STSv1\nmode: enforce\nmx: a.test\nmax_age: -1\n', 'max_age'],
    ['an 11-digit max_age', 'version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 10000000000\n', 'max_age'],
    ['no max_age', 'version: STSv1\nmode: enforce\nmx: a.test\n', 'max_age'],
    ['another version', 'version: STSv2\nmode: enforce\nmx: a.test\nmax_age: 86400\n', 'version'],
    ['no version', 'mode: enforce\nmx: a.test\nmax_age: 86400\n', 'version'],
    ['a wildcard inside a label', 'version: STSv1\nmode: enforce\nmx: mx*.a.test\nmax_age: 86400\n', 'mx'],
    ['a wildcard not on the left', 'version: STSv1\nmode: enforce\nmx: mail.*.test\nmax_age: 86400\n', 'mx'],
    ['an mx with a trailing dot', 'version: STSv1\nmode: enforce\nmx: a.test.\nmax_age: 86400\n', 'mx'],
    ['an empty mx', 'version: STSv1\nmode: enforce\nmx:\nmax_age: 86400\n', 'mx'],
    ['a line without a colon', 'version: STSv1\nmode enforce\nmx: a.test\nmax_age: 86400\n', 'syntax'],
    ['a blank line in the middle', 'version: STSv1\n\nmode: enforce\nmx: a.test\nmax_age: 86400\n', 'syntax'],
    ['an HTML page', '<html><body>version: STSv1</body></html>', 'syntax'],
  ])('refuses %s', (_, text, field) => {
    const err = policyError(text);
    expect(err.code).toBe('policy-malformed');
    expect(err.field).toBe(field);
  });

  it('a malformed policy served over HTTPS means no policy', async () => {
    const s = sts();
    expect(await s.policyFor('nomx.test')).toBeNull();
    expect(await s.policyFor('badmode.test')).toBeNull();
    expect(await s.policyFor('badage.test')).toBeNull();
    expect(requests.get('badage.test')).toBe(1);
  });
});

describe('fetching over HTTPS (RFC 8461 §3.3)', () => {
  it('fetches a valid enforce policy with a wildcard mx', async () => {
    const policy = await sts().policyFor('Good.Test.');
    expect(policy).toEqual({ mode: 'enforce', mx: ['mx1.good.test', '*.mail.good.test'], id: '20260301T000000' });
    expect(mxAllowed(policy!, 'in1.mail.good.test')).toBe(true);
    expect(mxAllowed(policy!, 'evil.test')).toBe(false);
  });

  it('fetches a testing policy; the relay then tries every MX and only lists the unlisted ones', async () => {
    const policy = await sts().policyFor('testing.test');
    expect(policy).toEqual({ mode: 'testing', mx: ['mx.testing.test'], id: '20260301T000000' });
    const plan = filterMxByPolicy(policy, [{ exchange: 'mx.testing.test' }, { exchange: 'backup.elsewhere.test' }]);
    expect(plan.hosts.map((h) => h.exchange)).toEqual(['mx.testing.test', 'backup.elsewhere.test']);
    expect(plan.refused.map((h) => h.exchange)).toEqual(['backup.elsewhere.test']);
    expect(stsTransportOptions(policy, 'backup.elsewhere.test', { rejectUnauthorized: false })).toEqual({ requireTLS: false, tls: { servername: 'backup.elsewhere.test', rejectUnauthorized: false } });
  });

  it('refuses a certificate for another name, though it is trusted', async () => {
    expect(await fetchError('wrongcert.test')).toBe('fetch-tls');
    expect(requests.get('wrongcert.test')).toBeUndefined();
    expect(await sts().policyFor('wrongcert.test')).toBeNull();
  });

  it('refuses a certificate it does not trust', async () => {
    const err = await createPolicyFetcher({ port, hosts })('good.test').then(
      () => null,
      (e: unknown) => e as MtaStsError,
    );
    expect(err?.code).toBe('fetch-tls');
  });

  it('does not follow a redirect', async () => {
    const before = requests.get('good.test') ?? 0;
    expect(await fetchError('redirect.test')).toBe('fetch-redirect');
    expect(requests.get('redirect.test')).toBe(1);
    expect(requests.get('good.test') ?? 0).toBe(before);
  });

  it('refuses another content type, a body over 64 KiB, and a host that does not answer in time', async () => {
    expect(await fetchError('html.test')).toBe('fetch-content-type');
    expect(await fetchError('big.test')).toBe('fetch-too-large');
    expect(await fetchError('slow.test', fetcher({ timeoutMs: 300 }))).toBe('fetch-timeout');
    expect(await fetchError('unknown-host.test')).toBe('fetch-network');
  });
});

describe('cache (RFC 8461 §3.3, §5.1)', () => {
  it('fetches once per id, again for a new id, keeps the cached policy when a fetch fails, and drops it at max_age', async () => {
    const s = sts({ fetchRetrySeconds: 300 });
    const count = () => requests.get('cache.test') ?? 0;
    const start = count();

    const first = await s.policyFor('cache.test');
    expect(first?.id).toBe('20260301T000000');
    advance(3600);
    expect(await s.policyFor('cache.test')).toEqual(first);
    expect(count()).toBe(start + 1); // same id: no refetch

    txt.set('_mta-sts.cache.test', [['v=STSv1; id=v2;']]);
    answers.set('cache.test', { body: 'version: STSv1\nmode: enforce\nmx: new-mx.cache.test\nmax_age: 86400\n' });
    expect(await s.policyFor('cache.test')).toEqual({ mode: 'enforce', mx: ['new-mx.cache.test'], id: 'v2' });
    expect(count()).toBe(start + 2); // new id: refetched

    txt.set('_mta-sts.cache.test', [['v=STSv1; id=v3;']]);
    answers.set('cache.test', { status: 500, body: 'oops' });
    expect(await s.policyFor('cache.test')).toEqual({ mode: 'enforce', mx: ['new-mx.cache.test'], id: 'v2' });
    expect(count()).toBe(start + 3);
    // Within the retry pause the failed id is not fetched again.
    expect((await s.policyFor('cache.test'))?.id).toBe('v2');
    expect(count()).toBe(start + 3);

    // No TXT record any more: the unexpired cached policy still applies.
    txt.delete('_mta-sts.cache.test');
    expect((await s.policyFor('cache.test'))?.id).toBe('v2');

    // After max_age, with the record back but the host still failing: no policy.
    txt.set('_mta-sts.cache.test', [['v=STSv1; id=v3;']]);
    advance(86400);
    expect(await s.policyFor('cache.test')).toBeNull();
    expect(count()).toBe(start + 4);

    // The host is fixed: the next lookup after the pause fetches v3.
    answers.set('cache.test', { body: 'version: STSv1\nmode: none\nmax_age: 86400\n' });
    advance(300);
    expect(await s.policyFor('cache.test')).toEqual({ mode: 'none', mx: [], id: 'v3' });
  });

  it('shares one fetch between concurrent lookups', async () => {
    const s = sts();
    const before = requests.get('good.test') ?? 0;
    const all = await Promise.all([s.policyFor('good.test'), s.policyFor('good.test'), s.policyFor('GOOD.test')]);
    expect(all.every((p) => p?.mode === 'enforce')).toBe(true);
    expect(requests.get('good.test')).toBe(before + 1);
  });

  it('a DNS failure other than "no such name" keeps the cached policy', async () => {
    let fail = false;
    const s = sts({ resolveTxt: (n) => (fail ? Promise.reject(Object.assign(new Error('queryTxt ESERVFAIL'), { code: 'ESERVFAIL' })) : resolveTxt(n)) });
    const p = await s.policyFor('good.test');
    fail = true;
    expect(await s.policyFor('good.test')).toEqual(p);
  });
});

describe('MX matching (RFC 8461 §4.1)', () => {
  const policy = { mx: ['mx1.example.com', '*.mail.example.com'] };
  it.each<[string, boolean]>([
    ['mx1.example.com', true],
    ['MX1.Example.COM', true],
    ['mx1.example.com.', true],
    ['a.mail.example.com', true],
    ['A.MAIL.EXAMPLE.COM.', true],
    ['mail.example.com', false], // the wildcard needs one more label
    ['a.b.mail.example.com', false], // and only one
    ['amail.example.com', false],
    ['mx2.example.com', false],
    ['mx1.example.com.evil.test', false],
    ['', false],
    ['.', false],
  ])('%s → %s', (host, allowed) => {
    expect(mxAllowed(policy, host)).toBe(allowed);
  });

  it('enforce drops unlisted hosts; none and no policy keep all', () => {
    const hosts = [{ exchange: 'mx1.example.com', priority: 10 }, { exchange: 'backup.other.test', priority: 20 }];
    const enforce: AppliedStsPolicy = { mode: 'enforce', id: 'a', ...policy };
    expect(filterMxByPolicy(enforce, hosts)).toEqual({ hosts: [hosts[0]], refused: [hosts[1]] });
    expect(filterMxByPolicy({ ...enforce, mode: 'none' }, hosts)).toEqual({ hosts, refused: [] });
    expect(filterMxByPolicy(null, hosts)).toEqual({ hosts, refused: [] });
  });
});

describe('delivery under an enforce policy (RFC 8461 §4.2), through nodemailer to a real smtp-server', () => {
  const enforce: AppliedStsPolicy = { mode: 'enforce', mx: ['mx.good.test'], id: 'a' };
  let mxCa: string;
  const servers: SMTPServer[] = [];
  async function smtp(opts: { hideSTARTTLS?: boolean; disabledCommands?: string[] }): Promise<number> {
    const s = new SMTPServer({ ...tlsMaterial, ...opts, authOptional: true, logger: false, onData: (stream, _session, cb) => stream.resume().on('end', () => cb()) });
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return (s.server.address() as AddressInfo).port;
  }
  let tlsMaterial: { cert: string; key: string };
  /** Delivers one mail; rejects with nodemailer's error, checked to count as an MTA-STS failure. */
  async function send(smtpPort: number, host: string): Promise<void> {
    const t = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort, secure: false, connectionTimeout: 5000, ...stsTransportOptions(enforce, host, { ca: mxCa, rejectUnauthorized: false }) });
    try {
      await t.sendMail({ from: 'a@sealmail.test', to: 'b@good.test', subject: 'Hi', text: 'Hello' });
    } catch (err) {
      expect(isStsDeliveryFailure(err)).toBe(true);
      throw err;
    } finally {
      t.close();
    }
  }

  beforeAll(async () => {
    tlsMaterial = await makeSelfSignedCertificate(['mx.good.test']);
    mxCa = tlsMaterial.cert;
  });
  afterAll(async () => {
    for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
  });

  it('sets requireTLS and certificate checks for the MX name, overriding a relaxed base', () => {
    expect(stsTransportOptions(enforce, 'MX.good.test.', { ca: 'CA', rejectUnauthorized: false })).toEqual({ requireTLS: true, tls: { ca: 'CA', servername: 'mx.good.test', rejectUnauthorized: true } });
  });

  it('delivers over STARTTLS to an MX whose certificate names it', async () => {
    await expect(send(await smtp({}), 'mx.good.test')).resolves.toBeUndefined();
  });

  it('refuses an MX whose certificate is for another name', async () => {
    await expect(send(await smtp({}), 'mx2.good.test')).rejects.toThrow(/altnames|mx2\.good\.test/i);
  });

  it('refuses an MX that does not offer STARTTLS (its 500 to STARTTLS still counts as retryable)', async () => {
    // nodemailer's requireTLS tries STARTTLS even when it is not advertised: here the MX refuses it.
    await expect(send(await smtp({ hideSTARTTLS: true, disabledCommands: ['STARTTLS'] }), 'mx.good.test')).rejects.toMatchObject({ code: 'ETLS', responseCode: 500 });
  });

  it('an ordinary SMTP refusal is not an MTA-STS failure', () => {
    expect(isStsDeliveryFailure(Object.assign(new Error('550 no such user'), { code: 'EENVELOPE', responseCode: 550 }))).toBe(false);
    expect(isStsDeliveryFailure(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ESOCKET', originalCode: 'ECONNREFUSED' }))).toBe(false);
  });
});
