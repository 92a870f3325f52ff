import { describe, expect, it } from 'vitest';
import { LOCAL_BOX, openLocalBox, sealLocalBox } from '../src/index';
import { expectBytes, expectCode, flip, seededRandom } from './helpers';

const random = seededRandom('local-box');
const secret = new Uint8Array(32).fill(7);
const other = new Uint8Array(32).fill(8);
const data = new TextEncoder().encode('search index bytes');

describe('local boxes', () => {
  it('round trip; versioned; a fresh nonce each time', () => {
    const a = sealLocalBox({ secret, purpose: 'search-index', plaintext: data, random });
    const b = sealLocalBox({ secret, purpose: 'search-index', plaintext: data, random });
    expect([a[0], a[1]]).toEqual([LOCAL_BOX.version, LOCAL_BOX.suiteXChaCha20Poly1305]);
    expect(a.length).toBe(2 + 24 + data.length + 16);
    expect(a).not.toEqual(b);
    expectBytes(openLocalBox({ secret, purpose: 'search-index', record: a }), data);
  });

  it('refuses another device, another purpose, tampering, unknown versions and suites', () => {
    const rec = sealLocalBox({ secret, purpose: 'search-index', plaintext: data, random });
    expectCode(() => openLocalBox({ secret: other, purpose: 'search-index', record: rec }), 'DECRYPTION_FAILED');
    expectCode(() => openLocalBox({ secret, purpose: 'drafts', record: rec }), 'DECRYPTION_FAILED');
    for (const i of [2, 26, rec.length - 1]) expectCode(() => openLocalBox({ secret, purpose: 'search-index', record: flip(rec, i) }), 'DECRYPTION_FAILED');
    const v = Uint8Array.from(rec);
    v[0] = 2;
    expectCode(() => openLocalBox({ secret, purpose: 'search-index', record: v }), 'UNSUPPORTED_VERSION');
    const s = Uint8Array.from(rec);
    s[1] = 2;
    expectCode(() => openLocalBox({ secret, purpose: 'search-index', record: s }), 'UNSUPPORTED_SUITE');
    expectCode(() => openLocalBox({ secret, purpose: 'search-index', record: rec.subarray(0, 30) }), 'MALFORMED');
    expectCode(() => sealLocalBox({ secret: new Uint8Array(16), purpose: 'x', plaintext: data }), 'INVALID_INPUT');
  });
});
