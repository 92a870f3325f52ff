/**
 * SHA-256 for piece ciphertext hashes (docs/crypto.md §7.1): Node's own hash where the runtime is
 * Node (through `process.getBuiltinModule`, invisible to bundlers; about 10× the pure-JS speed on
 * 25 MiB attachments); in browsers WebCrypto's digest for bytes that are all at hand (it has no
 * incremental form; about 11× the pure-JS speed in Chromium, `bench/browser.bench.ts`); else
 * `@noble/hashes`. Same function (FIPS 180-4), same digest. Internal module.
 */
import { sha256 } from '@noble/hashes/sha2.js';

/** An incremental SHA-256. */
export interface Sha256 {
  update(data: Uint8Array): Sha256;
  digest(): Uint8Array;
}

interface NodeHash {
  update(data: Uint8Array): unknown;
  digest(): Uint8Array;
}
let nodeCreateHash: ((alg: 'sha256') => NodeHash) | null | undefined;

function nodeHash(): ((alg: 'sha256') => NodeHash) | null {
  if (nodeCreateHash === undefined) {
    const p = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    try {
      nodeCreateHash = (p?.getBuiltinModule?.('node:crypto') as { createHash?: (alg: 'sha256') => NodeHash } | undefined)?.createHash ?? null;
    } catch {
      nodeCreateHash = null;
    }
  }
  return nodeCreateHash;
}

/** A fresh incremental SHA-256 (`native: false` forces the pure-JS one, for tests). */
export function createSha256(opts: { native?: boolean } = {}): Sha256 {
  const create = opts.native === false ? null : nodeHash();
  if (!create) return sha256.create();
  const h = create('sha256');
  const api: Sha256 = {
    update(data) {
      h.update(data);
      return api;
    },
    digest: () => new Uint8Array(h.digest()),
  };
  return api;
}

/** Below this many bytes the pure-JS hash costs less than a WebCrypto call. */
export const WHOLE_DIGEST_MIN = 64 * 1024;

/**
 * SHA-256 of bytes that are all at hand: Node's hash on Node, WebCrypto's digest elsewhere (for
 * all but small inputs), else the pure-JS one. `native: false` forces the pure-JS one (tests).
 */
export async function sha256Whole(data: Uint8Array, opts: { native?: boolean } = {}): Promise<Uint8Array> {
  const subtle = globalThis.crypto?.subtle;
  if (opts.native === false || nodeHash() || data.length < WHOLE_DIGEST_MIN || typeof subtle?.digest !== 'function') return createSha256(opts).update(data).digest();
  return new Uint8Array(await subtle.digest('SHA-256', data as BufferSource));
}

/** True when {@link sha256Whole} would use WebCrypto's digest for `n` bytes (browsers). */
export const wholeDigestIsFaster = (n: number): boolean => !nodeHash() && n >= WHOLE_DIGEST_MIN && typeof globalThis.crypto?.subtle?.digest === 'function';
