/**
 * Zip bombs on the admin mail import (docs/admin.md "Import"; imports/sources.ts checkZip). 14 MB
 * of upload — one deflate stream of 4 GiB of text, named by ten central-directory entries that all
 * point at the same data — inflated 40 GiB and held the one import queue every organisation shares
 * for hours. Now a zip is refused from its central directory, before anything is inflated, when
 * its mail entries overlap or declare more than ZIP_INFLATE_RATIO times its size; an ordinary
 * import of another organisation goes through. Small bombs here: the checks read only the
 * central directory, so their size does not matter.
 */
import { constants, deflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MailImportView } from '@sealmail/contract';
import { memoryKeyStore } from '@sealmail/client/identity';
import { seedDemo } from '@sealmail/db';
import { bearer, harness, signedInDevice, type Harness } from './helpers';
import { ZIP_INFLATE_RATIO } from '../src/imports/sources';
import { Importer } from '../src/imports/importer';
import { ImportStaging } from '../src/imports/staging';
import { ephemeralServerMailKey, postgresBlobStore } from '@sealmail/mailstore';
import { createLogger } from '@sealmail/server';

let h: Harness;

/** Raw deflate data that inflates to `blocks` × 16 MiB of 71-character text lines (no From_ line). */
function bomb(blocks: number): { packed: Buffer; size: number } {
  const line = 'x'.repeat(71) + '\n';
  const mib = Buffer.from(line.repeat(Math.ceil((16 << 20) / line.length))).subarray(0, 16 << 20);
  // A full flush ends byte-aligned with a reset dictionary, so the block can be repeated.
  const block = deflateRawSync(mib, { finishFlush: constants.Z_FULL_FLUSH });
  const end = Buffer.from([0x01, 0x00, 0x00, 0xff, 0xff]); // an empty final stored block
  return { packed: Buffer.concat([...Array.from({ length: blocks }, () => block), end]), size: blocks * (16 << 20) };
}

