/**
 * Per-user keys (PUK) — docs/crypto.md §3.3, §5.4, §5.5.
 *
 * Each generation is a random 32-byte seed; its signing and encryption key pairs are derived with
 * {@link deriveKeySet} under the label `"sealmail/v1/puk"`. A generation is boxed to every active
 * device (real and virtual) of the user; older generations are handed to a newly approved device
 * in one signed history box.
 */
import { CryptoError } from './errors';
import { ByteReader, ByteWriter } from './encoding';
import { abytes, aint, astring, concat, equalBytes, randomBytes, type RandomSource } from './_util';
import { openBox, sealBox } from './box';
import { signWithContext, verifyWithContext } from './ed25519';
import { deriveKeySet, type KeySet, type PublicKeys } from './keys';

/** Label from which PUK key pairs are derived (docs/crypto.md §6). */
export const PUK_LABEL = 'sealmail/v1/puk';

/** A per-user key generation: its seed and derived key pairs. */
export interface PerUserKey extends KeySet {
  readonly generation: number;
  readonly seed: Uint8Array;
}

/** A device to which a box is addressed. */
export interface BoxRecipient {
  readonly deviceId: string;
  readonly encryptionPublicKey: Uint8Array;
}

/**
 * Creates a new PUK generation from fresh randomness.
 * @throws {CryptoError} INVALID_INPUT on a bad generation or random source.
 */
export function generatePerUserKey(generation: number, opts: { random?: RandomSource } = {}): PerUserKey {
  return derivePerUserKey(randomBytes(opts.random, 32), generation);
}

/**
 * Derives a PUK generation's key pairs from its 32-byte seed.
 * @throws {CryptoError} INVALID_INPUT when `seed` is not 32 bytes or `generation` not a u32.
 */
export function derivePerUserKey(seed: Uint8Array, generation: number): PerUserKey {
  abytes(seed, 'seed', 32);
  aint(generation, 'generation', 0xffffffff);
  return { generation, seed: Uint8Array.from(seed), ...deriveKeySet(seed, PUK_LABEL) };
}

const seedContext = (userId: string, generation: number, deviceId: string) =>
  new ByteWriter().str('puk-seed').str(astring(userId, 'userId')).u32(aint(generation, 'generation', 0xffffffff)).str(astring(deviceId, 'deviceId')).finish();

/**
 * Boxes one PUK generation's seed to each device; the box binds user id, generation and the
 * recipient device id (docs/crypto.md §5.4).
 * @throws {CryptoError} INVALID_INPUT on malformed ids or keys.
 */
export function boxPerUserKey(opts: {
  userId: string;
  puk: PerUserKey;
  devices: readonly BoxRecipient[];
  random?: RandomSource;
}): { deviceId: string; generation: number; box: Uint8Array }[] {
  return opts.devices.map((d) => ({
    deviceId: d.deviceId,
    generation: opts.puk.generation,
    box: sealBox({
      recipientPublicKey: d.encryptionPublicKey,
      purpose: 'puk-seed',
      context: seedContext(opts.userId, opts.puk.generation, d.deviceId),
      plaintext: opts.puk.seed,
      random: opts.random,
    }),
  }));
}

/**
 * Makes the next PUK generation and boxes it to every active device (real and virtual: backup
 * key, escrow) — on every device add and revoke (docs/crypto.md §3.3). The caller records the new
 * public keys in the sigchain and uploads the boxes.
 * @throws {CryptoError} INVALID_INPUT on malformed ids or keys, or when the generation overflows.
 */
export function rotatePerUserKey(opts: {
  userId: string;
  previousGeneration: number;
  devices: readonly BoxRecipient[];
  random?: RandomSource;
}): { puk: PerUserKey; boxes: { deviceId: string; generation: number; box: Uint8Array }[] } {
  const puk = generatePerUserKey(aint(opts.previousGeneration, 'previousGeneration', 0xfffffffe) + 1, { random: opts.random });
  return { puk, boxes: boxPerUserKey({ userId: opts.userId, puk, devices: opts.devices, random: opts.random }) };
}

function checkExpected(puk: PerUserKey, expected?: PublicKeys): PerUserKey {
  if (
    expected &&
    !(equalBytes(puk.signing.publicKey, expected.signingPublicKey) && equalBytes(puk.encryption.publicKey, expected.encryptionPublicKey))
  ) {
    throw new CryptoError('KEY_MISMATCH', 'per-user key does not match the expected public keys');
  }
  return puk;
}

/**
 * Opens a PUK seed box with the device's X-Wing secret key. When `expectedPublicKeys` (from the
 * user's sigchain) is given, the derived keys must match it.
 * @throws {CryptoError} DECRYPTION_FAILED, KEY_MISMATCH, UNSUPPORTED_VERSION, UNSUPPORTED_SUITE, INVALID_INPUT.
 */
