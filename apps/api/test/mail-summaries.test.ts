/**
 * Sealed summaries (docs/crypto.md §5.15, issue 19 "Show a page"): a list page's rows come from
 * the summaries — no body fetched or decrypted — for mail a user's device sent and mail the
 * server sealed from outside (`deliverLocal`, as the SMTP ingress calls it); a warm page comes
 * from the device's row cache without opening anything; a summary the server alters, swaps or
 * makes up is refused and the row falls back to the authenticated body; mail sealed without a
 * summary opens as before. The list comes as rows without ciphertexts naming a digest of their
 * sealed parts, and the parts of rows the cache does not hold in one batch: a digest the server
 * swaps or makes up finds no cached row, and a row is cached only under the digest of the bytes
 * this device verified. The API and Postgres are real; the "hostile server" is a wrapper on the
 * client's fetch that edits list and batch responses (a stand-in for a server that lies).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ApiClient } from '@sealmail/client';
import type { Identity, Mailer} from '@sealmail/client/identity';
import { memorySummaryCache, sealedDigest, type ListedMail } from '@sealmail/client/identity';
import type { EntryRow, EntryView } from '@sealmail/contract';
import { deliverLocal, postgresBlobStore } from '@sealmail/mailstore';
import { createLogger } from '@sealmail/server';
import { harness, type Harness, signedInDevice } from './helpers';

let h: Harness;
/** What the stand-in does to batch (sealed parts) and list (rows) responses, and the requests it saw. */
let edit: (entries: EntryView[]) => void = () => undefined;
let editRows: (rows: EntryRow[]) => void = () => undefined;
const seen: string[] = [];
let bob: { mail: Mailer; identity: Identity; api: ApiClient };
let alice: Awaited<ReturnType<typeof device>>;

const ENTRY = /^\/api\/v1\/mail\/messages\/[0-9a-f-]{36}$/;

