/**
 * The disk blob store (`SEALMAIL_BLOB_STORE=disk`, docs/operations.md "Blob storage"): each part of
 * a blob is one file, `<dir>/<first two hex digits of the id>/<blob id>/<index>`, one directory
 * per blob. Only ciphertext reaches it (blobs are sealed attachment pieces), so "plaintext never on
 * disk" holds. A part is written to a temporary name, flushed (`fsync`), renamed over its final
 * name and the directory flushed, all before `putPart` answers: an acknowledged part survives a
 * crash, and a reader sees a whole old part or a whole new one, never half of one.
 *
 * As with the S3 store, metadata stays in Postgres: a part is written only while its blob's row
 * exists (held `FOR KEY SHARE` during the write, so a concurrent delete waits), and writes of one
 * part are serialised by an advisory lock so the size a re-sent part replaces is answered once.
 * Several processes may share the directory (a shared disk); bytes whose row went are collected by
 * `collectUnreferencedBlobs` after the grace period. Passes the conformance suite
 * (test/blob-store-suite.ts) like the other stores.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Db } from '@sealmail/db';
import { withPartLock, type BlobStore } from './blob-store';

export interface DiskBlobStoreOptions {
  db: Db;
  /** The directory that holds the blobs (created when missing). */
  dir: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PART = /^(0|[1-9][0-9]{0,8})$/;

function missing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT';
}

/** Flushes a directory's entries (a rename or a new entry) to disk. */
async function syncDir(path: string): Promise<void> {
  const fd = await open(path, 'r');
  try {
    await fd.sync();
  } finally {
    await fd.close();
  }
}

export function diskBlobStore(opts: DiskBlobStoreOptions): BlobStore {
  const { db, dir } = opts;
  const blobDir = (blobId: string) => {
    // The id names a path: only a UUID may (no `..`, no separators).
    if (!UUID.test(blobId)) throw new Error(`not a blob id: ${JSON.stringify(blobId)}`);
    return join(dir, blobId.slice(0, 2), blobId);
  };
  const partPath = (blobId: string, index: number) => join(blobDir(blobId), String(index));

  /** Writes the part durably: temporary file, fsync, rename, fsync of the directory. */
  async function writePart(blobId: string, index: number, bytes: Uint8Array): Promise<number> {
    const d = blobDir(blobId);
    const made = await mkdir(d, { recursive: true });
    if (made) {
      // New directories: their own entries in their parents must be durable too.
      await syncDir(join(dir, blobId.slice(0, 2)));
      await syncDir(dir);
    }
    const final = join(d, String(index));
    let old = 0;
    try {
      old = (await stat(final)).size;
    } catch (err) {
      if (!missing(err)) throw err;
    }
    const temp = join(d, `${index}.tmp-${randomBytes(6).toString('hex')}`);
    const fd = await open(temp, 'wx', 0o600);
    try {
      try {
        await fd.writeFile(bytes);
        await fd.sync();
      } finally {
        await fd.close();
      }
      await rename(temp, final);
    } catch (err) {
      await unlink(temp).catch(() => {});
      throw err;
    }
    await syncDir(d);
    return old;
  }

  async function getPart(blobId: string, index: number): Promise<Uint8Array | null> {
    try {
      return await readFile(partPath(blobId, index));
    } catch (err) {
      if (missing(err)) return null;
      throw err;
    }
  }

  async function parts(blobId: string): Promise<{ index: number; size: number; modified: Date }[]> {
    let names: string[];
    try {
      names = await readdir(blobDir(blobId));
    } catch (err) {
      if (missing(err)) return [];
      throw err;
    }
    const out = [];
    for (const name of names) {
      if (!PART.test(name)) continue; // a temporary file a crash left
      try {
        const s = await stat(join(blobDir(blobId), name));
        out.push({ index: Number(name), size: s.size, modified: s.mtime });
      } catch (err) {
        if (!missing(err)) throw err; // deleted meanwhile
      }
    }
    return out;
  }

  return {
    putPart: (blobId, index, bytes) => withPartLock(db, blobId, index, { needRow: true }, () => writePart(blobId, index, bytes)),
    async partSizes(blobId) {
      return new Map((await parts(blobId)).map((p) => [p.index, p.size]));
    },
    async *read(blobId, n) {
      // One part ahead: the next file is read while this part is sent (two parts in memory at most).
      let next = n > 0 ? getPart(blobId, 0) : null;
      for (let index = 0; index < n; index++) {
        const bytes = await next!;
        next = index + 1 < n ? getPart(blobId, index + 1) : null;
        next?.catch(() => {}); // awaited on the next turn; a reader that stops early leaves it
        if (!bytes) throw new Error(`blob ${blobId} lost part ${index}`);
        yield bytes;
      }
    },
    readPart: getPart,
    async delete(blobIds) {
      for (const id of new Set(blobIds)) await rm(blobDir(id), { recursive: true, force: true });
    },
    async listBlobs({ after, limit }) {
      const out: { blobId: string; modifiedAt: Date }[] = [];
      let fans: string[];
      try {
        fans = (await readdir(dir)).filter((f) => /^[0-9a-f]{2}$/.test(f)).sort();
      } catch (err) {
        if (missing(err)) return [];
        throw err;
      }
      for (const fan of fans) {
        if (after && fan < after.slice(0, 2)) continue;
        const ids = (await readdir(join(dir, fan)).catch((err) => (missing(err) ? [] : Promise.reject(err)))).filter((id) => UUID.test(id) && (!after || id > after)).sort();
        for (const blobId of ids) {
          const found = await parts(blobId);
          if (!found.length) continue; // an empty directory (its parts were being deleted)
          out.push({ blobId, modifiedAt: new Date(Math.max(...found.map((p) => p.modified.getTime()))) });
          if (out.length === limit) return out;
        }
      }
      return out;
    },
  };
}
