/**
 * Incremental SHA-256 for piece ciphertext hashes (docs/crypto.md §7.1): Node's own hash where
 * the runtime is Node (through `process.getBuiltinModule`, invisible to bundlers; about 10× the
 * pure-JS speed on 25 MiB attachments), else `@noble/hashes`. Same function (FIPS 180-4), same
 * digest. Internal module.
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

/** SHA-256 of `data` in one call, natively where possible. */
export const sha256Fast = (data: Uint8Array): Uint8Array => createSha256().update(data).digest();
