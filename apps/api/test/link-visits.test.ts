/**
 * Expiring links, per visit (issue 12, finding 9): opening a link is one visit that covers the
 * envelope and every attachment piece, so a mail with 31 attachments opens in one sitting (and
 * again); HEAD requests cost nothing and are not visits; a visit's token fetches each piece a
 * few times, not without end, and only for its own link; request logs name a link only by a
 * hash of its id. (The full flow in Chromium behind the real viewer host: links.test.ts.)
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LINK_VISIT_HEADER } from '@sealmail/contract';
import { seedDemo } from '@sealmail/db';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { createLogger, linkLogId } from '@sealmail/server';
import { buildApp } from '../src/app';
import { LINK_FETCH_LIMIT, LINK_FETCH_LIMIT_ALL, LINK_PIECE_FETCHES_PER_VISIT } from '../src/routes/links';

let tdb: TestDatabase;
let app: FastifyInstance;
let ownerId: string;
const logs: string[] = [];

beforeAll(async () => {
  tdb = await createTestDatabase();
  await seedDemo(tdb.prisma, { domain: 'example.test' });
  ownerId = (await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'alice' } })).id;
  const sink = new Writable({ write: (c: Buffer, _e, cb) => void (logs.push(c.toString()), cb()) });
  app = await buildApp({ logger: createLogger({ level: 'info', destination: sink }), db: tdb.prisma, version: 't' });
});

afterAll(async () => {
  await app?.close();
  await tdb?.drop();
});

/** A live link to a public copy with `pieces` attachment pieces (stored directly; contents do not matter here). */
async function makeLink(pieces: number): Promise<string> {
  const message = await tdb.prisma.message.create({
    data: {
      mailId: `<${randomUUID()}@example.test>`,
      senderAddress: 'alice@example.test',
      toAddresses: ['carol@example.org'],
      ccAddresses: [],
      protection: 'e2ee',
      envelope: new Uint8Array(8),
      manifest: new Uint8Array(8),
      body: new Uint8Array(8),
      bodySize: 8,
      attachmentSizes: Array.from({ length: pieces }, () => 0n),
      size: 24n,
    },
  });
  for (let i = 1; i <= pieces; i++) {
    await tdb.prisma.blob.create({ data: { ownerUserId: ownerId, declaredSize: 0n, messageId: message.id, pieceIndex: i, completedAt: new Date() } });
  }
  const id = randomBytes(16).toString('base64url');
  await tdb.prisma.mailLink.create({
    data: { id, messageId: message.id, sourceMessageId: randomUUID(), senderUserId: ownerId, recipient: 'carol@example.org', passwordBox: new Uint8Array(74), expiresAt: new Date(Date.now() + 86400_000) },
  });
  return id;
}

const open = (id: string, method: 'GET' | 'HEAD' = 'GET') => app.inject({ method, url: `/api/v1/links/${id}` });
const piece = (id: string, index: number, visit?: string, method: 'GET' | 'HEAD' = 'GET') =>
  app.inject({ method, url: `/api/v1/links/${id}/pieces/${index}`, headers: visit ? { [LINK_VISIT_HEADER]: visit } : {} });

/** Opens the link as the viewer does: the envelope, then every piece with the visit's token. */
async function visit(id: string, pieces: number): Promise<number[]> {
  const res = await open(id);
  const codes = [res.statusCode];
  if (res.statusCode !== 200) return codes;
  const { visit: token, attachments } = res.json() as { visit: string; attachments: { index: number }[] };
  expect(token).toMatch(/^[A-Za-z0-9_-]{22}$/);
  expect(attachments).toHaveLength(pieces);
  for (const a of attachments) codes.push((await piece(id, a.index, token)).statusCode);
  return codes;
}

