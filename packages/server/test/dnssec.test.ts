/**
 * DNSSEC-aware lookups for DANE. The validating resolver is outside this machine, so a stand-in
 * DNS server on loopback (UDP and TCP, answers encoded with dns-packet) plays it: it sets the AD
 * bit for "signed" names, answers NXDOMAIN/SERVFAIL, and truncates one answer over UDP so the
 * client must ask again over TCP. Also: the test table's view (signed zones under "DNSSEC").
 */
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import * as packet from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DnsLookupError, tableDnssecResolver, validatingResolver } from '../src/dnssec';

let udp: Socket;
let tcp: Server;
let port = 0;
const queries: packet.DecodedPacket[] = [];
const TLSA_DATA = Buffer.from('8f'.repeat(32), 'hex');

function answer(q: packet.DecodedPacket, overTcp: boolean): Buffer {
  const question = q.questions![0]!;
  const base = { type: 'response' as const, id: q.id, questions: q.questions };
  const flags = (ad: boolean, extra = 0) => packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE | (ad ? packet.AUTHENTIC_DATA : 0) | extra;
  const tlsa = (name: string) => ({ type: 'TLSA' as const, name, ttl: 300, class: 'IN' as const, data: { usage: 3, selector: 1, matchingType: 1, certificate: TLSA_DATA } });
  switch (`${question.type} ${question.name}`) {
    case 'MX signed.test':
      return packet.encode({ ...base, flags: flags(true), answers: [{ type: 'MX', name: 'signed.test', ttl: 300, class: 'IN', data: { preference: 10, exchange: 'mx.signed.test' } }] });
    case 'TLSA _25._tcp.mx.signed.test':
      return packet.encode({ ...base, flags: flags(true), answers: [tlsa(question.name)] });
    case 'MX plain.test':
      return packet.encode({ ...base, flags: flags(false), answers: [{ type: 'MX', name: 'plain.test', ttl: 300, class: 'IN', data: { preference: 5, exchange: 'mx.plain.test' } }] });
    case 'TLSA _25._tcp.big.test':
      // Too big for UDP: the TC bit and nothing else; over TCP the records.
      if (!overTcp) return packet.encode({ ...base, flags: flags(true, packet.TRUNCATED_RESPONSE), answers: [] });
      return packet.encode({ ...base, flags: flags(true), answers: [tlsa(question.name), tlsa(question.name)] });
    case 'MX broken.test':
      return packet.encode({ ...base, flags: flags(false) | 2 /* SERVFAIL */ });
    default:
      return packet.encode({ ...base, flags: flags(true) | 3 /* NXDOMAIN, denial validated */ });
  }
}

beforeAll(async () => {
  udp = createSocket('udp4');
  udp.on('message', (msg, rinfo) => {
    const q = packet.decode(msg);
    queries.push(q);
    udp.send(answer(q, false), rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  port = udp.address().port;
  tcp = createServer((s) => {
    let buf = Buffer.alloc(0);
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
      const out = answer(packet.decode(buf.subarray(2)), true);
      const len = Buffer.alloc(2);
      len.writeUInt16BE(out.length);
      s.end(Buffer.concat([len, out]));
    });
  });
  await new Promise<void>((r) => tcp.listen(port, '127.0.0.1', r));
});

afterAll(async () => {
  udp.close();
  await new Promise<void>((r) => tcp.close(() => r()));
});

describe('validating resolver (AD bit of the resolver on the host)', () => {
  const resolver = () => validatingResolver({ servers: [`127.0.0.1:${port}`], timeoutMs: 2000 });

  it('asks with the DO bit and for AD, and reports the AD bit of the answer', async () => {
    const signed = await resolver().mx('signed.test');
    expect(signed).toEqual({ secure: true, records: [{ exchange: 'mx.signed.test', priority: 10 }] });
    const q = queries.at(-1)!;
    expect(q.flag_ad).toBe(true);
    expect(q.additionals?.some((a) => a.type === 'OPT' && ((a as { flags?: number }).flags ?? 0) & packet.DNSSEC_OK)).toBe(true);
    expect(await resolver().mx('plain.test')).toEqual({ secure: false, records: [{ exchange: 'mx.plain.test', priority: 5 }] });
  });

  it('decodes TLSA records, and asks again over TCP when the UDP answer is truncated', async () => {
    expect(await resolver().tlsa('_25._tcp.mx.signed.test')).toEqual({ secure: true, records: [{ usage: 3, selector: 1, matchingType: 1, data: TLSA_DATA }] });
    const big = await resolver().tlsa('_25._tcp.big.test');
    expect(big.secure).toBe(true);
    expect(big.records).toHaveLength(2);
  });

  it('a name that does not exist is an empty answer; SERVFAIL and silence are errors', async () => {
    expect(await resolver().tlsa('_25._tcp.mx.nowhere.test')).toEqual({ secure: true, records: [] });
    await expect(resolver().mx('broken.test')).rejects.toMatchObject({ code: 'ESERVFAIL' });
    const silent = createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', r));
    try {
      const err = await validatingResolver({ servers: [`127.0.0.1:${silent.address().port}`], timeoutMs: 300 }).mx('signed.test').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DnsLookupError);
      expect((err as DnsLookupError).code).toBe('ETIMEOUT');
    } finally {
      silent.close();
    }
  });
});

describe('test table view', () => {
  it('is secure inside the zones listed under "DNSSEC" and reads TLSA data as hex', async () => {
    const table = { DNSSEC: ['signed.test'], 'MX signed.test': [{ exchange: 'mx.signed.test', priority: 10 }], 'TLSA _25._tcp.mx.signed.test': [{ usage: 3, selector: 1, matchingType: 1, data: '8f'.repeat(32) }] };
    const r = tableDnssecResolver(table);
    expect(await r.mx('signed.test')).toEqual({ secure: true, records: [{ exchange: 'mx.signed.test', priority: 10 }] });
    expect(await r.tlsa('_25._tcp.mx.signed.test.')).toEqual({ secure: true, records: [{ usage: 3, selector: 1, matchingType: 1, data: TLSA_DATA }] });
    expect(await r.mx('unsigned.test')).toEqual({ secure: false, records: [] });
    expect((await r.tlsa('_25._tcp.mx.signedxtest')).secure).toBe(false);
  });
});
