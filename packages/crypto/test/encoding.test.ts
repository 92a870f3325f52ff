import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  ByteReader,
  ByteWriter,
  createPasswordBox,
  decodeManifest,
  decodePublicKeys,
  encodeManifest,
  encodePublicKeys,
  fromBase64Url,
  fromHex,
  openPasswordBox,
  readHeader,
  toBase64Url,
  toHex,
} from '../src/index';
import { expectCode } from './helpers';

describe('encodings round trip (fast-check)', () => {
  it('hex', () => fc.assert(fc.property(fc.uint8Array(), (b) => {
    expect(fromHex(toHex(b))).toEqual(b);
  })));
  it('base64url', () =>
    fc.assert(
      fc.property(fc.uint8Array(), (b) => {
        const s = toBase64Url(b);
        expect(s).toMatch(/^[A-Za-z0-9_-]*$/);
        expect(fromBase64Url(s)).toEqual(b);
      }),
    ));
  it('base64url agrees with the platform encoder', () =>
    fc.assert(
      fc.property(fc.uint8Array(), (b) => {
        const std = btoa(String.fromCharCode(...b)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
        expect(toBase64Url(b)).toBe(std);
      }),
    ));
  it('ByteWriter / ByteReader', () =>
    fc.assert(
      fc.property(fc.nat(255), fc.nat(65535), fc.nat(), fc.maxSafeNat(), fc.uint8Array({ maxLength: 300 }), fc.string(), (a, b, c, d, bytes, s) => {
        const enc = new ByteWriter().u8(a).u16(b).u32(c).u64(d).bytes16(bytes).bytes32(bytes).str(s).finish();
        const r = new ByteReader(enc);
        expect([r.u8(), r.u16(), r.u32(), r.u64(), r.bytes16(), r.bytes32(), r.str()]).toEqual([a, b, c, d, bytes, bytes, s]);
        r.end();
        // any truncation is MALFORMED
        const t = new ByteReader(enc.subarray(0, enc.length - 1));
        expectCode(() => {
          t.u8(); t.u16(); t.u32(); t.u64(); t.bytes16(); t.bytes32(); t.str(); t.end();
        }, 'MALFORMED');
      }),
    ));
  it('public key bundle', () =>
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 1216, maxLength: 1216 }), (s, e) => {
        expect(decodePublicKeys(encodePublicKeys({ signingPublicKey: s, encryptionPublicKey: e }))).toEqual({ signingPublicKey: s, encryptionPublicKey: e });
      }),
      { numRuns: 20 },
    ));
  it('password box seals and opens any message key', () =>
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (mk) => {
        const envelope = new ByteWriter().u8(1).u8(1).str('m').u8(2).str('x@y').u16(0).raw(new Uint8Array(64)).finish();
        const pb = createPasswordBox({ envelope, messageKey: mk });
        expect(openPasswordBox({ envelope, box: pb.box, password: pb.password, digest: pb.digest }).messageKey).toEqual(mk);
      }),
      { numRuns: 20 },
    ));
});

describe('decoders reject malformed input', () => {
  it('readHeader', () => {
    expectCode(() => readHeader(new ByteReader(new Uint8Array([2, 1])), 1, [1], 'x'), 'UNSUPPORTED_VERSION');
    expectCode(() => readHeader(new ByteReader(new Uint8Array([1, 9])), 1, [1], 'x'), 'UNSUPPORTED_SUITE');
    expectCode(() => readHeader(new ByteReader(new Uint8Array([1])), 1, [1], 'x'), 'MALFORMED');
  });
  it('hex and base64url', () => {
    expectCode(() => fromHex('abc'), 'INVALID_INPUT');
    expectCode(() => fromHex('zz'), 'INVALID_INPUT');
    expectCode(() => fromBase64Url('a'), 'INVALID_INPUT');
    expectCode(() => fromBase64Url('ab+c'), 'INVALID_INPUT');
    expectCode(() => fromBase64Url('AB'), 'INVALID_INPUT'); // non-canonical trailing bits
  });
  it('manifest: unknown flags, piece kinds, trailing bytes, invalid UTF-8', () => {
    const m = encodeManifest({ messageId: 'm', notE2EE: false, pieces: [{ kind: 'body', key: new Uint8Array(32), size: 1, ciphertextHash: new Uint8Array(32) }] });
    const flagsAt = 2 + 2 + 1;
    const bad = Uint8Array.from(m);
    bad[flagsAt] = 2;
    expectCode(() => decodeManifest(bad), 'MALFORMED');
    const kind = Uint8Array.from(m);
    kind[flagsAt + 3] = 7;
    expectCode(() => decodeManifest(kind), 'MALFORMED');
    expectCode(() => decodeManifest(new Uint8Array([...m, 0])), 'MALFORMED');
    const utf = Uint8Array.from(m);
    utf[4] = 0xff;
    expectCode(() => decodeManifest(utf), 'MALFORMED');
  });
});
