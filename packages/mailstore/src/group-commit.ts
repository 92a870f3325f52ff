/**
 * Group commit of the SMTP ingress's store transactions (docs/performance.md "Ingest"): the
 * messages that arrive while one commit is in flight are stored together by the next — one
 * transaction through the `pg` pool with multi-row statements (message rows, attachment blobs,
 * quota, mailbox entries, and the new-mail NOTIFYs, which Postgres delivers at COMMIT) — instead
 * of one ORM transaction and one NOTIFY round trip each. Each caller's promise resolves only after
 * the COMMIT of its batch, so a 250 still means durably stored.
 *
 * The semantics are storeMessage's (store.ts), to the row: every holder's quota is checked in
 * arrival order under a row lock of their user (a holder past it is refused, the others get the
 * mail), an attachment blob must still be free, a mail id exists only once, and the
 * mailbox-counts triggers run on the inserted entries. When anything in a batch fails, the batch
 * is rolled back and each of its messages is stored alone with storeMessage: only a message that
 * fails on its own gets the error. Inputs this path does not cover (held mail, links, outbound
 * deliveries, a required holder, an explicit thread, a public copy's charge) go to storeMessage
 * directly.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Db } from '@sealmail/db';
import { MAIL_CHANNEL } from './events';
import { QuotaExceededError, storeMessage, type StoreInput, type Stored } from './store';

/** What a store through the group commit resolves with: `published`, the NOTIFYs went out with the commit. */
export type GroupStored = Stored & { published: boolean };

export interface GroupCommitStats {
  /** Transactions committed by this path (batches, and messages stored alone after a failed batch). */
  transactions: number;
  /** Messages stored through it. */
  messages: number;
  /** Batches rolled back and retried one message at a time. */
  fallbacks: number;
}

interface Item {
  input: StoreInput;
  resolve: (s: GroupStored) => void;
  reject: (e: unknown) => void;
}

/** Most messages one transaction takes (its statements stay far below Postgres's 65,535 parameters). */
export const GROUP_COMMIT_MAX_BATCH = 64;
/** Commits under way at once (each on a connection of its own). */
export const GROUP_COMMIT_IN_FLIGHT = 2;

const buf = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/** `head (…), (…)` with one numbered, cast parameter per cell. */
function multiRow(head: string, casts: readonly string[], rows: readonly unknown[][], values: unknown[] = []): { text: string; values: unknown[] } {
  const tuples = rows.map((r) => `(${r.map((v, k) => (values.push(v), `$${values.length}::${casts[k]}`)).join(', ')})`);
  return { text: `${head} ${tuples.join(', ')}`, values };
}

/** Whether storeMessage's whole work for this input is what a batch does. */
function batchable(input: StoreInput): boolean {
  return !input.held && !input.links?.length && !input.chargeTo && !input.outbound?.length && !input.before && !input.after && input.holders.every((h) => !h.required && !h.threadId && !h.allowance);
}

export class GroupCommit {
  private readonly queue: Item[] = [];
  private inFlight = 0;
  readonly stats: GroupCommitStats = { transactions: 0, messages: 0, fallbacks: 0 };

  constructor(
    private readonly db: Db,
    private readonly pool: pg.Pool,
    private readonly opts: { maxBatch?: number; maxInFlight?: number } = {},
  ) {}

  /** Stores one sealed mail; resolves once it is committed. @throws what storeMessage throws. */
  store(input: StoreInput): Promise<GroupStored> {
    if (!batchable(input)) return storeMessage(this.db, input).then((s) => ({ ...s, published: false }));
    return new Promise<GroupStored>((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      this.next();
    });
  }

  /**
   * Starts a commit with everything queued, unless `maxInFlight` commits are under way already
   * (then what arrives meanwhile waits for the next). Two in flight by default: one batch fills
   * (its sessions' messages still being sealed) while the other waits for its fsync.
   */
  private next(): void {
    if (this.inFlight >= (this.opts.maxInFlight ?? GROUP_COMMIT_IN_FLIGHT) || !this.queue.length) return;
    this.inFlight++;
    const batch = this.queue.splice(0, this.opts.maxBatch ?? GROUP_COMMIT_MAX_BATCH);
    void this.commit(batch).finally(() => {
      this.inFlight--;
      this.next();
    });
  }

