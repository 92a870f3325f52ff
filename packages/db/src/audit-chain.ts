/**
 * The change history as a hash chain per account (docs/admin.md, "Change history").
 *
 * Entry `n` of an account stores `prev_hash` (the hash of entry `n-1`, 64 zeros for entry 1) and
 * `hash` = SHA-256 of its canonical encoding, version 1: the RFC 8785 (JCS) serialisation of
 *
 *   { v: 1, account, seq: "<decimal>", actor: <uuid or null>, action, details, at: "<ISO 8601, ms, Z>", prev: "<hex>" }
 *
 * as UTF-8. Appends are serialised per account by locking the account's `audit_heads` row
 * (SELECT … FOR UPDATE) inside the writer's transaction, so two API processes writing at once
 * never fork the chain; the head also records the newest entry, so cutting entries off the end is
 * seen. Editing, deleting or reordering entries is found by `verifyAuditChain`. Someone who can
 * write the database can still recompute the whole chain: compare the head hash with one noted
 * earlier (the console shows it) to catch that.
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

export const AUDIT_CHAIN_VERSION = 1;
/** `prev_hash` of an account's first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/** Runs one SQL statement with $1… parameters and answers its rows. */
export type SqlQuery = <T = Record<string, unknown>>(sql: string, params: unknown[]) => Promise<T[]>;

/** A SqlQuery over a Prisma client or interactive transaction. */
export function prismaQuery(tx: { $queryRawUnsafe<T = unknown>(sql: string, ...values: unknown[]): Promise<T> }): SqlQuery {
  return <T>(sql: string, params: unknown[]) => tx.$queryRawUnsafe<T[]>(sql, ...params);
}

/** A SqlQuery over a `pg` client. */
export function pgQuery(client: { query(sql: string, params: unknown[]): Promise<{ rows: unknown[] }> }): SqlQuery {
  return async <T>(sql: string, params: unknown[]) => (await client.query(sql, params)).rows as T[];
}

/** What the hash of an entry covers. */
export interface ChainFields {
  accountId: string;
  seq: bigint;
  actor: string | null;
  action: string;
  details: unknown;
  at: Date;
  prevHash: string;
}

/** The canonical encoding (version 1) of an entry, as text; its UTF-8 bytes are hashed. */
export function auditEntryEncoding(e: ChainFields): string {
  const text = canonicalize({ v: AUDIT_CHAIN_VERSION, account: e.accountId, seq: e.seq.toString(), actor: e.actor, action: e.action, details: e.details, at: e.at.toISOString(), prev: e.prevHash });
  if (text === undefined) throw new TypeError('audit entry cannot be encoded');
  return text;
}

/** SHA-256 (hex) of an entry's canonical encoding. */
export function auditEntryHash(e: ChainFields): string {
  return createHash('sha256').update(auditEntryEncoding(e), 'utf8').digest('hex');
}

/** Details as they will read back from jsonb (undefined members dropped, dates as strings). */
function normalise(details: Record<string, unknown> | undefined): unknown {
  return JSON.parse(JSON.stringify(details ?? {})) as unknown;
}

type Row = { id: string; seq: string; actor_ref: string | null; actor_user_id: string | null; action: string; details: string; at_ms: string; prev_hash: string | null; hash: string | null };
const ROW_COLUMNS = `id::text AS id, seq::text AS seq, actor_ref::text AS actor_ref, actor_user_id::text AS actor_user_id, action, details::text AS details,
  (extract(epoch FROM created_at) * 1000)::bigint::text AS at_ms, prev_hash, hash`;

const fieldsOf = (accountId: string, r: Row, prevHash: string): ChainFields => ({
  accountId,
  seq: BigInt(r.seq),
  actor: r.actor_ref,
  action: r.action,
  details: JSON.parse(r.details) as unknown,
  at: new Date(Number(r.at_ms)),
  prevHash,
});

