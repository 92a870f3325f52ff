/**
 * Backup key — docs/crypto.md §3.4, §5.6.
 *
 * 128 secret bits a person writes down. Text form: Crockford base32 of 20 bytes
 * `0x01 (version) | 0x01 (suite) | secret[16] | checksum[2]`, 32 characters shown in 8 groups of
 * 4 (`XXXX-XXXX-...`). The checksum is the first 2 bytes of
 * SHA-256("sealmail/v1/backup-key/checksum" | 0x00 | version | suite | secret): a random typo
 * slips through with probability 2^-16. Parsing is case-insensitive, ignores spaces and hyphens,
 * and reads O as 0 and I/L as 1. The backup key acts as a virtual device whose keys are derived
 * from the secret under the label `"sealmail/v1/backup-key"`.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { CryptoError } from './errors';
import { abytes, concat, equalBytes, randomBytes, utf8, type RandomSource } from './_util';
import { deriveKeySet, type KeySet } from './keys';

/** Format constants of the backup key (docs/crypto.md §5.6). */
export const BACKUP_KEY = Object.freeze({ version: 0x01, suite: 0x01, secretBytes: 16, characters: 32, label: 'sealmail/v1/backup-key' });

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'; // Crockford base32

function checksum(body: Uint8Array): Uint8Array {
  return sha256(concat(utf8('sealmail/v1/backup-key/checksum\0'), body)).subarray(0, 2);
}

function toBase32(bytes: Uint8Array): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(acc >> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  return out; // 20 bytes = 160 bits = exactly 32 characters
}

/**
 * Formats a 16-byte backup secret as its grouped text form.
 * @example
 * ```ts
 * const { secret, text } = generateBackupKey(); // text like "040H-DD9W-JW3V-ZRCC-YKYT-0DV4-4ARX-ABBB" (always starts "040": version and suite)
 * parseBackupKey(text.toLowerCase()); // === secret
 * ```
 * @throws {CryptoError} INVALID_INPUT when `secret` is not 16 bytes.
 */
export function formatBackupKey(secret: Uint8Array): string {
  abytes(secret, 'secret', BACKUP_KEY.secretBytes);
  const body = concat(new Uint8Array([BACKUP_KEY.version, BACKUP_KEY.suite]), secret);
  const text = toBase32(concat(body, checksum(body)));
  return text.match(/.{4}/g)!.join('-');
}

/**
 * Parses a typed backup key back into its 16-byte secret.
 * @throws {CryptoError} INVALID_INPUT (bad characters or length), CHECKSUM_MISMATCH (a typo),
 * UNSUPPORTED_VERSION, UNSUPPORTED_SUITE.
 */
export function parseBackupKey(text: string): Uint8Array {
  if (typeof text !== 'string') throw new CryptoError('INVALID_INPUT', '"backupKey" expected a string');
  const clean = text.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  if (clean.length !== BACKUP_KEY.characters) {
    throw new CryptoError('INVALID_INPUT', `"backupKey" expected ${BACKUP_KEY.characters} characters, got ${clean.length}`);
  }
  const bytes = new Uint8Array(20);
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (const c of clean) {
    const v = ALPHABET.indexOf(c);
    if (v < 0) throw new CryptoError('INVALID_INPUT', `"backupKey" contains an invalid character "${c}"`);
    acc = (acc << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes[o++] = (acc >> bits) & 0xff;
    }
    acc &= (1 << bits) - 1;
  }
  const body = bytes.subarray(0, 18);
  if (!equalBytes(checksum(body), bytes.subarray(18))) throw new CryptoError('CHECKSUM_MISMATCH', 'backup key has a typo (checksum mismatch)');
  if (bytes[0] !== BACKUP_KEY.version) throw new CryptoError('UNSUPPORTED_VERSION', `backup key: unsupported version ${bytes[0]}`);
  if (bytes[1] !== BACKUP_KEY.suite) throw new CryptoError('UNSUPPORTED_SUITE', `backup key: unsupported suite ${bytes[1]}`);
  return bytes.slice(2, 18);
}

/**
 * Generates a backup key: the secret and its text form.
 * @throws {CryptoError} INVALID_INPUT when `random` misbehaves.
 */
export function generateBackupKey(opts: { random?: RandomSource } = {}): { secret: Uint8Array; text: string } {
  const secret = randomBytes(opts.random, BACKUP_KEY.secretBytes);
  return { secret, text: formatBackupKey(secret) };
}

/**
 * The backup key's virtual device: key pairs derived from the secret (docs/crypto.md §3.4).
 * @throws {CryptoError} INVALID_INPUT when `secret` is not 16 bytes.
 */
export function backupKeyDevice(secret: Uint8Array): KeySet {
  return deriveKeySet(abytes(secret, 'secret', BACKUP_KEY.secretBytes), BACKUP_KEY.label);
}
