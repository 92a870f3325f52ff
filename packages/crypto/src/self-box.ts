/**
 * Self boxes: small data a user keeps for themselves on the server — custom label names today;
 * contacts, signatures and templates later (MISSION §2) — sealed to the user's own newest
 * per-user key so every one of their devices can open it and the server cannot
 * (docs/crypto.md §5.12):
 *
 *   record  = 0x01 | suite 0x01 | u32 generation | box (§5.1, purpose "self-" + kind)
 *   context = str("self") | str(kind) | str(userId) | u32 generation
 *
 * The kind and the user are bound, so a label name cannot be replayed as another kind of record
 * or into another user's account.
 */
import { CryptoError } from './errors';
import { ByteReader, ByteWriter, readHeader } from './encoding';
import { openBox, sealBox } from './box';
import { abytes, aint, astring, type RandomSource } from './_util';
import type { PublicKeys } from './keys';
import type { PerUserKey } from './puk';

export const SELF_BOX = Object.freeze({ version: 0x01, suite: 0x01 });

/** What a self box may hold; each kind is its own box purpose. */
export type SelfBoxKind = 'label-name' | 'contact' | 'signature' | 'template';
const KINDS: readonly SelfBoxKind[] = ['label-name', 'contact', 'signature', 'template'];

const contextOf = (kind: SelfBoxKind, userId: string, generation: number) =>
  new ByteWriter().str('self').str(kind).str(astring(userId, 'userId')).u32(aint(generation, 'generation', 0xffffffff)).finish();

function checkKind(kind: string): asserts kind is SelfBoxKind {
  if (!KINDS.includes(kind as SelfBoxKind)) throw new CryptoError('INVALID_INPUT', `"kind" expected one of ${KINDS.join(', ')}`);
}

/**
 * Seals `plaintext` to the user's own per-user key (its public half and generation).
 * @throws {CryptoError} INVALID_INPUT on a bad kind, user id, generation or key.
 */
export function sealSelfBox(opts: { kind: SelfBoxKind; userId: string; puk: { generation: number; keys: PublicKeys }; plaintext: Uint8Array; random?: RandomSource }): Uint8Array {
  checkKind(opts.kind);
  const { generation, keys } = opts.puk;
  const box = sealBox({ recipientPublicKey: keys.encryptionPublicKey, purpose: `self-${opts.kind}`, context: contextOf(opts.kind, opts.userId, generation), plaintext: abytes(opts.plaintext, 'plaintext'), random: opts.random });
  return new ByteWriter().u8(SELF_BOX.version).u8(SELF_BOX.suite).u32(generation).raw(box).finish();
}

/**
 * Opens a self box with whichever of the user's per-user keys it names.
 * @throws {CryptoError} DECRYPTION_FAILED (tampered, another user's or kind's, or a generation this
 *   device does not hold), MALFORMED, UNSUPPORTED_VERSION, UNSUPPORTED_SUITE, INVALID_INPUT.
 */
export function openSelfBox(opts: { kind: SelfBoxKind; userId: string; record: Uint8Array; puks: readonly PerUserKey[] }): Uint8Array {
  checkKind(opts.kind);
  const r = new ByteReader(abytes(opts.record, 'record'));
  readHeader(r, SELF_BOX.version, [SELF_BOX.suite], 'self box');
  const generation = r.u32();
  const box = r.rest();
  const puk = opts.puks.find((p) => p.generation === generation);
  if (!puk) throw new CryptoError('DECRYPTION_FAILED', 'self box: sealed to a key generation this device does not hold');
  return openBox({ box, recipientSecretKey: puk.encryption.secretKey, purpose: `self-${opts.kind}`, context: contextOf(opts.kind, opts.userId, generation) });
}
