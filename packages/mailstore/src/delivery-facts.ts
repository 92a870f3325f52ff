/**
 * What delivering one message needs to know about its recipients, in one statement through the
 * `pg` pool (a named prepared statement) instead of three ORM queries per recipient: each one's
 * spam verdict on the senders (senderVerdicts' rule), their metadata filters (runServerFilters'
 * rows, in order, at most 100) and the head of their sigchain (newestPerUserKey checks its cache
 * against it), and whether they have an out-of-office setting. The SMTP ingress reads them at DATA (docs/performance.md "Ingest").
 */
import { pgPoolOf, type Db } from '@sealmail/db';
import type { FilterActionsData, FilterConditionsData } from './filters';

export interface RecipientFacts {
  /** 'spam' if the user marked any of the senders as spam, 'allow' if only as not spam, else null. */
  verdict: 'spam' | 'allow' | null;
  filters: { conditions: FilterConditionsData; actions: FilterActionsData }[];
  /** The newest link of the user's sigchain; null: no chain (no keys yet). */
  head: { seqno: number; hash: Uint8Array } | null;
  /** Whether the user has an out-of-office setting at all (enabled or not; replyOutOfOffice decides). */
  outOfOffice: boolean;
}

/**
 * The facts' columns for the user `u.id`, the senders' addresses (lower case) as parameter
 * `senders` (e.g. `$2::text[]`); the statement joins `FACTS_HEAD_JOIN` after `u`. The SMTP
 * ingress's RCPT statement reads them too, for the envelope sender (docs/performance.md "Ingest").
 */
export const factsColumns = (senders: string) => `(SELECT CASE WHEN bool_or(v.verdict = 'spam') THEN 'spam' WHEN count(*) > 0 THEN 'allow' END FROM sender_verdicts v WHERE v.user_id = u.id AND v.address = ANY(${senders})) AS verdict,
  (SELECT coalesce(json_agg(json_build_object('conditions', f.conditions, 'actions', f.actions) ORDER BY f.position), '[]'::json)
     FROM (SELECT conditions, actions, position FROM mail_filters WHERE user_id = u.id ORDER BY position LIMIT 100) f) AS filters,
  h.seqno, h.hash,
  EXISTS (SELECT 1 FROM out_of_office o WHERE o.user_id = u.id) AS "outOfOffice"`;
/** The newest sigchain link of `u.id` as `h` (seqno, hash), for {@link factsColumns}. */
export const FACTS_HEAD_JOIN = `LEFT JOIN LATERAL (SELECT s.seqno, s.hash FROM sigchain_links s WHERE s.user_id = u.id ORDER BY s.seqno DESC LIMIT 1) h ON true`;

/** A row with {@link factsColumns} as the facts. */
export interface FactsRow {
  verdict: 'spam' | 'allow' | null;
  filters: RecipientFacts['filters'];
  seqno: number | null;
  hash: Buffer | null;
  outOfOffice: boolean;
}
export const factsOfRow = (r: FactsRow): RecipientFacts => ({ verdict: r.verdict, filters: r.filters, head: r.seqno === null || !r.hash ? null : { seqno: r.seqno, hash: r.hash }, outOfOffice: r.outOfOffice });

const FACTS_SQL = `SELECT u.id,
  ${factsColumns('$2::text[]')}
FROM unnest($1::uuid[]) AS u(id)
${FACTS_HEAD_JOIN}`;

/** The facts by user id; null when the client has no pg pool of ours (callers then ask one by one). */
export async function recipientFacts(db: Db, userIds: readonly string[], senders: readonly string[]): Promise<Map<string, RecipientFacts> | null> {
  const pool = pgPoolOf(db);
  if (!pool) return null;
  const ids = [...new Set(userIds)];
  const out = new Map<string, RecipientFacts>();
  if (!ids.length) return out;
  const addresses = [...new Set(senders.map((s) => s.toLowerCase()).filter(Boolean))];
  const { rows } = await pool.query<FactsRow & { id: string }>({ name: 'sealmail_recipient_facts', text: FACTS_SQL, values: [ids, addresses] });
  for (const r of rows) out.set(r.id, factsOfRow(r));
  return out;
}
