/**
 * RFC 9180 Appendix A.2.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305, base
 * mode (see test/README.md for provenance).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../src/bytes';
import { dhkemX25519, hpkeOpen, hpkeSeal, setupBaseRecipient } from '../src/hpke';
import { xwingKem } from '../src/xwing';

const A21 = {
  info: '4f6465206f6e2061204772656369616e2055726e',
  ikmE: '909a9b35d3dc4713a5e72a4da274b55d3d3821a37e5d099e74a647db583a904b',
  skEm: 'f4ec9b33b792c372c1d2c2063507b684ef925b8c75a42dbcbf57d63ccd381600',
  pkEm: '1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a',
  ikmR: '1ac01f181fdf9f352797655161c58b75c656a6cc2716dcb66372da835542e1df',
  skRm: '8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb',
  pkRm: '4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a',
  enc: '1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a',
  pt: '4265617574792069732074727574682c20747275746820626561757479',
  aad0: '436f756e742d30',
  ct0: '1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db21993c62ce81883d2dd1b51a28',
};

describe('HPKE (RFC 9180) with DHKEM(X25519)', () => {
  it('DeriveKeyPair reproduces the published keys', () => {
    const r = dhkemX25519.deriveKeyPair(fromHex(A21.ikmR));
    expect(toHex(r.secretKey)).toBe(A21.skRm);
    expect(toHex(r.publicKey)).toBe(A21.pkRm);
    const e = dhkemX25519.deriveKeyPair(fromHex(A21.ikmE));
    expect(toHex(e.secretKey)).toBe(A21.skEm);
    expect(toHex(e.publicKey)).toBe(A21.pkEm);
  });

  it('seals the A.2.1 vector to the published enc and ciphertext, and opens it', () => {
    const sealed = hpkeSeal(dhkemX25519, fromHex(A21.pkRm), fromHex(A21.info), fromHex(A21.aad0), fromHex(A21.pt), () => fromHex(A21.ikmE));
    expect(toHex(sealed)).toBe(A21.enc + A21.ct0);
    const ctx = setupBaseRecipient(dhkemX25519, fromHex(A21.enc), fromHex(A21.skRm), fromHex(A21.info));
    expect(toHex(ctx.open(fromHex(A21.aad0), fromHex(A21.ct0)))).toBe(A21.pt);
  });

  it('refuses a wrong aad, info, key or a flipped bit with a flat error', () => {
    const sealed = fromHex(A21.enc + A21.ct0);
    const sk = fromHex(A21.skRm);
    const open = (s: Uint8Array, info = A21.info, aad = A21.aad0, key = sk) => () => hpkeOpen(dhkemX25519, key, fromHex(info), fromHex(aad), s);
    expect(open(sealed)()).toEqual(fromHex(A21.pt));
    expect(open(sealed, A21.info, '436f756e742d31')).toThrow(/^decryption failed$/);
    expect(open(sealed, '00')).toThrow(/^decryption failed$/);
    expect(open(sealed, A21.info, A21.aad0, dhkemX25519.deriveKeyPair(new Uint8Array(32)).secretKey)).toThrow(/^decryption failed$/);
    for (let i = 0; i < sealed.length; i++) {
      const t = sealed.slice();
      t[i]! ^= 1;
      expect(open(t), `byte ${i}`).toThrow(/^decryption failed$/);
    }
    expect(open(sealed.subarray(0, 40))).toThrow(/truncated/);
  });

  it('round-trips with X-Wing as the KEM', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 40 }), (seed, pt, aad) => {
        const kp = xwingKem.deriveKeyPair(seed);
        const sealed = hpkeSeal(xwingKem, kp.publicKey, new Uint8Array([1, 2]), aad, pt);
        expect(sealed.length).toBe(xwingKem.Nenc + pt.length + 16);
        expect(hpkeOpen(xwingKem, kp.secretKey, new Uint8Array([1, 2]), aad, sealed)).toEqual(pt);
      }),
      { numRuns: 15 },
    );
  });
});
