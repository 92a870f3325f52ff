/**
 * AES-256-GCM backends for the piece AEAD (docs/crypto.md §5.2): WebCrypto where it exists and
 * `@noble/ciphers` as the portable path. Both produce `ciphertext || 16-byte tag`, byte-identical
 * (test/aead-stream.test.ts proves it). Internal module.
 */
import { gcm } from '@noble/ciphers/aes.js';

/** Which AES-GCM implementation a piece encryptor/decryptor uses. */
export type AeadBackend = 'webcrypto' | 'noble';

/** A keyed AES-256-GCM instance. `open` returns null when authentication fails. */
export interface Gcm {
  seal(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array>;
  open(nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array | null>;
}

/** True when WebCrypto's AES-GCM is available in this runtime. */
export const hasWebCrypto = (): boolean => typeof globalThis.crypto?.subtle?.importKey === 'function';

/** Below this many bytes the pure-JS path is faster than WebCrypto's per-call overhead (measured, docs/crypto.md §4.4). */
export const SMALL_PIECE = 8 * 1024;

/**
 * Picks `requested`; else noble for one-shot pieces known to be small; else WebCrypto when
 * present; else noble. Both backends produce identical bytes, so the choice is invisible.
 */
export function pickBackend(requested?: AeadBackend, knownSize?: number): AeadBackend {
  if (requested) return requested;
  if (knownSize !== undefined && knownSize <= SMALL_PIECE) return 'noble';
  return hasWebCrypto() ? 'webcrypto' : 'noble';
}

/** Creates a keyed AES-256-GCM instance on the chosen backend. */
export async function createGcm(key: Uint8Array, backend: AeadBackend): Promise<Gcm> {
  if (backend === 'noble') {
    key = Uint8Array.from(key); // the caller wipes its copy
    return {
      seal: async (nonce, aad, pt) => gcm(key, nonce, aad).encrypt(pt),
      open: async (nonce, aad, ct) => {
        try {
          return gcm(key, nonce, aad).decrypt(ct);
        } catch {
          return null;
        }
      },
    };
  }
  const subtle = globalThis.crypto.subtle;
  const k = await subtle.importKey('raw', key as BufferSource, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
  return {
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
  };
}
