/**
 * TLS material for every listener (API, SMTP STARTTLS, web hosts).
 *
 * Operators give their own certificate (SEALMAIL_TLS_CERT/KEY); otherwise a self-signed one is
 * made on first start (ECDSA P-256, SAN localhost/127.0.0.1/::1 and the public host) and kept in
 * the data directory, so its fingerprint stays the same between starts.
 */
import 'reflect-metadata';
import { X509Certificate as NodeX509, createHash, webcrypto } from 'node:crypto';
import { mkdir, readFile, writeFile, chmod } from 'node:fs/promises';
import { dirname } from 'node:path';
import * as x509 from '@peculiar/x509';

export interface TlsMaterial {
  cert: string;
  key: string;
  /** SHA-256 of the DER certificate, colon-separated upper-case hex (as browsers show it). */
  fingerprint256: string;
  created: boolean;
}

async function exists(path: string): Promise<boolean> {
  try {
    await readFile(path);
    return true;
  } catch {
    return false;
  }
}

function fingerprintOf(pem: string): string {
  return new NodeX509(pem).fingerprint256;
}

/** Makes a self-signed certificate for `hostnames` (DNS names and IP addresses). */
export async function makeSelfSignedCertificate(hostnames: string[], now = new Date()): Promise<{ cert: string; key: string }> {
  x509.cryptoProvider.set(webcrypto as unknown as Crypto);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
  const ip = (h: string) => /^[\d.]+$/.test(h) || h.includes(':');
  const names = [...new Set(hostnames)].map((h) => ({ type: ip(h) ? ('ip' as const) : ('dns' as const), value: h }));
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: createHash('sha256').update(String(now.getTime()) + Math.random()).digest('hex').slice(0, 16),
    name: 'CN=Sealmail self-signed',
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + 825 * 24 * 3600_000),
    signingAlgorithm: alg,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as unknown as webcrypto.CryptoKey);
  const key = `-----BEGIN PRIVATE KEY-----\n${Buffer.from(pkcs8).toString('base64').replace(/(.{64})/g, '$1\n').trim()}\n-----END PRIVATE KEY-----\n`;
  return { cert: cert.toString('pem') + '\n', key };
}

/**
 * Loads the certificate and key; when `selfSigned` and they do not exist yet, makes them first.
 * @throws Error when an operator-supplied file is missing or unreadable.
 */
export async function loadOrCreateTls(opts: { certFile: string; keyFile: string; selfSigned: boolean; hostnames: string[] }): Promise<TlsMaterial> {
  let created = false;
  if (opts.selfSigned && !((await exists(opts.certFile)) && (await exists(opts.keyFile)))) {
    const { cert, key } = await makeSelfSignedCertificate(opts.hostnames);
    await mkdir(dirname(opts.certFile), { recursive: true });
    await mkdir(dirname(opts.keyFile), { recursive: true });
    await writeFile(opts.keyFile, key, { mode: 0o600 });
    await chmod(opts.keyFile, 0o600);
    await writeFile(opts.certFile, cert);
    created = true;
  }
  const [cert, key] = await Promise.all([readFile(opts.certFile, 'utf8'), readFile(opts.keyFile, 'utf8')]);
  return { cert, key, fingerprint256: fingerprintOf(cert), created };
}

/**
 * The one TLS policy of every Sealmail listener (API, web hosts, SMTP STARTTLS and implicit TLS):
 * TLS 1.3, and TLS 1.2 only with forward-secret AEAD suites (ECDHE with AES-GCM or
 * ChaCha20-Poly1305). No CBC, no RSA key exchange, nothing older than TLS 1.2.
 * Spread it into `https.createServer`/`tls.createSecureContext` options.
 */
export const TLS_POLICY = Object.freeze({
  minVersion: 'TLSv1.2' as const,
  ciphers: [
    // TLS 1.3 (all AEAD by design)
    'TLS_AES_128_GCM_SHA256',
    'TLS_AES_256_GCM_SHA384',
    'TLS_CHACHA20_POLY1305_SHA256',
    // TLS 1.2: ECDHE + AEAD only
    'ECDHE-ECDSA-AES128-GCM-SHA256',
    'ECDHE-RSA-AES128-GCM-SHA256',
    'ECDHE-ECDSA-AES256-GCM-SHA384',
    'ECDHE-RSA-AES256-GCM-SHA384',
    'ECDHE-ECDSA-CHACHA20-POLY1305',
    'ECDHE-RSA-CHACHA20-POLY1305',
  ].join(':'),
  honorCipherOrder: true,
});

/** Server TLS options for a listener: the material plus the shared policy. */
export function tlsServerOptions(material: { cert: string; key: string }) {
  return { cert: material.cert, key: material.key, ...TLS_POLICY };
}