function countingFetch(inner: typeof fetch): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    seen.push(`${init?.method ?? 'GET'} ${url.pathname}`);
    const res = await inner(input, init);
    if (res.status !== 200) return res;
    if (url.pathname === '/api/v1/mail/rows') {
      const page = (await res.json()) as { rows: EntryRow[]; cursor: string | null };
      editRows(page.rows);
      return new Response(JSON.stringify(page), { status: 200, headers: { 'content-type': 'application/json' } });
    }
    if (url.pathname !== '/api/v1/mail/sealed') return res;
    const batch = (await res.json()) as { entries: EntryView[] };
    // No body travels with the batch: a row that needed one would have to fetch its entry.
    for (const e of batch.entries) e.body = null;
    edit(batch.entries);
    return new Response(JSON.stringify(batch), { status: 200, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
}

async function device(address: string, wrap = false) {
  return signedInDevice(h.app, address, h.password(address), { ...(wrap ? { fetch: countingFetch } : {}), displayName: address === 'alice@example.test' ? 'Alice Example' : '' });
}

const rows = (items: Awaited<ReturnType<Mailer['page']>>['items']) => items.filter((i): i is ListedMail => !('error' in i));
const entryGets = () => seen.filter((s) => s.startsWith('GET ') && ENTRY.test(s.slice(4))).length;
const batches = () => seen.filter((s) => s === 'POST /api/v1/mail/sealed').length;

beforeAll(async () => {
  h = await harness();
  alice = await device('alice@example.test');
  bob = await device('bob@example.test', true);
  for (const n of [1, 2, 3]) await alice.mail.send({ to: ['bob@example.test'], subject: `Summary ${n}`, text: `Body ${n}\n\nwith   more text`, ...(n === 3 ? { attachments: [new File([new Uint8Array(10)], 'a.bin')] } : {}) });
  const bobUser = await h.db.prisma.user.findFirstOrThrow({ where: { localPart: 'bob' } });
  const raw = Buffer.from('From: Dana <dana@outside.example>\r\nTo: bob@example.test\r\nSubject: From outside\r\nMessage-ID: <o-1@outside.example>\r\n\r\nHello   from the\r\nwider world.\r\n');
  await deliverLocal({ db: h.db.prisma, blobs: postgresBlobStore(h.db.prisma), hostname: 'mx.example.test', now: () => new Date(), logger: createLogger({ level: 'silent' }) }, raw, { mailFrom: 'dana@outside.example', recipients: [{ address: 'bob@example.test', userId: bobUser.id }] });
}, 120_000);
afterAll(() => h?.close());

describe('sealed summaries in the list', () => {
  it('stores a summary with every mail sealed by a device or by the server', async () => {
    const msgs = await h.db.prisma.message.findMany({ select: { summary: true } });
    expect(msgs.length).toBeGreaterThanOrEqual(4);
    for (const m of msgs) expect(m.summary?.length).toBeGreaterThan(66);
  });

  it('shows a page from summaries without fetching or decrypting a body, then from the cache without opening anything', { timeout: 60_000 }, async () => {
    bob.mail.summaryCache = memorySummaryCache();
    const opened = vi.spyOn(bob.mail, 'openHeader');
    seen.length = 0;
    const first = rows((await bob.mail.page({ folder: 'inbox' })).items);
    expect(first.map((r) => r.subject).sort()).toEqual(['From outside', 'Summary 1', 'Summary 2', 'Summary 3']);
    expect(first.every((r) => r.source === 'summary')).toBe(true);
    expect(entryGets()).toBe(0);
    const s3 = first.find((r) => r.subject === 'Summary 3')!;
    expect(s3).toMatchObject({ protection: 'E2E Encrypted', from: { name: 'Alice Example', address: 'alice@example.test' }, attachmentCount: 1, warning: null });
    expect(first.find((r) => r.subject === 'Summary 1')!.snippet).toBe('Body 1 with more text');
    expect(first.find((r) => r.subject === 'From outside')).toMatchObject({ protection: 'Server Encrypted', from: { address: 'dana@outside.example', name: 'Dana' }, snippet: 'Hello from the wider world.' });
    expect(opened).toHaveBeenCalledTimes(4);
    // One list request and one batch for the four cold rows.
    expect(seen.filter((s) => s.startsWith('GET /api/v1/mail/rows'))).toHaveLength(1);
    expect(batches()).toBe(1);

    // Warm: the same page costs no box, manifest or summary opening at all, and no batch request.
    opened.mockClear();
    seen.length = 0;
    const warm = rows((await bob.mail.page({ folder: 'inbox' })).items);
    expect(batches()).toBe(0);
    expect(seen).toEqual(['GET /api/v1/mail/rows']);
    expect(warm.every((r) => r.source === 'cache')).toBe(true);
    expect(warm.map((r) => [r.subject, r.protection, r.snippet])).toEqual(first.map((r) => [r.subject, r.protection, r.snippet]));
    expect(opened).not.toHaveBeenCalled();
    expect(entryGets()).toBe(0);
    opened.mockRestore();
    bob.mail.summaryCache = null;
  });

  it('refuses a swapped, altered or made-up summary; the row shows what the body says', { timeout: 60_000 }, async () => {
    const bySubject = new Map<string, string>(); // summary ciphertexts by the subject they carry
    edit = (entries) => {
      const s = entries.map((e) => e.summary);
      // Swap the first two summaries, flip a byte in the third's.
      entries[0]!.summary = s[1]!;
      entries[1]!.summary = s[0]!;
      const b = Buffer.from(s[2]!, 'base64url');
      b[b.length - 5] = b[b.length - 5]! ^ 1;
      entries[2]!.summary = b.toString('base64url');
    };
    seen.length = 0;
    const page = rows((await bob.mail.page({ folder: 'inbox' })).items);
    edit = () => undefined;
    expect(page).toHaveLength(4);
    for (const r of page.slice(0, 3)) {
      expect(r.source).toBe('body');
      expect(r.summaryRejected).toBe(true);
      bySubject.set(r.subject, r.entryId);
    }
    expect(page[3]!.source).toBe('summary');
    // The rows still say what each mail's own (authenticated) body says.
    for (const r of page) expect(r.subject === 'From outside' || r.snippet.startsWith(`Body ${r.subject.slice(-1)}`)).toBe(true);
    expect(entryGets()).toBe(3);
  });

  it('opens mail sealed without a summary as before, and refuses a summary the server adds to it', { timeout: 60_000 }, async () => {
    const target = await h.db.prisma.message.findFirstOrThrow({ where: { senderAddress: 'alice@example.test' }, });
    const stolen = (await h.db.prisma.message.findFirstOrThrow({ where: { NOT: { id: target.id }, summary: { not: null } } })).summary!;
    await h.db.prisma.message.update({ where: { id: target.id }, data: { summary: null } });
    seen.length = 0;
    let page = rows((await bob.mail.page({ folder: 'inbox' })).items);
    const old = page.find((r) => r.entry.messageId === target.id)!;
    expect(old).toMatchObject({ source: 'body', protection: 'E2E Encrypted' });
    expect(old.subject).toMatch(/^Summary [123]$/);
    expect(old.summaryRejected).toBeUndefined();
    expect(entryGets()).toBe(1);
    // The mail's manifest lists no summary: one the server adds is refused.
    edit = (entries) => {
      for (const e of entries) if (e.messageId === target.id) e.summary = Buffer.from(stolen).toString('base64url');
    };
    page = rows((await bob.mail.page({ folder: 'inbox' })).items);
    edit = () => undefined;
    expect(page.find((r) => r.entry.messageId === target.id)).toMatchObject({ source: 'body', subject: old.subject, summaryRejected: true });
  });
  it('a digest the server swaps or makes up finds no cached row: the row is fetched and verified afresh', { timeout: 60_000 }, async () => {
    bob.mail.summaryCache = memorySummaryCache();
    const honest = rows((await bob.mail.page({ folder: 'inbox' })).items);
    const said = new Map(honest.map((r) => [r.entryId, [r.subject, r.snippet, r.protection]]));
    expect(honest).toHaveLength(4);
    // Swap the first two rows' digests (each names the other's verified parts), make up the third's.
    editRows = (list) => {
      const [a, b] = [list[0]!.digest, list[1]!.digest];
      list[0]!.digest = b;
      list[1]!.digest = a;
      list[2]!.digest = Buffer.alloc(32, 7).toString('base64url');
    };
    seen.length = 0;
    const sealedAsked: string[][] = [];
    const inner = edit;
    edit = (entries) => void sealedAsked.push(entries.map((e) => e.id));
    const page = rows((await bob.mail.page({ folder: 'inbox' })).items);
    editRows = () => undefined;
    edit = inner;
    expect(page.map((r) => r.source === 'cache')).toEqual([false, false, false, true]);
    // One batch, for exactly the three rows whose digest the cache did not hold.
    expect(batches()).toBe(1);
    expect(sealedAsked).toEqual([page.slice(0, 3).map((r) => r.entryId)]);
    // Every row still says what its own entry's verified parts say.
    for (const r of page) expect([r.subject, r.snippet, r.protection]).toEqual(said.get(r.entryId));
    bob.mail.summaryCache = null;
  });

  it('caches a row under the digest of the bytes it verified, never under the one the server named', { timeout: 60_000 }, async () => {
    bob.mail.summaryCache = memorySummaryCache();
    let named: string[] = [];
    editRows = (list) => {
      // The server names a made-up digest for every row; the batch still carries the true parts.
      named = list.map((r) => r.digest);
      for (const r of list) r.digest = Buffer.alloc(32, 9).toString('base64url');
    };
    const cold = rows((await bob.mail.page({ folder: 'inbox' })).items);
    expect(cold.some((r) => r.source === 'cache')).toBe(false);
    // The made-up digest again: still no cached row (nothing was stored under it).
    seen.length = 0;
    const again = rows((await bob.mail.page({ folder: 'inbox' })).items);
    expect(again.some((r) => r.source === 'cache')).toBe(false);
    expect(batches()).toBe(1);
    // The true digests (those the server computes from the stored parts): all from the cache.
    editRows = () => undefined;
    seen.length = 0;
    const warm = rows((await bob.mail.page({ folder: 'inbox' })).items);
    expect(named).toHaveLength(4);
    expect(warm.every((r) => r.source === 'cache')).toBe(true);
    expect(batches()).toBe(0);
    bob.mail.summaryCache = null;
  });

  it('shows a row the batch leaves out as an error, not from anything else', { timeout: 60_000 }, async () => {
    let dropped = '';
    edit = (entries) => {
      dropped = entries[1]!.id;
      entries.splice(1, 1);
    };
    const page = (await bob.mail.page({ folder: 'inbox' })).items;
    edit = () => undefined;
    expect(page).toHaveLength(4);
    const missing = page.find((i) => i.entryId === dropped)!;
    expect(missing).toMatchObject({ error: 'This mail could not be fetched.' });
    expect('subject' in missing).toBe(false);
    expect(rows(page)).toHaveLength(3);
  });

  it('answers the batch only with the caller\'s own entries, in the order asked', { timeout: 60_000 }, async () => {
    const mine = (await bob.api.listMailRows({ folder: 'inbox' })).rows.map((r) => r.id);
    const theirs = (await alice.api.listMailRows({ folder: 'sent' })).rows.map((r) => r.id);
    expect(theirs.length).toBeGreaterThan(0);
    const got = await bob.api.sealedMail([mine[2]!, theirs[0]!, mine[0]!]);
    expect(got.entries.map((e) => e.id)).toEqual([mine[2], mine[0]]);
    // The rows' digests are those of the parts the batch carries.
    const listed = new Map((await bob.api.listMailRows({ folder: 'inbox' })).rows.map((r) => [r.id, r.digest]));
    for (const e of got.entries) expect(await sealedDigest(e)).toBe(listed.get(e.id));
  });
});
