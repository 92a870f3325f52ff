/** The SMTP process: STARTTLS on SEALMAIL_SMTP_PORT, implicit TLS on SEALMAIL_SMTPS_PORT. */
import { bootProcess, resolverFromConfig } from '@sealmail/server';
import type { DNSResolver } from 'mailauth';
import { createDb, pgPoolOf } from '@sealmail/db';
import { blobStoreFor, GroupCommit, loadOrCreateServerMailKey, SealPool, SecretBox } from '@sealmail/mailstore';
import { buildSmtpServer, ByteBudget } from './server';

const { config, logger, tls, databaseUrl } = await bootProcess('smtp', { needsDatabase: true });
const db = createDb(databaseUrl);
// The same server mail key as the API's (the data folder): lists' outside members are relayed.
const serverKey = await loadOrCreateServerMailKey(config.dataDir);
// One budget of message bytes held in memory for both listeners of this process.
const budget = new ByteBudget(config.smtp.maxBytesInFlight);
// One group commit for both listeners: their concurrent messages are stored together.
const groupCommit = new GroupCommit(db, pgPoolOf(db)!);
// Sealing in worker threads when configured (SEALMAIL_SMTP_SEAL_WORKERS), shared by both listeners.
const sealPool = config.smtp.sealWorkers ? new SealPool(config.smtp.sealWorkers, undefined, (err) => logger.warn({ err }, 'smtp: seal worker replaced')) : undefined;
const common = { db, blobs: blobStoreFor(db, config.blobStore), logger, tls, hostname: config.smtp.hostname, maxMessageBytes: config.smtp.maxMessageBytes, spamThreshold: config.smtp.spamThreshold, serverPublicKey: serverKey.publicKey, secrets: new SecretBox(serverKey), resolver: resolverFromConfig(config) as DNSResolver, maxSessions: config.smtp.maxSessions, proxyFrom: config.smtp.proxyFrom, budget, groupCommit, ...(sealPool ? { sealPool } : {}) };
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