/** Locks the account's head row (creating it), inside the caller's transaction. */
async function lockHead(q: SqlQuery, accountId: string): Promise<{ seq: bigint; hash: string | null }> {
  await q('INSERT INTO audit_heads (account_id) VALUES ($1::uuid) ON CONFLICT (account_id) DO NOTHING', [accountId]);
  const [head] = await q<{ seq: string; hash: string | null }>('SELECT seq::text AS seq, hash FROM audit_heads WHERE account_id = $1::uuid FOR UPDATE', [accountId]);
  return { seq: BigInt(head!.seq), hash: head!.hash };
}

/**
 * Chains the account's entries that have no hash yet (written before the chain existed), in
 * sequence order, and moves the head to the last. The caller holds the head lock.
 */
async function chainPending(q: SqlQuery, accountId: string): Promise<{ seq: bigint; hash: string | null }> {
  const [last] = await q<{ seq: string; hash: string }>('SELECT seq::text AS seq, hash FROM audit_events WHERE account_id = $1::uuid AND hash IS NOT NULL ORDER BY audit_events.seq DESC LIMIT 1', [accountId]);
  let prev = last?.hash ?? GENESIS_HASH;
  let seq = last ? BigInt(last.seq) : 0n;
  for (;;) {
    const rows = await q<Row>(`SELECT ${ROW_COLUMNS} FROM audit_events WHERE account_id = $1::uuid AND hash IS NULL ORDER BY audit_events.seq LIMIT 500`, [accountId]);
    if (rows.length === 0) break;
    for (const r of rows) {
      const hash = auditEntryHash(fieldsOf(accountId, r, prev));
      await q('UPDATE audit_events SET prev_hash = $2, hash = $3 WHERE id = $1::bigint', [r.id, prev, hash]);
      prev = hash;
      seq = BigInt(r.seq);
    }
  }
  const hash = seq === 0n ? null : prev;
  await q('UPDATE audit_heads SET seq = $2::bigint, hash = $3 WHERE account_id = $1::uuid', [accountId, seq.toString(), hash]);
  return { seq, hash };
}

export interface AuditInput {
  accountId: string;
  actorUserId?: string | null;
  action: string;
  details?: Record<string, unknown>;
}

/**
 * Appends one entry to the account's chain. Run it inside a transaction (`recordAudit` does):
 * the head row stays locked until commit, so appends of one account are one at a time.
 */
export async function appendAuditEntry(q: SqlQuery, event: AuditInput, at: Date): Promise<{ id: string; seq: bigint; hash: string }> {
  let head = await lockHead(q, event.accountId);
  if (head.seq > 0n && head.hash === null) head = await chainPending(q, event.accountId);
  const seq = head.seq + 1n;
  const prevHash = head.hash ?? GENESIS_HASH;
  const details = normalise(event.details);
  const when = new Date(Math.floor(at.getTime()));
  const actor = event.actorUserId ?? null;
  const hash = auditEntryHash({ accountId: event.accountId, seq, actor, action: event.action, details, at: when, prevHash });
  const [row] = await q<{ id: string }>(
    `INSERT INTO audit_events (account_id, actor_user_id, actor_ref, action, details, created_at, seq, prev_hash, hash)
     VALUES ($1::uuid, $2::uuid, $2::uuid, $3, $4::jsonb, $5::timestamptz, $6::bigint, $7, $8) RETURNING id::text AS id`,
    [event.accountId, actor, event.action, JSON.stringify(details), when.toISOString(), seq.toString(), prevHash, hash],
  );
  await q('UPDATE audit_heads SET seq = $2::bigint, hash = $3 WHERE account_id = $1::uuid', [event.accountId, seq.toString(), hash]);
  return { id: row!.id, seq, hash };
}

/**
 * Chains every account's entries that have none yet (after the migration that introduced the
 * chain), one account per transaction. Idempotent: with nothing pending it does one query.
 */
export async function chainPendingAudit(client: { query(sql: string, params?: unknown[]): Promise<{ rows: unknown[] }> }): Promise<number> {
  const q = pgQuery(client as { query(sql: string, params: unknown[]): Promise<{ rows: unknown[] }> });
  const pending = await q<{ account_id: string }>('SELECT account_id::text AS account_id FROM audit_heads WHERE hash IS NULL AND seq > 0', []);
  for (const { account_id } of pending) {
    await client.query('BEGIN');
    try {
      await lockHead(q, account_id);
      await chainPending(q, account_id);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK');
      throw err;
    }
  }
  return pending.length;
}

