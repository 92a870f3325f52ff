/**
 * Maintained mailbox counts (docs/performance.md "Mailbox on the server"): a property test applies
 * random sequences of deliver / move / custom-folder move / delete / purge / restore / read /
 * star / label add and remove / label delete / empty Trash through the real API on a real
 * Postgres, and after every step the counts /mail/summary answers (kept by triggers, never
 * scanned) equal a scan of mailbox_entries written out independently here.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Mailer } from '@sealmail/client/identity';
import { bearer, harness, userIdOf, type Harness } from './helpers';

let h: Harness;
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
let alice: Mailer;
let tokens: Record<string, string>;
let ids: Record<string, string>;

interface Count {
  scope: string;
  key: string;
  total: number;
  unread: number;
}
const sorted = (xs: Count[]) => xs.filter((c) => c.total || c.unread).sort((a, b) => `${a.scope} ${a.key}`.localeCompare(`${b.scope} ${b.key}`));

/** What the API says (maintained counts). */
async function served(address: string): Promise<Count[]> {
  const res = await h.app.inject({ method: 'GET', url: '/api/v1/mail/summary', headers: bearer(tokens[address]!) });
  expect(res.statusCode).toBe(200);
  const b = res.json() as { folders: { folder: string; total: number; unread: number }[]; customFolders: { id: string; total: number; unread: number }[]; labels: { id: string; total: number; unread: number }[]; starred: { total: number; unread: number } };
  return sorted([
    ...b.folders.map((f) => ({ scope: 'folder', key: f.folder, total: f.total, unread: f.unread })),
    ...b.customFolders.map((f) => ({ scope: 'custom', key: f.id, total: f.total, unread: f.unread })),
    ...b.labels.map((f) => ({ scope: 'label', key: f.id, total: f.total, unread: f.unread })),
    { scope: 'starred', key: '', ...b.starred },
  ]);
}

/** The same counts by scanning every entry of the user (what the list routes would show). */
async function scanned(address: string): Promise<Count[]> {
  const userId = ids[address]!;
  const rows = await h.db.prisma.$queryRaw<Count[]>`
    SELECT CASE WHEN folder = 'archive' AND folder_id IS NOT NULL THEN 'custom' ELSE 'folder' END AS scope,
           CASE WHEN folder = 'archive' AND folder_id IS NOT NULL THEN folder_id::text ELSE folder::text END AS key,
           count(*)::int AS total, (count(*) FILTER (WHERE NOT read))::int AS unread
    FROM mailbox_entries WHERE user_id = ${userId}::uuid GROUP BY 1, 2
    UNION ALL
    SELECT 'label', l, count(*)::int, (count(*) FILTER (WHERE NOT read))::int
    FROM mailbox_entries, unnest(label_ids) AS l WHERE user_id = ${userId}::uuid AND folder NOT IN ('trash', 'spam') GROUP BY 2
    UNION ALL
    SELECT 'starred', '', count(*)::int, (count(*) FILTER (WHERE NOT read))::int
    FROM mailbox_entries WHERE user_id = ${userId}::uuid AND starred AND folder NOT IN ('trash', 'spam')`;
  return sorted(rows);
}

const op = fc.oneof(
  fc.record({ kind: fc.constant('deliver' as const), starred: fc.boolean() }),
  fc.record({ kind: fc.constant('move' as const), pick: fc.nat(), folder: fc.constantFrom('inbox', 'archive', 'trash', 'spam') }),
  fc.record({ kind: fc.constant('custom' as const), pick: fc.nat(), folder: fc.nat(1) }),
  fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('restore' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('read' as const), pick: fc.nat(), read: fc.boolean() }),
  fc.record({ kind: fc.constant('star' as const), pick: fc.nat(), starred: fc.boolean() }),
  fc.record({ kind: fc.constant('label' as const), picks: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }), label: fc.nat(1), add: fc.boolean() }),
  fc.record({ kind: fc.constant('dropLabel' as const), label: fc.nat(1) }),
  fc.record({ kind: fc.constant('emptyTrash' as const) }),
);
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

const labels: string[] = [];
const customFolders: string[] = [];

async function newLabel(address: string) {
  const id = randomUUID();
  const res = await h.app.inject({ method: 'POST', url: '/api/v1/mail/labels', headers: bearer(tokens[address]!), payload: { id, name: randomBytes(40).toString('base64url') } });
  expect(res.statusCode).toBe(200);
  return id;
}

