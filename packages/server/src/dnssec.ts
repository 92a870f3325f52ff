/**
 * DNS answers with their DNSSEC status, for DANE (RFC 7672) in the outbound relay. Node's resolver
 * does not say whether an answer was validated, so this asks the system's resolver directly (one
 * UDP query with the DO bit, TCP when truncated, RFC 6840 §5.7 "AD" requested) and reports the AD
 * bit it answers with. Like Postfix with `smtp_dns_support_level = dnssec`, Sealmail trusts a
 * validating resolver on the host (unbound, systemd-resolved with DNSSEC=yes, a local
 * recursive resolver): behind a resolver that does not validate, no answer is "secure" and DANE
 * simply never applies (docs/mail.md "DANE").
 *
 * Tests answer from the same table as `tableResolver` (DNS is outside this machine): TLSA
 * records as `{ usage, selector, matchingType, data: "<hex>" }` under `"TLSA <name>"`, and the
 * signed zones under the key `"DNSSEC"` (an answer is secure when its name is in one of them).
 */
import { randomInt } from 'node:crypto';
import { getServers } from 'node:dns';
import { createSocket } from 'node:dgram';
import { connect as tcpConnect, isIP } from 'node:net';
import * as packet from 'dns-packet';
import { readDnsTable, type DnsTable, type MxAnswer, type TlsaTableAnswer } from './dns';

/** A TLSA record (RFC 6698 §2.1): certificate usage, selector, matching type, association data. */
export interface TlsaRecord {
  usage: number;
  selector: number;
  matchingType: number;
  data: Buffer;
}

/** Records of one type at a name and whether the resolver validated them (or their absence). */
export interface SecureAnswer<T> {
  secure: boolean;
  records: T[];
}

/** MX and TLSA lookups that say whether DNSSEC validated the answer. Failures (SERVFAIL, time-outs) throw. */
export interface DnssecResolver {
  mx(name: string): Promise<SecureAnswer<MxAnswer>>;
  tlsa(name: string): Promise<SecureAnswer<TlsaRecord>>;
}

/** A DNS failure that is not an answer (SERVFAIL, REFUSED, no server answering). */
export class DnsLookupError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

interface ValidatingOptions {
  /** Resolver addresses (`1.2.3.4`, `[::1]:5353`, `127.0.0.1:5353`); default: the system's (`/etc/resolv.conf`). */
  servers?: string[];
  /** Per server and attempt. */
  timeoutMs?: number;
}

function splitServer(server: string): { host: string; port: number } {
  if (isIP(server)) return { host: server, port: 53 };
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(server) ?? /^([^:]+):(\d+)$/.exec(server);
  if (!m) return { host: server, port: 53 };
  return { host: m[1]!, port: m[2] ? Number(m[2]) : 53 };
}

function query(name: string, type: 'MX' | 'TLSA'): { id: number; bytes: Buffer } {
  const id = randomInt(0, 0x10000);
  const bytes = packet.encode({
    type: 'query',
    id,
    flags: packet.RECURSION_DESIRED | packet.AUTHENTIC_DATA,
    questions: [{ type, name, class: 'IN' }],
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: packet.DNSSEC_OK, options: [] } as unknown as packet.Answer],
  });
  return { id, bytes };
}

function overUdp(server: { host: string; port: number }, q: { id: number; bytes: Buffer }, timeoutMs: number): Promise<packet.DecodedPacket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIP(server.host) === 6 ? 'udp6' : 'udp4');
    const timer = setTimeout(() => finish(new DnsLookupError(`no answer from ${server.host} in ${timeoutMs} ms`, 'ETIMEOUT')), timeoutMs);
    const finish = (err: Error | null, p?: packet.DecodedPacket) => {
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else resolve(p!);
    };
    socket.on('error', (err) => finish(err));
    socket.on('message', (msg) => {
      let p: packet.DecodedPacket;
      try {
        p = packet.decode(msg);
      } catch {
        return; // not a DNS answer: keep waiting for the real one
      }
      if (p.id === q.id) finish(null, p);
    });
    socket.send(q.bytes, server.port, server.host);
  });
}

