/** The SMTP process: STARTTLS on SEALMAIL_SMTP_PORT, implicit TLS on SEALMAIL_SMTPS_PORT. */
import { createLogger, loadConfigOrExit, loadOrCreateTls } from '@sealmail/server';
import { createDb } from '@sealmail/db';
import { buildSmtpServer } from './server';

const config = loadConfigOrExit();
const logger = createLogger({ level: config.logLevel, name: 'smtp' });
if (!config.databaseUrl) {
  logger.fatal('DATABASE_URL is not set (the start command sets it when it runs its own Postgres)');
  process.exit(78);
}
const tls = await loadOrCreateTls({ ...config.tls, hostnames: ['localhost', '127.0.0.1', '::1', config.publicHost] });
const db = createDb(config.databaseUrl);
const common = { db, logger, tls, hostname: config.smtp.hostname, maxMessageBytes: config.smtp.maxMessageBytes };
const starttls = buildSmtpServer({ ...common, secure: false });
const implicit = buildSmtpServer({ ...common, secure: true });

await new Promise<void>((resolve) => starttls.listen(config.ports.smtp, config.bindHost, resolve));
await new Promise<void>((resolve) => implicit.listen(config.ports.smtps, config.bindHost, resolve));
logger.info({ smtp: config.ports.smtp, smtps: config.ports.smtps }, 'smtp listening');

let closing = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (closing) return;
    closing = true;
    let open = 2;
    const done = () => {
      if (--open === 0) void db.$disconnect().finally(() => process.exit(0));
    };
    starttls.close(done);
    implicit.close(done);
    setTimeout(() => process.exit(0), 5000).unref();
  });
}
