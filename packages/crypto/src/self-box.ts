/**
 * Self boxes: small data a user keeps for themselves on the server — custom label names today;
 * contacts, signatures and templates later (MISSION §2) — sealed to the user's own newest
 * per-user key so every one of their devices can open it and the server cannot, and signed with
 * that per-user key so the server cannot make one up either (docs/crypto.md §5.12):
 *
 *   record    = 0x02 | suite 0x01 | u32 generation | str itemId | bytes32 box | signature[64]
 *   context   = str("self") | str(kind) | str(userId) | u32 generation | str(itemId)
 *   box       = §5.1, purpose "self-" + kind, the context as its context
 *   signature = Ed25519 of the generation's PUK signing key, context "self-box", over context | box
 *
 * The kind, the user and the item (e.g. the label's id, chosen by the client) are bound, so a
 * record cannot be replayed as another kind, into another account, or onto another item; the
 * per-user key's signature means only the user's own devices can have made it (anyone can seal
 * to a public key; only holders of the seed can sign).
 */
import { CryptoError } from './errors';
import { ByteReader, ByteWriter, readHeader } from './encoding';
import { openBox, sealBox } from './box';
import { signWithContext, verifyWithContext } from './ed25519';
import { concat, abytes, aint, astring, decryptionFailed, type RandomSource } from './_util';
import type { PerUserKey } from './puk';

export const SELF_BOX = Object.freeze({ version: 0x02, suite: 0x01, signingContext: 'self-box' });

/** What a self box may hold; each kind is its own box purpose. */
export type SelfBoxKind = 'label-name' | 'folder-name' | 'contact' | 'signature' | 'template' | 'shared-mailbox' | 'content-rules';
const KINDS: readonly SelfBoxKind[] = ['label-name', 'folder-name', 'contact', 'signature', 'template', 'shared-mailbox', 'content-rules'];

const contextOf = (kind: SelfBoxKind, userId: string, generation: number, itemId: string) =>
  new ByteWriter().str('self').str(kind).str(astring(userId, 'userId')).u32(aint(generation, 'generation', 0xffffffff)).str(astring(itemId, 'itemId', 128)).finish();

function checkKind(kind: string): asserts kind is SelfBoxKind {
  if (!KINDS.includes(kind as SelfBoxKind)) throw new CryptoError('INVALID_INPUT', `"kind" expected one of ${KINDS.join(', ')}`);
}

/**
 * Seals `plaintext` to the user's own per-user key and signs it with that key's signing half.
 * `itemId` names the record (a label's id): opening it under another id fails.
 * @throws {CryptoError} INVALID_INPUT on a bad kind, user id, item id, generation or key.
 * @example
 * const record = sealSelfBox({ kind: 'label-name', userId, itemId: labelId, puk: newestPuk, plaintext: utf8('Invoices') });
 */
export function sealSelfBox(opts: { kind: SelfBoxKind; userId: string; itemId: string; puk: PerUserKey; plaintext: Uint8Array; random?: RandomSource }): Uint8Array {
  checkKind(opts.kind);
  const { generation } = opts.puk;
  const context = contextOf(opts.kind, opts.userId, generation, opts.itemId);
  const box = sealBox({ recipientPublicKey: opts.puk.encryption.publicKey, purpose: `self-${opts.kind}`, context, plaintext: abytes(opts.plaintext, 'plaintext'), random: opts.random });
  const signature = signWithContext(opts.puk.signing.secretKey, SELF_BOX.signingContext, concat(context, box));
  return new ByteWriter().u8(SELF_BOX.version).u8(SELF_BOX.suite).u32(generation).str(opts.itemId).bytes32(box).raw(signature).finish();
}

/**
 * Opens a self box with whichever of the user's per-user keys it names, after checking that
 * key's signature and that the record belongs to `itemId`.
 * @throws {CryptoError} DECRYPTION_FAILED (tampered, forged without the user's key, another
 *   user's, kind's or item's, or a generation this device does not hold), MALFORMED,
 *   UNSUPPORTED_VERSION (including the unsigned records of version 0x01), UNSUPPORTED_SUITE,
 *   INVALID_INPUT.
 */
export function openSelfBox(opts: { kind: SelfBoxKind; userId: string; itemId: string; record: Uint8Array; puks: readonly PerUserKey[] }): Uint8Array {
  checkKind(opts.kind);
  const r = new ByteReader(abytes(opts.record, 'record'));
  readHeader(r, SELF_BOX.version, [SELF_BOX.suite], 'self box');
  const generation = r.u32();
  const itemId = r.str();
  const box = r.bytes32();
  const signature = r.raw(64);
  r.end();
  if (itemId !== opts.itemId) throw decryptionFailed();
  const puk = opts.puks.find((p) => p.generation === generation);
  if (!puk) throw decryptionFailed();
  const context = contextOf(opts.kind, opts.userId, generation, itemId);
  if (!verifyWithContext(puk.signing.publicKey, SELF_BOX.signingContext, concat(context, box), signature)) throw decryptionFailed();
  return openBox({ box, recipientSecretKey: puk.encryption.secretKey, purpose: `self-${opts.kind}`, context });
}
