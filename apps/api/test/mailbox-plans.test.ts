/**
 * Every mailbox query walks an index (docs/performance.md "Mailbox on the server"): on a seeded
 * mailbox of 30,000 entries, each with its own message, `EXPLAIN` of the statements the API runs
 * — list by folder (whole entries and rows without ciphertexts), deep cursor, unread, custom folder, label, starred, all mail, thread, one
 * entry, the batch of sealed parts, the maintained counts and the session lookup — shows an index and no Seq Scan of
 * mailbox_entries or messages. The small tables (sessions, counts, blobs) are planned with seq scans
 * discouraged: that proves an index serves the query, which is what keeps it a point read at
 * any size. (Speed itself is measured in bench/mail.bench.ts, not here.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mailer } from '@sealmail/client/identity';
import { pageStatement, type PageQuery } from '../src/mail/page';
import { rowsStatement, sealedStatement } from '../src/mail/rows';
import { COUNTS_SQL, COUNTS_WITH_SESSION } from '../src/mail/counts';
import { SESSION_SQL, findActiveSession, hashToken, sessionSql } from '../src/auth/sessions';
import { defaultAuthSettings } from '@sealmail/server';
import { harness, userIdOf, type Harness } from './helpers';

let h: Harness;
let bobId: string;
let bobToken: string;
let label: string;
let folderId: string;
let some: { id: string; receivedAt: Date; threadId: string };
const N = 30_000;

beforeAll(async () => {
  h = await harness();
  const a = await h.deviceSignIn('alice@example.test');
  const b = await h.deviceSignIn('bob@example.test');
  bobToken = b.token;
  bobId = await userIdOf(h, 'bob@example.test');
  await new Mailer(a.api, a.identity, 'alice@example.test').send({ to: ['bob@example.test'], subject: 'seed', text: 'x' });
  const db = h.db.prisma;
  label = (await db.label.create({ data: { userId: bobId, name: new Uint8Array(8) } })).id;
  folderId = (await db.mailFolder.create({ data: { id: crypto.randomUUID(), userId: bobId, name: new Uint8Array(8) } })).id;
  // N messages cloned from the real one, each with one entry of Bob's spread over folders, a
  // custom folder, a label, stars and threads of three.
  await db.$executeRaw`
    WITH src AS (SELECT * FROM messages LIMIT 1),
    m AS (
      INSERT INTO messages (id, mail_id, sender_user_id, sender_address, to_addresses, cc_addresses, protection, envelope, manifest, body, body_size, attachment_sizes, size, sent_at)
      SELECT gen_random_uuid(), 'seed-' || i || '@example.test', sender_user_id, sender_address, to_addresses, cc_addresses, protection, envelope, manifest, body, body_size, attachment_sizes, size, sent_at - make_interval(secs => i)
      FROM src, generate_series(1, ${N}) AS i
      RETURNING id, sent_at
    ), n AS (SELECT id, sent_at, row_number() OVER (ORDER BY sent_at) AS i FROM m)
    INSERT INTO mailbox_entries (id, user_id, message_id, folder, role, box, thread_id, read, starred, label_ids, folder_id, size, received_at)
    SELECT gen_random_uuid(), ${bobId}::uuid, n.id, (ARRAY['inbox','inbox','inbox','archive','sent','trash','spam'])[1 + i % 7]::folder, 'to', '\\x00'::bytea,
           md5((i / 3)::text)::uuid, i % 3 = 0, i % 11 = 0, CASE WHEN i % 5 = 0 THEN ARRAY[${label}] ELSE ARRAY[]::text[] END,
           CASE WHEN i % 7 = 3 AND i % 2 = 0 THEN ${folderId}::uuid END, 100, n.sent_at
    FROM n`;
  await db.$executeRawUnsafe('ANALYZE');
  some = (await db.mailboxEntry.findFirstOrThrow({ where: { userId: bobId, folder: 'inbox' }, orderBy: { receivedAt: 'asc' }, skip: 5000, select: { id: true, receivedAt: true, threadId: true } }))!;
}, 180_000);
afterAll(() => h?.close());

type Plan = { 'Node Type': string; 'Relation Name'?: string; 'Index Name'?: string; Plans?: Plan[] };
function nodes(p: Plan): Plan[] {
  return [p, ...(p.Plans ?? []).flatMap(nodes)];
}
async function plan(sql: string, params: unknown[], noSeqScan = false): Promise<Plan[]> {
  const rows = await h.db.prisma.$transaction(async (tx) => {
    if (noSeqScan) await tx.$executeRawUnsafe('SET LOCAL enable_seqscan = off');
    return tx.$queryRawUnsafe<{ 'QUERY PLAN': [{ Plan: Plan }] }[]>(`EXPLAIN (FORMAT JSON) ${sql}`, ...params);
  });
  return nodes(rows[0]!['QUERY PLAN'][0].Plan);
}
const indexes = (ns: Plan[]) => ns.filter((n) => n['Index Name']).map((n) => `${n['Relation Name']}:${n['Index Name']}`);
const seqScans = (ns: Plan[]) => ns.filter((n) => n['Node Type'] === 'Seq Scan').map((n) => n['Relation Name']);

describe('query plans of the mailbox', () => {
  const pages: [string, () => PageQuery, string][] = [
    ['inbox, first page', () => ({ folder: 'inbox', limit: 50 }), 'mailbox_entries_user_id_folder_received_at_id_idx'],
    ['inbox, deep cursor', () => ({ folder: 'inbox', limit: 50, after: { receivedAt: some.receivedAt, id: some.id } }), 'mailbox_entries_user_id_folder_received_at_id_idx'],
    ['inbox, unread', () => ({ folder: 'inbox', unread: true, limit: 50 }), 'mailbox_entries_user_id_folder_received_at_id_idx'],
    ['archive (no custom folder)', () => ({ folder: 'archive', limit: 50 }), 'mailbox_entries_user_id_folder_received_at_id_idx'],
    ['custom folder', () => ({ folderId, limit: 50 }), 'mailbox_entries_user_id_folder_received_at_id_idx'],
    ['label', () => ({ label, limit: 50 }), 'mailbox_entries_user_id_received_at_id_idx'],
    ['starred', () => ({ starred: true, limit: 50 }), 'mailbox_entries_user_id_received_at_id_idx'],
    ['all mail', () => ({ limit: 50 }), 'mailbox_entries_user_id_received_at_id_idx'],
  ];
  for (const [name, q, index, statement] of pages.flatMap(([n, q, i]) => [[n, q, i, pageStatement] as const, [`${n} (rows)`, q, i, rowsStatement] as const])) {
    it(`list page: ${name}`, async () => {
      const { sql, params } = statement(bobId, q());
      const ns = await plan(sql, params);
      expect(seqScans(ns).filter((t) => t === 'mailbox_entries' || t === 'messages'), name).toEqual([]);
      expect(indexes(ns), name).toContain(`mailbox_entries:${index}`);
      expect(indexes(ns), name).toContain('messages:messages_pkey');
      // A walk of the index in its order: the mailbox is never sorted (only the page of 51 is).
      expect(ns.filter((n) => n['Node Type'] === 'Sort').length, name).toBeLessThanOrEqual(1);
      expect(ns.find((n) => n['Node Type'] === 'Limit'), name).toBeDefined();
      // The attachment ids: the blobs table is empty here, so it is planned with seq scans discouraged.
      expect(indexes(await plan(sql, params, true)), name).toContain('blobs:blobs_message_id_created_at_idx');
    });
  }

  it('the batch of sealed parts: entries by primary key, their messages by primary key', async () => {
    const ids = (await h.db.prisma.mailboxEntry.findMany({ where: { userId: bobId, folder: 'inbox' }, take: 50, select: { id: true } })).map((e) => e.id);
    const { sql, params } = sealedStatement(bobId, ids);
    const ns = await plan(sql, params);
    expect(seqScans(ns).filter((t) => t === 'mailbox_entries' || t === 'messages')).toEqual([]);
    // (A bitmap scan of the ids names the index only.)
    expect(ns.map((n) => n['Index Name'])).toContain('mailbox_entries_pkey');
    expect(indexes(ns)).toContain('messages:messages_pkey');
    expect(indexes(await plan(sql, params, true))).toContain('blobs:blobs_message_id_created_at_idx');
  });

  it('thread, and one entry', async () => {
    const thread = await plan(`SELECT id FROM mailbox_entries WHERE user_id = $1::uuid AND thread_id = $2::uuid ORDER BY received_at ASC, id ASC LIMIT 500`, [bobId, some.threadId]);
    expect(seqScans(thread)).toEqual([]);
    expect(indexes(thread)).toContain('mailbox_entries:mailbox_entries_user_id_thread_id_idx');
    const one = await plan(`SELECT * FROM mailbox_entries WHERE user_id = $1::uuid AND id IN ($2::uuid)`, [bobId, some.id]);
    expect(seqScans(one)).toEqual([]);
    expect(indexes(one)).toContain('mailbox_entries:mailbox_entries_pkey');
  });

  it('counts: the maintained rows by primary key, the mailbox not touched', async () => {
    const ns = await plan(COUNTS_SQL, [bobId], true);
    expect(seqScans(ns)).toEqual([]);
    expect(indexes(ns)).toEqual(expect.arrayContaining(['mailbox_counts:mailbox_counts_pkey', 'users:users_pkey']));
    expect(ns.some((n) => n['Relation Name'] === 'mailbox_entries')).toBe(false);
  });

  it('counts read with the session lookup: the token hash index, the counts by primary key', async () => {
    const ns = await plan(sessionSql(COUNTS_WITH_SESSION), [hashToken(bobToken)], true);
    expect(seqScans(ns)).toEqual([]);
    expect(indexes(ns)).toEqual(expect.arrayContaining(['sessions:sessions_token_hash_key', 'mailbox_counts:mailbox_counts_pkey', 'users:users_pkey']));
    expect(ns.some((n) => n['Relation Name'] === 'mailbox_entries')).toBe(false);
  });

  it('session lookup: the token hash index, then primary keys', async () => {
    const ns = await plan(SESSION_SQL, [hashToken(bobToken)], true);
    expect(seqScans(ns)).toEqual([]);
    expect(indexes(ns)).toEqual(expect.arrayContaining(['sessions:sessions_token_hash_key', 'users:users_pkey', 'domains:domains_pkey', 'accounts:accounts_pkey', 'devices:devices_pkey']));
  });
});

describe('the one-statement session lookup', () => {
  it('gives the user exactly as Prisma reads it, with domain, account and device', async () => {
    const s = await findActiveSession(h.db.prisma, bobToken, h.clock.now, defaultAuthSettings);
    const user = await h.db.prisma.user.findUniqueOrThrow({ where: { id: bobId }, include: { domain: { select: { name: true } }, account: { select: { requireTotp: true } } } });
    expect(s?.user).toEqual(user);
    expect(s).toMatchObject({ userId: bobId, deviceStatus: 'approved', restricted: false, passwordChangeRequired: false });
    expect(await findActiveSession(h.db.prisma, 'A'.repeat(43), h.clock.now, defaultAuthSettings)).toBeNull();
  });
});
