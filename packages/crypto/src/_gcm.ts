/**
 * AES-256-GCM backends for the piece AEAD (docs/crypto.md §5.2): Node's own cipher where the
 * runtime is Node (found through `process.getBuiltinModule`, so bundlers never see it), WebCrypto
 * in browsers, and `@noble/ciphers` as the portable path. All produce `ciphertext || 16-byte tag`,
 * byte-identical (test/aead-stream.test.ts proves it). Internal module.
 */
import { gcm } from '@noble/ciphers/aes.js';

/** Which AES-GCM implementation a piece encryptor/decryptor uses. */
export type AeadBackend = 'node' | 'webcrypto' | 'noble';

/** A keyed AES-256-GCM instance. `open` returns null when authentication fails. */
export interface Gcm {
  seal(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array>;
  open(nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array | null>;
  /** Seals into `dst` at `at` (ciphertext || tag: plaintext.length + 16 bytes), so callers gather chunks without another copy. */
  sealInto(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, dst: Uint8Array, at: number): Promise<void>;
  /** Opens into `dst` at `at` (ciphertext.length - 16 bytes); false (and that range zeroed) when authentication fails. */
  openInto(nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array, dst: Uint8Array, at: number): Promise<boolean>;
}

/** `sealInto`/`openInto` over `seal`/`open` (one copy), for the backends that cannot write into a buffer. */
function withInto(g: Pick<Gcm, 'seal' | 'open'>): Gcm {
  return {
    ...g,
    sealInto: async (nonce, aad, pt, dst, at) => dst.set(await g.seal(nonce, aad, pt), at),
    openInto: async (nonce, aad, ct, dst, at) => {
      const pt = await g.open(nonce, aad, ct);
      if (!pt) {
        dst.fill(0, at, at + Math.max(0, ct.length - 16));
        return false;
      }
      dst.set(pt, at);
      return true;
    },
  };
}

let nodeBuffer: { allocUnsafeSlow(n: number): Uint8Array } | null | undefined;
/**
 * `n` bytes for an output the caller overwrites entirely before anyone sees it: not zero-filled
 * on Node (`Buffer.allocUnsafeSlow`, as Node's own cipher output is; 25 MiB of zeros cost as much
 * as a tenth of the encryption), a plain zeroed array elsewhere. Always a plain Uint8Array view.
 */
export function outputBuffer(n: number): Uint8Array {
  if (nodeBuffer === undefined) {
    const p = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    try {
      nodeBuffer = (p?.getBuiltinModule?.('node:buffer') as { Buffer?: { allocUnsafeSlow(n: number): Uint8Array } } | undefined)?.Buffer ?? null;
    } catch {
      nodeBuffer = null;
    }
  }
  if (!nodeBuffer || n < 4096) return new Uint8Array(n);
  const b = nodeBuffer.allocUnsafeSlow(n);
  return new Uint8Array(b.buffer, b.byteOffset, n);
}

/** The parts of `node:crypto` used here. */
interface NodeCrypto {
  createCipheriv(alg: 'aes-256-gcm', key: Uint8Array, iv: Uint8Array): { setAAD(a: Uint8Array): unknown; update(b: Uint8Array): Uint8Array; final(): Uint8Array; getAuthTag(): Uint8Array };
  createDecipheriv(alg: 'aes-256-gcm', key: Uint8Array, iv: Uint8Array): { setAAD(a: Uint8Array): unknown; setAuthTag(t: Uint8Array): unknown; update(b: Uint8Array): Uint8Array; final(): Uint8Array };
}

let nodeCrypto: NodeCrypto | null | undefined;
/** `node:crypto` when running on Node (≥ 20.16), else null. */
function getNodeCrypto(): NodeCrypto | null {
  if (nodeCrypto === undefined) {
    const p = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    try {
      nodeCrypto = (p?.getBuiltinModule?.('node:crypto') as NodeCrypto | undefined) ?? null;
    } catch {
      nodeCrypto = null;
    }
  }
  return nodeCrypto;
}

/** True when Node's own AES-256-GCM is available (the runtime is Node). */
export const hasNodeCrypto = (): boolean => getNodeCrypto() !== null;

/** True when WebCrypto's AES-GCM is available in this runtime. */
export const hasWebCrypto = (): boolean => typeof globalThis.crypto?.subtle?.importKey === 'function';

/** Below this many bytes the pure-JS path is faster than WebCrypto's per-call overhead (measured, docs/crypto.md §4.4). */
export const SMALL_PIECE = 8 * 1024;

/**
 * Picks `requested` (when the runtime has it); else Node's cipher on Node (fastest at every size:
 * no copies into a worker job, no per-call promise); else noble for one-shot pieces known to be
 * small; else WebCrypto when present; else noble. All produce identical bytes.
 */
export function pickBackend(requested?: AeadBackend, knownSize?: number): AeadBackend {
  if (requested === 'node' && !hasNodeCrypto()) requested = undefined;
  if (requested) return requested;
  if (hasNodeCrypto()) return 'node';
  if (knownSize !== undefined && knownSize <= SMALL_PIECE) return 'noble';
  return hasWebCrypto() ? 'webcrypto' : 'noble';
}

/** Creates a keyed AES-256-GCM instance on the chosen backend. */
export async function createGcm(key: Uint8Array, backend: AeadBackend): Promise<Gcm> {
  if (backend === 'noble') {
    key = Uint8Array.from(key); // the caller wipes its copy
    return withInto({
      seal: async (nonce, aad, pt) => gcm(key, nonce, aad).encrypt(pt),
      open: async (nonce, aad, ct) => {
        try {
          return gcm(key, nonce, aad).decrypt(ct);
        } catch {
          return null;
        }
      },
    });
  }
  if (backend === 'node') {
    const nc = getNodeCrypto();
    if (nc) return nodeGcm(nc, Uint8Array.from(key));
  }
  const subtle = globalThis.crypto.subtle;
  const k = await subtle.importKey('raw', key as BufferSource, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
  return withInto({
    seal: async (iv, additionalData, pt) =>
      new Uint8Array(
        await subtle.encrypt(
          { name: 'AES-GCM', iv: iv as BufferSource, additionalData: additionalData as BufferSource, tagLength: 128 },
          k,
          pt as BufferSource,
        ),
      ),
    open: async (iv, additionalData, ct) => {
      try {
        return new Uint8Array(
          await subtle.decrypt(
            { name: 'AES-GCM', iv: iv as BufferSource, additionalData: additionalData as BufferSource, tagLength: 128 },
            k,
            ct as BufferSource,
          ),
        );
      } catch {
        return null;
      }
    },
  });
}

/**
 * Node's AES-256-GCM, synchronous under a promise interface. `open` splits the tag off by
 * `subarray` (no copy) and releases the plaintext only after `final()` authenticated it.
 */
function nodeGcm(nc: NodeCrypto, key: Uint8Array): Gcm {
  return {
    seal: async (iv, aad, pt) => {
      const c = nc.createCipheriv('aes-256-gcm', key, iv);
      c.setAAD(aad);
      const body = c.update(pt);
      const fin = c.final();
      const out = new Uint8Array(body.length + fin.length + 16);
      out.set(body, 0);
      out.set(fin, body.length);
      out.set(c.getAuthTag(), body.length + fin.length);
      return out;
    },
    open: async (iv, aad, ct) => {
      if (ct.length < 16) return null;
      const d = nc.createDecipheriv('aes-256-gcm', key, iv);
      d.setAAD(aad);
      d.setAuthTag(ct.subarray(ct.length - 16));
      const body = d.update(ct.subarray(0, ct.length - 16));
      try {
        d.final();
      } catch {
        body.fill(0);
        return null;
      }
      return body;
    },
    sealInto: async (iv, aad, pt, dst, at) => {
      const c = nc.createCipheriv('aes-256-gcm', key, iv);
      c.setAAD(aad);
      const body = c.update(pt);
      dst.set(body, at);
      const fin = c.final(); // empty for GCM
      dst.set(fin, at + body.length);
      dst.set(c.getAuthTag(), at + body.length + fin.length);
    },
    openInto: async (iv, aad, ct, dst, at) => {
      if (ct.length < 16) return false;
      const d = nc.createDecipheriv('aes-256-gcm', key, iv);
      d.setAAD(aad);
      d.setAuthTag(ct.subarray(ct.length - 16));
      // Into the caller's own buffer, released by the caller only once every chunk authenticated.
      const body = d.update(ct.subarray(0, ct.length - 16));
      dst.set(body, at);
      try {
        d.final();
      } catch {
        dst.fill(0, at, at + ct.length - 16);
        return false;
      }
      return true;
    },
  };
}
