/**
 * Incremental SHA-256 off the event loop (docs/performance.md "Third round"): the running hash of
 * an upload (running-hash.ts) costs the API process about as much CPU as receiving the bytes over
 * TLS, and Node's hash is synchronous, so on the request thread it delays every other request. One
 * worker thread per process takes the parts (moved to it, in the order given) and answers the
 * digest when asked; the route never waits for it until the upload completes.
 *
 * Failure is safe: if the worker dies or errs, every pending digest rejects, `RunningHashes.take`
 * answers null, and completion reads the parts back and hashes them inline, as it would after a
 * restart.
 */
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/** An incremental SHA-256 whose digest may come later. */
export interface IncrementalHash {
  /** Takes the bytes over: the caller must not read them afterwards (the worker may move them). */
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

/** Plain CommonJS run with `eval`, so it needs no build step or loader (tsx, vitest, the bundle). */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hashes = new Map();
parentPort.on('message', (m) => {
  if (m.op === 'update') {
    let h = hashes.get(m.id);
    if (!h) hashes.set(m.id, (h = createHash('sha256')));
    h.update(m.bytes);
  } else if (m.op === 'digest') {
    const h = hashes.get(m.id) || createHash('sha256');
    hashes.delete(m.id);
    const digest = h.digest();
    parentPort.postMessage({ id: m.id, digest }, [digest.buffer]);
  } else if (m.op === 'discard') {
    hashes.delete(m.id);
  }
});
`;

/** One worker thread hashing for many uploads; `create()` gives each its own incremental hash. */
export class HashWorker {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (d: Uint8Array<ArrayBuffer>) => void; reject: (e: Error) => void }>();

  private get thread(): Worker {
    if (!this.worker) {
      const w = new Worker(WORKER_SOURCE, { eval: true });
      w.unref(); // never keeps the process alive
      w.on('message', (m: { id: number; digest: Uint8Array }) => {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        p?.resolve(new Uint8Array(m.digest.buffer as ArrayBuffer, m.digest.byteOffset, m.digest.byteLength));
      });
      const fail = (err: Error) => {
        if (this.worker === w) this.worker = null; // the next upload starts a new one
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      };
      w.on('error', fail);
      w.on('exit', (code) => fail(new Error(`hash worker exited (${code})`)));
      this.worker = w;
    }
    return this.worker;
  }

  create(): IncrementalHash {
    const id = this.nextId++;
    let thread: Worker;
    try {
      thread = this.thread;
    } catch {
      return inlineSha256(); // no worker threads here: hash inline
    }
    // The hash lives in this thread only: once it is gone (exited, replaced), nothing more is sent and the digest is refused.
    const gone = () => this.worker !== thread;
    return {
      update(bytes) {
        if (gone()) return;
        // A buffer that is the part's alone is moved to the worker (no copy; the caller's view is
        // left empty); a view of a larger buffer, or one Node will not move, is copied.
        const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
        if (whole) {
          try {
            thread.postMessage({ op: 'update', id, bytes }, [bytes.buffer as ArrayBuffer]);
            return;
          } catch {
            // untransferable (Node's buffer pool): copied below
          }
        }
        thread.postMessage({ op: 'update', id, bytes: bytes.slice() });
      },
      digest: () => {
        if (gone()) return Promise.reject(new Error('hash worker exited'));
        return new Promise((resolve, reject) => {
          this.pending.set(id, { resolve, reject });
          thread.postMessage({ op: 'digest', id });
        });
      },
      discard() {
        if (!gone()) thread.postMessage({ op: 'discard', id });
      },
    };
  }

  /** Stops the thread (pending digests reject; uploads after this start a new one). */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}
