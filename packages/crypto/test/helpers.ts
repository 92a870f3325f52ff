/** Test helpers: deterministic randomness and error assertions. */
import { expect } from 'vitest';
import { sha256 } from '@noble/hashes/sha2.js';
import { CryptoError } from '../src/errors';

/** A deterministic random source (SHA-256 in counter mode over a seed label). Tests only. */
export function seededRandom(label = 'seed'): (n: number) => Uint8Array {
  let counter = 0;
  const seed = new TextEncoder().encode(label);
  return (n: number) => {
    const out = new Uint8Array(n);
    for (let o = 0; o < n; o += 32) {
      const block = sha256(new Uint8Array([...seed, ...new Uint8Array(new Uint32Array([counter++]).buffer)]));
      out.set(block.subarray(0, Math.min(32, n - o)), o);
    }
    return out;
  };
}

/** Asserts that `fn` throws a CryptoError with `code` (sync). */
export function expectCode(fn: () => unknown, code: string): CryptoError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CryptoError);
    expect((e as CryptoError).code).toBe(code);
    return e as CryptoError;
  }
  throw new Error(`expected CryptoError ${code}, nothing thrown`);
}

/** Asserts that a promise rejects with a CryptoError with `code`. */
export async function expectCodeAsync(p: Promise<unknown>, code: string): Promise<CryptoError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(CryptoError);
    expect((e as CryptoError).code).toBe(code);
    return e as CryptoError;
  }
  throw new Error(`expected CryptoError ${code}, promise resolved`);
}

/** Flips one bit of a copy. */
export function flip(b: Uint8Array, index: number, bit = 0): Uint8Array {
  const c = Uint8Array.from(b);
  c[index]! ^= 1 << bit;
  return c;
}

/** Fast deterministic filler bytes (xorshift32) for large test plaintexts; not for keys. */
export function fillerBytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Fast byte equality for large arrays (vitest's deep equality is slow on big typed arrays). */
export function expectBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual.length).toBe(expected.length);
  let first = -1;
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) {
      first = i;
      break;
    }
  }
  expect(first).toBe(-1);
}
