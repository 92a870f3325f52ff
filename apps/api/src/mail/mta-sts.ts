/**
 * MTA-STS (RFC 8461) for the outbound relay: which MX hosts of a recipient domain may receive its
 * mail, and whether they must offer STARTTLS with a certificate valid for their own name
 * (docs/mail.md §8, "MTA-STS").
 *
 * Discovery (§3.1): one TXT record `v=STSv1; id=…` at `_mta-sts.<domain>`. The policy (§3.2) is
 * fetched over HTTPS from `https://mta-sts.<domain>/.well-known/mta-sts.txt` (§3.3): the server
 * must present a certificate valid for `mta-sts.<domain>`, redirects are not followed, the answer
 * must be 200 and text/plain, at most 64 KiB, within a time limit. Policies are cached by domain
 * with their id and expiry (§5.1): a new id in DNS means a new fetch; the same id within max_age
 * means none; a failed fetch (or no TXT record at all) leaves an unexpired cached policy in force.
 *
 * Anything malformed — a TXT record, a policy — counts as "no policy" (the RFC's rule), never as
 * an error for the relay: `policyFor()` does not throw. The parsers below throw `MtaStsError`
 * with a code saying what was wrong, for logs and tests.
 */
import { resolveTxt as dnsResolveTxt } from 'node:dns/promises';
import { request } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { Logger } from '@sealmail/server';

/** RFC 8461 §3.2: the largest max_age a policy may ask for (one year); longer ones are cut to it. */
export const MAX_AGE_LIMIT_SECONDS = 31_557_600;
/** The largest policy body the fetcher reads. */
export const POLICY_MAX_BYTES = 64 * 1024;
/** Default time limit of one policy fetch (connect, TLS, headers and body together). */
export const POLICY_FETCH_TIMEOUT_MS = 30_000;
/** After a failed fetch for an id, wait this long before fetching that id again (§3.3 rate limit). */
export const FETCH_RETRY_SECONDS = 300;

export type StsMode = 'enforce' | 'testing' | 'none';

/** A parsed policy file (§3.2). `maxAge` is already capped at `MAX_AGE_LIMIT_SECONDS`. */
export interface StsPolicy {
  version: 'STSv1';
  mode: StsMode;
  /** MX patterns, lower-case: `mail.example.com` or `*.example.com`. */
  mx: string[];
  maxAge: number;
}

/** What the relay applies to one recipient domain. */
export interface AppliedStsPolicy {
  mode: StsMode;
  mx: string[];
  /** The policy id from the TXT record it was fetched under. */
  id: string;
}

/** One cached policy. Plain data (strings, dates, arrays), so a store can keep it in a table. */
export interface CachedStsPolicy {
  domain: string;
  id: string;
  policy: StsPolicy;
  fetchedAt: Date;
  expiresAt: Date;
}

/** Where cached policies live: in memory here; a Postgres table later, behind the same calls. */
export interface StsPolicyStore {
  get(domain: string): Promise<CachedStsPolicy | null>;
  put(entry: CachedStsPolicy): Promise<void>;
  delete(domain: string): Promise<void>;
}

export type MtaStsErrorCode =
  /** No TXT record starting with `v=STSv1;` at `_mta-sts.<domain>`. */
  | 'record-missing'
  /** More than one such record (§3.1: then there is no policy). */
  | 'record-multiple'
  /** The one record breaks the §3.1 grammar, or has no `id`. */
  | 'record-invalid'
  /** The policy file breaks §3.2 (`field` says where). */
  | 'policy-malformed'
  /** The policy host's certificate is not valid for `mta-sts.<domain>` or not trusted. */
  | 'fetch-tls'
  /** A 3xx answer: not followed (§3.3). */
  | 'fetch-redirect'
  /** Any other status than 200. */
  | 'fetch-status'
  | 'fetch-content-type'
  | 'fetch-too-large'
  | 'fetch-timeout'
  /** Address lookup, connection or protocol failure. */
  | 'fetch-network';

/** Why a record, a policy or a fetch was not usable. */
export class MtaStsError extends Error {
  constructor(
    readonly code: MtaStsErrorCode,
    message: string,
    /** For `policy-malformed`: the field at fault (`version`, `mode`, `mx`, `max_age`, `syntax`). */
    readonly field?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MtaStsError';
  }
}

// ---------------------------------------------------------------------------------------------
// §3.1 TXT record

const ID = /^[A-Za-z0-9]{1,32}$/;
const TXT_EXT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
/** sts-ext-value: printable ASCII except ';' (0x3B), '=' (0x3D) and space. */
const TXT_EXT_VALUE = /^[\x21-\x3a\x3c\x3e-\x7e]+$/;

