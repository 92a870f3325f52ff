/**
 * The API process: `node dist/api.mjs` compiled (scripts/build-services.mjs), `tsx apps/api/src/main.ts` from source. Reads the configuration, connects to Postgres
 * (DATABASE_URL, set by the start command when it runs the embedded one), listens over HTTPS.
 */
import { readFileSync } from 'node:fs';
import { bootProcess, clockFromConfig, dnssecResolverFromConfig, resolverFromConfig } from '@sealmail/server';
import { createDb } from '@sealmail/db';
import { blobStoreFor, loadOrCreateServerMailKey, readDkimKeyFile } from '@sealmail/mailstore';
import { buildApp } from './app';

const { config, logger, tls, databaseUrl } = await bootProcess('api', { needsDatabase: true });
const db = createDb(databaseUrl);
const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const serverKey = await loadOrCreateServerMailKey(config.dataDir);
const app = await buildApp({
  logger,
  db,
  // Attachment ciphertext: Postgres, a directory, or an S3-compatible bucket (SEALMAIL_BLOB_STORE).
  blobs: blobStoreFor(db, config.blobStore),
  version,
  tls,
  auth: config.auth,
  origins: config.appOrigins,
  trustedProxies: config.trustedProxies,
  eventsUrl: databaseUrl,
  // Session lookups, list rows and counts answered from memory, kept right by Postgres NOTIFY (SEALMAIL_API_CACHE).
  cache: config.apiCache,
  serverKey,
  // The real clock; SEALMAIL_CLOCK_FILE (tests only) runs it ahead by the file's milliseconds.
  now: clockFromConfig(config),
  // Scheduled send (and undo send): the Outbox's mails are released at their time by a queue job.
  scheduled: { connectionString: databaseUrl },
  // Every DNS lookup (MX, MTA-STS, the domain checker); SEALMAIL_DNS_TABLE (tests only) answers from a file.
  resolver: resolverFromConfig(config),
  mailHosts: { smtp: config.smtp.hostname, public: config.publicHost },
  // DKIM keys live in the database; a domain's key file from before is imported once.
  legacyDkimKey: (domain) => readDkimKeyFile(config.dataDir, domain),
  // Mail that arrived before a user's first device: filed by a queue job once they have keys.
  heldMail: { connectionString: databaseUrl },
  // Orphaned blobs (abandoned uploads, a crash between blobs and message) go after a day.
  housekeeping: { connectionString: databaseUrl },
  health: { smtp: { host: config.bindHost === '0.0.0.0' || config.bindHost === '::' ? '127.0.0.1' : config.bindHost, port: config.ports.smtp }, certificatePem: tls.cert },
  // Standard mail to the outside world: queued in Postgres, DKIM-signed, delivered to each MX.
  // Link notices point at the viewer's public origin.
  outbound: {
    connectionString: databaseUrl,
    hostname: config.smtp.hostname,
    viewerUrl: config.viewerUrl,
    // Several API processes share the queue: each leases what it tries (docs/operations.md "Scaling out").
    leaseSeconds: config.outbound.leaseSeconds,
    sweepSeconds: config.outbound.sweepSeconds,
    port: config.outbound.port,
    allowPrivateTargets: config.outbound.allowPrivateTargets,
    // DANE (RFC 7672) where a validating resolver on the host says the MX and TLSA answers are signed.
    dnssec: dnssecResolverFromConfig(config),
  },
  // Mail imports (docs/admin.md "Import"): a pg-boss queue in the same Postgres.
  imports: { connectionString: databaseUrl, hostname: config.smtp.hostname },
  // Calendar reminders: pg-boss jobs due at each alarm (docs/calendar.md "Reminders").
  reminders: { connectionString: databaseUrl },
});

let closing = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (closing) return;
    closing = true;
    void app.close().then(() => db.$disconnect()).finally(() => process.exit(0));
  });
}
await app.listen({ host: config.bindHost, port: config.ports.api });
