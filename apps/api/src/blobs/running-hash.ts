/**
 * SHA-256 of an upload as its parts arrive (docs/performance.md "Round trips and uploads"), so
 * completing an upload need not read every part back from the blob store and hash it again.
 *
 * Parts are hashed in index order after they were stored; one that arrives early (several parts
 * are in flight) waits in memory until the parts before it came, within a budget
 * (`maxWaitingBytes` for all uploads together). Anything unusual — a part sent again, a part
 * whose store failed, the budget exceeded, an upload this process did not create (another API
 * process, a restart), too many uploads at once — drops the running hash, and
 * completion reads the parts back and hashes them as before. The answer is therefore always the
 * SHA-256 of the bytes stored for every part, in order.
 */
import { createHash } from 'node:crypto';

/** An incremental SHA-256 whose digest may come later (a pluggable hash, e.g. for tests). */
export interface IncrementalHash {
  /** Takes the bytes over: the caller must not read them afterwards. */
  update(bytes: Uint8Array): void;
  digest(): Promise<Uint8Array<ArrayBuffer>>;
  /** The hash will not be asked for (the upload was dropped): free what it holds. */
  discard(): void;
}

/** Node's hash on the calling thread. */
export function inlineSha256(): IncrementalHash {
  const h = createHash('sha256');
  return {
    update: (bytes) => void h.update(bytes),
    digest: async () => new Uint8Array(h.digest()),
    discard: () => {},
  };
}

interface Running {
  hash: IncrementalHash;
  /** The next index to hash. */
  next: number;
  /** Indexes begun (stored or being stored): a second one for an index drops the hash. */
  begun: Set<number>;
  /** Parts stored ahead of `next`, waiting for the ones before them. */
  waiting: Map<number, Uint8Array>;
}

export class RunningHashes {
  private readonly uploads = new Map<string, Running | 'dropped'>();
  private waitingBytes = 0;

  constructor(
    private readonly limits: { maxWaitingBytes: number; maxUploads: number } = { maxWaitingBytes: 64 * 1024 * 1024, maxUploads: 1000 },
    /** The hash used per upload (Node's, inline, by default). */
    private readonly newHash: () => IncrementalHash = inlineSha256,
  ) {}

  /** Bytes held for parts that came early, over all uploads (never above `maxWaitingBytes`). */
  get heldBytes(): number {
    return this.waitingBytes;
  }

  /** An upload this process created: its parts are hashed as they come. */
  start(blobId: string): void {
    if (this.uploads.size >= this.limits.maxUploads) this.evictOldest();
    this.uploads.set(blobId, { hash: this.newHash(), next: 0, begun: new Set(), waiting: new Map() });
  }

  /** Before part `index` is stored. */
  begin(blobId: string, index: number): void {
    const r = this.uploads.get(blobId);
    if (!r || r === 'dropped') return; // created elsewhere (another process, before a restart): read back
    if (r.begun.has(index)) return this.drop(blobId); // sent again: what was hashed may not be what is stored
    r.begun.add(index);
  }

  /** After part `index` was stored with exactly `bytes`, which are handed over (kept by reference while they wait, then given to the hash): the caller must not read them afterwards. */
  stored(blobId: string, index: number, bytes: Uint8Array): void {
    const r = this.uploads.get(blobId);
    if (!r || r === 'dropped') return;
    if (index !== r.next) {
      if (this.waitingBytes + bytes.length > this.limits.maxWaitingBytes) return this.drop(blobId);
      r.waiting.set(index, bytes);
      this.waitingBytes += bytes.length;
      return;
    }
    r.hash.update(bytes);
    r.next++;
    for (let w = r.waiting.get(r.next); w; w = r.waiting.get(r.next)) {
      r.hash.update(w);
      r.waiting.delete(r.next);
      this.waitingBytes -= w.length;
      r.next++;
    }
  }

  /** Storing part `index` failed: the running hash cannot vouch for that part any more. */
  failed(blobId: string): void {
    if (this.uploads.has(blobId)) this.drop(blobId);
  }

  /** The SHA-256 of parts 0..parts-1 when every one was hashed exactly once; null: hash them again. Forgets the upload. */
  async take(blobId: string, parts: number): Promise<Uint8Array<ArrayBuffer> | null> {
    const r = this.uploads.get(blobId);
    this.forget(blobId);
    if (!r || r === 'dropped') return null;
    if (r.next !== parts || r.begun.size !== parts) {
      r.hash.discard();
      return null;
    }
    return r.hash.digest().catch(() => null); // a hash that cannot answer: read back
  }

  private drop(blobId: string): void {
    this.forget(blobId, true);
    this.uploads.set(blobId, 'dropped');
  }

  private forget(blobId: string, discard = false): void {
    const r = this.uploads.get(blobId);
    if (r && r !== 'dropped') {
      for (const w of r.waiting.values()) this.waitingBytes -= w.length;
      if (discard) r.hash.discard();
    }
    this.uploads.delete(blobId);
  }

  private evictOldest(): void {
    const oldest = this.uploads.keys().next();
    if (!oldest.done) this.forget(oldest.value, true);
  }
}
