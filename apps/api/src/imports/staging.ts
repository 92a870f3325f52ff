/**
 * Where an uploaded import file waits for its job: rows of `mail_import_parts`, each up to 4 MiB
 * of the file sealed with AES-256-GCM under a key derived (HKDF-SHA256) from the server's mail
 * key and the import id — the same footing as apps/api/src/auth/secret-box.ts: the database alone
 * does not reveal the mail; whoever holds the data folder's key file and the database does, until
 * the job has sealed every message to the user's key and erased the parts.
 *
 *   part = 0x01 | nonce[12] | ciphertext | tag[16]     aad = "sealmail/import-part/v1" 0 importId 0 index
 *
 * The part count and total size are recorded when the upload completes, so a missing or moved
 * part fails to open instead of shortening the file.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Db } from '@sealmail/db';
import type { ServerMailKey } from '@sealmail/mailstore';

/** Plaintext bytes per sealed part. */
export const STAGING_PART_BYTES = 4 * 1024 * 1024;
const VERSION = 0x01;

/** The upload was larger than allowed; nothing of it is kept. */
export class UploadTooLargeError extends Error {
  override readonly name = 'UploadTooLargeError';
}

export class ImportStaging {
  readonly #root: Buffer;
  constructor(
    private readonly db: Db,
    serverKey: ServerMailKey,
  ) {
    this.#root = Buffer.from(hkdfSync('sha256', serverKey.secretKey, Buffer.alloc(0), 'sealmail/import-staging/v1', 32));
  }

  #key(importId: string): Buffer {
    return Buffer.from(hkdfSync('sha256', this.#root, Buffer.from(importId), 'sealmail/import-part/v1', 32));
  }

  #aad(importId: string, index: number): Buffer {
    return Buffer.from(`sealmail/import-part/v1\0${importId}\0${index}`);
  }

  #seal(key: Buffer, importId: string, index: number, plaintext: Buffer): Buffer {
    const nonce = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', key, nonce);
    c.setAAD(this.#aad(importId, index));
    const out = Buffer.concat([Buffer.of(VERSION), nonce, c.update(plaintext), c.final(), c.getAuthTag()]);
    plaintext.fill(0);
    return out;
  }

  #open(key: Buffer, importId: string, index: number, sealed: Uint8Array): Buffer {
    const b = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    if (b.length < 1 + 12 + 16 || b[0] !== VERSION) throw new Error(`import part ${index} is not readable`);
    const d = createDecipheriv('aes-256-gcm', key, b.subarray(1, 13));
    d.setAAD(this.#aad(importId, index));
    d.setAuthTag(b.subarray(b.length - 16));
    return Buffer.concat([d.update(b.subarray(13, b.length - 16)), d.final()]);
  }

  /**
   * Seals a stream into parts as it arrives (never more than one part in memory); answers the
   * plaintext size and part count. Over `maxBytes`: the parts written are deleted and
   * UploadTooLargeError is thrown.
   */
  async write(importId: string, source: AsyncIterable<Uint8Array>, maxBytes: number): Promise<{ size: number; parts: number }> {
    const key = this.#key(importId);
    let buf = Buffer.alloc(STAGING_PART_BYTES);
    let fill = 0;
    let size = 0;
    let parts = 0;
    const flush = async () => {
      if (!fill) return;
      const data = this.#seal(key, importId, parts, buf.subarray(0, fill));
      await this.db.mailImportPart.create({ data: { importId, index: parts, data: data as Uint8Array<ArrayBuffer> } });
      parts++;
      fill = 0;
    };
    try {
      for await (const chunk of source) {
        size += chunk.length;
        if (size > maxBytes) throw new UploadTooLargeError(`larger than ${maxBytes} bytes`);
        let at = 0;
        while (at < chunk.length) {
          const n = Math.min(chunk.length - at, STAGING_PART_BYTES - fill);
          buf.set(chunk.subarray(at, at + n), fill);
          fill += n;
          at += n;
          if (fill === STAGING_PART_BYTES) {
            await flush();
            buf = Buffer.alloc(STAGING_PART_BYTES);
          }
        }
      }
      await flush();
      return { size, parts };
    } catch (err) {
      await this.delete(importId);
      throw err;
    } finally {
      buf.fill(0);
    }
  }

  /** Reads part `index` and opens it. */
  async part(importId: string, index: number): Promise<Buffer> {
    const row = await this.db.mailImportPart.findUnique({ where: { importId_index: { importId, index } }, select: { data: true } });
    if (!row) throw new Error(`import part ${index} is missing`);
    return this.#open(this.#key(importId), importId, index, row.data);
  }

  /** The whole file, part after part (one part in memory at a time). */
  stream(importId: string, parts: number): Readable {
    const part = (i: number) => this.part(importId, i);
    return Readable.from(
      (async function* () {
        for (let i = 0; i < parts; i++) yield await part(i);
      })(),
      { objectMode: false },
    );
  }

  /** Reads `[start, end)` of the file (for zip readers), holding at most two opened parts. */
  reader(importId: string, size: number): (start: number, end: number) => Promise<Buffer> {
    const cache = new Map<number, Buffer>();
    const get = async (i: number) => {
      const hit = cache.get(i);
      if (hit) return hit;
      const p = await this.part(importId, i);
      if (cache.size >= 2) {
        const [oldest] = cache.keys();
        cache.get(oldest!)!.fill(0);
        cache.delete(oldest!);
      }
      cache.set(i, p);
      return p;
    };
    return async (start, end) => {
      end = Math.min(end, size);
      const out: Buffer[] = [];
      for (let at = start; at < end; ) {
        const i = Math.floor(at / STAGING_PART_BYTES);
        const p = await get(i);
        const from = at - i * STAGING_PART_BYTES;
        const to = Math.min(p.length, end - i * STAGING_PART_BYTES);
        out.push(Buffer.from(p.subarray(from, to)));
        at += to - from;
      }
      return Buffer.concat(out);
    };
  }

  async delete(importId: string): Promise<void> {
    await this.db.mailImportPart.deleteMany({ where: { importId } });
  }
}
