/**
 * One SMTP delivery to one host: connect, EHLO, STARTTLS as the transport security says, an
 * optional check of the TLS session before anything is sent (DANE), then MAIL/RCPT/DATA with the
 * DKIM-signed message. nodemailer's SMTPConnection does the protocol; its transport is not used
 * because it offers no point between the handshake and MAIL FROM where the certificate can be
 * judged against TLSA records (Node only calls `checkServerIdentity` for chains it already trusts).
 */
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import DKIM from 'nodemailer/lib/dkim/index.js';
import SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';

export interface HostDelivery {
  /** The address to connect to (already resolved and checked by the caller: nothing is looked up here). */
  host: string;
  /**
   * The MX host's name, for SNI and certificate checks (the connection goes to `host`, its
   * address). Absent when the MX is an address literal.
   */
  servername?: string;
  port: number;
  /** Our name in EHLO. */
  name: string;
  /** Refuse to go on without STARTTLS. */
  requireTLS: boolean;
  /** Do not try STARTTLS (the plaintext retry after a failed opportunistic handshake). */
  ignoreTLS: boolean;
  tls: ConnectionOptions;
  /** Judges the TLS session before MAIL FROM; throwing ends the attempt (nothing was sent). */
  checkTls?: (socket: TLSSocket) => void;
  dkim: { domainName: string; keySelector: string; privateKey: string };
  connectionTimeout?: number;
}

export interface RecipientRefusal {
  code: number;
  message: string;
}

type SmtpError = Error & { code?: string; responseCode?: number; response?: string; recipient?: string; command?: string; rejectedErrors?: SmtpError[] };

/** Each refused recipient's own answer (nodemailer's `rejectedErrors`, one per refused RCPT TO). */
function refusalsOf(errors: readonly SmtpError[] | undefined): Map<string, RecipientRefusal> {
  const refused = new Map<string, RecipientRefusal>();
  for (const e of errors ?? []) {
    if (e.recipient) refused.set(e.recipient.toLowerCase(), { code: e.responseCode ?? 450, message: e.response ?? e.message });
  }
  return refused;
}

/**
 * Whether `err` is the host's refusal of every recipient at RCPT TO, with each one's own answer.
 * nodemailer then ends the message with one error whose code is a 4xx if any recipient got one
 * (so one greylisted recipient would make a "no such user" beside it look temporary); the
 * per-recipient answers are in `rejectedErrors`.
 */
export function isRecipientsRefused(err: unknown): err is SmtpError & { rejectedErrors: SmtpError[] } {
  const e = err as SmtpError | null;
  return e?.command === 'RCPT TO' && Array.isArray(e.rejectedErrors) && e.rejectedErrors.length > 0 && e.rejectedErrors.every((r) => typeof r.recipient === 'string');
}

/**
 * Whether `err` is the host's greeting refusing the session (`554 No SMTP service here`, or 421).
 * That is a word about this host, not about the mail: the next MX host is tried (RFC 5321 §3.1;
 * Postfix's smtp_skip_5xx_greeting).
 */
export function isGreetingRefusal(err: unknown): boolean {
  const e = err as SmtpError | null;
  return e?.command === 'CONN' && typeof e.responseCode === 'number';
}

/** Delivers `message` to `to`; answers the recipients the host refused (the rest were accepted). Throws on a failed session. */
export async function deliverToHost(o: HostDelivery, envelope: { from: string; to: string[] }, message: Buffer): Promise<{ refused: Map<string, RecipientRefusal>; tls: boolean }> {
  const conn = new SMTPConnection({
    host: o.host,
    ...(o.servername ? { servername: o.servername } : {}),
    port: o.port,
    secure: false,
    name: o.name,
    requireTLS: o.requireTLS,
    ignoreTLS: o.ignoreTLS,
    tls: o.tls,
    connectionTimeout: o.connectionTimeout ?? 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 5 * 60_000,
  } as ConstructorParameters<typeof SMTPConnection>[0]);
  // The session ends in an 'error' event (socket trouble, a time-out) or 'end' (the remote hung up)
  // as often as in a callback: every step below races against both.
  let ended: ((err: SmtpError) => void) | null = null;
  conn.on('error', (err: SmtpError) => ended?.(err));
  conn.on('end', () => ended?.(Object.assign(new Error(`${o.host} closed the connection`), { code: 'ECONNECTION' })));
  const step = <T>(run: (done: (err: SmtpError | null, v?: T) => void) => void) =>
    new Promise<T>((resolve, reject) => {
      ended = reject;
      run((err, v) => {
        ended = null;
        if (err) reject(err);
        else resolve(v as T);
      });
    });
  try {
    await step<void>((done) => conn.connect(() => done(null)));
    const socket = (conn as unknown as { _socket?: TLSSocket })._socket;
    const secured = (conn as unknown as { secure?: boolean }).secure === true;
    if (o.checkTls) {
      // Fail closed if the session is not what nodemailer said it would be.
      if (!secured || !socket || typeof socket.getPeerCertificate !== 'function') throw Object.assign(new Error('TLS is required but the session is not encrypted'), { code: 'ETLS' });
      o.checkTls(socket);
    }
    const signed = new DKIM(o.dkim).sign(message);
    let info: { rejectedErrors?: SmtpError[] };
    try {
      info = await step<{ rejectedErrors?: SmtpError[] }>((done) => conn.send(envelope, signed as never, (err, info) => done(err as SmtpError | null, info as { rejectedErrors?: SmtpError[] })));
    } catch (err) {
      // Every recipient refused at RCPT TO: each keeps its own answer (a 550 stays final beside a
      // 451), unless all of them were only deferred — then the session error goes up as before
      // (the caller tries the next MX host with them).
      if (isRecipientsRefused(err) && err.rejectedErrors.some((r) => (r.responseCode ?? 450) >= 500)) return { refused: refusalsOf(err.rejectedErrors), tls: secured };
      throw err;
    }
    return { refused: refusalsOf(info.rejectedErrors), tls: secured };
  } finally {
    ended = null;
    conn.quit();
  }
}
