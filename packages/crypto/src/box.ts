/**
 * Boxes: a versioned HPKE (RFC 9180 base mode) ciphertext to an X-Wing public key —
 * docs/crypto.md §5.1. Every key sent to a device, a per-user key, a virtual device or the server
 * travels in a box.
 *
 *   box = 0x01 | 0x01 | enc[1120] | ciphertext (plaintext + 16)
 *   info = "sealmail/v1/box/" + purpose
 *   aad  = 0x01 | 0x01 | u32(len(context)) | context
 *
 * `purpose` separates uses (a mail key box can never be opened as a PUK box); `context` binds
 * the box to who and what it is for (user id, generation, recipient id, digest, ...).
 */
import { CryptoError } from './errors';
import { abytes, astring, concat, i2osp, utf8, type RandomSource } from './_util';
import { hpkeOpen, hpkeOpenAsync, hpkeSeal, hpkeSealAsync, xwingKem } from './hpke';
import { XWING } from './xwing';

/** Format constants of boxes (docs/crypto.md §5.1). */
export const BOX = Object.freeze({ version: 0x01, suiteXWingHkdfSha256ChaCha20Poly1305: 0x01, overhead: 2 + XWING.cipherText + 16 });

/** The purposes a box may have; each is a distinct HPKE `info` (docs/crypto.md §6). */
export type BoxPurpose =
  | 'puk-seed'
  | 'puk-history'
  | 'escrow-secret'
  | 'mail-recipient'
  | 'mail-server'
  | 'link-secret'
  | (string & {});

const header = () => new Uint8Array([BOX.version, BOX.suiteXWingHkdfSha256ChaCha20Poly1305]);
const info = (purpose: string) => utf8('sealmail/v1/box/' + astring(purpose, 'purpose', 64));
const aadOf = (context: Uint8Array) => concat(header(), i2osp(abytes(context, 'context').length, 4), context);

/**
 * Seals `plaintext` to an X-Wing public key.
 * @example
 * ```ts
 * const box = sealBox({ recipientPublicKey, purpose: 'puk-seed', context, plaintext: seed });
 * const seed2 = openBox({ box, recipientSecretKey, purpose: 'puk-seed', context });
 * ```
 * @throws {CryptoError} INVALID_INPUT on a malformed key, purpose or context.
 */
export function sealBox(opts: {
  recipientPublicKey: Uint8Array;
  purpose: BoxPurpose;
  context: Uint8Array;
  plaintext: Uint8Array;
  random?: RandomSource;
}): Uint8Array {
  const { enc, ciphertext } = hpkeSeal(
    xwingKem,
    abytes(opts.recipientPublicKey, 'recipientPublicKey', XWING.publicKey),
    info(opts.purpose),
    aadOf(opts.context),
    abytes(opts.plaintext, 'plaintext'),
    { random: opts.random },
  );
  return concat(header(), enc, ciphertext);
}

/**
 * {@link sealBox} with native X25519 where available (docs/crypto.md §4.2); identical format.
 * Used where many boxes are made at once (sealing a mail to many holders, server ingress).
 * @throws {CryptoError} INVALID_INPUT on a malformed key, purpose or context.
 */
export async function sealBoxAsync(opts: {
  recipientPublicKey: Uint8Array;
  purpose: BoxPurpose;
  context: Uint8Array;
  plaintext: Uint8Array;
  random?: RandomSource;
}): Promise<Uint8Array> {
  const { enc, ciphertext } = await hpkeSealAsync(
    xwingKem,
    abytes(opts.recipientPublicKey, 'recipientPublicKey', XWING.publicKey),
    info(opts.purpose),
    aadOf(opts.context),
    abytes(opts.plaintext, 'plaintext'),
    { random: opts.random },
  );
  return concat(header(), enc, ciphertext);
}

/**
 * Opens a box with the recipient's X-Wing secret key; `purpose` and `context` must match.
 * @throws {CryptoError} UNSUPPORTED_VERSION, UNSUPPORTED_SUITE, DECRYPTION_FAILED (also for a
 * box too short to hold a tag), INVALID_INPUT.
 */
export function openBox(opts: {
  box: Uint8Array;
  recipientSecretKey: Uint8Array;
  purpose: BoxPurpose;
  context: Uint8Array;
}): Uint8Array {
  const box = checkedBox(opts.box, opts.recipientSecretKey);
  return hpkeOpen(xwingKem, box.subarray(2, 2 + XWING.cipherText), opts.recipientSecretKey, info(opts.purpose), aadOf(opts.context), box.subarray(2 + XWING.cipherText));
}

/**
 * {@link openBox} with the X25519 half of the decapsulation done natively where available
 * (docs/crypto.md §4.2); the same checks and the same result.
 * @throws {CryptoError} as {@link openBox}.
 */
export async function openBoxAsync(opts: { box: Uint8Array; recipientSecretKey: Uint8Array; purpose: BoxPurpose; context: Uint8Array }): Promise<Uint8Array> {
  const box = checkedBox(opts.box, opts.recipientSecretKey);
  return hpkeOpenAsync(xwingKem, box.subarray(2, 2 + XWING.cipherText), opts.recipientSecretKey, info(opts.purpose), aadOf(opts.context), box.subarray(2 + XWING.cipherText));
}

/** The version, suite and length checks every box gets before any decryption. */
function checkedBox(b: Uint8Array, secretKey: Uint8Array): Uint8Array {
  const box = abytes(b, 'box');
  abytes(secretKey, 'recipientSecretKey', XWING.secretKey);
  if (box.length < 2) throw new CryptoError('MALFORMED', 'box: truncated');
  if (box[0] !== BOX.version) throw new CryptoError('UNSUPPORTED_VERSION', `box: unsupported version ${box[0]}`);
  if (box[1] !== BOX.suiteXWingHkdfSha256ChaCha20Poly1305) throw new CryptoError('UNSUPPORTED_SUITE', `box: unsupported suite ${box[1]}`);
  if (box.length < BOX.overhead) throw new CryptoError('DECRYPTION_FAILED', 'decryption failed');
  return box;
}
