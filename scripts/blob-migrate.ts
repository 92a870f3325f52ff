/**
 * Moves blob bytes between the blob stores (docs/operations.md, "Object storage"):
 *
 *   node --import tsx scripts/blob-migrate.ts --from postgres --to s3
 *   node --import tsx scripts/blob-migrate.ts --from s3 --to postgres
 *   node --import tsx scripts/blob-migrate.ts --from postgres --to disk
 *
 * DATABASE_URL, SEALMAIL_BLOB_DIR (the disk store's directory; default `<data dir>/blobs`) and the
 * SEALMAIL_S3_* variables say where; SEALMAIL_BLOB_STORE need not be set
 * either way. Each blob is copied part by part, read back and compared by SHA-256 (and against the
 * hash recorded at upload), and only then deleted from the source; run it again to resume or to
 * catch blobs written meanwhile — what was moved is skipped. Exit status 0 when every blob moved
 * or had nothing to move, 1 when some stayed in the source (listed), 64 for bad arguments, 78 for
 * bad configuration.
 */
import { parseArgs } from 'node:util';
import { createDb } from '@sealmail/db';
import { blobStoreFor, migrateBlobs, type BlobStoreSettings } from '@sealmail/mailstore';
import { loadConfigOrExit } from '@sealmail/server';

const usage = 'usage: blob-migrate --from postgres|disk|s3 --to postgres|disk|s3 [--batch <rows>]';
let args: { from?: string | undefined; to?: string | undefined; batch?: string | undefined };
try {
  args = parseArgs({ options: { from: { type: 'string' }, to: { type: 'string' }, batch: { type: 'string' } }, strict: true }).values;
} catch (err) {
  process.stderr.write(`sealmail blob-migrate: ${(err as Error).message}\n${usage}\n`);
  process.exit(64);
}
const kinds = ['postgres', 'disk', 's3'];
const batch = args.batch === undefined ? 100 : Number(args.batch);
if (!kinds.includes(args.from ?? '') || !kinds.includes(args.to ?? '') || args.from === args.to || !Number.isInteger(batch) || batch < 1) {
  process.stderr.write(`sealmail blob-migrate: --from and --to name two different stores (postgres, disk, s3)\n${usage}\n`);
  process.exit(64);
}
const config = loadConfigOrExit();
if (!config.databaseUrl) {
  process.stderr.write('sealmail blob-migrate: DATABASE_URL is not set\n');
  process.exit(78);
}
if (!config.s3 && (args.from === 's3' || args.to === 's3')) {
  process.stderr.write('sealmail blob-migrate: SEALMAIL_S3_BUCKET (and the other SEALMAIL_S3_* variables) must name the bucket\n');
  process.exit(78);
}
const settings = (kind: string): BlobStoreSettings => (kind === 's3' ? { kind: 's3', ...config.s3! } : kind === 'disk' ? { kind: 'disk', dir: config.blobDir } : { kind: 'postgres' });
const db = createDb(config.databaseUrl);
const started = Date.now();
const report = await migrateBlobs({
  db,
  from: blobStoreFor(db, settings(args.from!)),
  to: blobStoreFor(db, settings(args.to!)),
  batch,
  onBlob: (_id, _outcome, r) => {
    const seen = r.moved + r.skipped + r.failed.length;
    if (seen % 100 === 0) process.stdout.write(`… ${seen} blobs looked at: ${r.moved} moved, ${r.skipped} skipped, ${r.failed.length} failed\n`);
  },
});
await db.$disconnect();
process.stdout.write(`blob-migrate ${args.from} → ${args.to}: ${report.moved} blobs moved (${report.parts} parts, ${report.bytes} bytes), ${report.skipped} with nothing to move, ${report.failed.length} failed, in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
for (const f of report.failed) process.stderr.write(`  ${f.blobId}: ${f.reason} (left in the source)\n`);
process.exit(report.failed.length ? 1 : 0);
