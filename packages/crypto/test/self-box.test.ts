import { describe, expect, it } from 'vitest';
import { ByteWriter, generatePerUserKey, openSelfBox, sealBox, sealSelfBox, SELF_BOX } from '../src/index';
import { expectCode, flip, seededRandom } from './helpers';

const random = seededRandom('self-box');
const g1 = generatePerUserKey(1, { random });
const g2 = generatePerUserKey(2, { random });
const te = new TextEncoder();
const ITEM = 'label-0001';
const seal = (plaintext = te.encode('Projects/Ärger'), puk = g2, userId = 'alice', kind: 'label-name' | 'contact' = 'label-name', itemId = ITEM) =>
  sealSelfBox({ kind, userId, itemId, puk, plaintext, random });
const open = (record: Uint8Array, puks = [g1, g2], over: { userId?: string; kind?: 'label-name' | 'contact'; itemId?: string } = {}) =>
  openSelfBox({ kind: over.kind ?? 'label-name', userId: over.userId ?? 'alice', itemId: over.itemId ?? ITEM, record, puks });

describe('self boxes', () => {
  it('round trip with any generation the device holds; versioned header', () => {
    const rec = seal();
    expect([rec[0], rec[1]]).toEqual([SELF_BOX.version, SELF_BOX.suite]);
    expect(new TextDecoder().decode(open(rec))).toBe('Projects/Ärger');
    const old = seal(te.encode('old'), g1);
    expect(new TextDecoder().decode(open(old))).toBe('old');
    // A device that only holds the newest generation cannot open what was sealed to an older one.
    expectCode(() => open(old, [g2]), 'DECRYPTION_FAILED');
  });

  it('is bound to the user, the kind and the item; tampering and unknown versions are refused', () => {
    const rec = seal();
    expectCode(() => open(rec, [g2], { userId: 'bob' }), 'DECRYPTION_FAILED');
    expectCode(() => open(rec, [g2], { kind: 'contact' }), 'DECRYPTION_FAILED');
    // The server replays label A's sealed name onto label B: refused.
    expectCode(() => open(rec, [g2], { itemId: 'label-0002' }), 'DECRYPTION_FAILED');
    for (const i of [10, 100, rec.length - 70, rec.length - 1]) expectCode(() => open(flip(rec, i), [g2]), 'DECRYPTION_FAILED');
    // Changing the generation field points at another key: refused, not misread.
    const regen = Uint8Array.from(rec);
    regen[5] = 1;
    expectCode(() => open(regen), 'DECRYPTION_FAILED');
    const v1 = Uint8Array.from(rec);
    v1[0] = 1; // the unsigned records of version 1 are not accepted any more
    expectCode(() => open(v1, [g2]), 'UNSUPPORTED_VERSION');
    const s2 = Uint8Array.from(rec);
    s2[1] = 9;
    expectCode(() => open(s2, [g2]), 'UNSUPPORTED_SUITE');
    expectCode(() => open(rec.subarray(0, 4), [g2]), 'MALFORMED');
    expectCode(() => sealSelfBox({ kind: 'secrets' as 'contact', userId: 'alice', itemId: ITEM, puk: g2, plaintext: new Uint8Array(1) }), 'INVALID_INPUT');
  });

  it('cannot be forged by someone who only has the public key (the server)', () => {
    // The server can seal to the user's public per-user key — it has it — but cannot sign with it.
    const context = new ByteWriter().str('self').str('label-name').str('alice').u32(2).str(ITEM).finish();
    const box = sealBox({ recipientPublicKey: g2.encryption.publicKey, purpose: 'self-label-name', context, plaintext: te.encode('Forged'), random });
    const forged = new ByteWriter().u8(SELF_BOX.version).u8(SELF_BOX.suite).u32(2).str(ITEM).bytes32(box).raw(new Uint8Array(64)).finish();
    expectCode(() => open(forged, [g2]), 'DECRYPTION_FAILED');
    // A signature by another generation's key does not do either.
    const other = seal(te.encode('x'), g1);
    const swapped = Uint8Array.from(forged);
    swapped.set(other.subarray(other.length - 64), swapped.length - 64);
    expectCode(() => open(swapped, [g1, g2]), 'DECRYPTION_FAILED');
  });
});
