/**
 * Sealing an attachment as it is decoded (deliver-local.ts, docs/performance.md "Ingest"): its
 * plaintext goes into the piece encryptor a chunk at a time (one reused 256 KiB buffer), and the
 * ciphertext into blob parts of exactly `mailLimits.blobPartBytes`, each written to the blob store
 * as soon as it is full. Neither the decoded attachment nor its ciphertext is ever held whole: at
 * most one plaintext chunk and one part per attachment being sealed.
 */
import { createHash } from 'node:crypto';
import { mailLimits } from '@sealmail/contract';
import type { BlobStore } from './blob-store';

/** What `createMailPieceEncryptor` (@sealmail/crypto) gives. */
export interface PieceSealer<P> {
  push(plaintext: Uint8Array): Promise<Uint8Array>;
  final(): Promise<{ last: Uint8Array; piece: P }>;
}

/** Plaintext handed to the encryptor at a time: one AEAD chunk (PIECE.chunkSize), so each push answers one sealed chunk, not a join of several. */
export const SEAL_CHUNK_BYTES = 256 * 1024;

/**
 * Seals `plaintext` with `enc` and writes the ciphertext to `blobId` part by part. Answers the
 * piece, the ciphertext's size, part count and SHA-256 (what the blob row records).
 */
export async function sealToBlobParts<P>(blobs: BlobStore, blobId: string, enc: PieceSealer<P>, plaintext: AsyncIterable<Uint8Array>, partBytes: number = mailLimits.blobPartBytes): Promise<{ piece: P; size: number; parts: number; sha256: Uint8Array<ArrayBuffer> }> {
  const hash = createHash('sha256');
  // Reused for every chunk: the encryptor copies what it keeps (aead-stream.ts), so it may be overwritten.
  const staging = new Uint8Array(SEAL_CHUNK_BYTES);
  let staged = 0;
  let part: Buffer | null = null;
  let fill = 0;
  let parts = 0;
  let size = 0;
  const writePart = async () => {
    const out = part!.subarray(0, fill);
    await blobs.putPart(blobId, parts++, out);
    hash.update(out);
    size += fill;
    // A new buffer for the next part: a store may still hold on to the one it was given.
    part = null;
    fill = 0;
  };
  const take = async (ct: Uint8Array) => {
    for (let at = 0; at < ct.length; ) {
      part ??= Buffer.allocUnsafeSlow(partBytes);
      const n = Math.min(ct.length - at, partBytes - fill);
      part.set(ct.subarray(at, at + n), fill);
      fill += n;
      at += n;
      if (fill === partBytes) await writePart();
    }
  };
  try {
    for await (const chunk of plaintext) {
      for (let at = 0; at < chunk.length; ) {
        const n = Math.min(chunk.length - at, SEAL_CHUNK_BYTES - staged);
        staging.set(chunk.subarray(at, at + n), staged);
        staged += n;
        at += n;
        if (staged === SEAL_CHUNK_BYTES) {
          // The encryptor copies what it keeps (less than a chunk): the staging buffer is free again.
          await take(await enc.push(staging));
          staged = 0;
        }
      }
    }
    if (staged) await take(await enc.push(staging.subarray(0, staged)));
    const { last, piece } = await enc.final();
    await take(last);
    if (fill) await writePart();
    return { piece, size, parts, sha256: new Uint8Array(hash.digest()) };
  } finally {
    staging.fill(0);
  }
}