async function apply(o: Op) {
  const auth = bearer(tokens[BOB]!);
  const entries = await h.db.prisma.mailboxEntry.findMany({ where: { userId: ids[BOB]! }, orderBy: [{ receivedAt: 'asc' }, { id: 'asc' }], select: { id: true, folder: true } });
  const pick = (n: number) => entries[n % entries.length]?.id;
  const call = async (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) => {
    const res = await h.app.inject({ method, url, headers: auth, ...(payload ? { payload } : {}) });
    // A refused step (a draft not movable, nothing to restore) changes nothing: the counts must still agree.
    expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(500);
  };
  switch (o.kind) {
    case 'deliver':
      h.clock.now = new Date(h.clock.now.getTime() + 1000);
      await alice.send({ to: [BOB], subject: 'counted', text: 'x' });
      if (o.starred) await call('PATCH', `/api/v1/mail/messages/${(await h.db.prisma.mailboxEntry.findFirstOrThrow({ where: { userId: ids[BOB]! }, orderBy: { receivedAt: 'desc' } })).id}`, { starred: true });
      return;
    case 'move':
      if (pick(o.pick)) await call('PATCH', `/api/v1/mail/messages/${pick(o.pick)}`, { folder: o.folder });
      return;
    case 'custom':
      if (pick(o.pick)) await call('POST', '/api/v1/mail/bulk', { entryIds: [pick(o.pick)], folderId: customFolders[o.folder] });
      return;
    case 'delete':
      if (pick(o.pick)) await call('DELETE', `/api/v1/mail/messages/${pick(o.pick)}`);
      return;
    case 'restore': {
      const trashed = entries.filter((e) => e.folder === 'trash');
      if (trashed.length) await call('POST', '/api/v1/mail/restore', { entryIds: [trashed[o.pick % trashed.length]!.id] });
      return;
    }
    case 'read':
      if (pick(o.pick)) await call('PATCH', `/api/v1/mail/messages/${pick(o.pick)}`, { read: o.read });
      return;
    case 'star':
      if (pick(o.pick)) await call('PATCH', `/api/v1/mail/messages/${pick(o.pick)}`, { starred: o.starred });
      return;
    case 'label':
      if (entries.length) await call('POST', '/api/v1/mail/bulk', { entryIds: [...new Set(o.picks.map((p) => pick(p)!))], [o.add ? 'addLabels' : 'removeLabels']: [labels[o.label]] });
      return;
    case 'dropLabel':
      await call('DELETE', `/api/v1/mail/labels/${labels[o.label]}`);
      labels[o.label] = await newLabel(BOB);
      return;
    case 'emptyTrash':
      await call('POST', '/api/v1/mail/trash/empty');
      return;
  }
}

beforeAll(async () => {
  h = await harness();
  const a = await h.deviceSignIn(ALICE);
  const b = await h.deviceSignIn(BOB);
  tokens = { [ALICE]: a.token, [BOB]: b.token };
  ids = { [ALICE]: await userIdOf(h, ALICE), [BOB]: await userIdOf(h, BOB) };
  alice = new Mailer(a.api, a.identity, ALICE);
  for (let i = 0; i < 4; i++) await alice.send({ to: [BOB], subject: `seed ${i}`, text: 'x' });
  labels.push(await newLabel(BOB), await newLabel(BOB));
  for (let i = 0; i < 2; i++) {
    const id = randomUUID();
    const res = await h.app.inject({ method: 'POST', url: '/api/v1/mail/folders', headers: bearer(b.token), payload: { id, name: randomBytes(40).toString('base64url') } });
    expect(res.statusCode).toBe(200);
    customFolders.push(id);
  }
}, 120_000);
afterAll(() => h?.close());

describe('maintained mailbox counts', () => {
  it('equal a scan of the mailbox after every step of random deliver/move/delete/read/label sequences', async () => {
    expect(await served(BOB)).toEqual(await scanned(BOB));
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 12 }), async (ops) => {
        for (const o of ops) {
          await apply(o);
          expect(await served(BOB), JSON.stringify(o)).toEqual(await scanned(BOB));
          expect(await served(ALICE), JSON.stringify(o)).toEqual(await scanned(ALICE));
        }
      }),
      { numRuns: 12, seed: 19, endOnFailure: true },
    );
    // Not vacuous: the sequences left mail in several places.
    expect((await scanned(BOB)).length).toBeGreaterThan(2);
  }, 600_000);

  it('go with the user, and stay right through a custom folder deleted and a bulk SQL change', async () => {
    await h.app.inject({ method: 'DELETE', url: `/api/v1/mail/folders/${customFolders[0]}?moveTo=inbox`, headers: bearer(tokens[BOB]!) });
    expect(await served(BOB)).toEqual(await scanned(BOB));
    // Any writer, raw SQL included, is counted (the triggers sit on the table).
    await h.db.prisma.$executeRaw`UPDATE mailbox_entries SET read = NOT read WHERE user_id = ${ids[BOB]!}::uuid`;
    expect(await served(BOB)).toEqual(await scanned(BOB));
    const before = await h.db.prisma.mailboxCount.count({ where: { userId: ids[BOB]! } });
    expect(before).toBeGreaterThan(0);
    await h.db.prisma.$executeRaw`DELETE FROM mailbox_entries WHERE user_id = ${ids[BOB]!}::uuid`;
    expect(await h.db.prisma.mailboxCount.count({ where: { userId: ids[BOB]! } })).toBe(0);
  }, 60_000);
});