function overTcp(server: { host: string; port: number }, q: { id: number; bytes: Buffer }, timeoutMs: number): Promise<packet.DecodedPacket> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(server.port, server.host);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => finish(new DnsLookupError(`no answer from ${server.host} over TCP in ${timeoutMs} ms`, 'ETIMEOUT')), timeoutMs);
    const finish = (err: Error | null, p?: packet.DecodedPacket) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(p!);
    };
    socket.on('error', (err) => finish(err));
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      const all = Buffer.concat(chunks);
      if (all.length >= 2 && all.length >= 2 + all.readUInt16BE(0)) {
        try {
          finish(null, packet.decode(all.subarray(2, 2 + all.readUInt16BE(0))));
        } catch (err) {
          finish(err as Error);
        }
      }
    });
    const len = Buffer.alloc(2);
    len.writeUInt16BE(q.bytes.length);
    socket.write(Buffer.concat([len, q.bytes]));
  });
}

/**
 * Lookups through a validating resolver (the system's, or `servers`): each answer carries the
 * resolver's AD bit. NXDOMAIN and NODATA are empty answers (secure when the denial was validated);
 * SERVFAIL — which is also what a validating resolver answers for a bogus signature — throws.
 */
export function validatingResolver(opts: ValidatingOptions = {}): DnssecResolver {
  const timeoutMs = opts.timeoutMs ?? 5000;
  async function ask(name: string, type: 'MX' | 'TLSA'): Promise<{ secure: boolean; answers: packet.Answer[] }> {
    const servers = (opts.servers ?? getServers()).map(splitServer);
    let last: unknown = new DnsLookupError('no DNS server is configured', 'ECONNREFUSED');
    for (const server of servers) {
      const q = query(name, type);
      try {
        let p = await overUdp(server, q, timeoutMs);
        if (p.flag_tc) p = await overTcp(server, query(name, type), timeoutMs);
        const rcode = (p as { rcode?: string }).rcode;
        if (rcode === 'NXDOMAIN' || rcode === 'NOERROR') return { secure: p.flag_ad === true, answers: (p.answers ?? []).filter((a) => a.type === type) };
        last = new DnsLookupError(`${type} ${name}: ${rcode ?? 'no answer code'}`, rcode === 'SERVFAIL' ? 'ESERVFAIL' : 'EREFUSED');
      } catch (err) {
        last = err;
      }
    }
    throw last;
  }
  return {
    async mx(name) {
      const a = await ask(name, 'MX');
      return { secure: a.secure, records: a.answers.map((r) => (r as { data: unknown }).data as { preference: number; exchange: string }).map((d) => ({ exchange: d.exchange, priority: d.preference })) };
    },
    async tlsa(name) {
      const a = await ask(name, 'TLSA');
      return {
        secure: a.secure,
        records: a.answers.map((r) => (r as { data: unknown }).data as { usage: number; selector: number; matchingType: number; certificate: Buffer }).map((d) => ({ usage: d.usage, selector: d.selector, matchingType: d.matchingType, data: Buffer.from(d.certificate) })),
      };
    },
  };
}

const bare = (name: string) => name.toLowerCase().replace(/\.$/, '');

/** DNSSEC answers from a `DnsTable` (read anew on each lookup when a function): secure inside the zones listed under `"DNSSEC"`. */
export function tableDnssecResolver(table: DnsTable | (() => DnsTable)): DnssecResolver {
  const read = () => (typeof table === 'function' ? table() : table);
  const secure = (name: string) => {
    const zones = ((read()['DNSSEC'] as string[] | undefined) ?? []).map(bare);
    const n = bare(name);
    return zones.some((z) => n === z || n.endsWith(`.${z}`));
  };
  const lookup = (name: string, type: string) => {
    const t = read();
    const hit = t[`${type} ${bare(name)}`];
    if (hit && hit.length) return hit as unknown[];
    return [];
  };
  return {
    async mx(name) {
      return { secure: secure(name), records: lookup(name, 'MX') as MxAnswer[] };
    },
    async tlsa(name) {
      const records = (lookup(name, 'TLSA') as TlsaTableAnswer[]).map((r) => ({ usage: r.usage, selector: r.selector, matchingType: r.matchingType, data: Buffer.from(r.data, 'hex') }));
      return { secure: secure(name), records };
    },
  };
}

/** The DNSSEC view a process uses: the test table when `SEALMAIL_DNS_TABLE` is set, otherwise the system's validating resolver. */
export function dnssecResolverFromConfig(config: { dnsTableFile: string | undefined }): DnssecResolver {
  const file = config.dnsTableFile;
  return file ? tableDnssecResolver(() => readDnsTable(file)) : validatingResolver();
}