export function openPerUserKeyBox(opts: {
  box: Uint8Array;
  userId: string;
  generation: number;
  deviceId: string;
  deviceEncryptionSecretKey: Uint8Array;
  expectedPublicKeys?: PublicKeys;
}): PerUserKey {
  const seed = openBox({
    box: opts.box,
    recipientSecretKey: opts.deviceEncryptionSecretKey,
    purpose: 'puk-seed',
    context: seedContext(opts.userId, opts.generation, opts.deviceId),
  });
  if (seed.length !== 32) throw new CryptoError('DECRYPTION_FAILED', 'decryption failed');
  return checkExpected(derivePerUserKey(seed, opts.generation), opts.expectedPublicKeys);
}

const historyContext = (userId: string, fromDeviceId: string, toDeviceId: string) =>
  new ByteWriter().str('puk-history').str(astring(userId, 'userId')).str(astring(fromDeviceId, 'fromDeviceId')).str(astring(toDeviceId, 'toDeviceId')).finish();

/** Format constants of the PUK history box (docs/crypto.md §5.5). */
export const PUK_HISTORY = Object.freeze({ version: 0x01, suite: 0x01 });

/**
 * Boxes older PUK generations from an approving device to a newly approved one, signed by the
 * approving device so the recipient knows who shared them (docs/crypto.md §5.5):
 * `0x01 | 0x01 | u32 len | box | ed25519 signature[64]`, the signature over
 * `context | box` under the signing context `"puk-history"`.
 * @throws {CryptoError} INVALID_INPUT on malformed arguments or duplicate generations.
 */
export function boxPerUserKeyHistory(opts: {
  userId: string;
  generations: readonly PerUserKey[];
  fromDeviceId: string;
  fromSigningSecretKey: Uint8Array;
  to: BoxRecipient;
  random?: RandomSource;
}): Uint8Array {
  const w = new ByteWriter().u32(opts.generations.length);
  const seen = new Set<number>();
  for (const g of opts.generations) {
    if (seen.has(g.generation)) throw new CryptoError('INVALID_INPUT', `duplicate generation ${g.generation}`);
    seen.add(g.generation);
    w.u32(g.generation).raw(abytes(g.seed, 'seed', 32));
  }
  const context = historyContext(opts.userId, opts.fromDeviceId, opts.to.deviceId);
  const box = sealBox({ recipientPublicKey: opts.to.encryptionPublicKey, purpose: 'puk-history', context, plaintext: w.finish(), random: opts.random });
  const sig = signWithContext(opts.fromSigningSecretKey, 'puk-history', concat(context, box));
  return new ByteWriter().u8(PUK_HISTORY.version).u8(PUK_HISTORY.suite).bytes32(box).raw(sig).finish();
}

/**
 * Verifies the approving device's signature, then opens a PUK history box.
 * `expected` maps generation → public keys from the sigchain; each opened generation must match.
 * @throws {CryptoError} SIGNATURE_INVALID, DECRYPTION_FAILED, KEY_MISMATCH, MALFORMED, UNSUPPORTED_VERSION, UNSUPPORTED_SUITE.
 */
export function openPerUserKeyHistory(opts: {
  history: Uint8Array;
  userId: string;
  fromDeviceId: string;
  fromSigningPublicKey: Uint8Array;
  toDeviceId: string;
  toEncryptionSecretKey: Uint8Array;
  expected?: ReadonlyMap<number, PublicKeys>;
}): PerUserKey[] {
  const r = new ByteReader(abytes(opts.history, 'history'));
  const v = r.u8();
  const s = r.u8();
  if (v !== PUK_HISTORY.version) throw new CryptoError('UNSUPPORTED_VERSION', `puk history: unsupported version ${v}`);
  if (s !== PUK_HISTORY.suite) throw new CryptoError('UNSUPPORTED_SUITE', `puk history: unsupported suite ${s}`);
  const box = r.bytes32();
  const sig = r.raw(64);
  r.end();
  const context = historyContext(opts.userId, opts.fromDeviceId, opts.toDeviceId);
  if (!verifyWithContext(opts.fromSigningPublicKey, 'puk-history', concat(context, box), sig)) {
    throw new CryptoError('SIGNATURE_INVALID', 'puk history: signature invalid');
  }
  const pt = openBox({ box, recipientSecretKey: opts.toEncryptionSecretKey, purpose: 'puk-history', context });
  const pr = new ByteReader(pt);
  const n = pr.u32();
  const out: PerUserKey[] = [];
  for (let i = 0; i < n; i++) {
    const generation = pr.u32();
    const puk = derivePerUserKey(pr.raw(32), generation);
    const exp = opts.expected?.get(generation);
    if (opts.expected && !exp) throw new CryptoError('KEY_MISMATCH', `puk history: unexpected generation ${generation}`);
    out.push(checkExpected(puk, exp));
  }
  pr.end();
  return out;
}
