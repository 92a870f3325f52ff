/**
 * X-Wing (draft-connolly-cfrg-xwing-kem): the hybrid KEM combining X25519 and ML-KEM-768, from
 * @noble/post-quantum (`ml_kem768_x25519`, whose test suite carries the draft's vectors). Secret
 * keys are the 32-byte seed; public keys 1216 bytes; encapsulations 1120 bytes. Used as an HPKE
 * KEM (id 0x647a) for every box to a device or per-user key (docs/crypto.md §5).
 */
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';
import { shake256 } from '@noble/hashes/sha3.js';
import { checkBytes } from './bytes';
import { CryptoError } from './errors';
import type { Kem } from './hpke';

export const XWING_PUBLIC_KEY_BYTES = 1216;
export const XWING_SECRET_KEY_BYTES = 32;
export const XWING_ENC_BYTES = 1120;

/** Key pair from a 32-byte seed (the seed is the secret key). */
export function xwingKeyPair(seed: Uint8Array): { secretKey: Uint8Array; publicKey: Uint8Array } {
  checkBytes(seed, 'seed', 32);
  const kp = ml_kem768_x25519.keygen(seed);
  return { secretKey: kp.secretKey, publicKey: kp.publicKey };
}

export const xwingKem: Kem = {
  id: 0x647a,
  name: 'X-Wing',
  Nenc: XWING_ENC_BYTES,
  Npk: XWING_PUBLIC_KEY_BYTES,
  Nsk: XWING_SECRET_KEY_BYTES,
  /** DeriveKeyPair(ikm) = keygen(SHAKE256(ikm, 32)), as the X-Wing draft defines it for HPKE. */
  deriveKeyPair(ikm) {
    return xwingKeyPair(shake256(ikm, { dkLen: 32 }));
  },
  encap(publicKey, random) {
    checkBytes(publicKey, 'publicKey', XWING_PUBLIC_KEY_BYTES);
    try {
      const { cipherText, sharedSecret } = ml_kem768_x25519.encapsulate(publicKey, random(64));
      return { enc: cipherText, sharedSecret };
    } catch {
      throw new CryptoError('INVALID_INPUT', '"publicKey" is not a valid X-Wing public key');
    }
  },
  decap(enc, secretKey) {
    checkBytes(enc, 'enc', XWING_ENC_BYTES);
    checkBytes(secretKey, 'secretKey', XWING_SECRET_KEY_BYTES);
    try {
      return ml_kem768_x25519.decapsulate(enc, secretKey);
    } catch {
      throw new CryptoError('DECRYPTION_FAILED', 'decryption failed');
    }
  },
};