/**
 * Picks the policy id out of the TXT answers for `_mta-sts.<domain>` (RFC 8461 §3.1).
 * Each answer's strings are joined without spaces; answers not starting with `v=STSv1;` are
 * ignored; exactly one must remain and match the grammar, with an `id` (the first one counts).
 * @throws MtaStsError `record-missing`, `record-multiple` or `record-invalid`.
 * @example parseStsRecord([['v=STSv1; id=20240101T000000;']]) // → { id: '20240101T000000' }
 */
export function parseStsRecord(answers: readonly (readonly string[])[]): { id: string } {
  const records = answers.map((chunks) => chunks.join('')).filter((r) => /^v=STSv1[ \t]*;/.test(r));
  if (records.length === 0) throw new MtaStsError('record-missing', 'no v=STSv1 TXT record');
  if (records.length > 1) throw new MtaStsError('record-multiple', `${records.length} v=STSv1 TXT records (exactly one is allowed)`);
  // sts-text-record = sts-version 1*(sts-sep sts-field) [sts-sep]; sts-sep = *WSP ";" *WSP
  const parts = records[0]!.split(/[ \t]*;[ \t]*/);
  if (parts[parts.length - 1] === '') parts.pop();
  const fields = parts.slice(1);
  if (!fields.length) throw new MtaStsError('record-invalid', 'the TXT record has no fields');
  let id: string | undefined;
  for (const f of fields) {
    const eq = f.indexOf('=');
    const name = eq < 0 ? f : f.slice(0, eq);
    const value = eq < 0 ? '' : f.slice(eq + 1);
    if (name === 'id') {
      if (!ID.test(value)) throw new MtaStsError('record-invalid', 'the id must be 1 to 32 letters or digits');
      id ??= value;
    } else if (eq < 0 || !TXT_EXT_NAME.test(name) || !TXT_EXT_VALUE.test(value)) {
      throw new MtaStsError('record-invalid', 'a TXT record field is not name=value');
    }
  }
  if (id === undefined) throw new MtaStsError('record-invalid', 'the TXT record has no id');
  return { id };
}

// ---------------------------------------------------------------------------------------------
// §3.2 policy file

