import { describe, expect, it } from 'vitest';
import xwingVectors from './vectors/xwing-draft.json';
import {
  fromHex,
  generateXWingKeyPair,
  hpkeOpen,
  hpkeSealAsync,
  openBox,
  sealBoxAsync,
  toHex,
  xwingDecapsulate,
  xwingEncapsulate,
  xwingEncapsulateAsync,
  xwingKem,
  xwingKeyPairFromSeed,
} from '../src/index';
import { hasNativeX25519 } from '../src/_x25519';
import { expectCodeAsync, expectCode } from './helpers';

describe('X-Wing with native X25519 (WebCrypto)', () => {
  it('is available in Node 20', async () => {
    expect(await hasNativeX25519()).toBe(true);
  });

  it('native encapsulation decapsulates (noble) to the same secret, for every vector key', async () => {
    for (const v of xwingVectors) {
      const kp = xwingKeyPairFromSeed(fromHex(v.seed));
      for (let i = 0; i < 3; i++) {
        const { cipherText, sharedSecret } = await xwingEncapsulateAsync(kp.publicKey);
        expect(cipherText).toHaveLength(1120);
        expect(toHex(xwingDecapsulate(cipherText, kp.secretKey))).toBe(toHex(sharedSecret));
      }
    }
  });

  it('with an explicit eseed it is the deterministic path and matches the vectors', async () => {
    for (const v of xwingVectors) {
      const kp = xwingKeyPairFromSeed(fromHex(v.seed));
      const r = await xwingEncapsulateAsync(kp.publicKey, { eseed: fromHex(v.eseed) });
      expect(toHex(r.cipherText)).toBe(v.ct);
      expect(toHex(r.sharedSecret)).toBe(v.ss);
    }
  });

  it('rejects an invalid X25519 half like the noble path', async () => {
    const kp = generateXWingKeyPair();
    const bad = Uint8Array.from(kp.publicKey);
    bad.fill(0, 1184); // the all-zero (small-order) X25519 point
    expectCode(() => xwingEncapsulate(bad), 'INVALID_INPUT');
    await expectCodeAsync(xwingEncapsulateAsync(bad), 'INVALID_INPUT');
    await expectCodeAsync(xwingEncapsulateAsync(kp.publicKey.subarray(1)), 'INVALID_INPUT');
  });

  it('HPKE and boxes sealed natively open with the ordinary code', async () => {
    const kp = generateXWingKeyPair();
    const info = new Uint8Array([1]);
    const aad = new Uint8Array([2]);
    const msg = new TextEncoder().encode('native');
    const { enc, ciphertext } = await hpkeSealAsync(xwingKem, kp.publicKey, info, aad, msg);
    expect(hpkeOpen(xwingKem, enc, kp.secretKey, info, aad, ciphertext)).toEqual(msg);
    const ctx = new Uint8Array([3]);
    const box = await sealBoxAsync({ recipientPublicKey: kp.publicKey, purpose: 'p', context: ctx, plaintext: msg });
    expect(openBox({ box, recipientSecretKey: kp.secretKey, purpose: 'p', context: ctx })).toEqual(msg);
  });
});
