/** Helpers for tests of the servers (TLS, HTTPS, SMTP on loopback; never imported by production code). */
import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import * as x509 from '@peculiar/x509';

/** A TLS handshake with 127.0.0.1:`port` (name `localhost`, trusting `ca`): the protocol and suite agreed, or the error. */
export function tlsHandshake(port: number, ca: string, opts: ConnectionOptions = {}): Promise<{ protocol: string | null; cipher: string } | { error: string }> {
  return new Promise((resolve) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost', ...opts }, () => {
      const r = { protocol: s.getProtocol(), cipher: s.getCipher().name };
      s.end();
      resolve(r);
    });
    s.on('error', (e: Error & { code?: string }) => resolve({ error: e.code ?? e.message }));
  });
}

/**
 * A two-level chain for tests of certificate checks (DANE-TA): a CA and a leaf for `hostnames`
 * signed by it, valid from `notBefore` for `days`. ECDSA P-256.
 */
export async function makeCertificateChain(hostnames: string[], opts: { notBefore?: Date; days?: number } = {}): Promise<{ ca: string; cert: string; key: string }> {
  x509.cryptoProvider.set(webcrypto as unknown as Crypto);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const notBefore = opts.notBefore ?? new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + (opts.days ?? 30) * 86400_000);
  const caKeys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
  const leafKeys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
  const serial = () => randomBytes(8).toString('hex');
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=Sealmail test CA',
    notBefore,
    notAfter,
    signingAlgorithm: alg,
    keys: caKeys,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
  });
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${hostnames[0] ?? 'leaf'}`,
    issuer: ca.subject,
    notBefore,
    notAfter,
    signingAlgorithm: alg,
    publicKey: leafKeys.publicKey,
    signingKey: caKeys.privateKey,
    extensions: [new x509.SubjectAlternativeNameExtension(hostnames.map((value) => ({ type: 'dns' as const, value })))],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', leafKeys.privateKey as unknown as webcrypto.CryptoKey);
  const key = `-----BEGIN PRIVATE KEY-----\n${Buffer.from(pkcs8).toString('base64').replace(/(.{64})/g, '$1\n').trim()}\n-----END PRIVATE KEY-----\n`;
  return { ca: ca.toString('pem') + '\n', cert: leaf.toString('pem') + '\n', key };
}

/** One HTTPS GET on loopback (`localhost` as the name the certificate must carry); answers status and body. */
export function httpsGet(port: number, path: string, ca: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, ca, servername: 'localhost', headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The first line an SMTP server on loopback sends on connect (then QUIT). */
export function smtpGreeting(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = netConnect(port, '127.0.0.1');
    s.once('data', (d) => {
      resolve(d.toString());
      s.end('QUIT\r\n');
    });
    s.once('error', reject);
  });
}