const POLICY_FIELD = /^([A-Za-z0-9][A-Za-z0-9_.-]{0,31}):[ \t]*(.*?)[ \t]*$/;
/** A DNS name in letters, digits and hyphens (RFC 5321 Domain), optionally behind `*.`. */
const KNOWN_FIELDS = new Set(['version', 'mode', 'max_age', 'mx']);
const MX_PATTERN = /^(\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

/**
 * Parses a policy file (RFC 8461 §3.2). Lines end in LF or CRLF; each is `name: value`.
 * `version` (STSv1), `mode` (enforce, testing, none) and `max_age` (1 to 10 digits) are required,
 * and at least one `mx` unless the mode is `none`; names and values are case-sensitive, as in the
 * RFC's grammar. Of a repeated field other than `mx` the first one counts; unknown fields are
 * ignored (if well-formed). Blank lines are allowed only at the end.
 * @throws MtaStsError `policy-malformed`, with `field` naming the field at fault.
 * @example parseStsPolicy('version: STSv1\nmode: enforce\nmx: *.example.com\nmax_age: 86400\n')
 */
export function parseStsPolicy(text: string): StsPolicy {
  const bad = (field: string, message: string) => new MtaStsError('policy-malformed', message, field);
  const lines = text.split(/\r?\n/);
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  const seen = new Map<string, string>();
  const mx: string[] = [];
  for (const line of lines) {
    const m = POLICY_FIELD.exec(line);
    if (!m) throw bad('syntax', 'a line is not "name: value"');
    const [, name, value] = m as unknown as [string, string, string];
    if (!/^[\x21-\x7e]+(?:[ \t]+[\x21-\x7e]+)*$/.test(value)) throw bad(KNOWN_FIELDS.has(name) ? name : 'syntax', `field ${name} has an empty or non-ASCII value`);
    if (name === 'mx') {
      if (!MX_PATTERN.test(value)) throw bad('mx', 'an mx pattern is not a host name or *.<host name>');
      mx.push(value.toLowerCase());
    } else if (!seen.has(name)) {
      seen.set(name, value);
    }
  }
  const version = seen.get('version');
  if (version !== 'STSv1') throw bad('version', version === undefined ? 'no version' : 'version is not STSv1');
  const mode = seen.get('mode');
  if (mode !== 'enforce' && mode !== 'testing' && mode !== 'none') throw bad('mode', mode === undefined ? 'no mode' : 'mode is not enforce, testing or none');
  const maxAge = seen.get('max_age');
  if (maxAge === undefined) throw bad('max_age', 'no max_age');
  if (!/^[0-9]{1,10}$/.test(maxAge)) throw bad('max_age', 'max_age is not 1 to 10 digits');
  if (mode !== 'none' && !mx.length) throw bad('mx', `no mx in a ${mode} policy`);
  return { version: 'STSv1', mode, mx, maxAge: Math.min(Number(maxAge), MAX_AGE_LIMIT_SECONDS) };
}

// ---------------------------------------------------------------------------------------------
// §4.1 MX host validation and what the relay does with it

function normalizeHost(host: string): string {
  return host.trim().toLowerCase().replace(/\.$/, '');
}

/**
 * Whether an MX host name matches one of the policy's patterns (RFC 8461 §4.1): exactly, or
 * `*.example.com` for a host with exactly one more label on the left (`mail.example.com`, not
 * `example.com`, not `a.b.example.com`). Case-insensitive; a trailing dot is ignored. Says
 * nothing about the mode: see `filterMxByPolicy`.
 */
export function mxAllowed(policy: { readonly mx: readonly string[] }, host: string): boolean {
  const h = normalizeHost(host);
  if (!h) return false;
  return policy.mx.some((p) => {
    const pattern = normalizeHost(p);
    if (!pattern.startsWith('*.')) return h === pattern;
    const suffix = pattern.slice(1); // ".example.com"
    if (!h.endsWith(suffix)) return false;
    const label = h.slice(0, h.length - suffix.length);
    return label.length > 0 && !label.includes('.');
  });
}

/**
 * Splits a domain's MX hosts by the policy. `enforce`: only matching hosts are tried; the others
 * come back in `refused`. `testing`: every host is tried, the non-matching ones are still listed
 * in `refused` for the log. `none` or no policy: every host, nothing refused.
 */
export function filterMxByPolicy<T extends { exchange: string }>(policy: AppliedStsPolicy | null, hosts: readonly T[]): { hosts: T[]; refused: T[] } {
  if (!policy || policy.mode === 'none') return { hosts: [...hosts], refused: [] };
  const refused = hosts.filter((h) => !mxAllowed(policy, h.exchange));
  return { hosts: policy.mode === 'enforce' ? hosts.filter((h) => mxAllowed(policy, h.exchange)) : [...hosts], refused };
}

/** The nodemailer transport options `stsTransportOptions` sets. */
export interface StsTransportOptions {
  requireTLS: boolean;
  tls: ConnectionOptions;
}

/**
 * nodemailer options for delivering to `host` under a policy (RFC 8461 §4.2), to spread into
 * `createTransport`. In `enforce` mode STARTTLS is required and the certificate must chain to a
 * trusted root and be valid for the MX host name (`rejectUnauthorized: true`, `servername`),
 * whatever `base` says about rejecting; `base` still gives the trusted CAs. Otherwise STARTTLS
 * stays opportunistic, as without MTA-STS: used when offered, the certificate not checked (a stock
 * Postfix shows a self-signed one), and the relay falls back to plaintext if the handshake fails.
 */
export function stsTransportOptions(policy: AppliedStsPolicy | null, host: string, base: ConnectionOptions = {}): StsTransportOptions {
  const name = normalizeHost(host);
  // SNI carries host names only (RFC 6066 §3); an address literal gets none.
  const servername = isIP(name) ? {} : { servername: name };
  if (policy?.mode === 'enforce') return { requireTLS: true, tls: { ...base, ...servername, rejectUnauthorized: true } };
  // Opportunistic (RFC 7435): encrypt whatever certificate the host shows, as every MTA does.
  return { requireTLS: false, tls: { ...base, ...servername, rejectUnauthorized: false } };
}

/**
 * Whether a nodemailer error is a failure of the transport security an enforce policy demands:
 * STARTTLS refused or failed (`ETLS`, which may carry the remote's 5xx), or a certificate that is
 * untrusted or not valid for the MX name. RFC 8461 §5: such a failure must not fail the message
 * for good before the policy has been looked up again, so the relay retries it instead.
 */
export function isStsDeliveryFailure(err: unknown): boolean {
  const e = err as { code?: unknown; originalCode?: unknown } | null;
  return e?.code === 'ETLS' || isTlsFailure(e) || isTlsFailure({ code: e?.originalCode });
}

// ---------------------------------------------------------------------------------------------
// §3.3 fetching the policy

export interface PolicyFetchOptions {
  /** Trusted CAs instead of Node's default roots (tests trust their own CA). */
  ca?: string | string[];
  /** HTTPS port of policy hosts (443; tests use a loopback port). */
  port?: number;
  /**
   * Addresses for host names, in place of DNS (tests: `{ 'mta-sts.example.test': '127.0.0.1' }`).
   * Names not in the table do not resolve. The certificate is still checked for the host name.
   */
  hosts?: Readonly<Record<string, string>>;
  timeoutMs?: number;
  maxBytes?: number;
}

function tableLookup(table: Readonly<Record<string, string>>): LookupFunction {
  return (hostname, options, callback) => {
    const address = table[normalizeHost(hostname)];
    if (!address) {
      callback(Object.assign(new Error(`${hostname} is not in the address table`), { code: 'ENOTFOUND' }), '', 0);
      return;
    }
    const family = isIP(address);
    if (options.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  };
}

function isTlsFailure(err: unknown): boolean {
  const code = String((err as { code?: unknown } | null)?.code ?? '');
  return /^ERR_(TLS|SSL)_|CERT|UNABLE_TO_|SELF_SIGNED|ERR_OSSL/.test(code);
}

/**
 * The default policy fetcher: `GET https://mta-sts.<domain>/.well-known/mta-sts.txt` with the
 * certificate checked against `mta-sts.<domain>` (RFC 8461 §3.3), no redirects, no HTTP caches,
 * a time limit and a size limit. Answers the body as text.
 * @throws MtaStsError `fetch-*` (and `policy-malformed` for a body that is not UTF-8).
 */
export function createPolicyFetcher(opts: PolicyFetchOptions = {}): (domain: string) => Promise<string> {
  const maxBytes = opts.maxBytes ?? POLICY_MAX_BYTES;
  const timeoutMs = opts.timeoutMs ?? POLICY_FETCH_TIMEOUT_MS;
  return (domain) =>
    new Promise<string>((resolve, reject) => {
      const host = `mta-sts.${normalizeHost(domain)}`;
      let settled = false;
      const fail = (err: MtaStsError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        reject(err);
      };
      const req = request(
        {
          host,
          port: opts.port ?? 443,
          path: '/.well-known/mta-sts.txt',
          method: 'GET',
          servername: host,
          rejectUnauthorized: true,
          ...(opts.ca ? { ca: opts.ca } : {}),
          ...(opts.hosts ? { lookup: tableLookup(opts.hosts) } : {}),
          agent: false,
          headers: { accept: 'text/plain', 'user-agent': 'Sealmail MTA-STS' },
        },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status >= 300 && status < 400) return fail(new MtaStsError('fetch-redirect', `${host} answered ${status} (redirects are not followed)`));
          if (status !== 200) return fail(new MtaStsError('fetch-status', `${host} answered ${status}`));
          const type = (res.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
          if (type !== 'text/plain') return fail(new MtaStsError('fetch-content-type', `${host} answered ${type || 'no content type'}, not text/plain`));
          if (Number(res.headers['content-length'] ?? 0) > maxBytes) return fail(new MtaStsError('fetch-too-large', `the policy of ${domain} is larger than ${maxBytes} bytes`));
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > maxBytes) fail(new MtaStsError('fetch-too-large', `the policy of ${domain} is larger than ${maxBytes} bytes`));
            else chunks.push(chunk);
          });
          res.on('error', (err) => fail(new MtaStsError('fetch-network', `${host}: ${err.message}`, undefined, { cause: err })));
          res.on('end', () => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            try {
              resolve(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks)));
            } catch (err) {
              reject(new MtaStsError('policy-malformed', `the policy of ${domain} is not UTF-8`, 'syntax', { cause: err }));
            }
          });
        },
      );
      const timer = setTimeout(() => fail(new MtaStsError('fetch-timeout', `${host} did not answer within ${timeoutMs} ms`)), timeoutMs);
      req.on('error', (err) => fail(new MtaStsError(isTlsFailure(err) ? 'fetch-tls' : 'fetch-network', `${host}: ${err.message}`, undefined, { cause: err })));
      req.end();
    });
}