describe('link visits', () => {
  it('a mail with 31 attachments opens in one sitting, and again, and again', async () => {
    const id = await makeLink(31);
    for (let i = 0; i < 3; i++) expect(new Set(await visit(id, 31))).toEqual(new Set([200]));
    const row = await tdb.prisma.mailLink.findUniqueOrThrow({ where: { id } });
    expect(row.openCount).toBe(3);
  });

  it('HEAD requests are free: they neither use the budget nor count as visits', async () => {
    const id = await makeLink(2);
    for (let i = 0; i < LINK_FETCH_LIMIT + 10; i++) {
      expect((await open(id, 'HEAD')).statusCode).toBe(200);
      expect((await piece(id, 1, undefined, 'HEAD')).statusCode).toBe(200);
    }
    expect((await tdb.prisma.mailLink.findUniqueOrThrow({ where: { id } })).openCount).toBe(0);
    expect(await tdb.prisma.rateLimit.count({ where: { key: `link:${id}` } })).toBe(0);
    expect(new Set(await visit(id, 2))).toEqual(new Set([200]));
  });

  it('the visit budget still holds: the 31st visit in the window is refused', async () => {
    const id = await makeLink(1);
    const codes: number[] = [];
    for (let i = 0; i < LINK_FETCH_LIMIT + 1; i++) codes.push((await open(id)).statusCode);
    expect(codes.slice(0, LINK_FETCH_LIMIT).every((c) => c === 200)).toBe(true);
    const last = await open(id);
    expect(last.statusCode).toBe(429);
    expect(last.json()).toMatchObject({ error: { code: 'RATE_LIMITED' } });
    expect(Number(last.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('one client using up its budget does not lock the recipient out; many clients together are still held to the link’s budget', async () => {
    const id = await makeLink(1);
    const from = (remoteAddress: string) => app.inject({ method: 'GET', url: `/api/v1/links/${id}`, remoteAddress });
    // Someone who learned the id uses up their own budget…
    for (let i = 0; i < LINK_FETCH_LIMIT; i++) expect((await from('203.0.113.7')).statusCode).toBe(200);
    expect((await from('203.0.113.7')).statusCode).toBe(429);
    // …and the recipient, elsewhere, still opens the mail (an IPv6 client counts by its /64).
    expect((await from('2001:db8:1:2::10')).statusCode).toBe(200);
    for (let i = 1; i < LINK_FETCH_LIMIT; i++) expect((await from(`2001:db8:1:2::${(i + 16).toString(16)}`)).statusCode).toBe(200);
    expect((await from('2001:db8:1:2::ffff')).statusCode).toBe(429);
    // Spread over many addresses, the link's own budget still ends it (a scraper is slowed).
    let opened = 2 * LINK_FETCH_LIMIT;
    for (let n = 1; opened < LINK_FETCH_LIMIT_ALL; n++) for (let i = 0; i < LINK_FETCH_LIMIT && opened < LINK_FETCH_LIMIT_ALL; i++, opened++) expect((await from(`198.51.100.${n}`)).statusCode).toBe(200);
    expect((await from('192.0.2.99')).statusCode).toBe(429);
    // No address is kept in clear.
    expect(JSON.stringify(await tdb.prisma.rateLimit.findMany())).not.toMatch(/203\.0\.113|2001:db8|198\.51\.100/);
   }, 60_000);

  it("a visit fetches each piece a few times, not without end", async () => {
    const id = await makeLink(2);
    const token = ((await open(id)).json() as { visit: string }).visit;
    const budget = 2 * LINK_PIECE_FETCHES_PER_VISIT;
    for (let i = 0; i < budget; i++) expect((await piece(id, 1 + (i % 2), token)).statusCode).toBe(200);
    expect((await piece(id, 1, token)).statusCode).toBe(429);
  });

  it("a made-up token, or another link's, is no visit: each such fetch counts as one", async () => {
    const id = await makeLink(1);
    const other = await makeLink(1);
    const otherToken = ((await open(other)).json() as { visit: string }).visit;
    const codes: number[] = [];
    for (let i = 0; i < LINK_FETCH_LIMIT + 1; i++) codes.push((await piece(id, 1, i % 2 ? otherToken : randomBytes(16).toString('base64url'))).statusCode);
    expect(codes.filter((c) => c === 200)).toHaveLength(LINK_FETCH_LIMIT);
    expect(codes.at(-1)).toBe(429);
  });
});

describe('link ids in logs', () => {
  it('request logs name a link by a hash of its id, never the id', async () => {
    const id = await makeLink(1);
    logs.length = 0;
    await visit(id, 1);
    await open(id, 'HEAD');
    await app.inject({ method: 'GET', url: `/api/v1/links/${id}/pieces/7` });
    const text = logs.join('');
    expect(logs.length).toBeGreaterThan(3);
    expect(text).not.toContain(id);
    expect(text).toContain(linkLogId(id));
    expect(linkLogId(id)).not.toContain(id.slice(0, 8));
  });
});
