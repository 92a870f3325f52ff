/**
 * The one DNS door: every lookup Sealmail makes (SPF/DKIM/DMARC at the ingress through mailauth,
 * MX and MTA-STS for outbound delivery, the admin's domain checker) goes through a `DnsResolver`.
 * In production it is the system resolver; tests replace it with a table of answers (DNS is
 * outside this machine), either in code (`tableResolver`) or, for whole processes started by
 * the end-to-end tests, from a JSON file named by `SEALMAIL_DNS_TABLE` (test-only).
 *
 * The shape is mailauth's `resolver` option (`(name, rrtype) => Promise<answers>`), which is
 * also `node:dns/promises`' `resolve`, so one value serves every caller.
 */
import { resolve as systemResolve } from 'node:dns/promises';
import { readFileSync } from 'node:fs';

/** A mail exchanger as node:dns answers it. */
export interface MxAnswer {
  exchange: string;
  priority: number;
}

/** A TLSA record as a test table writes it (packages/server/src/dnssec.ts reads it). */
export interface TlsaTableAnswer {
  usage: number;
  selector: number;
  matchingType: number;
  /** Association data, hex. */
  data: string;
}

/** TXT answers are lists of character-strings (a long record comes in 255-octet pieces). */
export type DnsAnswer = string[][] | string[] | MxAnswer[] | TlsaTableAnswer[];

/** `(name, 'TXT' | 'MX' | 'A' | 'AAAA' | 'CNAME')` → the answers; throws a node:dns error (code ENOTFOUND/ENODATA…) when there are none. */
export type DnsResolver = (name: string, rrtype: string) => Promise<DnsAnswer>;

/** Real DNS (node:dns/promises, the system's resolver configuration). */
export const systemResolver: DnsResolver = (name, rrtype) => systemResolve(name, rrtype) as Promise<DnsAnswer>;

/**
 * A table of answers keyed `"<TYPE> <name>"` (lower-case name, no trailing dot), e.g.
 * `{ "TXT _dmarc.example.test": [["v=DMARC1; p=reject"]], "MX example.test": [{ "exchange": "mx.example.test", "priority": 10 }] }`.
 */
export type DnsTable = Record<string, DnsAnswer>;

function notFound(name: string, rrtype: string, code: 'ENOTFOUND' | 'ENODATA'): Error {
  return Object.assign(new Error(`query${rrtype} ${code} ${name}`), { code, hostname: name });
}

const keyOf = (rrtype: string, name: string) => `${rrtype.toUpperCase()} ${name.toLowerCase().replace(/\.$/, '')}`;

/** Answers from `table` (read anew on each lookup when it is a function); names not in it do not exist. */
export function tableResolver(table: DnsTable | (() => DnsTable)): DnsResolver {
  return async (name, rrtype) => {
    const t = typeof table === 'function' ? table() : table;
    const hit = t[keyOf(rrtype, name)];
    if (hit && hit.length) return hit;
    const other = Object.keys(t).some((k) => k.slice(k.indexOf(' ') + 1) === name.toLowerCase().replace(/\.$/, ''));
    throw notFound(name, rrtype, other ? 'ENODATA' : 'ENOTFOUND');
  };
}

/** Answers from a JSON file (a `DnsTable`), read on every lookup so a test can publish records while the server runs. */
export function fileTableResolver(file: string): DnsResolver {
  return tableResolver(() => readDnsTable(file));
}

/** A `DnsTable` from a JSON file; an unreadable or half-written file is an empty table (nothing resolves). */
export function readDnsTable(file: string): DnsTable {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as DnsTable;
  } catch {
    return {};
  }
}

/** The resolver a process uses: the test table when `SEALMAIL_DNS_TABLE` is set, otherwise real DNS. */
export const resolverFromConfig = (config: { dnsTableFile: string | undefined }): DnsResolver =>
  config.dnsTableFile ? fileTableResolver(config.dnsTableFile) : systemResolver;

/** TXT records at `name`, each joined from its pieces; empty when there are none. Other failures (SERVFAIL, timeouts) throw. */
export async function lookupTxt(resolver: DnsResolver, name: string): Promise<string[]> {
  try {
    return ((await resolver(name, 'TXT')) as string[][]).map((r) => (Array.isArray(r) ? r.join('') : String(r)));
  } catch (err) {
    if (isNoAnswer(err)) return [];
    throw err;
  }
}

/** MX records of `name`; empty when there are none. */
export async function lookupMx(resolver: DnsResolver, name: string): Promise<MxAnswer[]> {
  try {
    return (await resolver(name, 'MX')) as MxAnswer[];
  } catch (err) {
    if (isNoAnswer(err)) return [];
    throw err;
  }
}

/** Host names or addresses of one type at `name` (A, AAAA, CNAME); empty when there are none. */
export async function lookupNames(resolver: DnsResolver, name: string, rrtype: 'A' | 'AAAA' | 'CNAME'): Promise<string[]> {
  try {
    return ((await resolver(name, rrtype)) as string[]).map(String);
  } catch (err) {
    if (isNoAnswer(err)) return [];
    throw err;
  }
}

/** The name or record does not exist (as opposed to a failing resolver). */
export function isNoAnswer(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'ENOTFOUND' || code === 'ENODATA' || code === 'NXDOMAIN';
}
