/**
 * The byte queue of the streaming piece encryptor and decryptor (aead-stream.ts). Internal module.
 */

/**
 * A queue of byte arrays from which exact-length prefixes can be taken. Each input byte is copied
 * at most once by `detach` (only arrays the caller still owns are copied) and at most once more
 * when a chunk straddles two arrays that do not follow one another in one buffer.
 */
export class ByteQueue {
  private parts: Uint8Array[] = [];
  /** Arrays in `parts` that are this queue's own copies, or that the caller will never change (`stable`). */
  private owned = new WeakSet<Uint8Array>();
  length = 0;
  /** Queues `b`; with `stable`, the caller promises never to change those bytes, so `detach` leaves them be. */
  push(b: Uint8Array, stable = false): void {
    if (b.length) {
      this.parts.push(b);
      if (stable) this.owned.add(b);
      this.length += b.length;
    }
  }
  take(n: number): Uint8Array {
    const first = this.parts[0];
    if (first && first.length >= n) {
      // Fast path: no copy when the chunk lies within one input buffer.
      const out = first.subarray(0, n);
      if (first.length === n) this.parts.shift();
      else this.keep(0, first.subarray(n), first);
      this.length -= n;
      return out;
    }
    // Arrays that follow one another in one buffer (views of a buffer being filled) are one span:
    // a view of it, no copy. Such a view is read before the push that took it returns.
    if (first && this.contiguous(n)) {
      const out = new Uint8Array(first.buffer, first.byteOffset, n);
      for (let left = n; left > 0; ) {
        const p = this.parts[0]!;
        if (p.length <= left) {
          left -= p.length;
          this.parts.shift();
        } else {
          this.keep(0, p.subarray(left), p);
          left = 0;
        }
      }
      this.length -= n;
      return out;
    }
    const out = new Uint8Array(n);
    let o = 0;
    while (o < n) {
      const p = this.parts[0]!;
      const k = Math.min(p.length, n - o);
      out.set(p.subarray(0, k), o);
      o += k;
      if (k === p.length) this.parts.shift();
      else this.keep(0, p.subarray(k), p);
    }
    this.length -= n;
    return out;
  }
  /** True when the first arrays, `n` bytes or more of them, follow one another in one buffer. */
  private contiguous(n: number): boolean {
    const first = this.parts[0]!;
    let span = first.length;
    for (let i = 1; span < n && i < this.parts.length; i++) {
      const prev = this.parts[i - 1]!;
      const p = this.parts[i]!;
      if (p.buffer !== first.buffer || p.byteOffset !== prev.byteOffset + prev.length) return false;
      span += p.length;
    }
    return span >= n;
  }
  /** Replaces part `i` by a view `rest` of `from`, keeping its ownership. */
  private keep(i: number, rest: Uint8Array, from: Uint8Array): void {
    this.parts[i] = rest;
    if (this.owned.has(from)) this.owned.add(rest);
  }
  /** Copies what the caller still owns (less than one chunk is queued) so callers may reuse their buffers. */
  detach(): void {
    for (let i = 0; i < this.parts.length; i++) {
      const p = this.parts[i]!;
      if (this.owned.has(p)) continue;
      // Uint8Array's slice copies; a Node Buffer's `slice` is a view of the caller's memory.
      const c = Uint8Array.prototype.slice.call(p);
      this.owned.add(c);
      this.parts[i] = c;
    }
  }
}