  private async commit(batch: Item[]): Promise<void> {
    let results: GroupStored[];
    try {
      results = await this.storeBatch(batch.map((b) => b.input));
    } catch {
      // Rolled back: each message alone (storeMessage), so only one that fails on its own gets
      // the error — as storeMessage reads it (a duplicate mail id, a blob taken meanwhile).
      this.stats.fallbacks++;
      await Promise.all(batch.map((b) => this.alone(b)));
      return;
    }
    this.stats.transactions++;
    this.stats.messages += batch.length;
    batch.forEach((b, i) => {
      const r = results[i]!;
      if (!r.entries.length && r.refused.length) b.reject(new QuotaExceededError(`no room for ${r.refused.map((x) => x.address).join(', ')}`));
      else b.resolve(r);
    });
  }

  private async alone(item: Item): Promise<void> {
    try {
      const s = await storeMessage(this.db, item.input);
      this.stats.transactions++;
      this.stats.messages++;
      item.resolve({ ...s, published: false });
    } catch (err) {
      item.reject(err);
    }
  }

  /** One transaction for the whole batch; throws (after ROLLBACK) if any part fails. */
  private async storeBatch(inputs: StoreInput[]): Promise<GroupStored[]> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const sizes = inputs.map((m) => BigInt(m.envelope.length + m.manifest.length + m.body.length + (m.summary?.length ?? 0)) + m.blobBytes);
      const ids = inputs.map(() => randomUUID());

      // Quota: each holder's user locked (in id order: no deadlock between batches), then charged
      // in arrival order while it fits — charge()'s rule, one holder after another.
      const userIds = [...new Set(inputs.flatMap((m) => m.holders.map((h) => h.userId)))].sort();
      const { rows: users } = await client.query<{ id: string; used: string; quota: string }>({
        name: 'sealmail_gc_lock_users',
        text: 'SELECT id, used_bytes AS used, quota_bytes AS quota FROM users WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE',
        values: [userIds],
      });
      const usage = new Map(users.map((u) => [u.id, { used: BigInt(u.used), quota: BigInt(u.quota), start: BigInt(u.used) }]));

      // Threads: a reply joins its holder's thread of the message it answers.
      const parentKeys = inputs.flatMap((m) => (m.parentId ? m.holders.map((h) => [h.userId, m.parentId!] as const) : []));
      const threads = new Map<string, string>();
      if (parentKeys.length) {
        const { rows } = await client.query<{ user_id: string; message_id: string; thread_id: string }>({
          name: 'sealmail_gc_parent_threads',
          text: 'SELECT DISTINCT ON (e.user_id, e.message_id) e.user_id, e.message_id, e.thread_id FROM mailbox_entries e JOIN unnest($1::uuid[], $2::uuid[]) AS k(u, m) ON e.user_id = k.u AND e.message_id = k.m',
          values: [parentKeys.map((k) => k[0]), parentKeys.map((k) => k[1])],
        });
        for (const r of rows) threads.set(`${r.user_id} ${r.message_id}`, r.thread_id);
      }

      // The batch's writes go to Postgres as one statement of data-modifying CTEs (below): the
      // message rows, the blobs taken, the charges, the entries and the NOTIFYs — one round trip
      // instead of five (docs/performance.md "Speed, third round"). Foreign keys are checked at the
      // statement's end, when the messages are there. Parameters are numbered across all parts.
      const values: unknown[] = [];
      const parts: string[] = [];

