/**
 * Local boxes: data a device keeps for itself at rest (the CLI's search index file) under a key
 * derived from one of the device's own secrets, so the file is useless without the device key
 * file — docs/crypto.md §5.13:
 *
 *   key    = HKDF-SHA256(ikm = device secret, salt = "sealmail/v1/local-box", info = purpose, 32)
 *   record = 0x01 | suite 0x01 | nonce[24] | XChaCha20-Poly1305(key, nonce, aad, plaintext)
 *   aad    = "sealmail/v1/local-box" 0x00 | str(purpose) | the 2 header bytes
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { CryptoError } from './errors';
import { ByteWriter } from './encoding';
import { abytes, astring, concat, decryptionFailed, randomBytes, utf8, type RandomSource } from './_util';

export const LOCAL_BOX = Object.freeze({ version: 0x01, suiteXChaCha20Poly1305: 0x01, nonceBytes: 24 });
const LABEL = 'sealmail/v1/local-box';

const keyOf = (secret: Uint8Array, purpose: string) => hkdf(sha256, abytes(secret, 'secret'), utf8(LABEL), utf8(astring(purpose, 'purpose', 64)), 32);
const aadOf = (purpose: string) => concat(utf8(LABEL + '\0'), new ByteWriter().str(purpose).finish(), new Uint8Array([LOCAL_BOX.version, LOCAL_BOX.suiteXChaCha20Poly1305]));

/**
 * Seals data for this device only. `secret` is a device secret seed (≥ 32 bytes).
 * @throws {CryptoError} INVALID_INPUT on a short secret or a bad purpose.
 */
export function sealLocalBox(opts: { secret: Uint8Array; purpose: string; plaintext: Uint8Array; random?: RandomSource }): Uint8Array {
  if (abytes(opts.secret, 'secret').length < 32) throw new CryptoError('INVALID_INPUT', '"secret" expected at least 32 bytes');
  const nonce = randomBytes(opts.random, LOCAL_BOX.nonceBytes);
  const key = keyOf(opts.secret, opts.purpose);
  const ct = xchacha20poly1305(key, nonce, aadOf(opts.purpose)).encrypt(abytes(opts.plaintext, 'plaintext'));
  key.fill(0);
  return concat(new Uint8Array([LOCAL_BOX.version, LOCAL_BOX.suiteXChaCha20Poly1305]), nonce, ct);
}

/**
 * Opens a local box; released only after the tag verifies.
 * @throws {CryptoError} DECRYPTION_FAILED (another device's or purpose's, or tampered), MALFORMED,
 *   UNSUPPORTED_VERSION, UNSUPPORTED_SUITE, INVALID_INPUT.
 */
export function openLocalBox(opts: { secret: Uint8Array; purpose: string; record: Uint8Array }): Uint8Array {
  const r = abytes(opts.record, 'record');
  if (r.length < 2 + LOCAL_BOX.nonceBytes + 16) throw new CryptoError('MALFORMED', 'local box: too short');
  if (r[0] !== LOCAL_BOX.version) throw new CryptoError('UNSUPPORTED_VERSION', `local box: unsupported version ${r[0]}`);
  if (r[1] !== LOCAL_BOX.suiteXChaCha20Poly1305) throw new CryptoError('UNSUPPORTED_SUITE', `local box: unsupported suite ${r[1]}`);
  const key = keyOf(opts.secret, opts.purpose);
  try {
    return xchacha20poly1305(key, r.subarray(2, 2 + LOCAL_BOX.nonceBytes), aadOf(opts.purpose)).decrypt(r.subarray(2 + LOCAL_BOX.nonceBytes));
  } catch {
    throw decryptionFailed();
  } finally {
    key.fill(0);
  }
}
