/**
 * Passphrase boxes: a secret (a CLI device key file) sealed under a passphrase a person chose —
 * docs/crypto.md §5.11. A person's passphrase is guessable, so the key comes from scrypt
 * (memory-hard; N = 2^17, r = 8, p = 1 by default, the OWASP minimum), never from a fast KDF:
 *
 *   box = 0x01 | suite 0x01 | logN u8 | r u8 | p u8 | salt[16] | nonce[24] | XChaCha20-Poly1305 ciphertext
 *   key = scrypt(NFC(passphrase), salt, N = 2^logN, r, p, 32)
 *   aad = "sealmail/v1/passphrase-box" 0x00 | the 45 header bytes before the ciphertext
 *
 * The cost parameters are stored (and authenticated) so they can be raised later; opening
 * refuses parameters below the floor or above the ceiling, so a tampered file cannot make the
 * reader do no work or run out of memory.
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { scrypt } from '@noble/hashes/scrypt.js';
import { CryptoError } from './errors';
import { ByteReader, ByteWriter, readHeader } from './encoding';
import { abytes, astring, concat, decryptionFailed, randomBytes, utf8, type RandomSource } from './_util';

export const PASSPHRASE_BOX = Object.freeze({ version: 0x01, suiteScryptXChaCha20Poly1305: 0x01, defaultLogN: 17, minLogN: 10, maxLogN: 20, r: 8, p: 1, headerBytes: 2 + 3 + 16 + 24 });

function keyOf(passphrase: string, salt: Uint8Array, logN: number, r: number, p: number): Uint8Array {
  return scrypt(utf8(passphrase.normalize('NFC')), salt, { N: 2 ** logN, r, p, dkLen: 32, maxmem: 2 ** (logN + 8) * r });
}

const aadOf = (header: Uint8Array) => concat(utf8('sealmail/v1/passphrase-box\0'), header);

/**
 * Seals `plaintext` under `passphrase`. `logN` below the default is for tests only.
 * @throws {CryptoError} INVALID_INPUT on an empty passphrase or a cost out of range.
 */
export function sealWithPassphrase(opts: { plaintext: Uint8Array; passphrase: string; logN?: number; random?: RandomSource }): Uint8Array {
  const logN = opts.logN ?? PASSPHRASE_BOX.defaultLogN;
  if (!Number.isInteger(logN) || logN < PASSPHRASE_BOX.minLogN || logN > PASSPHRASE_BOX.maxLogN) throw new CryptoError('INVALID_INPUT', `"logN" expected ${PASSPHRASE_BOX.minLogN}..${PASSPHRASE_BOX.maxLogN}`);
  astring(opts.passphrase, 'passphrase', 4096);
  abytes(opts.plaintext, 'plaintext');
  const salt = randomBytes(opts.random, 16);
  const nonce = randomBytes(opts.random, 24);
  const header = new ByteWriter().u8(PASSPHRASE_BOX.version).u8(PASSPHRASE_BOX.suiteScryptXChaCha20Poly1305).u8(logN).u8(PASSPHRASE_BOX.r).u8(PASSPHRASE_BOX.p).raw(salt).raw(nonce).finish();
  const key = keyOf(opts.passphrase, salt, logN, PASSPHRASE_BOX.r, PASSPHRASE_BOX.p);
  const ct = xchacha20poly1305(key, nonce, aadOf(header)).encrypt(opts.plaintext);
  key.fill(0);
  return concat(header, ct);
}

/**
 * Opens a passphrase box; the plaintext is released only after the tag verifies.
 * @throws {CryptoError} DECRYPTION_FAILED (wrong passphrase or tampered box), MALFORMED,
 *   UNSUPPORTED_VERSION, UNSUPPORTED_SUITE, INVALID_INPUT (cost parameters out of range).
 */
export function openWithPassphrase(opts: { box: Uint8Array; passphrase: string }): Uint8Array {
  abytes(opts.box, 'box');
  astring(opts.passphrase, 'passphrase', 4096);
  if (opts.box.length < PASSPHRASE_BOX.headerBytes + 16) throw new CryptoError('MALFORMED', 'passphrase box: too short');
  const r = new ByteReader(opts.box.subarray(0, PASSPHRASE_BOX.headerBytes));
  readHeader(r, PASSPHRASE_BOX.version, [PASSPHRASE_BOX.suiteScryptXChaCha20Poly1305], 'passphrase box');
  const logN = r.u8();
  const blockSize = r.u8();
  const parallel = r.u8();
  const salt = r.raw(16);
  const nonce = r.raw(24);
  if (logN < PASSPHRASE_BOX.minLogN || logN > PASSPHRASE_BOX.maxLogN || blockSize !== PASSPHRASE_BOX.r || parallel !== PASSPHRASE_BOX.p) {
    throw new CryptoError('INVALID_INPUT', 'passphrase box: cost parameters out of range');
  }
  const key = keyOf(opts.passphrase, salt, logN, blockSize, parallel);
  try {
    return xchacha20poly1305(key, nonce, aadOf(opts.box.subarray(0, PASSPHRASE_BOX.headerBytes))).decrypt(opts.box.subarray(PASSPHRASE_BOX.headerBytes));
  } catch {
    throw decryptionFailed();
  } finally {
    key.fill(0);
  }
}
