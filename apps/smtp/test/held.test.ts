/**
 * Mail before first sign-in (docs/mail.md §7.4): a real nodemailer client delivers over STARTTLS
 * on loopback to a mailbox whose user has no keys yet; the ingress answers 250 and holds the copy
 * server-encrypted (no recipient box, message key boxed to the server's mail key, quota charged).
 * Once the user has a per-user key, re-sealing files it exactly once — twice in a row and twice at
 * the same time — and it opens with the user's key, unsigned (the client's "Server Encrypted").
 * DNS answers come from a table (the only stand-in for something outside this machine).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import type { SMTPServer } from 'smtp-server';
import { parseMime } from '@sealmail/client/identity';
import { decodeEnvelope, openMail } from '@sealmail/crypto';
import { seedDemo } from '@sealmail/db';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { ephemeralServerMailKey, purgeOrphanHeldCopies, resealHeldMail } from '@sealmail/mailstore';
import { createLogger, loadOrCreateTls, type TlsMaterial } from '@sealmail/server';
import { buildSmtpServer } from '../src/server';
import { giveKeys } from './keys';

let tdb: TestDatabase;
let tls: TlsMaterial;
let dir: string;
let server: SMTPServer;
let port = 0;
let aliceId: string;
const serverKey = ephemeralServerMailKey();
const logger = createLogger({ level: 'silent' });
const CANARY = `canary-held-${randomBytes(6).toString('hex')}`;

async function resolver(name: string, type: string): Promise<string[][]> {
  throw Object.assign(new Error(`no ${type} for ${name}`), { code: 'ENOTFOUND' });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealmail-held-'));
  tls = await loadOrCreateTls({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
  tdb = await createTestDatabase();
  await seedDemo(tdb.prisma, { domain: 'example.test' });
  aliceId = (await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'alice' } })).id;
  server = buildSmtpServer({ db: tdb.prisma, logger, tls, hostname: 'mx.example.test', maxMessageBytes: 35 * 1024 * 1024, secure: false, resolver, serverPublicKey: serverKey.publicKey });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.server.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise<void>((r) => server?.close(() => r()));
  await tdb?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('mail before first sign-in', () => {
  it('is accepted (250) for a mailbox without keys, held server-encrypted, then filed once to the user’s first key', { timeout: 60_000 }, async () => {
    expect(await tdb.prisma.sigchainLink.count({ where: { userId: aliceId } })).toBe(0);
    const usedBefore = (await tdb.prisma.user.findUniqueOrThrow({ where: { id: aliceId } })).usedBytes;
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, requireTLS: true, tls: { ca: tls.cert, servername: 'localhost' }, name: 'client.sender.example' });
    const info = await transport.sendMail({ from: 'Carol <carol@sender.example>', to: 'alice@example.test', subject: 'Welcome aboard', text: `Before you sign in: ${CANARY}`, attachments: [{ filename: 'plan.txt', content: 'the plan' }] });
    expect(info.response).toMatch(/^250 /);

    // Held: stored, charged, no mailbox entry, no recipient in the envelope, boxed to the server only.
    const held = await tdb.prisma.heldMail.findMany({ where: { userId: aliceId }, include: { message: true } });
    expect(held).toHaveLength(1);
    const m = held[0]!.message;
    expect(m.protection).toBe('server');
    expect(m.serverBox).not.toBeNull();
    expect(decodeEnvelope(m.envelope).recipients).toEqual([]);
    expect(await tdb.prisma.mailboxEntry.count({ where: { userId: aliceId } })).toBe(0);
    expect((await tdb.prisma.user.findUniqueOrThrow({ where: { id: aliceId } })).usedBytes - usedBefore).toBe(m.size);
    // No plaintext kept: the canary is nowhere in the message row.
    expect(Buffer.concat([m.body, m.envelope, m.manifest]).includes(Buffer.from(CANARY))).toBe(false);

    // Without keys the job finds nothing to do and leaves it held.
    expect(await resealHeldMail({ db: tdb.prisma, serverKey, logger }, aliceId)).toBe(0);
    expect(await tdb.prisma.heldMail.count({ where: { userId: aliceId } })).toBe(1);

    // Alice sets up her first device; two runs at once and a third after: one copy filed.
    const puk = await giveKeys(tdb.prisma, aliceId);
    const runs = await Promise.all([resealHeldMail({ db: tdb.prisma, serverKey, logger }, aliceId), resealHeldMail({ db: tdb.prisma, serverKey, logger }, aliceId)]);
    expect(runs.sort()).toEqual([0, 1]);
    expect(await resealHeldMail({ db: tdb.prisma, serverKey, logger }, aliceId)).toBe(0);
    const entries = await tdb.prisma.mailboxEntry.findMany({ where: { userId: aliceId }, include: { message: { include: { blobs: { orderBy: { pieceIndex: 'asc' }, include: { data: { orderBy: { index: 'asc' } } } } } } } });
    expect(entries).toHaveLength(1);
    expect(await tdb.prisma.heldMail.count()).toBe(0);
    const e = entries[0]!;
    expect(e.folder).toBe('inbox');
    // The server can no longer read it.
    expect(e.message.serverBox).toBeNull();
    const after = (await tdb.prisma.user.findUniqueOrThrow({ where: { id: aliceId } })).usedBytes;
    expect(after - usedBefore).toBe(e.message.size);

    const pieces = [e.message.body, ...e.message.blobs.map((b) => Buffer.concat(b.data.map((p) => p.data)))];
    const opened = await openMail({ envelope: e.message.envelope, record: e.box, manifest: e.message.manifest, pieces, userId: aliceId, puk });
    expect(opened.status).toBe('not-signed');
    const mime = await parseMime(opened.pieces[0]!);
    expect(mime.subject).toBe('Welcome aboard');
    expect(mime.text).toContain(CANARY);
    expect(new TextDecoder().decode(opened.pieces[1])).toBe('the plan');
  });

  it('a deleted user’s held copy is deleted by the sweep; other mail stays', { timeout: 60_000 }, async () => {
    const bob = await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'bob' } });
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, requireTLS: true, tls: { ca: tls.cert, servername: 'localhost' }, name: 'client.sender.example' });
    expect((await transport.sendMail({ from: 'carol@sender.example', to: 'bob@example.test', subject: 'For Bob', text: 'x' })).response).toMatch(/^250 /);
    const held = await tdb.prisma.heldMail.findFirstOrThrow({ where: { userId: bob.id } });
    const before = await tdb.prisma.message.count();
    expect(await purgeOrphanHeldCopies(tdb.prisma)).toBe(0);
    await tdb.prisma.user.delete({ where: { id: bob.id } });
    expect(await purgeOrphanHeldCopies(tdb.prisma)).toBe(1);
    expect(await tdb.prisma.message.findUnique({ where: { id: held.messageId } })).toBeNull();
    expect(await tdb.prisma.message.count()).toBe(before - 1);
  });
});
