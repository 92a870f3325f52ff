/**
 * Internal helpers: labelled input checks, byte utilities, default randomness
 * (docs/crypto.md §2.1). Not exported from the package.
 */
import { CryptoError } from './errors';

/** A source of random bytes; defaults to `crypto.getRandomValues` (docs/crypto.md §2). */
export type RandomSource = (n: number) => Uint8Array;

/** Returns `n` bytes from WebCrypto's CSPRNG (browsers and Node 20 both expose `globalThis.crypto`). */
export const defaultRandom: RandomSource = (n) => {
  const out = new Uint8Array(n);
  // getRandomValues is limited to 65536 bytes per call.
  for (let i = 0; i < n; i += 65536) globalThis.crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
};

/** Draws `n` bytes from `random` and checks the source returned what it promised. */
export function randomBytes(random: RandomSource | undefined, n: number): Uint8Array {
  const out = (random ?? defaultRandom)(n);
  if (!(out instanceof Uint8Array) || out.length !== n) {
    throw new CryptoError('INVALID_INPUT', `"random" expected to return ${n} bytes`);
  }
  return out;
}

/** Asserts a byte array, optionally of an exact length: `"nonce" expected 24 bytes, got 12`. */
export function abytes(value: unknown, label: string, length?: number): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new CryptoError('INVALID_INPUT', `"${label}" expected Uint8Array, got ${typeof value}`);
  }
  if (length !== undefined && value.length !== length) {
    throw new CryptoError('INVALID_INPUT', `"${label}" expected ${length} bytes, got ${value.length}`);
  }
  return value;
}

/** Asserts a non-negative safe integer no larger than `max`. */
export function aint(value: unknown, label: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > max) {
    throw new CryptoError('INVALID_INPUT', `"${label}" expected an integer in [0, ${max}], got ${String(value)}`);
  }
  return value;
}

/** Asserts a non-empty string of at most `max` UTF-8 bytes. */
export function astring(value: unknown, label: string, max = 1024): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new CryptoError('INVALID_INPUT', `"${label}" expected a non-empty string`);
  }
  if (utf8(value).length > max) throw new CryptoError('INVALID_INPUT', `"${label}" longer than ${max} bytes`);
  return value;
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });
/** UTF-8 encodes a string. */
export const utf8 = (s: string): Uint8Array => enc.encode(s);
/** UTF-8 decodes bytes; invalid UTF-8 is MALFORMED. */
export function fromUtf8(b: Uint8Array): string {
  try {
    return dec.decode(b);
  } catch {
    throw new CryptoError('MALFORMED', 'invalid UTF-8');
  }
}

/** Concatenates byte arrays into one new array. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Constant-time (in the contents) equality of two byte arrays. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

/** Big-endian encoding of `n` in `len` bytes (len ≤ 8, n a safe integer). */
export function i2osp(n: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  let v = n;
  for (let i = len - 1; i >= 0; i--) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  if (v !== 0) throw new CryptoError('INVALID_INPUT', `integer ${n} does not fit in ${len} bytes`);
  return out;
}

/** Overwrites a secret buffer with zeros (best effort; JS gives no guarantee). */
export function wipe(...bufs: (Uint8Array | undefined)[]): void {
  for (const b of bufs) b?.fill(0);
}

/** Copies bytes so that callers may not alias internal state. */
export const copy = (b: Uint8Array): Uint8Array => Uint8Array.from(b);

/** The flat authentication failure of docs/crypto.md §2: never says which part was wrong. */
export const decryptionFailed = (): CryptoError => new CryptoError('DECRYPTION_FAILED', 'decryption failed');
