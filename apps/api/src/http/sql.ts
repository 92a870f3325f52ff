/**
 * The hot read paths (the session lookup, a list page, the counts) as named prepared statements
 * on the `pg` pool under the Prisma client: Postgres plans each once per connection, and rows come
 * back as the driver parses them, without Prisma's per-value conversion (for a page of 50 with
 * its ciphertexts that conversion cost far more than the query; docs/performance.md).
 */
import { createHash } from 'node:crypto';
import { pgPoolOf, type Db } from '@sealmail/db';

const names = new Map<string, string>();

/** Runs `text` with `values` as a named prepared statement; int8 comes back as a string (callers use Number/BigInt). */
export async function queryRows<T>(db: Db, text: string, values: unknown[]): Promise<T[]> {
  const pool = pgPoolOf(db);
  // A client made otherwise (no pool of ours): the same statement through Prisma (int8 then a bigint).
  if (!pool) return db.$queryRawUnsafe<T[]>(text, ...values);
  let name = names.get(text);
  if (!name) {
    name = `sealmail_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
    names.set(text, name);
  }
  return (await pool.query({ name, text, values })).rows as T[];
}

/** SQL for a bytea column as base64url text (Postgres encodes; no bytes cross into JS). */
export const b64url = (column: string) => `translate(encode(${column}, 'base64'), E'+/=\\n', '-_')`;
