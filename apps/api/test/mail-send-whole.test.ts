/**
 * Sending stored whole, charged once and filed as the recipient wants (from an adversarial review;
 * each test failed on the code before its fix). Real API (Fastify inject) on real Postgres; the outbound relay runs, but
 * outside hosts are outside this machine: every MX lookup fails, so outside mail stays queued
 * (the only thing mocked). The scheduled-send release is driven by calling the release sweep
 * with the injected clock (what the pg-boss job and the sweeper do).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { seedDemo } from '@sealmail/db';
import { createLogger } from '@sealmail/server';
import { MailEvents, postgresBlobStore } from '@sealmail/mailstore';
import { memoryKeyStore } from '@sealmail/client/identity';
import { buildApp } from '../src/app';
import { ScheduledSends } from '../src/mail/scheduled';
import { signedInDevice } from './helpers';

const logger = createLogger({ level: 'silent' });
let tdb: TestDatabase;
let app: FastifyInstance;
let passwords: Record<string, string>;
const clock = { now: new Date(Math.floor(Date.now() / 60_000) * 60_000) };
const stores = new Map<string, ReturnType<typeof memoryKeyStore>>();

async function device(address: string, fetch?: (inner: typeof globalThis.fetch) => typeof globalThis.fetch) {
  if (!stores.has(address)) stores.set(address, memoryKeyStore());
  return signedInDevice(app, address, passwords[address]!, { store: stores.get(address)!, ...(fetch ? { fetch } : {}) });
}

type SendBody = { envelope: string; manifest: string; body: string; summary?: string; attachments: string[]; links?: { attachments: string[] } };
/** A device whose send request passes through `change` first (what a buggy or hostile client could post). */
const sendThrough = (change: (body: SendBody) => Promise<void> | void) => (inner: typeof globalThis.fetch) =>
  (async (input: string | URL | Request, init?: RequestInit) => {
    if (init?.method === 'POST' && new URL(String(input)).pathname === '/api/v1/mail/messages') {
      const body = JSON.parse(String(init.body)) as SendBody;
      await change(body);
      return inner(input, { ...init, body: JSON.stringify(body) });
    }
    return inner(input, init);
  }) as typeof globalThis.fetch;
const b64len = (s: string | undefined) => (s ? Buffer.from(s, 'base64url').length : 0);

const usage = async (localPart: string) => (await tdb.prisma.user.findFirstOrThrow({ where: { localPart }, select: { usedBytes: true } })).usedBytes;
const auth = (token: string) => ({ authorization: `Bearer ${token}` });

beforeAll(async () => {
  tdb = await createTestDatabase();
  const seed = await seedDemo(tdb.prisma, { domain: 'example.test' });
  passwords = Object.fromEntries(seed.users.map((u) => [u.address, u.password!]));
  app = await buildApp({
    logger,
    db: tdb.prisma,
    version: 't',
    now: () => clock.now,
    outbound: { connectionString: tdb.connectionString, hostname: 'mx.example.test', viewerUrl: 'https://localhost:9', sweepSeconds: 0, resolveMx: async () => Promise.reject(Object.assign(new Error('nx'), { code: 'ENOTFOUND' })) },
  });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await tdb?.drop();
});

