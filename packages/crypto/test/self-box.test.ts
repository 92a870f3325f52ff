import { describe, expect, it } from 'vitest';
import { generatePerUserKey, openSelfBox, publicKeysOf, rotatePerUserKey, sealSelfBox, SELF_BOX } from '../src/index';
import { expectCode, flip, seededRandom } from './helpers';

const random = seededRandom('self-box');
const g1 = generatePerUserKey(1, { random });
const g2 = generatePerUserKey(2, { random });
const te = new TextEncoder();
const seal = (plaintext = te.encode('Projects/Ärger'), puk = g2, userId = 'alice', kind: 'label-name' | 'contact' = 'label-name') =>
  sealSelfBox({ kind, userId, puk: { generation: puk.generation, keys: publicKeysOf(puk) }, plaintext, random });

describe('self boxes', () => {
  it('round trip with any generation the device holds; versioned header', () => {
    const rec = seal();
    expect([rec[0], rec[1]]).toEqual([SELF_BOX.version, SELF_BOX.suite]);
    expect(new TextDecoder().decode(openSelfBox({ kind: 'label-name', userId: 'alice', record: rec, puks: [g1, g2] }))).toBe('Projects/Ärger');
    const old = seal(te.encode('old'), g1);
    expect(new TextDecoder().decode(openSelfBox({ kind: 'label-name', userId: 'alice', record: old, puks: [g1, g2] }))).toBe('old');
    // A device that only holds the newest generation cannot open what was sealed to an older one.
    expectCode(() => openSelfBox({ kind: 'label-name', userId: 'alice', record: old, puks: [g2] }), 'DECRYPTION_FAILED');
    expect(rotatePerUserKey).toBeDefined();
  });

  it('is bound to the user and the kind; tampering and unknown versions are refused', () => {
    const rec = seal();
    expectCode(() => openSelfBox({ kind: 'label-name', userId: 'bob', record: rec, puks: [g2] }), 'DECRYPTION_FAILED');
    expectCode(() => openSelfBox({ kind: 'contact', userId: 'alice', record: rec, puks: [g2] }), 'DECRYPTION_FAILED');
    for (const i of [10, 100, rec.length - 1]) expectCode(() => openSelfBox({ kind: 'label-name', userId: 'alice', record: flip(rec, i), puks: [g2] }), 'DECRYPTION_FAILED');
    // Changing the generation field points at another key: refused, not misread.
    const regen = Uint8Array.from(rec);
    regen[5] = 1;
    expectCode(() => openSelfBox({ kind: 'label-name', userId: 'alice', record: regen, puks: [g1, g2] }), 'DECRYPTION_FAILED');
    const v2 = Uint8Array.from(rec);
    v2[0] = 2;
    expectCode(() => openSelfBox({ kind: 'label-name', userId: 'alice', record: v2, puks: [g2] }), 'UNSUPPORTED_VERSION');
    const s2 = Uint8Array.from(rec);
    s2[1] = 9;
    expectCode(() => openSelfBox({ kind: 'label-name', userId: 'alice', record: s2, puks: [g2] }), 'UNSUPPORTED_SUITE');
    expectCode(() => openSelfBox({ kind: 'label-name', userId: 'alice', record: rec.subarray(0, 4), puks: [g2] }), 'MALFORMED');
    expectCode(() => sealSelfBox({ kind: 'secrets' as 'contact', userId: 'alice', puk: { generation: 2, keys: publicKeysOf(g2) }, plaintext: new Uint8Array(1) }), 'INVALID_INPUT');
  });
});
