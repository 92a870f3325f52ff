/**
 * TOTP second factor (RFC 6238) on the `otpauth` library: HMAC-SHA1, 30-second steps, 6 digits,
 * as every authenticator app expects. A code is accepted one step either side of now, and never
 * twice: the caller stores the last accepted step and passes it back (replay refusal).
 */
import { Secret, TOTP } from 'otpauth';

const PARAMS = { algorithm: 'SHA1', digits: 6, period: 30 } as const;
export const TOTP_STEP_MS = PARAMS.period * 1000;

function totpOf(secretBase32: string, account = '', issuer = 'Sealmail'): TOTP {
  return new TOTP({ ...PARAMS, issuer, label: account, secret: Secret.fromBase32(secretBase32) });
}

/** A new 160-bit secret, base32 (RFC 4226 recommends 160 bits). */
export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

/** The time step of `now`. */
export function totpStep(now: Date): bigint {
  return BigInt(TOTP.counter({ period: PARAMS.period, timestamp: now.getTime() }));
}

/** The code for `now` (tests and tools). */
export function totpCode(secretBase32: string, now: Date): string {
  return totpOf(secretBase32).generate({ timestamp: now.getTime() });
}

/**
 * The step a code matches (now ±1 step), or null. Steps at or before `lastStep` are refused
 * (replay): of the steps the window allows, only later ones count.
 */
export function matchTotp(secretBase32: string, code: string, now: Date, lastStep: bigint | null): bigint | null {
  if (!/^\d{6}$/.test(code)) return null;
  const totp = totpOf(secretBase32);
  const step = totpStep(now);
  // otpauth answers the first matching offset in the window; check each allowed step ourselves so
  // a replayed step does not hide a fresh one.
  for (const offset of [-1, 0, 1]) {
    const s = step + BigInt(offset);
    if (lastStep !== null && s <= lastStep) continue;
    if (totp.validate({ token: code, timestamp: now.getTime() + offset * TOTP_STEP_MS, window: 0 }) === 0) return s;
  }
  return null;
}

/** The `otpauth://` URI an authenticator app scans (as a QR code) or imports. */
export function otpauthUrl(secretBase32: string, account: string, issuer = 'Sealmail'): string {
  return totpOf(secretBase32, account, issuer).toString();
}
