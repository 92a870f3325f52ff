/**
 * The ingress seals a large attachment a blob part at a time and writes each part as it comes
 * (deliver-local.ts), never holding the whole ciphertext: the recipient still gets the exact bytes,
 * split into parts of at most `mailLimits.blobPartBytes`, and the blob's recorded size and SHA-256
 * are those of what was stored. The attachment is sealed as mailparser decodes it: no buffer the
 * size of the decoded attachment (or of the message) is made on the way. A real nodemailer client over TLS on loopback, the
 * real Postgres; DNS answers "no such record" from this test (the only stand-in, for the outside world).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import type { SMTPServer } from 'smtp-server';
import { parseMime } from '@sealmail/client/identity';
import { mailLimits } from '@sealmail/contract';
import { openMail, type PerUserKey } from '@sealmail/crypto';
import { deliverLocal, postgresBlobStore, type BlobStore } from '@sealmail/mailstore';
import { seedDemo } from '@sealmail/db';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { createLogger, loadOrCreateTls, type TlsMaterial } from '@sealmail/server';
import { buildSmtpServer } from '../src/server';
import { giveKeys } from './keys';

let tdb: TestDatabase;
let tls: TlsMaterial;
let dir: string;
let server: SMTPServer;
let port = 0;
let bobPuk: PerUserKey;
let bobId: string;
const resolver = async (name: string, type: string): Promise<string[][]> => Promise.reject(Object.assign(new Error(`no ${type} for ${name}`), { code: 'ENOTFOUND' }));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealmail-smtp-stream-'));
  tls = await loadOrCreateTls({ certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
  tdb = await createTestDatabase();
  await seedDemo(tdb.prisma, { domain: 'example.test' });
  bobId = (await tdb.prisma.user.findFirstOrThrow({ where: { localPart: 'bob' } })).id;
  bobPuk = await giveKeys(tdb.prisma, bobId);
  server = buildSmtpServer({ db: tdb.prisma, logger: createLogger({ level: 'silent' }), tls, hostname: 'mx.example.test', maxMessageBytes: 35 * 1024 * 1024, secure: false, resolver });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.server.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise<void>((r) => server?.close(() => r()));
  await tdb?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('an attachment sealed and stored a part at a time', () => {
  it('reaches the recipient byte for byte, in parts of at most blobPartBytes, with the size and hash of what was stored', async () => {
    // Two and a bit parts: the part boundaries fall inside the attachment.
    const file = randomBytes(2 * mailLimits.blobPartBytes + 123_457);
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, requireTLS: true, tls: { ca: tls.cert, servername: 'localhost' } });
    await transport.sendMail({ from: 'x@sender.example', to: 'bob@example.test', subject: 'parts', text: 'see attached', attachments: [{ filename: 'big.bin', content: file }] });
    transport.close();

    const entry = await tdb.prisma.mailboxEntry.findFirstOrThrow({ where: { userId: bobId }, orderBy: { receivedAt: 'desc' }, include: { message: { include: { blobs: { orderBy: { pieceIndex: 'asc' }, include: { data: { orderBy: { index: 'asc' } } } } } } } });
    const [blob] = entry.message.blobs;
    expect(entry.message.blobs).toHaveLength(1);
    expect(blob!.data.length).toBe(3);
    expect(blob!.parts).toBe(3);
    expect(blob!.data.map((p) => p.index)).toEqual([0, 1, 2]);
    for (const p of blob!.data.slice(0, -1)) expect(p.data.length).toBe(mailLimits.blobPartBytes);
    const stored = Buffer.concat(blob!.data.map((p) => p.data));
    expect(Number(blob!.size)).toBe(stored.length);
    expect(Number(blob!.declaredSize)).toBe(stored.length);
    expect(Buffer.from(blob!.sha256!).equals(createHash('sha256').update(stored).digest())).toBe(true);
    expect(blob!.completedAt).not.toBeNull();

    const opened = await openMail({ envelope: entry.message.envelope, record: entry.box, manifest: entry.message.manifest, pieces: [entry.message.body, stored], userId: bobId, puk: bobPuk });
    expect(Buffer.from(opened.pieces[1]!).equals(file)).toBe(true);
    expect((await parseMime(opened.pieces[0]!)).attachments).toEqual([{ piece: 1, filename: 'big.bin', contentType: 'application/octet-stream' }]);
  }, 120_000);

  it('seals the attachment as it is decoded: no buffer of its size is made on the way', async () => {
    const file = randomBytes(3 * mailLimits.blobPartBytes + 54_321);
    const stream = nodemailer.createTransport({ streamTransport: true, buffer: true });
    const raw = (await stream.sendMail({ from: 'x@sender.example', to: 'bob@example.test', subject: 'streamed', text: 'see attached', attachments: [{ filename: 'big.bin', content: file }] })).message as Buffer;
    // The largest Buffer made through Buffer's allocators while the message is parsed and sealed
    // (simpleParser joined the decoded attachment with Buffer.concat; a whole message written
    // into mailparser at once was joined too). Only the largest size is kept, never the buffers.
    const b = Buffer as unknown as Record<'concat' | 'alloc' | 'allocUnsafe' | 'allocUnsafeSlow', (...args: unknown[]) => Buffer>;
    const originals = { concat: b.concat, alloc: b.alloc, allocUnsafe: b.allocUnsafe, allocUnsafeSlow: b.allocUnsafeSlow };
    let largest = 0;
    for (const name of Object.keys(originals) as (keyof typeof originals)[]) {
      const original = originals[name];
      b[name] = function (this: unknown, ...args: unknown[]) {
        const out = original.apply(this, args);
        largest = Math.max(largest, out.length);
        return out;
      };
    }
    // The parts written, in order, each at most a blob part.
    const base = postgresBlobStore(tdb.prisma);
    const writes: number[] = [];
    const blobs: BlobStore = { ...base, putPart: (id, index, bytes) => (writes.push(index), base.putPart(id, index, bytes)) };
    let stored: Awaited<ReturnType<typeof deliverLocal>>;
    try {
      stored = await deliverLocal(
        { db: tdb.prisma, blobs, hostname: 'mx.example.test', now: () => new Date(), logger: { info: () => undefined, warn: () => undefined } },
        raw,
        { mailFrom: 'x@sender.example', recipients: [{ address: 'bob@example.test', userId: bobId }] },
      );
    } finally {
      Object.assign(b, originals);
    }
    expect(largest).toBeGreaterThan(0);
    // A blob part (and the database driver's message around it) is the most ever made at once.
    expect(largest).toBeLessThan(mailLimits.blobPartBytes + 65_536);
    expect(largest).toBeLessThan(file.length / 3);
    expect(writes).toEqual([0, 1, 2, 3]);

    const entry = await tdb.prisma.mailboxEntry.findFirstOrThrow({ where: { userId: bobId, messageId: stored.messageId }, include: { message: { include: { blobs: { include: { data: { orderBy: { index: 'asc' } } } } } } } });
    const ciphertext = Buffer.concat(entry.message.blobs[0]!.data.map((p) => p.data));
    const opened = await openMail({ envelope: entry.message.envelope, record: entry.box, manifest: entry.message.manifest, pieces: [entry.message.body, ciphertext], userId: bobId, puk: bobPuk });
    expect(Buffer.from(opened.pieces[1]!).equals(file)).toBe(true);
  }, 120_000);
});
