/**
 * Canonical byte encoding used by every Sealmail format (docs/crypto.md §2.2).
 *
 * Integers are big-endian. Variable-length fields are prefixed by their length (u16 or u32).
 * Every top-level format begins with `version (u8) | suite (u8)`; {@link readHeader} rejects
 * unknown values with `UNSUPPORTED_VERSION` / `UNSUPPORTED_SUITE`.
 */
import { CryptoError } from './errors';
import { concat, fromUtf8, i2osp, utf8 } from './_util';

/** Appends canonical fields to a growing byte string. @throws {CryptoError} INVALID_INPUT from a method given an out-of-range value. */
export class ByteWriter {
  private parts: Uint8Array[] = [];
  /** Appends one byte. @throws {CryptoError} INVALID_INPUT when out of range. */
  u8(n: number): this {
    this.parts.push(i2osp(n, 1));
    return this;
  }
  /** Appends a big-endian u16. @throws {CryptoError} INVALID_INPUT when out of range. */
  u16(n: number): this {
    this.parts.push(i2osp(n, 2));
    return this;
  }
  /** Appends a big-endian u32. @throws {CryptoError} INVALID_INPUT when out of range. */
  u32(n: number): this {
    this.parts.push(i2osp(n, 4));
    return this;
  }
  /** Appends a big-endian u64 (safe-integer range). @throws {CryptoError} INVALID_INPUT when out of range. */
  u64(n: number): this {
    this.parts.push(i2osp(n, 8));
    return this;
  }
  /** Appends raw bytes with no length prefix (fixed-size fields). */
  raw(b: Uint8Array): this {
    this.parts.push(b);
    return this;
  }
  /** Appends `u16 length | bytes`. @throws {CryptoError} INVALID_INPUT when longer than 65535. */
  bytes16(b: Uint8Array): this {
    return this.u16(b.length).raw(b);
  }
  /** Appends `u32 length | bytes`. */
  bytes32(b: Uint8Array): this {
    return this.u32(b.length).raw(b);
  }
  /** Appends a UTF-8 string as `u16 length | bytes`. */
  str(s: string): this {
    return this.bytes16(utf8(s));
  }
  /** Returns the bytes written so far. */
  finish(): Uint8Array {
    return concat(...this.parts);
  }
}

/** Reads canonical fields; any shortfall or leftover is `MALFORMED`. @throws {CryptoError} MALFORMED from its methods. */
export class ByteReader {
  private off = 0;
  constructor(private readonly buf: Uint8Array) {}
  private take(n: number): Uint8Array {
    if (n > this.buf.length - this.off) throw new CryptoError('MALFORMED', 'truncated input');
    const out = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return out;
  }
  private uint(n: number): number {
    let v = 0;
    for (const b of this.take(n)) v = v * 256 + b;
    if (!Number.isSafeInteger(v)) throw new CryptoError('MALFORMED', 'integer out of range');
    return v;
  }
  /** Reads one byte. @throws {CryptoError} MALFORMED when truncated. */
  u8(): number {
    return this.uint(1);
  }
  /** Reads a big-endian u16. @throws {CryptoError} MALFORMED when truncated. */
  u16(): number {
    return this.uint(2);
  }
  /** Reads a big-endian u32. @throws {CryptoError} MALFORMED when truncated. */
  u32(): number {
    return this.uint(4);
  }
  /** Reads a big-endian u64 (safe-integer range). @throws {CryptoError} MALFORMED when truncated or too large. */
  u64(): number {
    return this.uint(8);
  }
  /** Reads `n` raw bytes (a view, not a copy). @throws {CryptoError} MALFORMED when truncated. */
  raw(n: number): Uint8Array {
    return this.take(n);
  }
  /** Reads `u16 length | bytes`. @throws {CryptoError} MALFORMED when truncated. */
  bytes16(): Uint8Array {
    return this.take(this.u16());
  }
  /** Reads `u32 length | bytes`. @throws {CryptoError} MALFORMED when truncated. */
  bytes32(): Uint8Array {
    return this.take(this.u32());
  }
  /** Reads a UTF-8 string written by {@link ByteWriter.str}. @throws {CryptoError} MALFORMED. */
  str(): string {
    return fromUtf8(this.bytes16());
  }
  /** Bytes not yet read. */
  get remaining(): number {
    return this.buf.length - this.off;
  }
  /** Returns the unread rest (a view). */
  rest(): Uint8Array {
    return this.take(this.remaining);
  }
  /** Asserts everything was read. @throws {CryptoError} MALFORMED on trailing bytes. */
  end(): void {
    if (this.remaining !== 0) throw new CryptoError('MALFORMED', 'trailing bytes');
  }
}

/**
 * Reads and checks the `version | suite` header every format starts with (docs/crypto.md §3).
 * @throws {CryptoError} MALFORMED when shorter than 2 bytes; UNSUPPORTED_VERSION; UNSUPPORTED_SUITE.
 */
export function readHeader(r: ByteReader, version: number, suites: readonly number[], what: string): number {
  const v = r.u8();
  const s = r.u8();
  if (v !== version) throw new CryptoError('UNSUPPORTED_VERSION', `${what}: unsupported version ${v}`);
  if (!suites.includes(s)) throw new CryptoError('UNSUPPORTED_SUITE', `${what}: unsupported suite ${s}`);
  return s;
}

/** Lower-case hex of bytes. @throws Nothing (total over byte arrays). */
export function toHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

/** Parses hex (either case). @throws {CryptoError} INVALID_INPUT on odd length or non-hex characters. */
export function fromHex(hex: string): Uint8Array {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new CryptoError('INVALID_INPUT', '"hex" expected an even-length hex string');
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** Unpadded base64url (RFC 4648 §5), used in link fragments. @throws Nothing (total over byte arrays). */
export function toBase64Url(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 3) {
    const n = (b[i]! << 16) | ((b[i + 1] ?? 0) << 8) | (b[i + 2] ?? 0);
    const chars = Math.min(4, Math.ceil(((b.length - i) * 8) / 6));
    for (let j = 0; j < chars; j++) s += B64[(n >> (18 - 6 * j)) & 63];
  }
  return s;
}

/** Parses unpadded base64url. @throws {CryptoError} INVALID_INPUT on bad characters or length. */
export function fromBase64Url(s: string): Uint8Array {
  if (typeof s !== 'string' || s.length % 4 === 1 || !/^[A-Za-z0-9_-]*$/.test(s)) {
    throw new CryptoError('INVALID_INPUT', '"base64url" expected unpadded base64url');
  }
  const out = new Uint8Array(Math.floor((s.length * 6) / 8));
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (const c of s) {
    acc = (acc << 6) | B64.indexOf(c);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0) throw new CryptoError('INVALID_INPUT', '"base64url" has non-canonical trailing bits');
  return out;
}
