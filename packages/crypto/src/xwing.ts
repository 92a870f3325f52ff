/**
 * X-Wing hybrid KEM: X25519 + ML-KEM-768 (draft-connolly-cfrg-xwing-kem) — docs/crypto.md §4.2.
 *
 * `@noble/post-quantum`'s `ml_kem768_x25519` is X-Wing (SHAKE256 seed expansion, combiner
 * `SHA3-256(ss_M || ss_X || ct_X || pk_X || "\.//^\")`); test/xwing.test.ts checks it against the
 * draft's published vectors. Secret keys are the 32-byte seed; public keys are `pk_M || pk_X`.
 */
import { sha3_256 } from '@noble/hashes/sha3.js';
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { abytes, concat, decryptionFailed, randomBytes, type RandomSource } from './_util';
import { nativeEphemeralX25519 } from './_x25519';
import { CryptoError } from './errors';

/** X-Wing's combiner label `\.//^\` (hex 5c2e2f2f5e5c). */
const XWING_LABEL = new Uint8Array([0x5c, 0x2e, 0x2f, 0x2f, 0x5e, 0x5c]);

/** X-Wing sizes in bytes (draft-connolly-cfrg-xwing-kem §5). */
export const XWING = Object.freeze({ secretKey: 32, publicKey: 1216, cipherText: 1120, sharedSecret: 32, eseed: 64 });

/** An X-Wing key pair: 32-byte seed secret key, 1216-byte public key. */
export interface KemKeyPair {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/**
 * X-Wing `GenerateKeyPairDerand`: the key pair of a 32-byte seed.
 * @throws {CryptoError} INVALID_INPUT when `seed` is not 32 bytes.
 */
export function xwingKeyPairFromSeed(seed: Uint8Array): KemKeyPair {
  abytes(seed, 'seed', XWING.secretKey);
  const { publicKey } = ml_kem768_x25519.keygen(Uint8Array.from(seed));
  return { secretKey: Uint8Array.from(seed), publicKey };
}

/**
 * Generates a fresh X-Wing key pair.
 * @throws {CryptoError} INVALID_INPUT when `random` misbehaves.
 */
export function generateXWingKeyPair(opts: { random?: RandomSource } = {}): KemKeyPair {
  return xwingKeyPairFromSeed(randomBytes(opts.random, XWING.secretKey));
}

/**
 * X-Wing `Encapsulate` (with `eseed`: `EncapsulateDerand`).
 * @throws {CryptoError} INVALID_INPUT when `publicKey` is not 1216 bytes or fails ML-KEM's key check.
 */
export function xwingEncapsulate(
  publicKey: Uint8Array,
  opts: { random?: RandomSource; eseed?: Uint8Array } = {},
): { cipherText: Uint8Array; sharedSecret: Uint8Array } {
  abytes(publicKey, 'publicKey', XWING.publicKey);
  const eseed = opts.eseed ? abytes(opts.eseed, 'eseed', XWING.eseed) : randomBytes(opts.random, XWING.eseed);
  try {
    return ml_kem768_x25519.encapsulate(publicKey, eseed);
  } catch {
    throw new CryptoError('INVALID_INPUT', '"publicKey" is not a valid X-Wing public key');
  }
}

/**
 * X-Wing `Decapsulate`. ML-KEM's implicit rejection means a wrong ciphertext yields a
 * pseudorandom secret, which the AEAD that follows rejects. An X25519 half that the library
 * refuses outright (a small-order point gives an all-zero shared secret, which noble rejects)
 * is a malformed encapsulation from an attacker: it fails as DECRYPTION_FAILED like any other
 * bad ciphertext, never as a raw library error.
 * @throws {CryptoError} INVALID_INPUT when sizes are wrong; DECRYPTION_FAILED when the library
 *   refuses the ciphertext.
 */
export function xwingDecapsulate(cipherText: Uint8Array, secretKey: Uint8Array): Uint8Array {
  abytes(cipherText, 'cipherText', XWING.cipherText);
  abytes(secretKey, 'secretKey', XWING.secretKey);
  try {
    return ml_kem768_x25519.decapsulate(cipherText, secretKey);
  } catch {
    throw decryptionFailed();
  }
}

/**
 * X-Wing `Encapsulate` with the X25519 half done natively through WebCrypto when available
 * (about 2.5× faster in Node; docs/crypto.md §4.2). The combination is exactly the draft's:
 * `ss = SHA3-256(ss_M | ss_X | ct_X | pk_X | "\\.//^\\")`, `ct = ct_M | ct_X`. When the caller
 * passes `random` or `eseed` (tests, deterministic use), or the runtime lacks WebCrypto X25519,
 * this is {@link xwingEncapsulate}.
 * @throws {CryptoError} INVALID_INPUT when `publicKey` is not 1216 bytes or fails the key checks.
 */
export async function xwingEncapsulateAsync(
  publicKey: Uint8Array,
  opts: { random?: RandomSource; eseed?: Uint8Array } = {},
): Promise<{ cipherText: Uint8Array; sharedSecret: Uint8Array }> {
  abytes(publicKey, 'publicKey', XWING.publicKey);
  if (opts.random || opts.eseed) return xwingEncapsulate(publicKey, opts);
  const pkM = publicKey.subarray(0, 1184);
  const pkX = publicKey.subarray(1184);
  let x: { publicKey: Uint8Array; sharedSecret: Uint8Array } | null;
  let m: { cipherText: Uint8Array; sharedSecret: Uint8Array };
  try {
    x = await nativeEphemeralX25519(pkX);
    if (!x) return xwingEncapsulate(publicKey);
    m = ml_kem768.encapsulate(pkM, randomBytes(undefined, 32));
  } catch {
    throw new CryptoError('INVALID_INPUT', '"publicKey" is not a valid X-Wing public key');
  }
  const sharedSecret = sha3_256(concat(m.sharedSecret, x.sharedSecret, x.publicKey, pkX, XWING_LABEL));
  m.sharedSecret.fill(0);
  x.sharedSecret.fill(0);
  return { cipherText: concat(m.cipherText, x.publicKey), sharedSecret };
}