describe('sending: whole, charged once, filed by the recipient', () => {
  it('a mail sent as an expiring link with an attachment gives back every byte once the link is withdrawn and the Sent copy deleted (the public copy’s attachment is charged once)', { timeout: 60_000 }, async () => {
    const alice = await device('alice@example.test');
    const before = await usage('alice');
    const file = randomBytes(200_000);
    const sent = await alice.mail.send({
      to: ['carol@example.org'],
      subject: 'Contract',
      text: 'The contract is attached.',
      attachments: [{ name: 'contract.bin', type: 'application/octet-stream', size: file.length, stream: () => new Blob([file]).stream() }],
      links: { expiresIn: '1d' },
    });
    // Withdraw the link (the public copy goes, refunded) and delete the Sent copy for good.
    const revoked = await app.inject({ method: 'POST', url: `/api/v1/mail/messages/${sent.entryId}/links/revoke`, headers: auth(alice.token) });
    expect(revoked.statusCode).toBe(200);
    for (let i = 0; i < 2; i++) expect((await app.inject({ method: 'DELETE', url: `/api/v1/mail/messages/${sent.entryId}`, headers: auth(alice.token) })).statusCode).toBe(200);
    expect(await tdb.prisma.message.count({ where: { id: sent.messageId } })).toBe(0);
    expect(await usage('alice')).toBe(before);
  });

  it('a scheduled (or undo-send delayed) mail between users is filed by the recipient’s server filters when it is released, as a mail sent at once is', { timeout: 60_000 }, async () => {
    const alice = await device('alice@example.test');
    const bob = await device('bob@example.test');
    const put = await app.inject({
      method: 'PUT',
      url: '/api/v1/mail/filters',
      headers: auth(bob.token),
      payload: { filters: [{ conditions: { from: 'alice@example.test' }, actions: { folder: 'archive', star: true } }] },
    });
    expect(put.statusCode).toBe(200);

    // Sent at once: Bob's filter files it in Archive, starred.
    const now = await alice.mail.send({ to: ['bob@example.test'], subject: 'Now', text: 'at once' });
    const direct = await tdb.prisma.mailboxEntry.findFirstOrThrow({ where: { messageId: now.messageId, role: 'to' } });
    expect({ folder: direct.folder, starred: direct.starred }).toEqual({ folder: 'archive', starred: true });

    // The same mail with undo send / a schedule: released by the server a minute later.
    const held = await alice.mail.send({ to: ['bob@example.test'], subject: 'Later', text: 'scheduled' }, { sendAt: new Date(clock.now.getTime() + 60_000) });
    expect(held.scheduledId).toBeTruthy();
    clock.now = new Date(clock.now.getTime() + 2 * 60_000);
    // The app wires each recipient's out-of-office reply to the release (app.ts), as for mail sent at once.
    const away: unknown[] = [];
    const release = new ScheduledSends(tdb.prisma, postgresBlobStore(tdb.prisma), new MailEvents(), logger, () => clock.now, () => null, { connectionString: '', outOfOffice: async (r) => void away.push(r) });
    expect(await release.sweep()).toBe(1);
    const released = await tdb.prisma.mailboxEntry.findFirstOrThrow({ where: { messageId: held.messageId, role: 'to' } });
    expect({ folder: released.folder, starred: released.starred }).toEqual({ folder: 'archive', starred: true });
    const bobId = (await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'bob' } })).id;
    const mailId = (await tdb.prisma.message.findUniqueOrThrow({ where: { id: held.messageId } })).mailId;
    expect(away).toEqual([expect.objectContaining({ userId: bobId, address: 'bob@example.test', replyTo: 'alice@example.test', inReplyTo: mailId })]);
  });

  it('a send whose expiring-link copy does not fit the sender’s mailbox is refused whole: 507 and nothing delivered to anyone', { timeout: 60_000 }, async () => {
    const bobId = (await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'bob' } })).id;
    const aliceId = (await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'alice' } })).id;
    const saved = (await tdb.prisma.user.findUniqueOrThrow({ where: { id: aliceId } })).quotaBytes;
    const subject = `Room for one copy ${randomBytes(4).toString('hex')}`;
    // A mailbox nearly full: exactly room for the mail's own copy when the send arrives.
    const alice = await device('alice@example.test', sendThrough(async (b) => {
      const own = BigInt(b64len(b.envelope) + b64len(b.manifest) + b64len(b.body) + b64len(b.summary));
      await tdb.prisma.user.update({ where: { id: aliceId }, data: { quotaBytes: (await usage('alice')) + own } });
    }));
    try {
      const sent = await alice.mail.send({ to: ['bob@example.test', 'carol@example.org'], subject, text: 'Hello both.', links: { expiresIn: '1d' } }).then(
        () => ({ ok: true as const }),
        (err: { status?: number; code?: string }) => ({ ok: false as const, status: err.status, code: err.code }),
      );
      expect(sent).toMatchObject({ ok: false, status: 507, code: 'QUOTA_EXCEEDED' });
      // Refused: so nobody got it, and no Sent copy says it went.
      // (Bob's filter from the test before files Alice's mail in Archive: every folder is looked at.)
      expect(await tdb.prisma.mailboxEntry.count({ where: { userId: bobId, message: { toAddresses: { hasEvery: ['bob@example.test', 'carol@example.org'] } } } })).toBe(0);
      expect(await tdb.prisma.mailboxEntry.count({ where: { userId: aliceId, folder: 'sent', message: { toAddresses: { hasEvery: ['bob@example.test', 'carol@example.org'] } } } })).toBe(0);
    } finally {
      await tdb.prisma.user.update({ where: { id: aliceId }, data: { quotaBytes: saved } });
    }
  });

  it('a send naming one upload both as an attachment and as the link copy’s attachment is refused with 400 MAIL_INVALID before anything is delivered (not a 500 after)', { timeout: 60_000 }, async () => {
    const bobId = (await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'bob' } })).id;
    const held = () => tdb.prisma.mailboxEntry.count({ where: { userId: bobId } });
    const before = await held();
    const alice = await device('alice@example.test', sendThrough((b) => {
      b.links!.attachments = [...b.attachments];
    }));
    const file = randomBytes(10_000);
    const res = await alice.mail
      .send({ to: ['bob@example.test', 'carol@example.org'], subject: 'Shared upload', text: 'x', attachments: [{ name: 'a.bin', type: 'application/octet-stream', size: file.length, stream: () => new Blob([file]).stream() }], links: { expiresIn: '1d' } })
      .then(
        () => ({ status: 200, code: undefined as string | undefined }),
        (err: { status?: number; code?: string }) => ({ status: err.status, code: err.code }),
      );
    expect(res).toEqual({ status: 400, code: 'MAIL_INVALID' });
    expect(await held()).toBe(before);
  });
});
