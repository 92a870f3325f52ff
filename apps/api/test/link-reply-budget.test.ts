/**
 * The secure-reply route (routes/transfer.ts), open to anyone who knows a link id:
 * - its budget (linkReplyLimits.perHour = 5) was counted before the reply was checked at all:
 *   five bodies that are not replies used it up, and the outside recipient's real reply was
 *   refused 429 for the hour. Now only a well-formed reply counts (transfer.test.ts covers the
 *   limit itself);
 * - its body (up to 17 MiB) was read and parsed before the link was looked up: a link that does
 *   not exist still cost the process a 17 MiB JSON parse. Now the link and its budget are checked
 *   when the request's headers come, before the body is read — shown here by a body that is not
 *   even JSON, answered for the link (404, 429) rather than as malformed.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkReplyLimits } from '@sealmail/contract';
import { seedDemo } from '@sealmail/db';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { createLogger } from '@sealmail/server';
import { buildApp } from '../src/app';

let tdb: TestDatabase;
let app: FastifyInstance;

beforeAll(async () => {
  tdb = await createTestDatabase();
  await seedDemo(tdb.prisma, { domain: 'example.test' });
  app = await buildApp({ logger: createLogger({ level: 'silent' }), db: tdb.prisma, version: 't' });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await tdb?.drop();
});

describe('the reply budget of a link', () => {
  it('is not used up by requests that are not replies', { timeout: 60_000 }, async () => {
    const ownerId = (await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'alice' } })).id;
    const message = await tdb.prisma.message.create({
      data: { mailId: `<${randomUUID()}@example.test>`, senderAddress: 'alice@example.test', toAddresses: ['carol@example.org'], ccAddresses: [], protection: 'e2ee', envelope: new Uint8Array(8), manifest: new Uint8Array(8), body: new Uint8Array(8), bodySize: 8, attachmentSizes: [], size: 24n },
    });
    const id = randomBytes(16).toString('base64url');
    await tdb.prisma.mailLink.create({ data: { id, messageId: message.id, sourceMessageId: randomUUID(), senderUserId: ownerId, recipient: 'carol@example.org', passwordBox: new Uint8Array(74), expiresAt: new Date(Date.now() + 86400_000) } });
    const junk = () => app.inject({ method: 'POST', url: `/api/v1/links/${id}/replies`, payload: { envelope: '', manifest: '', body: '', box: '' } });
    const codes: string[] = [];
    for (let i = 0; i <= linkReplyLimits.perHour; i++) codes.push((await junk()).json().error.code);
    // Every one of them is refused as not a reply; none should have cost the recipient a reply.
    expect(codes).toEqual(Array.from({ length: linkReplyLimits.perHour + 1 }, () => 'MAIL_INVALID'));
    expect(await tdb.prisma.rateLimit.count()).toBe(0);
  });

  it('checks the link, and its budget, before it reads the body', { timeout: 60_000 }, async () => {
    const notJson = { 'content-type': 'application/json' };
    const unknown = await app.inject({ method: 'POST', url: `/api/v1/links/${'x'.repeat(22)}/replies`, headers: notJson, payload: '{"this is not JSON' });
    expect([unknown.statusCode, unknown.json().error.code]).toEqual([404, 'NOT_FOUND']);
    const link = await tdb.prisma.mailLink.findFirstOrThrow();
    // The hour's budget spent: the next reply is refused before its body is looked at.
    await tdb.prisma.rateLimit.create({ data: { key: `linkreply:${createHash('sha256').update(link.id).digest('base64url')}`, windowStart: new Date(), count: linkReplyLimits.perHour } });
    const spent = await app.inject({ method: 'POST', url: `/api/v1/links/${link.id}/replies`, headers: notJson, payload: '{"this is not JSON' });
    expect([spent.statusCode, spent.json().error.code]).toEqual([429, 'RATE_LIMITED']);
    expect(Number(spent.headers['retry-after'])).toBeGreaterThan(0);
  });
});
