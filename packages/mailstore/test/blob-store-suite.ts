/**
 * The blob-store conformance suite: what every `BlobStore` must do, run against each store
 * (blob-store.test.ts) with a real Postgres for the metadata. A store passes when its bytes
 * behave as the interface says — round trips, missing parts, re-sent parts, large multi-part
 * blobs, concurrent writers — and when what a crash leaves behind is collected after the grace
 * period, whether the crash left a row without its message (`collectOrphanBlobs`) or bytes
 * without their row (`collectUnreferencedBlobs`).
 */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { mailLimits } from '@sealmail/contract';
import type { Db } from '@sealmail/db';
import { collectOrphanBlobs, collectUnreferencedBlobs, type BlobStore } from '../src/blob-store';

export interface BlobStoreUnderTest {
  db: Db;
  store: BlobStore;
}

export interface ConformanceOptions {
  /** The store keeps bytes after their row is deleted until they are collected (S3); the Postgres store's parts go with the row. */
  bytesOutliveRows: boolean;
}

const hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function collect(it: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const p of it) out.push(p);
  return out;
}

export function blobStoreConformance(name: string, setup: () => BlobStoreUnderTest, opts: ConformanceOptions): void {
  const newBlob = async (size = 0) => (await setup().db.blob.create({ data: { declaredSize: size } })).id;

  describe(`blob store conformance: ${name}`, () => {
    it('stores parts and reads them back byte for byte, in order', async () => {
      const { store } = setup();
      const id = await newBlob();
      const parts = [randomBytes(1000), randomBytes(1), randomBytes(70_000)];
      for (const [i, p] of parts.entries()) expect(await store.putPart(id, i, p)).toBe(0);
      expect(await store.partSizes(id)).toEqual(new Map([[0, 1000], [1, 1], [2, 70_000]]));
      expect((await collect(store.read(id, 3))).map(hex)).toEqual(parts.map(hex));
      expect(hex((await store.readPart(id, 2))!)).toBe(hex(parts[2]!));
    });

    it('answers a missing part or blob as missing, never as other bytes', async () => {
      const { store } = setup();
      const id = await newBlob();
      await store.putPart(id, 0, randomBytes(10));
      expect(await store.readPart(id, 1)).toBeNull();
      await expect(collect(store.read(id, 2))).rejects.toThrow(/lost part 1/);
      const unknown = await newBlob();
      expect(await store.partSizes(unknown)).toEqual(new Map());
      expect(await store.readPart(unknown, 0)).toBeNull();
      await expect(store.delete([unknown])).resolves.toBeUndefined();
      await expect(store.delete([])).resolves.toBeUndefined();
    });

    it('refuses bytes for a blob that has no metadata row, and stores nothing', async () => {
      const { store } = setup();
      const ghost = '00000000-0000-4000-8000-000000000001';
      await expect(store.putPart(ghost, 0, randomBytes(10))).rejects.toThrow();
      expect(await store.partSizes(ghost)).toEqual(new Map());
    });

    it('a re-sent part replaces the old one and answers the size it replaced (idempotent puts and deletes)', async () => {
      const { store } = setup();
      const id = await newBlob();
      const first = randomBytes(500);
      const second = randomBytes(800);
      expect(await store.putPart(id, 0, first)).toBe(0);
      expect(await store.putPart(id, 0, second)).toBe(500);
      expect(await store.putPart(id, 0, second)).toBe(800);
      expect(hex((await store.readPart(id, 0))!)).toBe(hex(second));
      expect(await store.partSizes(id)).toEqual(new Map([[0, 800]]));
      await store.delete([id]);
      await store.delete([id]);
      expect(await store.partSizes(id)).toEqual(new Map());
    });

    it('holds a large multi-part blob (a sealed 25 MiB attachment in 4 MiB parts)', { timeout: 120_000 }, async () => {
      const { store } = setup();
      const size = 6 * mailLimits.blobPartBytes + 12_345;
      const whole = randomBytes(size);
      const id = await newBlob(size);
      let n = 0;
      for (let at = 0; at < size; at += mailLimits.blobPartBytes) await store.putPart(id, n++, whole.subarray(at, at + mailLimits.blobPartBytes));
      expect(n).toBe(7);
      expect([...(await store.partSizes(id)).values()].reduce((a, b) => a + b, 0)).toBe(size);
      const h = createHash('sha256');
      for await (const p of store.read(id, n)) {
        expect(p.length).toBeLessThanOrEqual(mailLimits.blobPartBytes);
        h.update(p);
      }
      expect(h.digest('hex')).toBe(hex(whole));
    });

    it('keeps concurrent writers apart: many blobs at once, and one part written by several at once', { timeout: 60_000 }, async () => {
      const { store } = setup();
      const blobs = await Promise.all(Array.from({ length: 6 }, () => newBlob()));
      const data = blobs.map(() => [randomBytes(3000), randomBytes(2000)]);
      await Promise.all(blobs.flatMap((id, b) => data[b]!.map((p, i) => store.putPart(id, i, p))));
      for (const [b, id] of blobs.entries()) expect((await collect(store.read(id, 2))).map(hex)).toEqual(data[b]!.map(hex));

      // Four writers of the same new part: one finds it new, the others each replace a whole copy
      // (so an upload route's quota refund counts the part once), and what stays is one whole write.
      const id = await newBlob();
      const writes = Array.from({ length: 4 }, () => randomBytes(4096));
      const replaced = await Promise.all(writes.map((w) => store.putPart(id, 0, w)));
      expect(replaced.filter((r) => r === 0)).toHaveLength(1);
      expect(replaced.filter((r) => r === 4096)).toHaveLength(3);
      expect(writes.map(hex)).toContain(hex((await store.readPart(id, 0))!));
    });

    it('deletes only the blobs it is given', async () => {
      const { store } = setup();
      const [a, b] = [await newBlob(), await newBlob()];
      await store.putPart(a, 0, randomBytes(10));
      await store.putPart(a, 1, randomBytes(10));
      await store.putPart(b, 0, randomBytes(10));
      await store.delete([a]);
      expect(await store.partSizes(a)).toEqual(new Map());
      expect(await store.partSizes(b)).toEqual(new Map([[0, 10]]));
    });

    it('lists the blobs it holds in id order, page by page', async () => {
      const { store } = setup();
      const ids = [await newBlob(), await newBlob(), await newBlob()];
      for (const id of ids) {
        await store.putPart(id, 0, randomBytes(5));
        await store.putPart(id, 1, randomBytes(5));
      }
      const seen: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await store.listBlobs({ after, limit: 2 });
        expect(page.length).toBeLessThanOrEqual(2);
        for (const p of page) expect(p.modifiedAt).toBeInstanceOf(Date);
        seen.push(...page.map((p) => p.blobId));
        if (page.length < 2) break;
        after = page[page.length - 1]!.blobId;
      }
      expect(seen).toEqual([...seen].sort());
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toEqual(expect.arrayContaining(ids));
    });

    it('after a crash between the bytes and the message: the orphaned blob goes after the grace period, bytes and all', async () => {
      const { db, store } = setup();
      // The ingress made the row and wrote the bytes, then died before the message was stored.
      const id = await newBlob(20);
      await store.putPart(id, 0, randomBytes(20));
      const created = (await db.blob.findUniqueOrThrow({ where: { id } })).createdAt;
      await collectOrphanBlobs(db, store, { olderThan: created });
      expect(await db.blob.count({ where: { id } })).toBe(1);
      expect(await store.partSizes(id)).toEqual(new Map([[0, 20]]));
      const swept = await collectOrphanBlobs(db, store, { olderThan: new Date(created.getTime() + 1) });
      expect(swept.blobs).toBeGreaterThanOrEqual(1);
      expect(await db.blob.count({ where: { id } })).toBe(0);
      expect(await store.partSizes(id)).toEqual(new Map());
    });

    it('after a crash between the database and the store: bytes whose row is gone go after the grace period, and only they', async () => {
      const { db, store } = setup();
      const kept = await newBlob(30);
      await store.putPart(kept, 0, randomBytes(30));
      const lost = await newBlob(30);
      await store.putPart(lost, 0, randomBytes(30));
      await store.putPart(lost, 1, randomBytes(30));
      // The row went (a message deleted, its blobs by cascade) and the process died before `store.delete`.
      await db.blob.delete({ where: { id: lost } });
      expect((await store.partSizes(lost)).size).toBe(opts.bytesOutliveRows ? 2 : 0);

      // Within the grace period nothing goes (bytes written a moment ago).
      const sweep = async (olderThan: Date) => {
        let total = 0;
        let after: string | null = null;
        do {
          const r = await collectUnreferencedBlobs(db, store, { olderThan, after, limit: 2 });
          total += r.blobs;
          after = r.next;
        } while (after);
        return total;
      };
      expect(await sweep(new Date(Date.now() - 3600_000))).toBe(0);
      expect((await store.partSizes(lost)).size).toBe(opts.bytesOutliveRows ? 2 : 0);
      // Past it, the row-less bytes go; a blob with its row keeps its bytes however old.
      const swept = await sweep(new Date(Date.now() + 3600_000));
      if (opts.bytesOutliveRows) expect(swept).toBeGreaterThanOrEqual(1);
      else expect(swept).toBe(0);
      expect(await store.partSizes(lost)).toEqual(new Map());
      expect(await store.partSizes(kept)).toEqual(new Map([[0, 30]]));
    });
  });
}