// ---------------------------------------------------------------------------------------------
// §5 policy application: discovery, cache, fetch

/** Cached policies in this process's memory. */
export class MemoryStsPolicyStore implements StsPolicyStore {
  private readonly entries = new Map<string, CachedStsPolicy>();
  async get(domain: string): Promise<CachedStsPolicy | null> {
    return this.entries.get(domain) ?? null;
  }
  async put(entry: CachedStsPolicy): Promise<void> {
    this.entries.set(entry.domain, entry);
  }
  async delete(domain: string): Promise<void> {
    this.entries.delete(domain);
  }
}

export interface MtaStsOptions {
  /** TXT lookup (default: node:dns/promises). Tests answer from a table. */
  resolveTxt?: (name: string) => Promise<string[][]>;
  /** Policy fetch, answering the policy file's text (default: `createPolicyFetcher(fetch)`). */
  fetchPolicy?: (domain: string) => Promise<string>;
  /** Options of the default fetcher (trusted CAs, port, address table, limits). */
  fetch?: PolicyFetchOptions;
  store?: StsPolicyStore;
  now?: () => Date;
  logger?: Pick<Logger, 'info' | 'warn'>;
  /** Seconds before a failed fetch for the same domain and id is tried again (default 300). */
  fetchRetrySeconds?: number;
}

