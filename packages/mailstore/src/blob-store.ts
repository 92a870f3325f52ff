/**
 * Where ciphertext blobs (attachment pieces) live. The Postgres store is the default: parts are
 * rows of `blob_parts`, read back one part at a time so a 25 MiB download never sits in memory
 * whole. The S3-compatible store (s3-blob-store.ts; `SEALMAIL_BLOB_STORE=s3`, docs/operations.md
 * "Object storage") implements the same calls; blob metadata, ownership and quotas stay in
 * Postgres either way; so does the disk store (disk-blob-store.ts, `SEALMAIL_BLOB_STORE=disk`). All
 * three pass one conformance suite (packages/mailstore/test/blob-store-suite.ts).
 */
import { pgPoolOf, type Db } from '@sealmail/db';
import { charge } from './quota';
import { readPartBinary } from './pg-part-reader';

export interface BlobStore {
  /** Stores (or replaces) part `index` of a blob; answers the size of the part it replaced (0 if new). */
  putPart(blobId: string, index: number, bytes: Uint8Array): Promise<number>;
  /** Sizes of the parts present, by index. */
  partSizes(blobId: string): Promise<Map<number, number>>;
  /** The parts in order. */
  read(blobId: string, parts: number): AsyncIterable<Uint8Array>;
  /** Forgets a blob's bytes (metadata rows are the caller's). */
  delete(blobIds: readonly string[]): Promise<void>;
  /** One part, or null when this store does not have it (the migration copies part by part). */
  readPart(blobId: string, index: number): Promise<Uint8Array | null>;
  /**
   * Blob ids that have bytes in this store, in id order after `after`, at most `limit`, each with
   * when its bytes were last written (for `collectUnreferencedBlobs`).
   */
  listBlobs(opts: { after?: string | undefined; limit: number }): Promise<{ blobId: string; modifiedAt: Date }[]>;
}

/**
 * One statement through the `pg` pool: the part's bytes go to Postgres as they are. Prisma's
 * query engine copies a Bytes parameter several times (and its WebAssembly memory, once grown for
 * a 4 MiB part, never shrinks), which made a 25 MiB message cost the SMTP process hundreds of MB.
 */
const PUT_PART = `WITH old AS (SELECT octet_length(data)::int AS size FROM blob_parts WHERE blob_id = $1::uuid AND index = $2),
put AS (INSERT INTO blob_parts (blob_id, index, data) VALUES ($1::uuid, $2, $3) ON CONFLICT (blob_id, index) DO UPDATE SET data = EXCLUDED.data)
SELECT size FROM old`;

/** A statement in the transaction of {@link withPartLock}. */
export type PartQuery = <R>(sql: string, params: unknown[]) => Promise<R[]>;

/**
 * Runs `write` in a transaction that holds the part's advisory lock (one writer per part, so the
 * size a re-sent part replaces is answered once) and, with `needRow`, the blob's row `FOR KEY
 * SHARE` (a concurrent delete waits; without a row nothing is written). Every store writes its
 * parts under it. Through the `pg` pool when the client has one (a few short statements, no
 * interactive-transaction machinery), else Prisma's interactive transaction.
 */
export async function withPartLock<T>(db: Db, blobId: string, index: number, opts: { needRow: boolean }, write: (query: PartQuery) => Promise<T>): Promise<T> {
  const lock = `sealmail-blob:${blobId}:${index}`;
  const noRow = () => new Error(`blob ${blobId} has no metadata row; its bytes are not stored`);
  const pool = pgPoolOf(db);
  if (pool) {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [lock]);
      if (opts.needRow && !(await client.query('SELECT 1 FROM blobs WHERE id = $1::uuid FOR KEY SHARE', [blobId])).rowCount) throw noRow();
      const out = await write(async (sql, params) => (await client.query(sql, params)).rows);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }
  return db.$transaction(
    async (tx) => {
      await tx.$executeRawUnsafe('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', lock);
      if (opts.needRow && !(await tx.$queryRawUnsafe<unknown[]>('SELECT 1 FROM blobs WHERE id = $1::uuid FOR KEY SHARE', blobId)).length) throw noRow();
      return write((sql, params) => tx.$queryRawUnsafe(sql, ...params));
    },
    { maxWait: 30_000, timeout: 120_000 },
  );
}

