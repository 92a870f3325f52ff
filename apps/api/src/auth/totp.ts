/**
 * TOTP second factor (RFC 6238 over RFC 4226 HOTP): HMAC-SHA1, 30-second steps, 6 digits, as
 * every authenticator app expects. A code is accepted one step either side of now, and never
 * twice (the last accepted step is stored).
 */
import { createHmac, randomBytes } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function base32Encode(b: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of b) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

export function base32Decode(s: string): Uint8Array {
  const clean = s.replace(/=+$/, '').toUpperCase();
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const c of clean) {
    const i = ALPHABET.indexOf(c);
    if (i < 0) throw new Error('invalid base32');
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return new Uint8Array(out);
}

/** A new 160-bit secret, base32 (RFC 4226 recommends 160 bits). */
export function newTotpSecret(): string {
  return base32Encode(randomBytes(20));
}

/** HOTP value for a counter (RFC 4226 §5.3), `digits` long. */
export function hotp(secret: Uint8Array, counter: bigint, digits = 6): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(counter);
  const mac = createHmac('sha1', secret).update(msg).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const bin = ((mac[offset]! & 0x7f) << 24) | (mac[offset + 1]! << 16) | (mac[offset + 2]! << 8) | mac[offset + 3]!;
  return String(bin % 10 ** digits).padStart(digits, '0');
}

export const TOTP_STEP_MS = 30_000;

export function totpStep(now: Date): bigint {
  return BigInt(Math.floor(now.getTime() / TOTP_STEP_MS));
}

export function totpCode(secretBase32: string, now: Date, digits = 6): string {
  return hotp(base32Decode(secretBase32), totpStep(now), digits);
}

/**
 * The step a code matches (now ±1 step), or null. Steps at or before `lastStep` are refused
 * (replay).
 */
export function matchTotp(secretBase32: string, code: string, now: Date, lastStep: bigint | null): bigint | null {
  const key = base32Decode(secretBase32);
  const step = totpStep(now);
  for (const s of [step - 1n, step, step + 1n]) {
    if (lastStep !== null && s <= lastStep) continue;
    if (hotp(key, s) === code) return s;
  }
  return null;
}

export function otpauthUrl(secretBase32: string, account: string, issuer = 'Sealmail'): string {
  return `otpauth://totp/${encodeURIComponent(issuer)}:${encodeURIComponent(account)}?secret=${secretBase32}&issuer=${encodeURIComponent(issuer)}&algorithm=SHA1&digits=6&period=30`;
}
