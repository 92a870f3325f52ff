/**
 * Moves blob bytes from one store to another (`scripts/blob-migrate.ts`; docs/operations.md,
 * "Object storage"): Postgres → S3 when a deployment outgrows its database, or back. Walks the
 * `blobs` rows in id order; for each blob whose bytes are (still) in the source it copies every
 * part, reads each back from the target and compares its SHA-256 with the source's — and for a
 * complete blob the whole against the hash recorded at upload — and only then deletes the
 * source's copy. So it is idempotent and resumable: a second run finds nothing left to move, and
 * a run stopped half-way (even inside a blob) starts again where the source still holds bytes.
 * Metadata and quotas are untouched: the bytes are the same ciphertext.
 */
import { createHash } from 'node:crypto';
import type { Db } from '@sealmail/db';
import type { BlobStore } from './blob-store';

export interface BlobMigrationReport {
  /** Blobs whose bytes were copied, verified and removed from the source. */
  moved: number;
  parts: number;
  bytes: number;
  /** Blobs with nothing in the source (moved before, or no bytes yet). */
  skipped: number;
  /** Blobs left in the source, with why (nothing of theirs was deleted). */
  failed: { blobId: string; reason: string }[];
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export async function migrateBlobs(opts: {
  db: Db;
  from: BlobStore;
  to: BlobStore;
  /** Rows read per round. */
  batch?: number;
  /** Called after each blob (progress for the command line). */
  onBlob?: (blobId: string, outcome: 'moved' | 'skipped' | 'failed', report: BlobMigrationReport) => void;
}): Promise<BlobMigrationReport> {
  const { db, from, to } = opts;
  const report: BlobMigrationReport = { moved: 0, parts: 0, bytes: 0, skipped: 0, failed: [] };
  let after: string | undefined;
  for (;;) {
    const rows = await db.blob.findMany({ where: after ? { id: { gt: after } } : {}, orderBy: { id: 'asc' }, take: opts.batch ?? 100, select: { id: true, parts: true, sha256: true, completedAt: true } });
    if (!rows.length) return report;
    after = rows[rows.length - 1]!.id;
    for (const blob of rows) {
      const outcome = await moveOne(blob).catch((err: unknown) => {
        report.failed.push({ blobId: blob.id, reason: err instanceof Error ? err.message : String(err) });
        return 'failed' as const;
      });
      opts.onBlob?.(blob.id, outcome, report);
    }
  }

  async function moveOne(blob: { id: string; parts: number; sha256: Uint8Array | null; completedAt: Date | null }): Promise<'moved' | 'skipped' | 'failed'> {
    const sizes = await from.partSizes(blob.id);
    if (!sizes.size) {
      report.skipped++;
      return 'skipped';
    }
    let parts = 0;
    let bytes = 0;
    for (const index of [...sizes.keys()].sort((a, b) => a - b)) {
      const part = await from.readPart(blob.id, index);
      if (!part) throw new Error(`part ${index} vanished from the source`);
      await to.putPart(blob.id, index, part);
      const back = await to.readPart(blob.id, index);
      if (!back || sha256(back) !== sha256(part)) throw new Error(`part ${index} reads back differently from the target`);
      parts++;
      bytes += part.length;
    }
    if (blob.completedAt && blob.sha256 && blob.parts === sizes.size) {
      const whole = createHash('sha256');
      for await (const p of to.read(blob.id, blob.parts)) whole.update(p);
      if (whole.digest('hex') !== Buffer.from(blob.sha256).toString('hex')) throw new Error('the copied blob does not match the hash recorded at upload');
    }
    await from.delete([blob.id]);
    report.moved++;
    report.parts += parts;
    report.bytes += bytes;
    return 'moved';
  }
}
