/**
 * Reads one Postgres blob part as raw bytes with a binary `COPY … TO STDOUT` (pg-copy-streams).
 * `pg` decodes every result field as text, so a `bytea` comes back hex-encoded: twice its size on
 * the wire, an 8 MiB string and a hex decode for a 4 MiB part (about 60–100 ms on the shared
 * 2-core machine, against 15–20 ms for Postgres to read the part; docs/performance.md "Blob stores
 * and ranges"). The binary COPY format carries the bytes as they are:
 * `PGCOPY\n\377\r\n\0`, flags (int32), header extension (int32 length + bytes), then per row a
 * field count (int16) and per field a length (int32) and its bytes, and -1 (int16) at the end.
 */
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/** The single `bytea` field of a binary COPY of at most one row; null when no row came. */
export function parseBinaryCopyOfOneField(all: Buffer): Buffer | null {
  const bad = (why: string) => new Error(`blob part: unexpected COPY output (${why})`);
  if (all.length < 21 || !all.subarray(0, 11).equals(SIGNATURE)) throw bad('signature');
  let at = 15 + 4 + all.readInt32BE(15);
  const fields = all.readInt16BE(at);
  if (fields === -1) return null; // no row
  if (fields !== 1) throw bad(`${fields} fields`);
  const len = all.readInt32BE(at + 2);
  at += 6;
  if (len < 0 || at + len + 2 > all.length) throw bad('field length');
  if (all.readInt16BE(at + len) !== -1) throw bad('more than one row');
  return all.subarray(at, at + len);
}

/** Part `index` of blob `blobId` as raw bytes, or null when there is no such part. */
export async function readPartBinary(pool: pg.Pool, blobId: string, index: number): Promise<Uint8Array | null> {
  // COPY takes no parameters: the values are checked here and inlined (a UUID and an integer only).
  if (!UUID.test(blobId)) throw new Error(`not a blob id: ${JSON.stringify(blobId)}`);
  if (!Number.isSafeInteger(index) || index < 0 || index > 0x7fffffff) throw new Error(`not a part index: ${index}`);
  const client = await pool.connect();
  let broken = false;
  try {
    const stream = client.query(copyTo(`COPY (SELECT data FROM blob_parts WHERE blob_id = '${blobId}'::uuid AND index = ${index}) TO STDOUT (FORMAT binary)`));
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of stream as AsyncIterable<Buffer>) {
      chunks.push(c);
      n += c.length;
    }
    return parseBinaryCopyOfOneField(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, n));
  } catch (err) {
    broken = true;
    throw err;
  } finally {
    // A COPY that failed half-way leaves the connection in an unknown state: drop it.
    client.release(broken);
  }
}