export function postgresBlobStore(db: Db): BlobStore {
  const pool = pgPoolOf(db);
  return {
    async putPart(blobId, index, bytes) {
      // A new part has no row to lock yet: concurrent first writers of one part are serialised by
      // the part lock, so exactly one finds it new (the upload route refunds what the others replace).
      // One statement (under the lock the old size is exact): the bytes go once, as a binary
      // parameter, and nothing comes back but the old size (an ORM upsert returns the 4 MiB row).
      return withPartLock(db, blobId, index, { needRow: false }, async (query) => {
        const rows = await query<{ size: number | null }>(PUT_PART, [blobId, index, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]);
        return rows[0]?.size ?? 0;
      });
    },
    async partSizes(blobId) {
      const rows = await db.$queryRaw<{ index: number; size: number }[]>`SELECT index, octet_length(data)::int AS size FROM blob_parts WHERE blob_id = ${blobId}::uuid`;
      return new Map(rows.map((r) => [r.index, r.size]));
    },
    async *read(blobId, parts) {
      // One part ahead: the next part is fetched while this one is sent (two parts in memory at most).
      const fetch = async (index: number) => {
        if (!pool) return db.blobPart.findUnique({ where: { blobId_index: { blobId, index } }, select: { data: true } });
        // Through the `pg` pool as a binary COPY: the bytes as they are, no hex, no Prisma copies.
        const data = await readPartBinary(pool, blobId, index);
        return data ? { data } : null;
      };
      let next = parts > 0 ? fetch(0) : null;
      for (let index = 0; index < parts; index++) {
        const row = await next!;
        next = index + 1 < parts ? fetch(index + 1) : null;
        next?.catch(() => {}); // awaited on the next turn; a reader that stops early leaves it
        if (!row) throw new Error(`blob ${blobId} lost part ${index}`);
        yield row.data;
      }
    },
    async delete(blobIds) {
      if (blobIds.length) await db.blobPart.deleteMany({ where: { blobId: { in: [...blobIds] } } });
    },
    async readPart(blobId, index) {
      if (pool) return readPartBinary(pool, blobId, index);
      return (await db.blobPart.findUnique({ where: { blobId_index: { blobId, index } }, select: { data: true } }))?.data ?? null;
    },
    async listBlobs({ after, limit }) {
      // Parts cannot outlive their row here (a foreign key), so the row's time is the bytes' time.
      return db.$queryRaw<{ blobId: string; modifiedAt: Date }[]>`
        SELECT p.blob_id::text AS "blobId", b.created_at AS "modifiedAt"
        FROM (SELECT DISTINCT blob_id FROM blob_parts WHERE blob_id > ${after ?? '00000000-0000-0000-0000-000000000000'}::uuid ORDER BY blob_id LIMIT ${limit}) p
        JOIN blobs b ON b.id = p.blob_id ORDER BY p.blob_id`;
    },
  };
}

/**
 * Deletes bytes the store holds for blobs that have no row any more and were last written before
 * `olderThan`: a message deleted by a cascade the caller did not follow with `store.delete`, or a
 * process that died between the database commit and the bucket. (In the Postgres store parts go
 * with their row, so this finds nothing there.) Walks the store in id order from `after`;
 * answers what went and where the next round starts (null: the end was reached).
 */
export async function collectUnreferencedBlobs(db: Db, store: BlobStore, opts: { olderThan: Date; after?: string | null; limit?: number }): Promise<{ blobs: number; next: string | null }> {
  const limit = opts.limit ?? 1000;
  const listed = await store.listBlobs({ after: opts.after ?? undefined, limit });
  const old = listed.filter((b) => b.modifiedAt < opts.olderThan).map((b) => b.blobId);
  const kept = old.length ? new Set((await db.blob.findMany({ where: { id: { in: old } }, select: { id: true } })).map((b) => b.id)) : new Set<string>();
  const gone = old.filter((id) => !kept.has(id));
  if (gone.length) await store.delete(gone);
  return { blobs: gone.length, next: listed.length < limit ? null : listed[listed.length - 1]!.blobId };
}

/**
 * Deletes blobs no message took within the grace period: uploads a client abandoned (a closed
 * tab, a failed send) and attachment blobs of inbound mail whose process died before the message
 * was stored (`kill -9` between the two). The owner gets back what an upload was charged (its
 * parts); a blob written for inbound mail was never charged on its own. A blob attached while
 * this runs is kept (the row is deleted only while it has no message). Answers what went.
 */
export async function collectOrphanBlobs(db: Db, store: BlobStore, opts: { olderThan: Date; limit?: number }): Promise<{ blobs: number; bytes: number }> {
  const orphans = await db.blob.findMany({ where: { messageId: null, createdAt: { lt: opts.olderThan } }, select: { id: true, ownerUserId: true, uploaded: true }, orderBy: { createdAt: 'asc' }, take: opts.limit ?? 500 });
  let blobs = 0;
  let bytes = 0;
  for (const b of orphans) {
    const size = [...(await store.partSizes(b.id)).values()].reduce((n, s) => n + s, 0);
    const gone = await db.$transaction(async (tx) => {
      const n = await tx.blob.deleteMany({ where: { id: b.id, messageId: null } });
      if (n.count && b.uploaded && b.ownerUserId && size) await charge(tx, b.ownerUserId, -size);
      return n.count > 0;
    });
    if (!gone) continue;
    await store.delete([b.id]);
    blobs++;
    bytes += size;
  }
  return { blobs, bytes };
}
