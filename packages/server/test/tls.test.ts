import { mkdtemp, rm, stat } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import { createServer, connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadOrCreateTls } from '../src/tls';

const dir = await mkdtemp(join(tmpdir(), 'sealmail-tls-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('self-signed TLS', () => {
  const opts = { certFile: join(dir, 'tls/cert.pem'), keyFile: join(dir, 'tls/key.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1', '::1'] };

  it('is made on first start, kept private, and reused after', async () => {
    const first = await loadOrCreateTls(opts);
    expect(first.created).toBe(true);
    expect((await stat(opts.keyFile)).mode & 0o077).toBe(0);
    const again = await loadOrCreateTls(opts);
    expect(again.created).toBe(false);
    expect(again.fingerprint256).toBe(first.fingerprint256);
    expect(first.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const cert = new X509Certificate(first.cert);
    expect(cert.checkHost('localhost')).toBe('localhost');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
  });

  it('serves TLS 1.3 that a client trusting it verifies', async () => {
    const { cert, key } = await loadOrCreateTls(opts);
    const server = createServer({ cert, key }, (s) => s.end('hello'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const got = await new Promise<{ text: string; protocol: string | null }>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port, ca: cert, servername: 'localhost' }, () => {
        let text = '';
        s.on('data', (d: Buffer) => (text += d.toString()));
        s.on('end', () => resolve({ text, protocol: s.getProtocol() }));
      });
      s.on('error', reject);
    });
    server.close();
    expect(got).toEqual({ text: 'hello', protocol: 'TLSv1.3' });
  });

  it('refuses a missing operator certificate', async () => {
    await expect(loadOrCreateTls({ ...opts, certFile: join(dir, 'nope.pem'), selfSigned: false })).rejects.toThrow();
  });
});
