import { describe, expect, it } from 'vitest';
import { base32Decode, base32Encode, hotp, matchTotp, totpCode } from '../src/auth/totp';

// RFC 6238 Appendix B (SHA1 seed "12345678901234567890", 8 digits) and RFC 4226 Appendix D.
const SEED = base32Encode(new TextEncoder().encode('12345678901234567890'));

describe('TOTP', () => {
  it('matches RFC 6238 Appendix B (SHA-1)', () => {
    const cases: [number, string][] = [
      [59, '94287082'],
      [1111111109, '07081804'],
      [1111111111, '14050471'],
      [1234567890, '89005924'],
      [2000000000, '69279037'],
      [20000000000, '65353130'],
    ];
    for (const [t, code] of cases) expect(totpCode(SEED, new Date(t * 1000), 8)).toBe(code);
  });

  it('matches RFC 4226 Appendix D (HOTP)', () => {
    const expected = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];
    const key = new TextEncoder().encode('12345678901234567890');
    expected.forEach((code, i) => expect(hotp(key, BigInt(i))).toBe(code));
  });

  it('accepts ±1 step, refuses further and replayed steps', () => {
    const now = new Date(1_800_000_000_000);
    const code = totpCode(SEED, now);
    expect(matchTotp(SEED, code, now, null)).not.toBeNull();
    expect(matchTotp(SEED, code, new Date(now.getTime() + 30_000), null)).not.toBeNull();
    expect(matchTotp(SEED, code, new Date(now.getTime() + 90_000), null)).toBeNull();
    const step = matchTotp(SEED, code, now, null)!;
    expect(matchTotp(SEED, code, now, step)).toBeNull();
  });

  it('base32 round-trips', () => {
    for (const n of [0, 1, 5, 19, 20, 33]) {
      const b = new Uint8Array(n).map((_, i) => (i * 37 + 11) & 255);
      expect(base32Decode(base32Encode(b))).toEqual(b);
    }
    expect(() => base32Decode('abc1')).toThrow();
  });
});
