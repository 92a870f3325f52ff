/**
 * A 100,000-message mailbox: paging newest-first by cursor stays correct at any depth, every
 * page query walks the (user, folder, received_at, id) index instead of sorting the mailbox, and
 * the client still opens what a page returns. (Speed itself is measured in bench/, not here.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '@sealmail/client';
import type { Mailer } from '@sealmail/client/identity';
import { harness, type Harness, signedInDevice } from './helpers';

let h: Harness;
let bobApi: ApiClient;
let bobMail: Mailer;
let bobId: string;
const N = 100_000;

async function device(address: string) {
  return signedInDevice(h.app, address, h.password(address));
}

beforeAll(async () => {
  h = await harness();
  const alice = await device('alice@example.test');
  const bob = await device('bob@example.test');
  bobApi = bob.api;
  bobMail = bob.mail;
  bobId = (await bob.identity.thisDevice('bob@example.test')).userId;
  await alice.mail.send({ to: ['bob@example.test'], subject: 'The one real mail', text: 'cloned into a big mailbox' });
  // 100,000 entries of that message in Bob's inbox, one second apart, a third of them read.
  await h.db.prisma.$executeRaw`
    INSERT INTO mailbox_entries (id, user_id, message_id, folder, role, box, thread_id, read, size, received_at)
    SELECT gen_random_uuid(), e.user_id, e.message_id, e.folder, e.role, e.box, gen_random_uuid(), i % 3 = 0, e.size, e.received_at - make_interval(secs => i)
    FROM mailbox_entries e, generate_series(1, ${N - 1}) AS i
    WHERE e.user_id = ${bobId}::uuid AND e.folder = 'inbox'`;
  await h.db.prisma.$executeRawUnsafe('ANALYZE mailbox_entries');
}, 120_000);
afterAll(() => h?.close());

describe('a mailbox of 100,000 messages', () => {
  it('counts it', async () => {
    const inbox = (await bobApi.mailSummary()).folders.find((f) => f.folder === 'inbox')!;
    expect(inbox.total).toBe(N);
    expect(inbox.unread).toBe(N - Math.floor((N - 1) / 3));
  });

  it('pages by cursor without gaps or repeats, near the top and deep down', async () => {
    const ids = await h.db.prisma.$queryRaw<{ id: string }[]>`
      SELECT id::text AS id FROM mailbox_entries WHERE user_id = ${bobId}::uuid AND folder = 'inbox' ORDER BY received_at DESC, id DESC`;
    expect(ids).toHaveLength(N);
    // The first 10 pages of 100.
    let cursor: string | null = null;
    const walked: string[] = [];
    for (let p = 0; p < 10; p++) {
      const page: { entries: { id: string }[]; cursor: string | null } = await bobApi.listMail({ folder: 'inbox', limit: 100, cursor });
      walked.push(...page.entries.map((e) => e.id));
      cursor = page.cursor;
    }
    expect(walked).toEqual(ids.slice(0, 1000).map((r) => r.id));
    // Deep down: a cursor at entry 99,850 continues exactly there and ends with a null cursor.
    const at = await h.db.prisma.mailboxEntry.findUniqueOrThrow({ where: { id: ids[99_849]!.id } });
    const deep = Buffer.from(JSON.stringify([at.receivedAt.toISOString(), at.id])).toString('base64url');
    const tail = await bobApi.listMail({ folder: 'inbox', limit: 100, cursor: deep });
    expect(tail.entries.map((e) => e.id)).toEqual(ids.slice(99_850, 99_950).map((r) => r.id));
    const last = await bobApi.listMail({ folder: 'inbox', limit: 100, cursor: tail.cursor });
    expect(last.entries.map((e) => e.id)).toEqual(ids.slice(99_950).map((r) => r.id));
    expect(last.cursor).toBeNull();
  });

  it('every page is an index walk, never a sort of the mailbox', async () => {
    const some = await h.db.prisma.mailboxEntry.findFirstOrThrow({ where: { userId: bobId }, orderBy: { receivedAt: 'asc' }, skip: 50_000 });
    for (const [label, sql, params] of [
      ['first page', `SELECT id FROM mailbox_entries WHERE user_id = $1::uuid AND folder = 'inbox'::folder ORDER BY received_at DESC, id DESC LIMIT 51`, [bobId]],
      ['deep page', `SELECT id FROM mailbox_entries WHERE user_id = $1::uuid AND folder = 'inbox'::folder AND (received_at, id) < ($2::timestamptz, $3::uuid) ORDER BY received_at DESC, id DESC LIMIT 51`, [bobId, some.receivedAt, some.id]],
      ['unread page', `SELECT id FROM mailbox_entries WHERE user_id = $1::uuid AND folder = 'inbox'::folder AND NOT read ORDER BY received_at DESC, id DESC LIMIT 51`, [bobId]],
    ] as const) {
      const plan = JSON.stringify(await h.db.prisma.$queryRawUnsafe(`EXPLAIN (FORMAT JSON) ${sql}`, ...params));
      // The folder's index, or the cross-folder one in the same order (filtering by folder): a walk either way.
      expect(plan, label).toMatch(/mailbox_entries_user_id_(folder_)?received_at_id_idx/);
      expect(plan, label).not.toContain('"Node Type":"Sort"');
    }
  });

  it('the client opens a page of it', async () => {
    const page = await bobMail.list({ folder: 'inbox', limit: 20 });
    expect(page.items).toHaveLength(20);
    for (const item of page.items) expect(item).toMatchObject({ subject: 'The one real mail', protection: 'E2E Encrypted' });
    expect(page.cursor).not.toBeNull();
  });
});
