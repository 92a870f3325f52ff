/**
 * A list page in one round trip (docs/performance.md "Mailbox on the server"): the keyset walk of
 * the (user, folder, received_at, id) index picks the page's entries, and the same statement joins
 * their messages by primary key and their attachment ids by the blobs' message index, selecting
 * only what a row of the list needs (the body only when small enough to travel inline). The
 * statement text depends only on which filters are set: a named prepared statement (http/sql.ts),
 * planned once per connection. Ciphertexts leave Postgres as base64url text.
 */
import { mailLimits, type EntryView } from '@sealmail/contract';
import type { Db } from '@sealmail/db';
import { b64url, queryRows } from '../http/sql';

export interface PageQuery {
  folder?: string | undefined;
  folderId?: string | undefined;
  label?: string | undefined;
  starred?: boolean | undefined;
  unread?: boolean | undefined;
  /** Keyset cursor: the last row of the previous page. */
  after?: { receivedAt: Date; id: string } | undefined;
  limit: number;
}

export interface Row {
  id: string;
  message_id: string;
  thread_id: string;
  folder: EntryView['folder'];
  role: EntryView['role'];
  read: boolean;
  starred: boolean;
  label_ids: string[];
  folder_id: string | null;
  received_at: Date;
  size: string;
  box: string;
  mail_id: string;
  sent_at: Date;
  sender_address: string;
  to_addresses: string[];
  cc_addresses: string[];
  protection: EntryView['protection'];
  attachment_sizes: string[];
  envelope: string;
  manifest: string;
  body: string | null;
  summary?: string | null;
  attachments: string[];
}

/** The WHERE clause and parameters of a page ($1 is the user). */
export function pageFilter(userId: string, q: PageQuery): { where: string; params: unknown[] } {
  const params: unknown[] = [userId];
  const where: string[] = ['user_id = $1::uuid'];
  const add = (sql: string, value: unknown) => {
    params.push(value);
    where.push(sql.replace('?', `$${params.length}`));
  };
  if (q.folderId) {
    // A custom folder: its entries are filed with folder archive (routes/organise.ts).
    add('folder_id = ?::uuid', q.folderId);
    where.push(`folder = 'archive'`);
  } else if (q.folder) {
    add('folder = ?::folder', q.folder);
    if (q.folder === 'archive') where.push('folder_id IS NULL');
  } else where.push(`folder NOT IN ('trash', 'spam')`);
  if (q.label) add('label_ids @> ARRAY[?::text]', q.label);
  if (q.starred) where.push('starred');
  if (q.unread) where.push('NOT read');
  if (q.after) {
    params.push(q.after.receivedAt, q.after.id);
    where.push(`(received_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
  }
  return { where: where.join(' AND '), params };
}

/**
 * The page statement and its parameters (exported for the query-plan test). A small body travels
 * inline only for mail a row cannot show without it: no sealed summary, or a draft (a client whose
 * summary check fails fetches the entry, as for any body left out).
 */
export function pageStatement(userId: string, q: PageQuery): { sql: string; params: unknown[] } {
  const { where, params } = pageFilter(userId, q);
  params.push(q.limit + 1, mailLimits.inlineBodyBytes);
  const sql = `SELECT e.id::text AS id, e.message_id::text AS message_id, e.thread_id::text AS thread_id, e.folder::text AS folder, e.role, e.read, e.starred,
            e.label_ids, e.folder_id::text AS folder_id, e.received_at, e.size, ${b64url('e.box')} AS box,
            m.mail_id, m.sent_at, m.sender_address, m.to_addresses, m.cc_addresses, m.protection::text AS protection, m.attachment_sizes,
            ${b64url('m.envelope')} AS envelope, ${b64url('m.manifest')} AS manifest,
            CASE WHEN m.body_size <= $${params.length}::int AND (m.summary IS NULL OR e.folder = 'drafts') THEN ${b64url('m.body')} END AS body, ${b64url('m.summary')} AS summary,
            ARRAY(SELECT b.id::text FROM blobs b WHERE b.message_id = m.id ORDER BY b.piece_index) AS attachments
     FROM (SELECT * FROM mailbox_entries WHERE ${where} ORDER BY received_at DESC, id DESC LIMIT $${params.length - 1}::int) e
     JOIN messages m ON m.id = e.message_id
     ORDER BY e.received_at DESC, e.id DESC`;
  return { sql, params };
}

/** Up to `limit` entries, newest first, and the keyset position of the next page (null: the last page). */
export async function loadPage(db: Db, userId: string, q: PageQuery): Promise<{ entries: EntryView[]; next: { receivedAt: Date; id: string } | null }> {
  const { sql, params } = pageStatement(userId, q);
  const { items, next } = keysetPage(await queryRows<Row>(db, sql, params), q.limit, toView);
  return { entries: items, next };
}

/** A statement's `limit + 1` rows as a page of `limit` and the keyset position of the next one (null: the last page). */
export function keysetPage<R extends { id: string; received_at: Date }, T>(got: R[], limit: number, map: (r: R) => T): { items: T[]; next: { receivedAt: Date; id: string } | null } {
  const page = got.slice(0, limit);
  const last = page.at(-1);
  return { items: page.map(map), next: got.length > limit && last ? { receivedAt: last.received_at, id: last.id } : null };
}

/** The columns of a list row that are not sealed (the full page and the rows route both carry them). */
export type MetaRow = Omit<Row, 'box' | 'envelope' | 'manifest' | 'body' | 'summary' | 'attachments'>;

/** The plaintext metadata of a list row, as the contract names it. */
export function metaOf(r: MetaRow) {
  return {
    id: r.id,
    messageId: r.message_id,
    mailId: r.mail_id,
    threadId: r.thread_id,
    folder: r.folder,
    role: r.role,
    read: r.read,
    starred: r.starred,
    labelIds: r.label_ids,
    folderId: r.folder_id,
    receivedAt: r.received_at.toISOString(),
    sentAt: r.sent_at.toISOString(),
    from: r.sender_address,
    to: r.to_addresses,
    cc: r.cc_addresses,
    protection: r.protection,
    size: Number(r.size),
    attachmentSizes: r.attachment_sizes.map(Number),
  };
}

export function toView(r: Row): EntryView {
  return {
    ...metaOf(r),
    envelope: r.envelope,
    manifest: r.manifest,
    box: r.box,
    body: r.body,
    ...(r.summary !== undefined ? { summary: r.summary } : {}),
    attachments: r.attachments,
  };
}
