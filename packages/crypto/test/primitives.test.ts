import { describe, expect, it } from 'vitest';
import xwingVectors from './vectors/xwing-draft.json';
import hpkeVector from './vectors/rfc9180-a2-base.json';
import {
  dhkemX25519,
  ed25519KeyPairFromSeed,
  ed25519Sign,
  ed25519Verify,
  fromHex,
  hpkeOpen,
  hpkeSeal,
  setupBaseReceiver,
  setupBaseSender,
  signWithContext,
  toHex,
  verifyWithContext,
  xwingDecapsulate,
  xwingEncapsulate,
  xwingKem,
  xwingKeyPairFromSeed,
  BOX,
  openBox,
} from '../src/index';
import { expectCode, flip, seededRandom } from './helpers';

// RFC 8032 §7.1 TEST 1–3 (see test/README.md for provenance).
const RFC8032 = [
  {
    sk: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    pk: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    msg: '',
    sig: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    sk: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    pk: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    msg: '72',
    sig: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    sk: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    pk: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    msg: 'af82',
    sig: '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
];

describe('Ed25519 (RFC 8032)', () => {
  it.each(RFC8032)('vector pk=$pk', (v) => {
    const kp = ed25519KeyPairFromSeed(fromHex(v.sk));
    expect(toHex(kp.publicKey)).toBe(v.pk);
    const sig = ed25519Sign(kp.secretKey, fromHex(v.msg));
    expect(toHex(sig)).toBe(v.sig);
    expect(ed25519Verify(sig, fromHex(v.msg), kp.publicKey)).toBe(true);
    expect(ed25519Verify(flip(sig, 0), fromHex(v.msg), kp.publicKey)).toBe(false);
    expect(ed25519Verify(flip(sig, 63, 7), fromHex(v.msg), kp.publicKey)).toBe(false);
    expect(ed25519Verify(sig, new Uint8Array([1, 2]), kp.publicKey)).toBe(false);
    expect(ed25519Verify(sig.subarray(0, 63), fromHex(v.msg), kp.publicKey)).toBe(false);
  });

  it('context signatures are domain separated', () => {
    const kp = ed25519KeyPairFromSeed(new Uint8Array(32).fill(7));
    const m = new Uint8Array([1, 2, 3]);
    const s = signWithContext(kp.secretKey, 'mail-digest', m);
    expect(verifyWithContext(kp.publicKey, 'mail-digest', m, s)).toBe(true);
    expect(verifyWithContext(kp.publicKey, 'other', m, s)).toBe(false);
    expect(ed25519Verify(s, m, kp.publicKey)).toBe(false);
    expectCode(() => signWithContext(kp.secretKey, 'a\0b', m), 'INVALID_INPUT');
  });

  it('labels bad inputs', () => {
    const e = expectCode(() => ed25519Sign(new Uint8Array(12), new Uint8Array()), 'INVALID_INPUT');
    expect(e.message).toBe('"secretKey" expected 32 bytes, got 12');
  });
});

describe('X-Wing (draft-connolly-cfrg-xwing-kem vectors)', () => {
  it.each(xwingVectors.map((v, i) => ({ ...v, i })))('vector $i', (v) => {
    const kp = xwingKeyPairFromSeed(fromHex(v.seed));
    expect(toHex(kp.secretKey)).toBe(v.sk);
    expect(toHex(kp.publicKey)).toBe(v.pk);
    const { cipherText, sharedSecret } = xwingEncapsulate(kp.publicKey, { eseed: fromHex(v.eseed) });
    expect(toHex(cipherText)).toBe(v.ct);
    expect(toHex(sharedSecret)).toBe(v.ss);
    expect(toHex(xwingDecapsulate(fromHex(v.ct), fromHex(v.sk)))).toBe(v.ss);
    // Implicit rejection: a modified ciphertext gives a different secret, never an exception.
    expect(toHex(xwingDecapsulate(flip(fromHex(v.ct), 5), fromHex(v.sk)))).not.toBe(v.ss);
    expect(toHex(xwingDecapsulate(flip(fromHex(v.ct), 1100), fromHex(v.sk)))).not.toBe(v.ss);
  });

  it('rejects wrong sizes with labels', () => {
    const e = expectCode(() => xwingEncapsulate(new Uint8Array(32)), 'INVALID_INPUT');
    expect(e.message).toBe('"publicKey" expected 1216 bytes, got 32');
    expectCode(() => xwingDecapsulate(new Uint8Array(1120), new Uint8Array(31)), 'INVALID_INPUT');
  });

  it('a small-order X25519 half is DECRYPTION_FAILED, never a raw library error (in a box, too)', () => {
    const kp = xwingKeyPairFromSeed(fromHex(xwingVectors[0]!.seed));
    const ct = fromHex(xwingVectors[0]!.ct);
    // The X25519 half (last 32 bytes) replaced by small-order points: 0, 1 and the order-8 point.
    const smallOrder = ['00'.repeat(32), '01' + '00'.repeat(31), 'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800'];
    for (const p of smallOrder) {
      const bad = Uint8Array.from(ct);
      bad.set(fromHex(p), 1088);
      expectCode(() => xwingDecapsulate(bad, kp.secretKey), 'DECRYPTION_FAILED');
      const box = new Uint8Array(2 + 1120 + 32);
      box.set([BOX.version, BOX.suiteXWingHkdfSha256ChaCha20Poly1305]);
      box.set(bad, 2);
      expectCode(() => openBox({ box, recipientSecretKey: kp.secretKey, purpose: 'puk-seed', context: new Uint8Array(0) }), 'DECRYPTION_FAILED');
    }
  });
});

describe('HPKE (RFC 9180 A.2.1, base mode)', () => {
  const v = hpkeVector;
  it('derives the vector key pairs', () => {
    const r = dhkemX25519.deriveKeyPair(fromHex(v.ikmR));
    expect(toHex(r.secretKey)).toBe(v.skRm);
    expect(toHex(r.publicKey)).toBe(v.pkRm);
    const e = dhkemX25519.deriveKeyPair(fromHex(v.ikmE));
    expect(toHex(e.secretKey)).toBe(v.skEm);
    expect(toHex(e.publicKey)).toBe(v.pkEm);
  });

  it('encapsulates to the vector shared secret', () => {
    const { enc, sharedSecret } = dhkemX25519.encap(fromHex(v.pkRm), () => fromHex(v.ikmE));
    expect(toHex(enc)).toBe(v.enc);
    expect(toHex(sharedSecret)).toBe(v.shared_secret);
    expect(toHex(dhkemX25519.decap(fromHex(v.enc), fromHex(v.skRm)))).toBe(v.shared_secret);
  });

  it('seals every vector encryption and exports every vector value', () => {
    const { enc, context } = setupBaseSender(dhkemX25519, fromHex(v.pkRm), fromHex(v.info), {
      random: () => fromHex(v.ikmE),
    });
    expect(toHex(enc)).toBe(v.enc);
    const receiver = setupBaseReceiver(dhkemX25519, fromHex(v.enc), fromHex(v.skRm), fromHex(v.info));
    let seq = 0;
    for (const e of v.encryptions) {
      const target = Number(e.sequence_number);
      for (; seq < target; seq++) {
        const ct = context.seal(new Uint8Array(), new Uint8Array());
        receiver.open(new Uint8Array(), ct);
      }
      const ct = context.seal(fromHex(e.aad), fromHex(e.pt));
      expect(toHex(ct)).toBe(e.ct);
      expect(toHex(receiver.open(fromHex(e.aad), ct))).toBe(e.pt);
      seq++;
    }
    for (const x of v.exports) {
      expect(toHex(context.export(fromHex(x.exporter_context), Number(x.L)))).toBe(x.exported_value);
      expect(toHex(receiver.export(fromHex(x.exporter_context), Number(x.L)))).toBe(x.exported_value);
    }
  });

  it('single-shot open of vector sequence 0; tampering fails flat', () => {
    const e0 = v.encryptions[0]!;
    const pt = hpkeOpen(dhkemX25519, fromHex(v.enc), fromHex(v.skRm), fromHex(v.info), fromHex(e0.aad), fromHex(e0.ct));
    expect(toHex(pt)).toBe(e0.pt);
    const args = [fromHex(v.enc), fromHex(v.skRm), fromHex(v.info), fromHex(e0.aad), fromHex(e0.ct)] as const;
    for (let i = 0; i < args.length; i++) {
      if (i === 1) continue;
      const a = [...args];
      a[i] = a[i]!.length ? flip(a[i]!, 0) : new Uint8Array([1]);
      const e = expectCode(() => hpkeOpen(dhkemX25519, a[0]!, a[1]!, a[2]!, a[3]!, a[4]!), 'DECRYPTION_FAILED');
      expect(e.message).toBe('decryption failed');
    }
  });

  it('X-Wing HPKE round trip; wrong key, info, aad and enc fail', () => {
    const random = seededRandom('xwing-hpke');
    const r = xwingKem.deriveKeyPair(new Uint8Array(32).fill(1));
    const other = xwingKem.deriveKeyPair(new Uint8Array(32).fill(2));
    const info = new TextEncoder().encode('info');
    const aad = new TextEncoder().encode('aad');
    const msg = new TextEncoder().encode('hello X-Wing');
    const { enc, ciphertext } = hpkeSeal(xwingKem, r.publicKey, info, aad, msg, { random });
    expect(enc.length).toBe(1120);
    expect(hpkeOpen(xwingKem, enc, r.secretKey, info, aad, ciphertext)).toEqual(msg);
    expectCode(() => hpkeOpen(xwingKem, enc, other.secretKey, info, aad, ciphertext), 'DECRYPTION_FAILED');
    expectCode(() => hpkeOpen(xwingKem, enc, r.secretKey, flip(info, 0), aad, ciphertext), 'DECRYPTION_FAILED');
    expectCode(() => hpkeOpen(xwingKem, enc, r.secretKey, info, flip(aad, 0), ciphertext), 'DECRYPTION_FAILED');
    expectCode(() => hpkeOpen(xwingKem, flip(enc, 1119), r.secretKey, info, aad, ciphertext), 'DECRYPTION_FAILED');
    expectCode(() => hpkeOpen(xwingKem, flip(enc, 3), r.secretKey, info, aad, ciphertext), 'DECRYPTION_FAILED');
  });
});
