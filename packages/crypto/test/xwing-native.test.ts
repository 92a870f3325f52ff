import { ed25519 } from '@noble/curves/ed25519.js';
import { ml_kem768_x25519 } from '@noble/post-quantum/hybrid.js';
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
  ed25519SignAsync,
  ed25519Sign,
  signWithContext,
  signWithContextAsync,
  xwingDecapsulate,
  xwingDecapsulateAsync,
  xwingEncapsulate,
  xwingEncapsulateAsync,
  xwingKem,
  xwingKeyPairFromSeed,
} from '../src/index';
import { hasNativeEd25519 } from '../src/_ed25519';
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

/** The pure-JS reference: @noble/post-quantum's X-Wing, untouched. */
const referenceDecapsulate = (ct: Uint8Array, sk: Uint8Array) => toHex(ml_kem768_x25519.decapsulate(ct, sk));

describe('X-Wing decapsulation on the expanded key, native and pure JS', () => {
  it('gives the vectors\' shared secrets on both paths', async () => {
    for (const v of xwingVectors) {
      const sk = fromHex(v.sk);
      expect(toHex(xwingDecapsulate(fromHex(v.ct), sk))).toBe(v.ss);
      expect(toHex(await xwingDecapsulateAsync(fromHex(v.ct), sk))).toBe(v.ss);
      expect(toHex(await xwingDecapsulateAsync(fromHex(v.ct), sk))).toBe(v.ss); // cached expansion
    }
  });

  it('agrees with the reference on random keys and ciphertexts, including corrupted ones (implicit rejection)', async () => {
    for (let i = 0; i < 6; i++) {
      const kp = generateXWingKeyPair();
      const { cipherText, sharedSecret } = await xwingEncapsulateAsync(kp.publicKey);
      expect(referenceDecapsulate(cipherText, kp.secretKey)).toBe(toHex(sharedSecret));
      expect(toHex(await xwingDecapsulateAsync(cipherText, kp.secretKey))).toBe(toHex(sharedSecret));
      const bad = Uint8Array.from(cipherText);
      bad[i * 100]! ^= 1; // in the ML-KEM half: a different, pseudorandom secret, the same on every path
      const ref = referenceDecapsulate(bad, kp.secretKey);
      expect(ref).not.toBe(toHex(sharedSecret));
      expect(toHex(xwingDecapsulate(bad, kp.secretKey))).toBe(ref);
      expect(toHex(await xwingDecapsulateAsync(bad, kp.secretKey))).toBe(ref);
    }
  }, 60_000);

  it('does not reuse a cached expansion when the caller overwrites its secret-key array', async () => {
    const [a, b] = [generateXWingKeyPair(), generateXWingKeyPair()];
    const sk = Uint8Array.from(a.secretKey);
    const ca = await xwingEncapsulateAsync(a.publicKey);
    const cb = await xwingEncapsulateAsync(b.publicKey);
    expect(toHex(await xwingDecapsulateAsync(ca.cipherText, sk))).toBe(toHex(ca.sharedSecret));
    sk.set(b.secretKey);
    expect(toHex(await xwingDecapsulateAsync(cb.cipherText, sk))).toBe(toHex(cb.sharedSecret));
    expect(toHex(xwingDecapsulate(cb.cipherText, sk))).toBe(toHex(cb.sharedSecret));
  });

  it('refuses a small-order X25519 half as DECRYPTION_FAILED on both paths', async () => {
    const kp = generateXWingKeyPair();
    const { cipherText } = await xwingEncapsulateAsync(kp.publicKey);
    const bad = Uint8Array.from(cipherText);
    bad.fill(0, 1088);
    expectCode(() => xwingDecapsulate(bad, kp.secretKey), 'DECRYPTION_FAILED');
    await expectCodeAsync(xwingDecapsulateAsync(bad, kp.secretKey), 'DECRYPTION_FAILED');
  });

  it('seals to the same recipient repeatedly (pre-expanded ML-KEM key) with fresh, openable ciphertexts', async () => {
    const kp = generateXWingKeyPair();
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const { cipherText, sharedSecret } = await xwingEncapsulateAsync(kp.publicKey);
      seen.add(toHex(cipherText));
      expect(referenceDecapsulate(cipherText, kp.secretKey)).toBe(toHex(sharedSecret));
    }
    expect(seen.size).toBe(4);
  });
});

describe('Ed25519 signing natively (WebCrypto)', () => {
  it('is available in Node 20', async () => {
    expect(await hasNativeEd25519()).toBe(true);
  });

  it('gives the RFC 8032 §7.1 signatures', async () => {
    const vectors = [
      ['9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', '', 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'],
      ['4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb', '72', '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00'],
      ['c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7', 'af82', '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a'],
    ] as const;
    for (const [sk, msg, sig] of vectors) expect(toHex(await ed25519SignAsync(fromHex(sk), fromHex(msg)))).toBe(sig);
  });

  it('gives the same bytes as noble for random keys and messages, and they verify', async () => {
    for (let i = 0; i < 20; i++) {
      const sk = crypto.getRandomValues(new Uint8Array(32));
      const msg = crypto.getRandomValues(new Uint8Array(i * 37));
      const native = await ed25519SignAsync(sk, msg);
      expect(toHex(native)).toBe(toHex(ed25519Sign(sk, msg)));
      expect(toHex(native)).toBe(toHex(ed25519.sign(msg, sk)));
      expect(toHex(await signWithContextAsync(sk, 'mail-digest', msg))).toBe(toHex(signWithContext(sk, 'mail-digest', msg)));
    }
  });

  it('follows a secret-key array the caller overwrites, and checks its inputs', async () => {
    const sk = crypto.getRandomValues(new Uint8Array(32));
    const msg = new Uint8Array([1, 2, 3]);
    await ed25519SignAsync(sk, msg);
    sk[0]! ^= 1;
    expect(toHex(await ed25519SignAsync(sk, msg))).toBe(toHex(ed25519Sign(sk, msg)));
    await expect(ed25519SignAsync(new Uint8Array(31), msg)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(signWithContextAsync(sk, 'bad\0ctx', msg)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });
});

describe('SHA-256 of piece ciphertexts natively (node:crypto)', () => {
  it('gives the same digest as the pure-JS hash, fed in any cuts', async () => {
    const { createSha256 } = await import('../src/_sha256');
    for (const n of [0, 1, 63, 64, 65, 1000, 300_000]) {
      const data = new Uint8Array(n).map((_, i) => (i * 131 + n) & 0xff);
      const a = createSha256();
      const b = createSha256({ native: false });
      for (let at = 0; at < n; at += 7919) {
        a.update(data.subarray(at, at + 7919));
        b.update(data.subarray(at, at + 7919));
      }
      expect(toHex(a.digest())).toBe(toHex(b.digest()));
    }
  });
});
