/** A line-based SMTP client for tests: sees every reply code exactly as a remote MTA would. */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';

export class Dialog {
  private buf = '';
  private waiters: (() => void)[] = [];
  private constructor(private sock: Socket | TLSSocket) {
    this.attach();
  }

  private attach() {
    this.sock.on('data', (d: Buffer) => {
      this.buf += d.toString('utf8');
      this.waiters.splice(0).forEach((w) => w());
    });
  }

  static async open(port: number, opts: { tls?: { ca: string }; localAddress?: string } = {}): Promise<Dialog> {
    const from = opts.localAddress ? { localAddress: opts.localAddress } : {};
    const sock = opts.tls
      ? tlsConnect({ host: '127.0.0.1', port, ca: opts.tls.ca, servername: 'localhost', ...from })
      : netConnect({ host: '127.0.0.1', port, ...from });
    await new Promise<void>((resolve, reject) => {
      sock.once(opts.tls ? 'secureConnect' : 'connect', () => resolve());
      sock.once('error', reject);
    });
    return new Dialog(sock);
  }

  /** Reads one complete (possibly multi-line) reply. */
  async reply(): Promise<{ code: number; text: string }> {
    for (;;) {
      const m = /^(?:\d{3}-[^\r\n]*\r\n)*(\d{3}) [^\r\n]*\r\n/.exec(this.buf);
      if (m) {
        this.buf = this.buf.slice(m[0].length);
        return { code: Number(m[1]), text: m[0] };
      }
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  async cmd(line: string): Promise<{ code: number; text: string }> {
    this.sock.write(line + '\r\n');
    return this.reply();
  }

  write(raw: string | Buffer): void {
    this.sock.write(raw);
  }

  /** STARTTLS, then continue the dialogue over TLS. */
  async starttls(ca: string, extra: ConnectionOptions = {}): Promise<{ protocol: string | null }> {
    const r = await this.cmd('STARTTLS');
    if (r.code !== 220) throw new Error(`STARTTLS refused: ${r.text}`);
    const plain = this.sock;
    plain.removeAllListeners('data');
    const secure = tlsConnect({ socket: plain, ca, servername: 'localhost', ...extra });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => resolve());
      secure.once('error', reject);
    });
    this.sock = secure;
    this.attach();
    return { protocol: secure.getProtocol() };
  }

  close(): void {
    this.sock.destroy();
  }
}
