/**
 * Device keys, virtual-device keys and public key bundles — docs/crypto.md §3.1–§3.2, §5.3.
 *
 * A device (real or virtual: backup key, escrow) holds an Ed25519 signing key pair and an X-Wing
 * encryption key pair. Real devices draw both seeds from the CSPRNG; virtual devices derive them
 * from one secret with HKDF-SHA256 and domain-separated labels.
 *
 *   public key bundle = 0x01 | 0x01 | ed25519_pk[32] | xwing_pk[1216]      (1250 bytes)
 *   key id            = SHA-256("sealmail/v1/key-id" | 0x00 | bundle)        (32 bytes)
 */
import { expand, extract } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { CryptoError } from './errors';
import { abytes, astring, concat, randomBytes, utf8, type RandomSource } from './_util';
import { ed25519KeyPairFromSeed, type SigningKeyPair } from './ed25519';
import { XWING, xwingKeyPairFromSeed, type KemKeyPair } from './xwing';

/** A device's (or virtual device's, or per-user key generation's) two key pairs. */
export interface KeySet {
  readonly signing: SigningKeyPair;
  readonly encryption: KemKeyPair;
}

/** The public half of a {@link KeySet}. */
export interface PublicKeys {
  readonly signingPublicKey: Uint8Array;
  readonly encryptionPublicKey: Uint8Array;
}

/** Format constants of public key bundles (docs/crypto.md §5.3). */
export const KEY_BUNDLE = Object.freeze({ version: 0x01, suiteEd25519XWing: 0x01, length: 2 + 32 + XWING.publicKey });

/**
 * Generates a device's key set locally (docs/crypto.md §3.1); secrets never leave the device.
 * @throws {CryptoError} INVALID_INPUT when `random` misbehaves.
 */
export function generateDeviceKeys(opts: { random?: RandomSource } = {}): KeySet {
  return {
    signing: ed25519KeyPairFromSeed(randomBytes(opts.random, 32)),
    encryption: xwingKeyPairFromSeed(randomBytes(opts.random, 32)),
  };
}

/**
 * Derives a key set from a secret with HKDF-SHA256 (docs/crypto.md §6):
 * `prk = Extract(salt = label, ikm = secret)`, signing seed = `Expand(prk, label + "/signing", 32)`,
 * encryption seed = `Expand(prk, label + "/encryption", 32)`. Used for per-user keys, the backup
 * key and escrow keys, each with its own label.
 * @throws {CryptoError} INVALID_INPUT when `secret` is shorter than 16 bytes or `label` is empty.
 */
export function deriveKeySet(secret: Uint8Array, label: string): KeySet {
  abytes(secret, 'secret');
  if (secret.length < 16) throw new CryptoError('INVALID_INPUT', `"secret" expected at least 16 bytes, got ${secret.length}`);
  astring(label, 'label', 128);
  const prk = extract(sha256, secret, utf8(label));
  const s = expand(sha256, prk, utf8(label + '/signing'), 32);
  const e = expand(sha256, prk, utf8(label + '/encryption'), 32);
  const out = { signing: ed25519KeyPairFromSeed(s), encryption: xwingKeyPairFromSeed(e) };
  s.fill(0);
  e.fill(0);
  prk.fill(0);
  return out;
}

/** The public keys of a key set. @throws Nothing. */
export function publicKeysOf(keys: KeySet): PublicKeys {
  return { signingPublicKey: keys.signing.publicKey, encryptionPublicKey: keys.encryption.publicKey };
}

/**
 * Encodes public keys as a bundle (docs/crypto.md §5.3).
 * @throws {CryptoError} INVALID_INPUT on wrong key sizes.
 */
export function encodePublicKeys(keys: PublicKeys): Uint8Array {
  return concat(
    new Uint8Array([KEY_BUNDLE.version, KEY_BUNDLE.suiteEd25519XWing]),
    abytes(keys.signingPublicKey, 'signingPublicKey', 32),
    abytes(keys.encryptionPublicKey, 'encryptionPublicKey', XWING.publicKey),
  );
}

/**
 * Decodes a public key bundle.
 * @throws {CryptoError} UNSUPPORTED_VERSION, UNSUPPORTED_SUITE, MALFORMED (wrong length).
 */
export function decodePublicKeys(bundle: Uint8Array): PublicKeys {
  abytes(bundle, 'bundle');
  if (bundle.length < 2) throw new CryptoError('MALFORMED', 'key bundle: truncated');
  if (bundle[0] !== KEY_BUNDLE.version) throw new CryptoError('UNSUPPORTED_VERSION', `key bundle: unsupported version ${bundle[0]}`);
  if (bundle[1] !== KEY_BUNDLE.suiteEd25519XWing) throw new CryptoError('UNSUPPORTED_SUITE', `key bundle: unsupported suite ${bundle[1]}`);
  if (bundle.length !== KEY_BUNDLE.length) throw new CryptoError('MALFORMED', 'key bundle: wrong length');
  return { signingPublicKey: bundle.slice(2, 34), encryptionPublicKey: bundle.slice(34) };
}

/**
 * The 32-byte key id of public keys: SHA-256 over a label and the bundle (docs/crypto.md §5.3).
 * Boxes and digests bind key ids rather than 1250-byte bundles.
 * @throws {CryptoError} INVALID_INPUT on wrong key sizes.
 */
export function keyId(keys: PublicKeys): Uint8Array {
  return sha256(concat(utf8('sealmail/v1/key-id\0'), encodePublicKeys(keys)));
}
