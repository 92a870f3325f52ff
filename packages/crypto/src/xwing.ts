/**
 * X-Wing hybrid KEM: X25519 + ML-KEM-768 (draft-connolly-cfrg-xwing-kem) — docs/crypto.md §4.2.
 *
 * `@noble/post-quantum`'s `ml_kem768_x25519` is X-Wing (SHAKE256 seed expansion, combiner
 * `SHA3-256(ss_M || ss_X || ct_X || pk_X || "\.//^\")`); test/xwing.test.ts checks it against the
 * draft's published vectors. Secret keys are the 32-byte seed; public keys are `pk_M || pk_X`.
 */
import { x25519 } from '@noble/curves/ed25519.js';
import { sha3_256, shake256 } from '@noble/hashes/sha3.js';
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { abytes, concat, decryptionFailed, equalBytes, randomBytes, type RandomSource } from './_util';
import { toHex } from './encoding';
import { nativeEphemeralX25519, nativeX25519 } from './_x25519';
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
 * X-Wing `Decapsulate` in pure JS, on the holder's expanded key (kept per secret-key array, see
 * `expandSecretKey`; the same function as `@noble/post-quantum`'s `ml_kem768_x25519.decapsulate`,
 * which the vectors and test/xwing-native.test.ts check). ML-KEM's implicit rejection means a wrong ciphertext yields a
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
  const k = expandSecretKey(secretKey);
  const ctX = cipherText.subarray(1088);
  try {
    return combine(ml_kem768.decapsulate(cipherText.subarray(0, 1088), k.dkM), x25519.getSharedSecret(k.skX, ctX), ctX, k.pkX);
  } catch {
    throw decryptionFailed();
  }
}

/** What is used of noble's prepared ML-KEM key. */
interface PreparedMlKem {
  encapsulate(): { cipherText: Uint8Array; sharedSecret: Uint8Array };
}
/** Recipients' ML-KEM public keys pre-expanded (t̂ decoded, Â sampled): public data only. */
const prepared = new Map<string, PreparedMlKem>();
const PREPARED_MAX = 512;
const preparedByArray = new WeakMap<Uint8Array, { pkM: Uint8Array; p: PreparedMlKem }>();

/**
 * The ML-KEM-768 half of a recipient key, pre-expanded once (noble's `prepare`: the modulus check,
 * `H(ek)`, t̂ and the K² SampleNTT expansions of Â) and kept in a small LRU, so sealing to someone
 * again costs only the encryption itself (about 3× faster; docs/crypto.md §4.2). The output is
 * the same function of (ek, m) as `ml_kem768.encapsulate`.
 */
function preparedMlKem(publicKey: Uint8Array): PreparedMlKem {
  const pkM = publicKey.subarray(0, 1184);
  // The caller's array usually stays the same object (a recipient's key from their chain): a weak
  // hit costs one comparison; otherwise the LRU, keyed by the key's bytes.
  const weak = preparedByArray.get(publicKey);
  if (weak && equalBytes(weak.pkM, pkM)) return weak.p;
  const id = toHex(pkM);
  const hit = prepared.get(id);
  if (hit) prepared.delete(id); // re-inserted below: most recently used last
  else if (prepared.size >= PREPARED_MAX) prepared.delete(prepared.keys().next().value!);
  const p: PreparedMlKem = hit ?? (ml_kem768.prepare(pkM) as PreparedMlKem);
  prepared.set(id, p);
  preparedByArray.set(publicKey, { pkM: Uint8Array.from(pkM), p });
  return p;
}

/** The draft's combiner: `SHA3-256(ss_M | ss_X | ct_X | pk_X | "\\.//^\\")`; wipes both inputs. */
function combine(ssM: Uint8Array, ssX: Uint8Array, ctX: Uint8Array, pkX: Uint8Array): Uint8Array {
  const ss = sha3_256(concat(ssM, ssX, ctX, pkX, XWING_LABEL));
  ssM.fill(0);
  ssX.fill(0);
  return ss;
}

