/**
 * Mailbox counts (docs/performance.md "Mailbox on the server"): read from `mailbox_counts`, which
 * Postgres triggers keep in step with every write to mailbox_entries in the same transaction
 * (migration 20261129123521_mailbox_counts). One index range of a few rows, whatever the size of
 * the mailbox; the quota comes along in the same round trip.
 */
import { folders, type FolderName } from '@sealmail/contract';
import type { Db } from '@sealmail/db';
import { queryRows } from '../http/sql';

export interface Count {
  total: number;
  unread: number;
}

export interface MailboxCounts {
  folders: ({ folder: FolderName } & Count)[];
  customFolders: ({ id: string } & Count)[];
  labels: ({ id: string } & Count)[];
  starred: Count;
  quota: { usedBytes: number; quotaBytes: number };
}

/** The counts and the quota in one statement (exported for the query-plan test). */
export const COUNTS_SQL = `SELECT scope, key, total::bigint AS total, unread::bigint AS unread FROM mailbox_counts WHERE user_id = $1::uuid
  UNION ALL
  SELECT 'quota', '', used_bytes, quota_bytes FROM users WHERE id = $1::uuid`;

/**
 * The counts as one JSON column of the session lookup (`SessionRule.with`): the summary route then
 * costs one round trip, the session's, instead of two; the quota comes from the session's user.
 */
export const COUNTS_WITH_SESSION = `(SELECT coalesce(json_agg(json_build_object('scope', c.scope, 'key', c.key, 'total', c.total::bigint, 'unread', c.unread::bigint)), '[]')
  FROM mailbox_counts c WHERE c.user_id = s.user_id)`;

type CountRow = { scope: string; key: string; total: string | number; unread: string | number };

export async function readMailboxCounts(db: Db, userId: string): Promise<MailboxCounts> {
  return countsOf(await queryRows<CountRow>(db, COUNTS_SQL, [userId]));
}

/** The counts from the rows of {@link COUNTS_WITH_SESSION} and the session user's quota. */
export function countsWithSession(rows: unknown, user: { usedBytes: bigint; quotaBytes: bigint }): MailboxCounts {
  return countsOf([...(rows as CountRow[]), { scope: 'quota', key: '', total: String(user.usedBytes), unread: String(user.quotaBytes) }]);
}

function countsOf(rows: CountRow[]): MailboxCounts {
  const of = (scope: string) => rows.filter((r) => r.scope === scope).map((r) => ({ id: r.key, total: Number(r.total), unread: Number(r.unread) }));
  const byFolder = new Map(of('folder').map((c) => [c.id, c]));
  const quota = rows.find((r) => r.scope === 'quota');
  const starred = of('starred')[0];
  return {
    folders: folders.map((f) => ({ folder: f, total: byFolder.get(f)?.total ?? 0, unread: byFolder.get(f)?.unread ?? 0 })),
    customFolders: of('custom'),
    labels: of('label'),
    starred: { total: starred?.total ?? 0, unread: starred?.unread ?? 0 },
    quota: { usedBytes: Number(quota?.total ?? 0), quotaBytes: Number(quota?.unread ?? 0) },
  };
}
