/**
 * Gathers small stream chunks (16–64 KiB from a socket or a file) into batches of about
 * `size` bytes, so the piece encryptor/decryptor, its hash and the stream machinery run once per
 * batch instead of once per chunk (docs/performance.md "Sealing and transfer"). One copy per
 * byte, which replaces the copy the piece queue would otherwise make of each small chunk.
 */
export class Batcher {
  private chunks: Uint8Array[] = [];
  private length = 0;

  constructor(private readonly size = 1 << 20) {}

  /** Adds a chunk; answers a batch once `size` bytes are gathered, else null. */
  add(chunk: Uint8Array): Uint8Array | null {
    if (!chunk.length) return null;
    if (!this.length && chunk.length >= this.size) return chunk; // large already: no copy
    this.chunks.push(chunk);
    this.length += chunk.length;
    return this.length >= this.size ? this.take() : null;
  }

  /** What is left (possibly empty). */
  take(): Uint8Array {
    const out = this.chunks.length === 1 ? this.chunks[0]! : new Uint8Array(this.length);
    if (this.chunks.length > 1) {
      let at = 0;
      for (const c of this.chunks) {
        out.set(c, at);
        at += c.length;
      }
    }
    this.chunks = [];
    this.length = 0;
    return out;
  }
}
