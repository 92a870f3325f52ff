/**
 * A list page without its ciphertexts, and the sealed parts of the rows a client has not verified
 * yet in one batch (the JMAP Email/query ↔ Email/get split; docs/performance.md "Mailbox on the
 * server"). A row carries its plaintext metadata and `digest`, the SHA-256 of the sealed parts it
 * is verified from (contract `entryRow`), computed by Postgres from the bytes; a page of 50 is
 * then a few tens of kilobytes instead of the ~380 KB of boxes, manifests, envelopes and bodies.
 * Both are one named prepared statement (http/sql.ts) walking the same indexes as the full page.
 */
import type { EntryRow, EntryView } from '@sealmail/contract';
import { mailLimits } from '@sealmail/contract';
import type { Db } from '@sealmail/db';
import { b64url, queryRows } from '../http/sql';
import { keysetPage, metaOf, pageFilter, toView, type PageQuery, type Row } from './page';

/** SQL: base64url SHA-256 over `u32 length | bytes` of envelope, box, manifest and summary (empty when none). */
export const DIGEST_SQL = `translate(encode(sha256(int4send(length(m.envelope)) || m.envelope || int4send(length(e.box)) || e.box
            || int4send(length(m.manifest)) || m.manifest || int4send(coalesce(length(m.summary), 0)) || coalesce(m.summary, ''::bytea)), 'base64'), '+/=', '-_')`;

type RowOfList = Omit<Row, 'box' | 'envelope' | 'manifest' | 'body' | 'summary'> & { digest: string };

/** The rows statement and its parameters (exported for the query-plan test). */
export function rowsStatement(userId: string, q: PageQuery): { sql: string; params: unknown[] } {
  const { where, params } = pageFilter(userId, q);
  params.push(q.limit + 1);
  const sql = `SELECT e.id::text AS id, e.message_id::text AS message_id, e.thread_id::text AS thread_id, e.folder::text AS folder, e.role, e.read, e.starred,
            e.label_ids, e.folder_id::text AS folder_id, e.received_at, e.size,
            m.mail_id, m.sent_at, m.sender_address, m.to_addresses, m.cc_addresses, m.protection::text AS protection, m.attachment_sizes,
            ${DIGEST_SQL} AS digest,
            ARRAY(SELECT b.id::text FROM blobs b WHERE b.message_id = m.id ORDER BY b.piece_index) AS attachments
     FROM (SELECT * FROM mailbox_entries WHERE ${where} ORDER BY received_at DESC, id DESC LIMIT $${params.length}::int) e
     JOIN messages m ON m.id = e.message_id
     ORDER BY e.received_at DESC, e.id DESC`;
  return { sql, params };
}

/** Up to `limit` rows, newest first, and the keyset position of the next page (null: the last page). */
export async function loadRows(db: Db, userId: string, q: PageQuery): Promise<{ rows: EntryRow[]; next: { receivedAt: Date; id: string } | null }> {
  const { sql, params } = rowsStatement(userId, q);
  const { items, next } = keysetPage(await queryRows<RowOfList>(db, sql, params), q.limit, toRow);
  return { rows: items, next };
}

function toRow(r: RowOfList): EntryRow {
  return { ...metaOf(r), attachments: r.attachments, digest: r.digest };
}

/**
 * The batch statement (exported for the query-plan test): the caller's entries among `ids` by
 * primary key, with what a list page carries of each (mail/page.ts).
 */
export function sealedStatement(userId: string, ids: readonly string[]): { sql: string; params: unknown[] } {
  const sql = `SELECT e.id::text AS id, e.message_id::text AS message_id, e.thread_id::text AS thread_id, e.folder::text AS folder, e.role, e.read, e.starred,
            e.label_ids, e.folder_id::text AS folder_id, e.received_at, e.size, ${b64url('e.box')} AS box,
            m.mail_id, m.sent_at, m.sender_address, m.to_addresses, m.cc_addresses, m.protection::text AS protection, m.attachment_sizes,
            ${b64url('m.envelope')} AS envelope, ${b64url('m.manifest')} AS manifest,
            CASE WHEN m.body_size <= $3::int AND (m.summary IS NULL OR e.folder = 'drafts') THEN ${b64url('m.body')} END AS body, ${b64url('m.summary')} AS summary,
            ARRAY(SELECT b.id::text FROM blobs b WHERE b.message_id = m.id ORDER BY b.piece_index) AS attachments
     FROM mailbox_entries e JOIN messages m ON m.id = e.message_id
     WHERE e.id = ANY($2::uuid[]) AND e.user_id = $1::uuid`;
  return { sql, params: [userId, [...ids], mailLimits.inlineBodyBytes] };
}

/** The caller's entries among `ids` with their sealed parts, in the order asked; others left out. */
export async function loadSealed(db: Db, userId: string, ids: readonly string[]): Promise<EntryView[]> {
  const { sql, params } = sealedStatement(userId, ids);
  const byId = new Map((await queryRows<Row>(db, sql, params)).map((r) => [r.id, toView(r)]));
  return [...new Set(ids)].flatMap((id) => byId.get(id) ?? []);
}
