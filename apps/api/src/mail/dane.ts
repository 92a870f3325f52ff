/**
 * DANE for SMTP (RFC 7672): when the recipient domain's MX answer and the MX host's TLSA records
 * (`_25._tcp.<mx host>`) are DNSSEC-validated, the relay must use TLS with that host and the
 * certificate it shows must match a usable TLSA record — no plaintext fallback, no delivery to a
 * host whose certificate does not match (the mail waits and is tried again). DANE comes before
 * MTA-STS (RFC 8461 §2). The DNSSEC status comes from the resolver module
 * (packages/server/src/dnssec.ts): a validating resolver's AD bit, or the test table's signed zones.
 *
 * Usable records (RFC 7672 §3.1): DANE-EE (3) — the server's own certificate or key, no name or
 * expiry check; DANE-TA (2) — a trust anchor in the chain the server sends, the chain verified up to
 * it, the leaf valid now and for the MX host name or the domain. PKIX-TA/PKIX-EE (0, 1) are
 * unusable for SMTP. A secure TLSA set with no usable record still demands TLS, unauthenticated
 * (§2.2).
 */
import { createHash, X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import type { DnssecResolver, TlsaRecord } from '@sealmail/server';

/** What DANE asks of one MX host. */
export type DaneRequirement =
  /** No secure TLSA records: MTA-STS or opportunistic TLS decide. */
  | { mode: 'none' }
  /** Secure TLSA records, none usable: TLS is required, the certificate not authenticated. */
  | { mode: 'encrypt' }
  /** TLS required and the certificate must match one of these records. */
  | { mode: 'verify'; records: TlsaRecord[] };

/** Why a certificate did not satisfy the TLSA records (logged, and in a delayed-delivery report). */
export class DaneMismatch extends Error {
  readonly code = 'EDANE';
}

const HASH_LENGTH: Record<number, number> = { 0: -1, 1: 32, 2: 64 };

/** A record Sealmail can check: DANE-TA or DANE-EE, certificate or key, exact/SHA-256/SHA-512 of the right length. */
export function usableTlsa(r: TlsaRecord): boolean {
  if (r.usage !== 2 && r.usage !== 3) return false;
  if (r.selector !== 0 && r.selector !== 1) return false;
  const len = HASH_LENGTH[r.matchingType];
  if (len === undefined) return false;
  return len < 0 ? r.data.length > 0 : r.data.length === len;
}

/** DANE's demand for `host`, an MX of `domain` whose MX answer was (`mxSecure`) or was not validated. */
export async function daneFor(dnssec: DnssecResolver, host: string, mxSecure: boolean): Promise<DaneRequirement> {
  if (!mxSecure) return { mode: 'none' };
  const tlsa = await dnssec.tlsa(`_25._tcp.${host.replace(/\.$/, '')}`);
  if (!tlsa.secure || !tlsa.records.length) return { mode: 'none' };
  const records = tlsa.records.filter(usableTlsa);
  return records.length ? { mode: 'verify', records } : { mode: 'encrypt' };
}

function selected(cert: X509Certificate, selector: number): Buffer {
  return selector === 0 ? cert.raw : cert.publicKey.export({ type: 'spki', format: 'der' });
}

function matches(cert: X509Certificate, r: TlsaRecord): boolean {
  const bytes = selected(cert, r.selector);
  const digest = r.matchingType === 0 ? bytes : createHash(r.matchingType === 1 ? 'sha256' : 'sha512').update(bytes).digest();
  return digest.length === r.data.length && digest.equals(r.data);
}

/**
 * Checks a presented chain (leaf first) against usable TLSA records; `names` are the reference
 * identifiers for DANE-TA (the MX host name, then the recipient domain). Throws `DaneMismatch`.
 */
export function verifyDane(chain: X509Certificate[], records: TlsaRecord[], names: string[], now: Date): { usage: number } {
  const leaf = chain[0];
  if (!leaf) throw new DaneMismatch('the server showed no certificate');
  if (records.some((r) => r.usage === 3 && matches(leaf, r))) return { usage: 3 };
  for (const r of records.filter((r) => r.usage === 2)) {
    const at = chain.findIndex((c) => matches(c, r));
    if (at < 0) continue;
    // The chain from the leaf up to the anchor must be what it says: each issued and signed by the next.
    const linked = chain.slice(0, at).every((c, i) => c.checkIssued(chain[i + 1]!) && c.verify(chain[i + 1]!.publicKey));
    if (!linked) continue;
    const t = now.getTime();
    if (t < Date.parse(leaf.validFrom) || t > Date.parse(leaf.validTo)) throw new DaneMismatch('the certificate is outside its validity period');
    if (!names.some((n) => leaf.checkHost(n, { subject: 'never', wildcards: true }) !== undefined)) throw new DaneMismatch(`the certificate is not for ${names.join(' or ')}`);
    return { usage: 2 };
  }
  throw new DaneMismatch(`the certificate matches none of the ${records.length} TLSA record(s)`);
}

/** The certificate chain a TLS peer sent, leaf first (as Node links it: each issuer until the root). */
export function peerChain(socket: TLSSocket): X509Certificate[] {
  const chain: X509Certificate[] = [];
  let c = socket.getPeerCertificate(true) as DetailedPeerCertificate | undefined;
  const seen = new Set<DetailedPeerCertificate>();
  while (c && c.raw && !seen.has(c)) {
    seen.add(c);
    chain.push(new X509Certificate(c.raw));
    c = c.issuerCertificate;
  }
  return chain;
}
