/**
 * The SMTP ingress (smtp-server). This foundation checks recipients at RCPT against the
 * directory and enforces TLS and size limits; sealing and storing inbound mail comes with the
 * external-mail work (issue 6). Until then DATA is answered with a temporary failure, so
 * senders keep the message and retry instead of losing it.
 */
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import { findUserByAddress, type Db } from '@sealmail/db';
import type { Logger } from '@sealmail/server';

export interface SmtpOptions {
  db: Db;
  logger: Logger;
  tls: { cert: string; key: string };
  hostname: string;
  maxMessageBytes: number;
  /** true: implicit TLS (port 465 style); false: plain with STARTTLS. */
  secure: boolean;
}

function smtpError(code: number, message: string): Error & { responseCode: number } {
  return Object.assign(new Error(message), { responseCode: code });
}

export function buildSmtpServer(opts: SmtpOptions): SMTPServer {
  const log = opts.logger;
  const options: SMTPServerOptions = {
    secure: opts.secure,
    key: opts.tls.key,
    cert: opts.tls.cert,
    name: opts.hostname,
    banner: 'Sealmail ESMTP',
    authOptional: true,
    disabledCommands: ['AUTH'],
    size: opts.maxMessageBytes,
    rejectOversized: true,
    maxRecipients: 100,
    logger: false,
    // RFC 2034 enhanced status codes on every reply (smtp-server picks them by reply code and context).
    hideENHANCEDSTATUSCODES: false,
    onConnect(session, cb) {
      log.debug({ remote: session.remoteAddress, session: session.id }, 'smtp connect');
      cb();
    },
    onMailFrom(_address, session: SMTPServerSession, cb) {
      cb();
      void session;
    },
    onRcptTo(address, session, cb) {
      findUserByAddress(opts.db, address.address)
        .then((user) => {
          if (!user || user.status !== 'active') {
            log.info({ session: session.id, rcpt: address.address }, 'smtp: unknown recipient');
            return cb(smtpError(550, 'No such user here'));
          }
          cb();
        })
        .catch((err: unknown) => {
          log.error({ err, session: session.id }, 'smtp: directory lookup failed');
          cb(smtpError(451, 'Temporary lookup failure, try again later'));
        });
    },
    onData(stream, session, cb) {
      stream.on('data', () => {});
      stream.on('end', () => {
        log.info({ session: session.id, recipients: session.envelope.rcptTo.length }, 'smtp: message deferred (mail storage not enabled yet)');
        cb(smtpError(451, 'Mail storage is not enabled on this server yet, try again later'));
      });
    },
  };
  const server = new SMTPServer(options);
  server.on('error', (err) => log.warn({ err }, 'smtp server error'));
  return server;
}