export type AuditProblemKind = 'edited' | 'missing' | 'relinked' | 'unchained' | 'truncated';

export interface AuditProblem {
  /** The entry's position in the chain (for `missing`/`truncated`: the first absent one). */
  seq: string;
  /** The database id of the entry, when it exists. */
  id: string | null;
  kind: AuditProblemKind;
  message: string;
}

export interface AuditVerification {
  intact: boolean;
  /** Entries checked. */
  checked: number;
  /** The head as recorded: the newest entry's position and hash (null for an empty history). */
  head: { seq: string; hash: string | null };
  /** The earliest problem, or null when the chain is intact. */
  firstBroken: AuditProblem | null;
  /** Problems in chain order (at most 50). */
  problems: AuditProblem[];
}

const MAX_PROBLEMS = 50;

/**
 * Walks the account's chain from entry 1 to the head and reports every entry whose content no
 * longer matches its hash (edited), every gap (deleted), every entry that does not follow its
 * predecessor (reordered or replaced), and entries cut off the end.
 */
export async function verifyAuditChain(q: SqlQuery, accountId: string): Promise<AuditVerification> {
  const [headRow] = await q<{ seq: string; hash: string | null }>('SELECT seq::text AS seq, hash FROM audit_heads WHERE account_id = $1::uuid', [accountId]);
  const headSeq = BigInt(headRow?.seq ?? '0');
  const headHash = headRow?.hash ?? null;
  const problems: AuditProblem[] = [];
  const report = (p: AuditProblem) => {
    if (problems.length < MAX_PROBLEMS) problems.push(p);
  };
  let expected = 1n;
  let prev = GENESIS_HASH;
  let checked = 0;
  for (;;) {
    const rows = await q<Row>(`SELECT ${ROW_COLUMNS} FROM audit_events WHERE account_id = $1::uuid AND seq >= $2::bigint AND seq <= $3::bigint ORDER BY audit_events.seq LIMIT 1000`, [
      accountId,
      expected.toString(),
      headSeq.toString(),
    ]);
    if (rows.length === 0) break;
    for (const r of rows) {
      const seq = BigInt(r.seq);
      checked++;
      let gap = false;
      if (seq > expected) {
        gap = true;
        report({ seq: expected.toString(), id: null, kind: 'missing', message: seq - expected === 1n ? `Entry #${expected} is missing (deleted).` : `Entries #${expected} to #${seq - 1n} are missing (deleted).` });
      }
      if (r.hash === null || r.prev_hash === null) {
        report({ seq: r.seq, id: r.id, kind: 'unchained', message: `Entry #${r.seq} has no hash: it was never chained.` });
        prev = auditEntryHash(fieldsOf(accountId, r, prev));
      } else {
        const edited = auditEntryHash(fieldsOf(accountId, r, r.prev_hash)) !== r.hash || (r.actor_user_id !== null && r.actor_user_id !== r.actor_ref);
        if (edited) report({ seq: r.seq, id: r.id, kind: 'edited', message: `Entry #${r.seq} was changed after it was written: its content no longer matches its hash.` });
        else if (!gap && r.prev_hash !== prev) report({ seq: r.seq, id: r.id, kind: 'relinked', message: `Entry #${r.seq} does not follow entry #${seq - 1n}: entries were reordered or replaced.` });
        prev = r.hash;
      }
      expected = seq + 1n;
    }
  }
  const last = expected - 1n;
  if (last < headSeq) {
    report({ seq: expected.toString(), id: null, kind: 'truncated', message: `Entries #${expected} to #${headSeq} are missing: the newest entries were deleted.` });
  } else if (headSeq > 0n && prev !== headHash) {
    report({ seq: headSeq.toString(), id: null, kind: 'truncated', message: `The newest entry #${headSeq} does not match the recorded head of the chain.` });
  }
  return { intact: problems.length === 0, checked, head: { seq: headSeq.toString(), hash: headHash }, firstBroken: problems[0] ?? null, problems };
}
