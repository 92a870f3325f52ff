/**
 * Ed25519 signatures (RFC 8032, pure Ed25519) — docs/crypto.md §4.1.
 *
 * Verification is strict RFC 8032 / cofactorless (`zip215: false`): non-canonical encodings are
 * rejected so that one message has one valid signature encoding per key (SUF-CMA).
 * Sealmail never signs raw application bytes: {@link signWithContext} prefixes a labelled context.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { CryptoError } from './errors';
import { abytes, astring, concat, randomBytes, utf8, type RandomSource } from './_util';
import { nativeEd25519Sign } from './_ed25519';

/** An Ed25519 key pair: `secretKey` is the 32-byte RFC 8032 seed, `publicKey` 32 bytes. */
export interface SigningKeyPair {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** Length in bytes of an Ed25519 signature. */
export const ED25519_SIGNATURE_LENGTH = 64;

/**
 * Derives the Ed25519 key pair of a 32-byte seed (RFC 8032 §5.1.5).
 * @throws {CryptoError} INVALID_INPUT when `seed` is not 32 bytes.
 */
export function ed25519KeyPairFromSeed(seed: Uint8Array): SigningKeyPair {
  abytes(seed, 'seed', 32);
  return { secretKey: Uint8Array.from(seed), publicKey: ed25519.getPublicKey(seed) };
}

/**
 * Generates a fresh Ed25519 key pair.
 * @throws {CryptoError} INVALID_INPUT when `random` misbehaves.
 */
export function generateSigningKeyPair(opts: { random?: RandomSource } = {}): SigningKeyPair {
  return ed25519KeyPairFromSeed(randomBytes(opts.random, 32));
}

/**
 * Signs `message` with pure Ed25519 (RFC 8032 §5.1.6).
 * @throws {CryptoError} INVALID_INPUT when `secretKey` is not 32 bytes or `message` not bytes.
 */
export function ed25519Sign(secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  abytes(secretKey, 'secretKey', 32);
  abytes(message, 'message');
  return ed25519.sign(message, secretKey);
}

/**
 * {@link ed25519Sign} natively through WebCrypto where it has Ed25519 (about 10× faster), else
 * `@noble/curves`. Ed25519 is deterministic: the bytes are the same either way.
 * @throws {CryptoError} INVALID_INPUT when `secretKey` is not 32 bytes or `message` not bytes.
 */
export async function ed25519SignAsync(secretKey: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
  abytes(secretKey, 'secretKey', 32);
  abytes(message, 'message');
  return (await nativeEd25519Sign(secretKey, message)) ?? ed25519.sign(message, secretKey);
}

/**
 * Verifies a pure Ed25519 signature (RFC 8032 §5.1.7, strict). Returns false on any malformed input.
 * @throws {CryptoError} INVALID_INPUT when arguments are not byte arrays.
 */
export function ed25519Verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  abytes(signature, 'signature');
  abytes(message, 'message');
  abytes(publicKey, 'publicKey');
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

/** The bytes actually signed for a context: `"sealmail-sig-v1" 0x00 context 0x00 message` (docs/crypto.md §4.1). */
function contextInput(context: string, message: Uint8Array): Uint8Array {
  astring(context, 'context', 255);
  if (context.includes('\0')) throw new CryptoError('INVALID_INPUT', '"context" must not contain NUL');
  return concat(utf8('sealmail-sig-v1\0' + context + '\0'), abytes(message, 'message'));
}

/**
 * Signs `message` under a domain-separation `context` (e.g. `"mail-digest"`), so that a signature
 * made for one purpose can never be replayed as another (docs/crypto.md §4.1).
 * @throws {CryptoError} INVALID_INPUT on a bad key, empty context or context containing NUL.
 */
export function signWithContext(secretKey: Uint8Array, context: string, message: Uint8Array): Uint8Array {
  return ed25519Sign(secretKey, contextInput(context, message));
}

/**
 * {@link signWithContext} with the native signer where available (same bytes).
 * @throws {CryptoError} INVALID_INPUT on a bad key, empty context or context containing NUL.
 */
export async function signWithContextAsync(secretKey: Uint8Array, context: string, message: Uint8Array): Promise<Uint8Array> {
  return ed25519SignAsync(secretKey, contextInput(context, message));
}

/**
 * Verifies a signature made by {@link signWithContext}.
 * @throws {CryptoError} INVALID_INPUT on a bad context or non-byte arguments.
 */
export function verifyWithContext(
  publicKey: Uint8Array,
  context: string,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  return ed25519Verify(signature, contextInput(context, message), publicKey);
}