/**
 * MTA-STS policies for the outbound relay.
 * @example
 * const sts = new MtaSts({ logger });
 * const policy = await sts.policyFor('example.com'); // { mode: 'enforce', mx: ['*.example.com'], id } | null
 */
export class MtaSts {
  private readonly resolveTxt: (name: string) => Promise<string[][]>;
  private readonly fetchPolicy: (domain: string) => Promise<string>;
  private readonly store: StsPolicyStore;
  private readonly now: () => Date;
  private readonly retryMs: number;
  /** Fetches that failed recently: domain → the id and when it may be fetched again. */
  private readonly failed = new Map<string, { id: string; until: number }>();
  /** Lookups under way, so concurrent deliveries to one domain share one fetch. */
  private readonly pending = new Map<string, Promise<AppliedStsPolicy | null>>();

  constructor(private readonly opts: MtaStsOptions = {}) {
    this.resolveTxt = opts.resolveTxt ?? dnsResolveTxt;
    this.fetchPolicy = opts.fetchPolicy ?? createPolicyFetcher(opts.fetch);
    this.store = opts.store ?? new MemoryStsPolicyStore();
    this.now = opts.now ?? (() => new Date());
    this.retryMs = (opts.fetchRetrySeconds ?? FETCH_RETRY_SECONDS) * 1000;
  }

  /**
   * The policy that applies to mail for `domain` now, or null when it has none (RFC 8461 §5).
   * Never throws: DNS, fetch and parse failures mean "the cached policy if unexpired, else none".
   */
  policyFor(domain: string): Promise<AppliedStsPolicy | null> {
    const d = normalizeHost(domain);
    const under = this.pending.get(d);
    if (under) return under;
    const p = this.lookUp(d).finally(() => this.pending.delete(d));
    this.pending.set(d, p);
    return p;
  }

  private async lookUp(domain: string): Promise<AppliedStsPolicy | null> {
    const now = this.now().getTime();
    const cached = await this.store.get(domain);
    const live = cached && cached.expiresAt.getTime() > now ? cached : null;
    const applied = (e: CachedStsPolicy | null): AppliedStsPolicy | null => (e ? { mode: e.policy.mode, mx: [...e.policy.mx], id: e.id } : null);

    let id: string;
    try {
      id = parseStsRecord(await this.txt(domain)).id;
    } catch (err) {
      // No usable record: an unexpired cached policy still applies (§5.1), else there is none.
      if (!(err instanceof MtaStsError && err.code === 'record-missing')) this.opts.logger?.warn({ domain, err: (err as Error).message }, 'mta-sts: TXT record not usable');
      return applied(live);
    }
    if (live && live.id === id) return applied(live);

    const failed = this.failed.get(domain);
    if (failed && failed.id === id && failed.until > now) return applied(live);
    let policy: StsPolicy;
    try {
      policy = parseStsPolicy(await this.fetchPolicy(domain));
    } catch (err) {
      this.failed.set(domain, { id, until: now + this.retryMs });
      this.opts.logger?.warn({ domain, id, code: (err as MtaStsError).code, err: (err as Error).message, cached: live?.id ?? null }, 'mta-sts: policy not fetched');
      return applied(live);
    }
    this.failed.delete(domain);
    const entry: CachedStsPolicy = { domain, id, policy, fetchedAt: new Date(now), expiresAt: new Date(now + policy.maxAge * 1000) };
    await this.store.put(entry);
    this.opts.logger?.info({ domain, id, mode: policy.mode, maxAge: policy.maxAge }, 'mta-sts: policy fetched');
    return applied(entry);
  }

  /** TXT answers for `_mta-sts.<domain>`; "no such name" and "no data" are no answers. */
  private async txt(domain: string): Promise<string[][]> {
    try {
      return await this.resolveTxt(`_mta-sts.${domain}`);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTFOUND' || code === 'ENODATA') return [];
      throw err;
    }
  }
}
