/** Helpers for tests of the servers' TLS (never imported by production code). */
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';

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