/**
 * X-Wing `Encapsulate` with the X25519 half done natively through WebCrypto when available
 * (docs/crypto.md §4.2) and the ML-KEM half on a pre-expanded recipient key. The combination is
 * exactly the draft's: `ss = SHA3-256(ss_M | ss_X | ct_X | pk_X | "\\.//^\\")`, `ct = ct_M | ct_X`.
 * When the caller passes `random` or `eseed` (tests, deterministic use), or the runtime lacks
 * WebCrypto X25519, this is {@link xwingEncapsulate}, the pure-JS reference.
 * @throws {CryptoError} INVALID_INPUT when `publicKey` is not 1216 bytes or fails the key checks.
 */
export async function xwingEncapsulateAsync(
  publicKey: Uint8Array,
  opts: { random?: RandomSource; eseed?: Uint8Array } = {},
): Promise<{ cipherText: Uint8Array; sharedSecret: Uint8Array }> {
  abytes(publicKey, 'publicKey', XWING.publicKey);
  if (opts.random || opts.eseed) return xwingEncapsulate(publicKey, opts);
  const pkX = publicKey.subarray(1184);
  let x: { publicKey: Uint8Array; sharedSecret: Uint8Array } | null;
  let m: { cipherText: Uint8Array; sharedSecret: Uint8Array };
  try {
    const pending = nativeEphemeralX25519(pkX); // WebCrypto works while ML-KEM runs
    m = preparedMlKem(publicKey).encapsulate();
    x = await pending;
    if (!x) {
      m.sharedSecret.fill(0);
      return xwingEncapsulate(publicKey);
    }
  } catch {
    throw new CryptoError('INVALID_INPUT', '"publicKey" is not a valid X-Wing public key');
  }
  const sharedSecret = combine(m.sharedSecret, x.sharedSecret, x.publicKey, pkX);
  return { cipherText: concat(m.cipherText, x.publicKey), sharedSecret };
}

/** A holder's X-Wing secret key expanded once (draft: `expandDecapsulationKey`). */
interface ExpandedKey {
  readonly seed: Uint8Array;
  readonly dkM: Uint8Array;
  readonly skX: Uint8Array;
  readonly pkX: Uint8Array;
}
/** Keyed by the caller's secret-key array; the seed copy guards against a caller reusing the array. */
const expanded = new WeakMap<Uint8Array, ExpandedKey>();

/**
 * `expandDecapsulationKey(sk)` of the draft: `expanded = SHAKE256(sk, 96)`, the ML-KEM key pair
 * of `expanded[0:64]`, the X25519 key `expanded[64:96]`. Kept per secret-key array (weakly), so
 * opening many boxes with one PUK skips ML-KEM key generation and the X25519 base multiplication.
 */
function expandSecretKey(secretKey: Uint8Array): ExpandedKey {
  const hit = expanded.get(secretKey);
  if (hit && equalBytes(hit.seed, secretKey)) return hit;
  const e = shake256(secretKey, { dkLen: 96 });
  const dkM = ml_kem768.keygen(e.subarray(0, 64)).secretKey;
  const skX = e.slice(64, 96);
  const k: ExpandedKey = { seed: Uint8Array.from(secretKey), dkM, skX, pkX: x25519.getPublicKey(skX) };
  e.fill(0);
  expanded.set(secretKey, k);
  return k;
}

/**
 * X-Wing `Decapsulate` on the holder's expanded key (cached), with the X25519 half natively
 * through WebCrypto when available, else `@noble/curves`. Same result as {@link xwingDecapsulate}.
 * @throws {CryptoError} INVALID_INPUT when sizes are wrong; DECRYPTION_FAILED when the X25519
 *   half is refused (small-order point).
 */
export async function xwingDecapsulateAsync(cipherText: Uint8Array, secretKey: Uint8Array): Promise<Uint8Array> {
  abytes(cipherText, 'cipherText', XWING.cipherText);
  abytes(secretKey, 'secretKey', XWING.secretKey);
  const k = expandSecretKey(secretKey);
  const ctM = cipherText.subarray(0, 1088);
  const ctX = cipherText.subarray(1088);
  try {
    const pending = nativeX25519(k.skX, ctX);
    const ssM = ml_kem768.decapsulate(ctM, k.dkM);
    const ssX = (await pending) ?? x25519.getSharedSecret(k.skX, ctX);
    return combine(ssM, ssX, ctX, k.pkX);
  } catch {
    throw decryptionFailed();
  }
}
