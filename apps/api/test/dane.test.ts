/**
 * DANE (RFC 7672) certificate checks: the chain a real TLS server on loopback presents (a test CA
 * and a leaf it signed, made here), matched against TLSA records of each usable kind, and the
 * records DANE cannot use. The relay's use of them (deliver on a match, hold on a mismatch, ignore
 * unsigned records) is in outbound.test.ts; the DNSSEC lookups in packages/server/test/dnssec.test.ts.
 */
import { createHash, X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { connect, createServer, type Server, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSelfSignedCertificate } from '@sealmail/server';
import { makeCertificateChain } from '@sealmail/server/testing';
import type { TlsaRecord } from '@sealmail/server';
import { daneFor, DaneMismatch, peerChain, usableTlsa, verifyDane } from '../src/mail/dane';

let server: Server;
let chain: X509Certificate[];
let pems: { ca: string; cert: string; key: string };
const now = new Date();

const spki = (c: X509Certificate) => c.publicKey.export({ type: 'spki', format: 'der' });
const rec = (usage: number, selector: number, matchingType: number, data: Buffer): TlsaRecord => ({ usage, selector, matchingType, data });
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest();
const sha512 = (b: Buffer) => createHash('sha512').update(b).digest();

beforeAll(async () => {
  pems = await makeCertificateChain(['mx1.dane.test']);
  // The server sends its leaf and the CA, as RFC 7672 §3.2.1 asks of DANE-TA servers.
  server = createServer({ cert: pems.cert + pems.ca, key: pems.key }, (s) => s.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const socket = await new Promise<TLSSocket>((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, servername: 'mx1.dane.test', rejectUnauthorized: false }, () => resolve(s));
    s.on('error', reject);
  });
  chain = peerChain(socket);
  socket.destroy();
}, 30_000);

afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('DANE certificate checks', () => {
  it('reads the chain the server sent, leaf first', () => {
    expect(chain.length).toBeGreaterThanOrEqual(2);
    expect(chain[0]!.raw.equals(new X509Certificate(pems.cert).raw)).toBe(true);
    expect(chain[1]!.raw.equals(new X509Certificate(pems.ca).raw)).toBe(true);
  });

  it('DANE-EE matches the server’s own certificate or key, exact or by SHA-256/512, whatever its name', () => {
    const leaf = chain[0]!;
    for (const r of [rec(3, 1, 1, sha256(spki(leaf))), rec(3, 0, 1, sha256(leaf.raw)), rec(3, 1, 2, sha512(spki(leaf))), rec(3, 0, 0, leaf.raw)]) {
      expect(verifyDane(chain, [r], ['another.name.test'], now)).toEqual({ usage: 3 });
    }
    // The CA's key as DANE-EE is not the server's key.
    expect(() => verifyDane(chain, [rec(3, 1, 1, sha256(spki(chain[1]!)))], ['mx1.dane.test'], now)).toThrow(DaneMismatch);
  });

  it('DANE-TA matches an anchor in the chain, then wants the leaf signed by it, valid now and for the MX or domain name', async () => {
    const ta = rec(2, 1, 1, sha256(spki(chain[1]!)));
    expect(verifyDane(chain, [ta], ['mx1.dane.test'], now)).toEqual({ usage: 2 });
    expect(verifyDane(chain, [ta], ['other.test', 'mx1.dane.test'], now)).toEqual({ usage: 2 });
    expect(() => verifyDane(chain, [ta], ['mx2.dane.test'], now)).toThrow(/not for mx2\.dane\.test/);
    expect(() => verifyDane(chain, [ta], ['mx1.dane.test'], new Date(now.getTime() + 90 * 86400_000))).toThrow(/validity period/);
    // A leaf the anchor did not sign, sent in front of the anchor: the anchor matches, the chain does not hold.
    const stranger = new X509Certificate((await makeSelfSignedCertificate(['mx1.dane.test'])).cert);
    expect(() => verifyDane([stranger, chain[1]!], [ta], ['mx1.dane.test'], now)).toThrow(DaneMismatch);
  });

  it('a record matching nothing, or no certificate at all, is a mismatch', async () => {
    const other = new X509Certificate((await makeSelfSignedCertificate(['mx1.dane.test'])).cert);
    expect(() => verifyDane(chain, [rec(3, 1, 1, sha256(spki(other))), rec(2, 0, 1, sha256(other.raw))], ['mx1.dane.test'], now)).toThrow(/none of the 2 TLSA record/);
    expect(() => verifyDane([], [rec(3, 1, 1, sha256(spki(chain[0]!)))], ['mx1.dane.test'], now)).toThrow(/no certificate/);
  });

  it('PKIX usages, unknown selectors or matching types and wrong digest lengths are unusable', () => {
    const d = sha256(spki(chain[0]!));
    expect(usableTlsa(rec(3, 1, 1, d))).toBe(true);
    expect(usableTlsa(rec(2, 0, 2, sha512(chain[1]!.raw)))).toBe(true);
    for (const r of [rec(0, 1, 1, d), rec(1, 1, 1, d), rec(3, 2, 1, d), rec(3, 1, 3, d), rec(3, 1, 1, d.subarray(0, 31)), rec(3, 1, 2, d), rec(3, 1, 0, Buffer.alloc(0))]) expect(usableTlsa(r)).toBe(false);
  });

  it('applies only when both the MX answer and the TLSA answer are validated; signed but unusable records still demand TLS', async () => {
    const d = sha256(spki(chain[0]!));
    const dnssec = (secure: boolean, records: TlsaRecord[]) => ({ mx: async () => ({ secure, records: [] }), tlsa: async () => ({ secure, records }) });
    expect(await daneFor(dnssec(true, [rec(3, 1, 1, d)]), 'mx1.dane.test', false)).toEqual({ mode: 'none' });
    expect(await daneFor(dnssec(false, [rec(3, 1, 1, d)]), 'mx1.dane.test', true)).toEqual({ mode: 'none' });
    expect(await daneFor(dnssec(true, []), 'mx1.dane.test', true)).toEqual({ mode: 'none' });
    expect(await daneFor(dnssec(true, [rec(1, 1, 1, d)]), 'mx1.dane.test', true)).toEqual({ mode: 'encrypt' });
    expect(await daneFor(dnssec(true, [rec(1, 1, 1, d), rec(3, 1, 1, d)]), 'mx1.dane.test', true)).toEqual({ mode: 'verify', records: [rec(3, 1, 1, d)] });
  });
});
