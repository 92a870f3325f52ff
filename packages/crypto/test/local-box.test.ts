/**
 * Local boxes (docs/crypto.md §5.13): the layout rebuilt from the document with the primitives
 * alone, round trips (property), and refusals — another device's secret, another purpose, a
 * flipped bit anywhere, bytes moved between the header and the ciphertext, truncation, unknown
 * versions and suites, bad inputs.
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LOCAL_BOX, openLocalBox, sealLocalBox } from '../src/index';
import { expectBytes, expectCode, flip, seededRandom } from './helpers';

const random = seededRandom('local-box');
const secret = new Uint8Array(32).fill(7);
const other = new Uint8Array(32).fill(8);
const data = new TextEncoder().encode('search index bytes');
const te = new TextEncoder();

describe('local boxes', () => {
  it('are laid out as docs/crypto.md §5.13 says', () => {
    const fixed = new Uint8Array(24).fill(0x5a);
    const rec = sealLocalBox({ secret, purpose: 'search-index', plaintext: data, random: (n) => fixed.slice(0, n) });
    // key = HKDF-SHA256(ikm = secret, salt = label, info = purpose); aad = label 0x00 | str(purpose) | version | suite
    const key = hkdf(sha256, secret, te.encode('sealmail/v1/local-box'), te.encode('search-index'), 32);
    const purpose = te.encode('search-index');
    const aad = new Uint8Array([...te.encode('sealmail/v1/local-box'), 0, 0, purpose.length, ...purpose, 0x01, 0x01]);
    const expected = new Uint8Array([0x01, 0x01, ...fixed, ...xchacha20poly1305(key, fixed, aad).encrypt(data)]);
    expectBytes(rec, expected);
  });

  it('round trip; versioned; a fresh nonce each time', () => {
    const a = sealLocalBox({ secret, purpose: 'search-index', plaintext: data, random });
    const b = sealLocalBox({ secret, purpose: 'search-index', plaintext: data, random });
    expect([a[0], a[1]]).toEqual([LOCAL_BOX.version, LOCAL_BOX.suiteXChaCha20Poly1305]);
    expect(a.length).toBe(2 + 24 + data.length + 16);
    expect(a).not.toEqual(b);
    expectBytes(openLocalBox({ secret, purpose: 'search-index', record: a }), data);
    expect(openLocalBox({ secret, purpose: 'x', record: sealLocalBox({ secret, purpose: 'x', plaintext: new Uint8Array(0) }) })).toHaveLength(0);
  });

  it('round trip for any secret (32 bytes or more), purpose and plaintext', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 64 }), fc.string({ minLength: 1, maxLength: 30 }), fc.uint8Array({ maxLength: 300 }), (s, purpose, plaintext) => {
        expectBytes(openLocalBox({ secret: s, purpose, record: sealLocalBox({ secret: s, purpose, plaintext }) }), plaintext);
      }),
      { numRuns: 50 },
    );
  });

  it('refuses another device, another purpose, tampering, unknown versions and suites', () => {
    const rec = sealLocalBox({ secret, purpose: 'search-index', plaintext: data, random });
    expectCode(() => openLocalBox({ secret: other, purpose: 'search-index', record: rec }), 'DECRYPTION_FAILED');
    expectCode(() => openLocalBox({ secret, purpose: 'drafts', record: rec }), 'DECRYPTION_FAILED');
    expectCode(() => openLocalBox({ secret: new Uint8Array([...secret, 0]), purpose: 'search-index', record: rec }), 'DECRYPTION_FAILED');
    for (let i = 2; i < rec.length; i++) expectCode(() => openLocalBox({ secret, purpose: 'search-index', record: flip(rec, i) }), 'DECRYPTION_FAILED');
    // Truncated or extended by a byte: the tag no longer verifies.
    expectCode(() => openLocalBox({ secret, purpose: 'search-index', record: rec.subarray(0, rec.length - 1) }), 'DECRYPTION_FAILED');
    expectCode(() => openLocalBox({ secret, purpose: 'search-index', record: new Uint8Array([...rec, 0]) }), 'DECRYPTION_FAILED');
    const v = Uint8Array.from(rec);
    v[0] = 2;
    expectCode(() => openLocalBox({ secret, purpose: 'search-index', record: v }), 'UNSUPPORTED_VERSION');
    v[0] = 0;
    expectCode(() => openLocalBox({ secret, purpose: 'search-index', record: v }), 'UNSUPPORTED_VERSION');
    const s = Uint8Array.from(rec);
    s[1] = 2;
    expectCode(() => openLocalBox({ secret, purpose: 'search-index', record: s }), 'UNSUPPORTED_SUITE');
    expectCode(() => openLocalBox({ secret, purpose: 'search-index', record: rec.subarray(0, 2 + 24 + 15) }), 'MALFORMED');
    expectCode(() => openLocalBox({ secret, purpose: 'search-index', record: new Uint8Array(0) }), 'MALFORMED');
  });

  it('moving bytes between the purpose (associated data) and the ciphertext fails', () => {
    // Sealed under purpose "ab" with plaintext "c…" vs purpose "a" with plaintext "bc…": same
    // concatenation, different boxes — the length prefix of the purpose keeps them apart.
    const rec = sealLocalBox({ secret, purpose: 'ab', plaintext: te.encode('cdef'), random });
    expectCode(() => openLocalBox({ secret, purpose: 'a', record: rec }), 'DECRYPTION_FAILED');
    expectCode(() => openLocalBox({ secret, purpose: 'abc', record: rec }), 'DECRYPTION_FAILED');
  });

  it('checks its inputs', () => {
    expectCode(() => sealLocalBox({ secret: new Uint8Array(16), purpose: 'x', plaintext: data }), 'INVALID_INPUT');
    expectCode(() => sealLocalBox({ secret, purpose: '', plaintext: data }), 'INVALID_INPUT');
    expectCode(() => sealLocalBox({ secret, purpose: 'p'.repeat(65), plaintext: data }), 'INVALID_INPUT');
    expectCode(() => sealLocalBox({ secret, purpose: 'x', plaintext: 'text' as unknown as Uint8Array }), 'INVALID_INPUT');
    expectCode(() => openLocalBox({ secret, purpose: 'x', record: [1, 1] as unknown as Uint8Array }), 'INVALID_INPUT');
  });
});
