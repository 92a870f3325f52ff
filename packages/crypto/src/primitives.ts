/**
 * The primitives, each from @noble (docs/crypto.md §3). This is the only module besides
 * piece.ts and xwing.ts that touches @noble directly.
 */
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf, extract as hkdfExtract, expand as hkdfExpand } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { checkBytes, concat, utf8 } from './bytes';
import { CryptoError } from './errors';

export { sha256 };

/** SHA-256 of a domain-separation label and the data (labels are listed in docs/crypto.md §4). */
export function labelledHash(label: string, ...data: Uint8Array[]): Uint8Array {
  const l = utf8(label);
  return sha256(concat(new Uint8Array([l.length]), l, ...data));
}

export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  return hmac(sha256, key, data);
}

/** HKDF-SHA256 (RFC 5869). */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array | undefined, info: Uint8Array, length: number): Uint8Array {
  return hkdf(sha256, ikm, salt, info, length);
}
export const hkdfSha256Extract = (salt: Uint8Array, ikm: Uint8Array): Uint8Array => hkdfExtract(sha256, ikm, salt);
export const hkdfSha256Expand = (prk: Uint8Array, info: Uint8Array, length: number): Uint8Array => hkdfExpand(sha256, prk, info, length);

/** ChaCha20-Poly1305 (RFC 8439). @throws CryptoError DECRYPTION_FAILED on a bad tag. */
export const chacha = {
  seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
    checkBytes(key, 'key', 32);
    checkBytes(nonce, 'nonce', 12);
    return chacha20poly1305(key, nonce, aad).encrypt(plaintext);
  },
  open(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Uint8Array {
    checkBytes(key, 'key', 32);
    checkBytes(nonce, 'nonce', 12);
    try {
      return chacha20poly1305(key, nonce, aad).decrypt(ciphertext);
    } catch {
      throw new CryptoError('DECRYPTION_FAILED', 'decryption failed');
    }
  },
};

/** Ed25519 (RFC 8032), pure. */
export const ed = {
  /** Public key of a 32-byte secret seed. */
  publicKey(secret: Uint8Array): Uint8Array {
    return ed25519.getPublicKey(checkBytes(secret, 'secretKey', 32));
  },
  sign(message: Uint8Array, secret: Uint8Array): Uint8Array {
    return ed25519.sign(message, checkBytes(secret, 'secretKey', 32));
  },
  /** false for any invalid signature, key or encoding; never throws on attacker input. */
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
    if (!(signature instanceof Uint8Array) || signature.length !== 64 || !(publicKey instanceof Uint8Array) || publicKey.length !== 32) return false;
    try {
      return ed25519.verify(signature, message, publicKey, { zip215: false });
    } catch {
      return false;
    }
  },
};

/** X25519 (RFC 7748). */
export const dh = {
  publicKey: (secret: Uint8Array): Uint8Array => x25519.getPublicKey(checkBytes(secret, 'secretKey', 32)),
  /** @throws CryptoError DECRYPTION_FAILED on an all-zero shared secret (low-order point). */
  shared(secret: Uint8Array, publicKey: Uint8Array): Uint8Array {
    try {
      return x25519.getSharedSecret(checkBytes(secret, 'secretKey', 32), checkBytes(publicKey, 'publicKey', 32));
    } catch (e) {
      if (e instanceof CryptoError) throw e;
      throw new CryptoError('DECRYPTION_FAILED', 'decryption failed');
    }
  },
};