      // Holders in arrival order: charged while it fits, else refused (MAILBOX_FULL).
      const results: GroupStored[] = [];
      const entryRows: unknown[][] = [];
      const notices: string[] = [];
      for (const [i, m] of inputs.entries()) {
        const size = sizes[i]!;
        const entries: Stored['entries'] = [];
        const refused: Stored['refused'] = [];
        for (const h of m.holders) {
          const u = usage.get(h.userId);
          const d = size - (h.alreadyCharged ?? 0n);
          if (!u) {
            // No such user: charge() updates no row and refuses a positive charge.
            if (d > 0n) {
              refused.push({ address: h.address, code: 'MAILBOX_FULL' });
              continue;
            }
          } else if (d <= 0n) u.used = u.used + d < 0n ? 0n : u.used + d;
          else if (u.used + d <= u.quota) u.used += d;
          else {
            refused.push({ address: h.address, code: 'MAILBOX_FULL' });
            continue;
          }
          const threadId = (m.parentId && threads.get(`${h.userId} ${m.parentId}`)) || randomUUID();
          const entryId = randomUUID();
          entryRows.push([entryId, h.userId, ids[i], h.folder, h.kind, buf(h.box), threadId, !!h.read, !!h.starred, [...(h.labelIds ?? [])], size.toString(), m.sentAt]);
          entries.push({ userId: h.userId, address: h.address, entryId, folder: h.folder, kind: h.kind, threadId });
          notices.push(JSON.stringify({ origin: '', userId: h.userId, entryId, folder: h.folder, kind: 'new' }));
        }
        results.push({ messageId: ids[i]!, size, entries, refused, published: true });
      }
      // Message rows, for the messages someone got: one every holder refused is not stored (it
      // fails alone with QuotaExceededError, as storeMessage; its blobs stay free for its caller to
      // delete). A mail id that exists already fails the batch (alone it is a DuplicateMailError).
      const kept = inputs.flatMap((m, i) => (results[i]!.entries.length || !results[i]!.refused.length ? [i] : []));
      if (kept.length) {
        parts.unshift(
          multiRow(
            'INSERT INTO messages (id, mail_id, sender_user_id, sender_address, to_addresses, cc_addresses, protection, envelope, manifest, body, body_size, attachment_sizes, size, parent_id, sent_at, server_box, summary, origin_ref) VALUES',
            ['uuid', 'text', 'uuid', 'text', 'text[]', 'text[]', 'protection', 'bytea', 'bytea', 'bytea', 'int', 'bigint[]', 'bigint', 'uuid', 'timestamptz', 'bytea', 'bytea', 'bytea'],
            kept.map((i) => {
              const m = inputs[i]!;
              return [ids[i], m.mailId, m.senderUserId, m.senderAddress, [...m.to], [...m.cc], m.protection, buf(m.envelope), buf(m.manifest), buf(m.body), m.body.length, m.attachmentSizes.map(String), sizes[i]!.toString(), m.parentId, m.sentAt, m.serverBox ? buf(m.serverBox) : null, m.summary ? buf(m.summary) : null, m.originRef ? buf(m.originRef) : null];
            }),
            values,
          ).text,
        );
      }

      // Attachment blobs: each must still be free (else the batch fails; alone, a BlobTakenError).
      const blobRows = kept.flatMap((i) => inputs[i]!.attachments.map((id, k) => [id, ids[i], k + 1]));
      const taken = blobRows.length ? `${multiRow('UPDATE blobs SET message_id = v.m, piece_index = v.p FROM (VALUES', ['uuid', 'uuid', 'int'], blobRows, values).text}) AS v(id, m, p) WHERE blobs.id = v.id AND blobs.message_id IS NULL RETURNING 1` : 'SELECT 1 WHERE false';

      const charges = [...usage].filter(([, u]) => u.used !== u.start).map(([id, u]) => [id, u.used.toString()]);
      if (charges.length) parts.push(`${multiRow('UPDATE users SET used_bytes = v.b FROM (VALUES', ['uuid', 'bigint'], charges, values).text}) AS v(id, b) WHERE users.id = v.id`);
      if (entryRows.length) {
        parts.push(
          multiRow(
            'INSERT INTO mailbox_entries (id, user_id, message_id, folder, role, box, thread_id, read, starred, label_ids, size, received_at) VALUES',
            ['uuid', 'uuid', 'uuid', 'folder', 'text', 'bytea', 'uuid', 'boolean', 'boolean', 'text[]', 'bigint', 'timestamptz'],
            entryRows,
            values,
          ).text,
        );
      }
      // Open mailboxes hear about it (API processes LISTEN): queued now, sent by Postgres at COMMIT.
      // (A SELECT in a WITH runs only when the statement reads it: the last line reads both.)
      values.push(MAIL_CHANNEL, notices);
      const notify = `SELECT pg_notify($${values.length - 1}, n) FROM unnest($${values.length}::text[]) AS n`;
      const { rows: done } = await client.query<{ taken: string }>({
        text: `WITH ${parts.map((p, k) => `w${k} AS (${p})`).join(', ')}, taken AS (${taken}), notified AS (${notify}) SELECT (SELECT count(*) FROM taken) AS taken, (SELECT count(*) FROM notified) AS notified`,
        values,
      });
      // Attachment blobs: each must still have been free (else the batch fails; alone, a BlobTakenError).
      if (Number(done[0]!.taken) !== blobRows.length) throw new Error('an attachment blob of the batch is not free');
      await client.query('COMMIT');
      return results;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => (broken = true));
      throw err;
    } finally {
      client.release(broken);
    }
  }
}
