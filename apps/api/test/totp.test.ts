import { describe, expect, it } from 'vitest';
import { Secret } from 'otpauth';
import { matchTotp, newTotpSecret, otpauthUrl, totpCode } from '../src/auth/totp';

// RFC 6238 Appendix B (SHA-1 seed "12345678901234567890"): our 6-digit codes are the last six
// digits of the RFC's 8-digit values.
const SEED = new Secret({ buffer: new TextEncoder().encode('12345678901234567890').buffer }).base32;

describe('TOTP (otpauth)', () => {
  it('matches RFC 6238 Appendix B (SHA-1), 6 digits', () => {
    const cases: [number, string][] = [
      [59, '94287082'],
      [1111111109, '07081804'],
      [1111111111, '14050471'],
      [1234567890, '89005924'],
      [2000000000, '69279037'],
      [20000000000, '65353130'],
    ];
    for (const [t, code] of cases) expect(totpCode(SEED, new Date(t * 1000))).toBe(code.slice(2));
  });

  it('accepts ±1 step, refuses further and replayed steps', () => {
    const now = new Date(1_800_000_000_000);
    const code = totpCode(SEED, now);
    expect(matchTotp(SEED, code, now, null)).not.toBeNull();
    expect(matchTotp(SEED, code, new Date(now.getTime() + 30_000), null)).not.toBeNull();
    expect(matchTotp(SEED, code, new Date(now.getTime() + 90_000), null)).toBeNull();
    const step = matchTotp(SEED, code, now, null)!;
    expect(matchTotp(SEED, code, now, step)).toBeNull();
    // The previous step's code is refused once a later step was used.
    const earlier = totpCode(SEED, new Date(now.getTime() - 30_000));
    expect(matchTotp(SEED, earlier, now, step)).toBeNull();
    expect(matchTotp(SEED, 'abcdef', now, null)).toBeNull();
  });

  it('new secrets are 160 bits and the URI carries them', () => {
    const s = newTotpSecret();
    expect(Secret.fromBase32(s).bytes.length).toBe(20);
    const url = otpauthUrl(s, 'alice@example.test');
    expect(url).toMatch(/^otpauth:\/\/totp\/Sealmail:alice%40example\.test\?/);
    expect(url).toContain(`secret=${s}`);
  });
});
