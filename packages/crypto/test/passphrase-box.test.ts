/**
 * Passphrase boxes (docs/crypto.md §5.11): round trips, wrong passphrases, tampering anywhere,
 * unknown versions, hostile cost parameters. Tests use the lowest cost (logN 10) for speed.
 */
import { describe, expect, it } from 'vitest';
import { CryptoError } from '../src/errors';
import { openWithPassphrase, PASSPHRASE_BOX, sealWithPassphrase } from '../src/passphrase-box';

const plaintext = new TextEncoder().encode('{"signingSeed":"device secret"}');
const box = sealWithPassphrase({ plaintext, passphrase: 'correct horse battery staple', logN: 10 });
const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CryptoError);
    return (e as CryptoError).code;
  }
  return 'NO ERROR';
};

describe('passphrase box', () => {
  it('round-trips, and is fresh each time', () => {
    expect(openWithPassphrase({ box, passphrase: 'correct horse battery staple' })).toEqual(plaintext);
    expect(box.length).toBe(PASSPHRASE_BOX.headerBytes + plaintext.length + 16);
    expect(box[2]).toBe(10);
    expect(sealWithPassphrase({ plaintext, passphrase: 'correct horse battery staple', logN: 10 })).not.toEqual(box);
    // The default cost is the OWASP scrypt minimum.
    expect(PASSPHRASE_BOX.defaultLogN).toBe(17);
  });

  it('treats canonically equal passphrases alike (NFC), and different ones as wrong', () => {
    const composed = sealWithPassphrase({ plaintext, passphrase: 'Gr\u00fc\u00dfe', logN: 10 });
    expect(openWithPassphrase({ box: composed, passphrase: 'Gru\u0308\u00dfe' })).toEqual(plaintext);
    expect(code(() => openWithPassphrase({ box, passphrase: 'correct horse battery stapler' }))).toBe('DECRYPTION_FAILED');
  });

  it('detects a flipped bit anywhere', () => {
    for (let i = 0; i < box.length; i++) {
      const bad = box.slice();
      bad[i]! ^= 0x01;
      const c = code(() => openWithPassphrase({ box: bad, passphrase: 'correct horse battery staple' }));
      const expected = i === 0 ? 'UNSUPPORTED_VERSION' : i === 1 ? 'UNSUPPORTED_SUITE' : i <= 4 ? ['INVALID_INPUT', 'DECRYPTION_FAILED'] : 'DECRYPTION_FAILED';
      if (Array.isArray(expected)) expect(expected, `byte ${i}`).toContain(c);
      else expect(c, `byte ${i}`).toBe(expected);
    }
  });

  it('refuses truncation and hostile cost parameters before doing the work', () => {
    expect(code(() => openWithPassphrase({ box: box.subarray(0, 40), passphrase: 'x' }))).toBe('MALFORMED');
    expect(code(() => openWithPassphrase({ box: box.subarray(0, box.length - 1), passphrase: 'correct horse battery staple' }))).toBe('DECRYPTION_FAILED');
    for (const logN of [0, 9, 21, 255]) {
      const bad = box.slice();
      bad[2] = logN;
      expect(code(() => openWithPassphrase({ box: bad, passphrase: 'correct horse battery staple' }))).toBe('INVALID_INPUT');
    }
    expect(code(() => sealWithPassphrase({ plaintext, passphrase: '', logN: 10 }))).toBe('INVALID_INPUT');
    expect(code(() => sealWithPassphrase({ plaintext, passphrase: 'x', logN: 8 }))).toBe('INVALID_INPUT');
  });
});