/** One local entry, named by `names` central-directory entries (all at offset 0). */
function overlappingZip(names: string[], packed: Buffer, size: number): Buffer {
  const first = Buffer.from(names[0]!);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(8, 8);
  local.writeUInt32LE(packed.length, 18);
  local.writeUInt32LE(size, 22);
  local.writeUInt16LE(first.length, 26);
  const central: Buffer[] = [];
  for (const n of names) {
    const name = Buffer.from(n);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(20, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(8, 10);
    cd.writeUInt32LE(packed.length, 20);
    cd.writeUInt32LE(size, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(0, 42);
    central.push(cd, name);
  }
  const cdBuf = Buffer.concat(central);
  const offset = 30 + first.length + packed.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(names.length, 8);
  end.writeUInt16LE(names.length, 10);
  end.writeUInt32LE(cdBuf.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([local, first, packed, cdBuf, end]);
}

const view = async (token: string, id: string) => (await h.app.inject({ method: 'GET', url: `/api/v1/admin/imports/${id}`, headers: bearer(token) })).json() as MailImportView;
const settled = async (token: string, id: string, ms: number) => {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await view(token, id);
    if (v.status === 'done' || v.status === 'failed' || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
};

beforeAll(async () => {
  h = await harness({}, { imports: { maxUploadBytes: 16 * 1024 * 1024 } });
}, 120_000);
afterAll(() => h?.close());

/** One ordinary zip entry (not overlapping) of the bomb's data. */
const singleZip = (name: string, packed: Buffer, size: number) => overlappingZip([name], packed, size);

describe('a zip bomb on the mail import', () => {
  it('overlapping entries, or more than the allowed expansion, fail the import with the reason before anything is inflated; another organisation is not held up', async () => {
    const admin = await signedInDevice(h.app, 'admin@example.test', h.password('admin@example.test'), { store: memoryKeyStore(), displayName: 'admin' });
    const other = await seedDemo(h.db.prisma, { domain: 'third.test' });
    const otherAdmin = await signedInDevice(h.app, 'admin@third.test', other.users.find((u) => u.address === 'admin@third.test')!.password!, { store: memoryKeyStore(), displayName: 'admin' });
    const upload = (file: Buffer, name: string) => h.app.inject({ method: 'POST', url: `/api/v1/admin/imports/mail?address=bob@example.test&format=zip&fileName=${name}`, headers: { ...bearer(admin.token), 'content-type': 'application/zip' }, payload: file });

    const small = bomb(1);
    const overlapping = await upload(overlappingZip(Array.from({ length: 10 }, (_, i) => `Takeout/Mail/${i}.mbox`), small.packed, small.size), 'overlap.zip');
    expect(overlapping.statusCode, overlapping.body).toBe(200);
    const big = bomb(20); // 320 MiB from about 1 MB
    const file = singleZip('Takeout/Mail/all.mbox', big.packed, big.size);
    expect(big.size).toBeGreaterThan(Math.max(256 * 1024 * 1024, file.length * ZIP_INFLATE_RATIO));
    const expanding = await upload(file, 'expand.zip');
    expect(expanding.statusCode, expanding.body).toBe(200);

    const eml = 'From: carol@outside.example\r\nTo: bob@third.test\r\nSubject: hello\r\nMessage-ID: <x1@outside.example>\r\nDate: Mon, 4 Mar 2019 09:15:00 +0000\r\n\r\nhi\r\n';
    const plain = await h.app.inject({ method: 'POST', url: '/api/v1/admin/imports/mail?address=bob@third.test&format=eml&fileName=a.eml', headers: { ...bearer(otherAdmin.token), 'content-type': 'message/rfc822' }, payload: eml });
    expect(plain.statusCode).toBe(200);

    const [o, e, p] = await Promise.all([settled(admin.token, (overlapping.json() as MailImportView).id, 60_000), settled(admin.token, (expanding.json() as MailImportView).id, 60_000), settled(otherAdmin.token, (plain.json() as MailImportView).id, 60_000)]);
    expect(o).toMatchObject({ status: 'failed', error: expect.stringContaining('entries overlap') });
    expect(e).toMatchObject({ status: 'failed', error: expect.stringContaining(`more than ${ZIP_INFLATE_RATIO} times its size`) });
    expect(p.status).toBe('done');
  }, 120_000);
});

describe('an import whose job is gone', () => {
  it('is marked failed and its upload erased by the sweep; one just queued, or with its job still there, is left alone', { timeout: 60_000 }, async () => {
    const admin = await h.db.prisma.user.findFirstOrThrow({ where: { localPart: 'admin', domain: { name: 'example.test' } } });
    const alice = await h.db.prisma.user.findFirstOrThrow({ where: { localPart: 'alice', domain: { name: 'example.test' } } });
    const make = (status: 'running' | 'queued', createdAt: Date) =>
      h.db.prisma.mailImport.create({ data: { accountId: admin.accountId, userId: alice.id, actorUserId: admin.id, format: 'mbox', fileName: 'old.mbox', status, size: 10n, parts: 1, createdAt, startedAt: status === 'running' ? createdAt : null, data: { create: [{ index: 0, data: new Uint8Array(64) }] } } });
    const hourAgo = new Date(Date.now() - 3600_000);
    // Its worker died on every try and pg-boss gave up: no job of it is left.
    const orphan = await make('running', hourAgo);
    const lost = await make('queued', hourAgo);
    const fresh = await make('queued', new Date());
    // A running import whose job is still active (as pg-boss keeps it while a worker runs it).
    const busy = await make('running', hourAgo);
    await h.db.prisma.$executeRaw`INSERT INTO pgboss.job (name, data, singleton_key, state) VALUES ('sealmail-import', ${JSON.stringify({ importId: busy.id })}::jsonb, ${busy.id}, 'active')`;

    const key = ephemeralServerMailKey();
    const importer = new Importer(h.db.prisma, postgresBlobStore(h.db.prisma), new ImportStaging(h.db.prisma, key), createLogger({ level: 'silent' }), () => new Date(), { connectionString: h.db.connectionString, hostname: 'mx.example.test' }, { serverPublicKey: key.publicKey });
    expect(await importer.sweepStale()).toBe(2);
    const rows = new Map((await h.db.prisma.mailImport.findMany({ where: { id: { in: [orphan.id, lost.id, fresh.id, busy.id] } }, include: { _count: { select: { data: true } } } })).map((r) => [r.id, r]));
    for (const gone of [orphan, lost]) {
      expect(rows.get(gone.id)).toMatchObject({ status: 'failed', error: expect.stringMatching(/stopped before it finished/), _count: { data: 0 } });
      expect(rows.get(gone.id)!.finishedAt).not.toBeNull();
    }
    for (const kept of [fresh, busy]) expect(rows.get(kept.id)).toMatchObject({ status: kept.status, error: null, _count: { data: 1 } });
    // The admin sees why (the change history records the end, as for a run that stops).
    expect(await h.db.prisma.auditEvent.count({ where: { action: 'import.mail.finished', details: { path: ['importId'], equals: orphan.id } } })).toBe(1);
    await h.db.prisma.$executeRaw`DELETE FROM pgboss.job WHERE singleton_key = ${busy.id}`;
    await h.db.prisma.mailImport.deleteMany({ where: { id: { in: [fresh.id, busy.id] } } });
  });
});
