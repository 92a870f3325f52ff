/**
 * Byte helpers and labelled input checks (docs/crypto.md §2 "Conventions").
 * Integers are big-endian. Labelled checks name the argument: `"nonce" expected 24 bytes, got 12`.
 */
import { CryptoError } from './errors';

/** A source of random bytes; every function that needs randomness takes one (tests pass fixed ones). */
export type RandomSource = (length: number) => Uint8Array;

/** Cryptographically secure randomness from WebCrypto (browsers and Node). */
export const systemRandom: RandomSource = (length) => {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i += 65536) globalThis.crypto.getRandomValues(out.subarray(i, Math.min(length, i + 65536)));
  return out;
};

/** @throws CryptoError INVALID_INPUT when `value` is not a Uint8Array (of `length`, when given). */
export function checkBytes(value: unknown, label: string, length?: number): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new CryptoError('INVALID_INPUT', `"${label}" expected Uint8Array, got ${typeof value}`);
  if (length !== undefined && value.length !== length) {
    throw new CryptoError('INVALID_INPUT', `"${label}" expected ${length} bytes, got ${value.length}`);
  }
  return value;
}

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

/** Constant-time equality for equal lengths (length itself is not secret). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
export const fromUtf8 = (b: Uint8Array): string => new TextDecoder('utf-8', { fatal: true }).decode(b);

export function u16(n: number): Uint8Array {
  return new Uint8Array([(n >>> 8) & 0xff, n & 0xff]);
}
export function u32(n: number): Uint8Array {
  return new Uint8Array([(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
}
export function u64(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new CryptoError('INVALID_INPUT', `"size" expected a non-negative safe integer, got ${n}`);
  const hi = Math.floor(n / 2 ** 32);
  return concat(u32(hi), u32(n >>> 0));
}

export function toHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}
export function fromHex(h: string): Uint8Array {
  if (h.length % 2 || /[^0-9a-f]/i.test(h)) throw new CryptoError('INVALID_INPUT', '"hex" expected an even-length hex string');
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(i * 2, i * 2 + 2), 16);
  return out;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** base64url without padding (RFC 4648 §5). */
export function toBase64Url(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 3) {
    const n = (b[i]! << 16) | ((b[i + 1] ?? 0) << 8) | (b[i + 2] ?? 0);
    s += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]!;
    if (i + 1 < b.length) s += B64[(n >> 6) & 63]!;
    if (i + 2 < b.length) s += B64[n & 63]!;
  }
  return s;
}
/** @throws CryptoError INVALID_INPUT on characters outside base64url or a bad length. */
export function fromBase64Url(s: string): Uint8Array {
  if (/[^A-Za-z0-9_-]/.test(s) || s.length % 4 === 1) throw new CryptoError('INVALID_INPUT', '"base64url" expected base64url without padding');
  const out = new Uint8Array(Math.floor((s.length * 3) / 4));
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    const c = [0, 1, 2, 3].map((k) => (i + k < s.length ? B64.indexOf(s[i + k]!) : 0));
    const n = (c[0]! << 18) | (c[1]! << 12) | (c[2]! << 6) | c[3]!;
    out[o++] = (n >> 16) & 255;
    if (i + 2 < s.length) out[o++] = (n >> 8) & 255;
    if (i + 3 < s.length) out[o++] = n & 255;
  }
  return out;
}

/** Writes canonical length-prefixed fields. */
export class Writer {
  private parts: Uint8Array[] = [];
  u8(n: number): this {
    this.parts.push(new Uint8Array([n & 0xff]));
    return this;
  }
  u16(n: number): this {
    this.parts.push(u16(n));
    return this;
  }
  u32(n: number): this {
    this.parts.push(u32(n));
    return this;
  }
  u64(n: number): this {
    this.parts.push(u64(n));
    return this;
  }
  raw(b: Uint8Array): this {
    this.parts.push(b);
    return this;
  }
  /** u32 length, then the bytes. */
  bytes(b: Uint8Array): this {
    return this.u32(b.length).raw(b);
  }
  str(s: string): this {
    return this.bytes(utf8(s));
  }
  finish(): Uint8Array {
    return concat(...this.parts);
  }
}

/** Reads what Writer wrote; any overrun or leftover is MALFORMED. */
export class Reader {
  private o = 0;
  constructor(
    private readonly b: Uint8Array,
    private readonly what: string,
  ) {}
  private need(n: number): void {
    if (this.o + n > this.b.length) throw new CryptoError('MALFORMED', `${this.what}: truncated`);
  }
  u8(): number {
    this.need(1);
    return this.b[this.o++]!;
  }
  u16(): number {
    this.need(2);
    const v = (this.b[this.o]! << 8) | this.b[this.o + 1]!;
    this.o += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = ((this.b[this.o]! << 24) >>> 0) + (this.b[this.o + 1]! << 16) + (this.b[this.o + 2]! << 8) + this.b[this.o + 3]!;
    this.o += 4;
    return v;
  }
  u64(): number {
    const hi = this.u32();
    const lo = this.u32();
    const v = hi * 2 ** 32 + lo;
    if (!Number.isSafeInteger(v)) throw new CryptoError('MALFORMED', `${this.what}: integer out of range`);
    return v;
  }
  raw(n: number): Uint8Array {
    this.need(n);
    const v = this.b.slice(this.o, this.o + n);
    this.o += n;
    return v;
  }
  bytes(max = 1 << 30): Uint8Array {
    const n = this.u32();
    if (n > max) throw new CryptoError('MALFORMED', `${this.what}: field too long`);
    return this.raw(n);
  }
  str(max = 4096): string {
    try {
      return fromUtf8(this.bytes(max));
    } catch (e) {
      if (e instanceof CryptoError) throw e;
      throw new CryptoError('MALFORMED', `${this.what}: invalid UTF-8`);
    }
  }
  end(): void {
    if (this.o !== this.b.length) throw new CryptoError('MALFORMED', `${this.what}: trailing bytes`);
  }
  get offset(): number {
    return this.o;
  }
}

/** Checks the version and suite bytes that start every format (docs/crypto.md §2). */
export function checkHeader(r: Reader, what: string, version: number, suites: readonly number[]): number {
  const v = r.u8();
  if (v !== version) throw new CryptoError('UNSUPPORTED_VERSION', `${what}: unsupported version ${v}`);
  const s = r.u8();
  if (!suites.includes(s)) throw new CryptoError('UNSUPPORTED_SUITE', `${what}: unsupported suite ${s}`);
  return s;
}
