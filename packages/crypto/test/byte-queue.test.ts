/**
 * The streaming AEAD's byte queue (src/_byte-queue.ts): a chunk that spans arrays which follow
 * one another in one buffer is taken as a view of that buffer (no copy); arrays from different
 * buffers are gathered; `detach` copies only what the caller may still change.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ByteQueue } from '../src/_byte-queue';
import { createPieceDecryptor, encryptPiece, PIECE } from '../src/index';
import { expectBytes, expectCodeAsync, fillerBytes } from './helpers';

describe('ByteQueue', () => {
  it('takes a span of adjacent views of one buffer as a view of it, and gathers arrays of different buffers', () => {
    const buf = fillerBytes(100);
    const q = new ByteQueue();
    q.push(buf.subarray(0, 30));
    q.push(buf.subarray(30, 60));
    q.push(buf.subarray(60, 100));
    const a = q.take(50);
    expect(a.buffer).toBe(buf.buffer); // no copy
    expect(a.byteOffset).toBe(buf.byteOffset);
    expectBytes(a, buf.subarray(0, 50));
    const b = q.take(50);
    expect(b.buffer).toBe(buf.buffer);
    expectBytes(b, buf.subarray(50, 100));
    expect(q.length).toBe(0);

    const other = fillerBytes(20);
    q.push(buf.subarray(0, 10));
    q.push(other.subarray(0, 10)); // another buffer
    const c = q.take(15);
    expect(c.buffer).not.toBe(buf.buffer);
    expect(c.buffer).not.toBe(other.buffer);
    expectBytes(c, Uint8Array.from([...buf.subarray(0, 10), ...other.subarray(0, 5)]));
    // Views of one buffer with a gap between them are not one span.
    q.take(q.length);
    q.push(buf.subarray(0, 10));
    q.push(buf.subarray(11, 20));
    const d = q.take(15);
    expect(d.buffer).not.toBe(buf.buffer);
    expectBytes(d, Uint8Array.from([...buf.subarray(0, 10), ...buf.subarray(11, 16)]));
  });

  it('gives the bytes in order whatever the arrays and takes (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ len: fc.integer({ min: 0, max: 40 }), sameBuffer: fc.boolean() }), { minLength: 1, maxLength: 20 }), fc.array(fc.integer({ min: 1, max: 60 }), { maxLength: 20 }), (pushes, takes) => {
        const total = pushes.reduce((n, p) => n + p.len, 0);
        const buf = fillerBytes(total);
        const q = new ByteQueue();
        let at = 0;
        for (const p of pushes) {
          q.push(p.sameBuffer ? buf.subarray(at, at + p.len) : Uint8Array.from(buf.subarray(at, at + p.len)));
          at += p.len;
        }
        let got = 0;
        for (const n of takes) {
          if (n > q.length) break;
          expectBytes(q.take(n), buf.subarray(got, got + n));
          got += n;
        }
        expect(q.length).toBe(total - got);
      }),
    );
  });

  it('detach copies what the caller may change, and leaves stable arrays be', () => {
    const mine = fillerBytes(10);
    const stable = fillerBytes(10);
    const q = new ByteQueue();
    q.push(mine);
    q.push(stable, true);
    q.detach();
    const expected = Uint8Array.from([...mine, ...stable]);
    mine.fill(0); // the caller reuses its buffer: the queue had copied it
    expectBytes(q.take(20), expected);
  });
});

describe('a piece decryptor with stable input', () => {
  it('queues the pushed views of a kept buffer by reference: opens as usual, and reads the bytes as they are when opened', async () => {
    const key = new Uint8Array(32).fill(7);
    const context = new TextEncoder().encode('stable/1');
    const plaintext = fillerBytes(3 * PIECE.chunkSize + 1000);
    const ct = await encryptPiece({ key, context, plaintext });
    const open = async (mutateQueued: boolean) => {
      const kept = Uint8Array.from(ct);
      const dec = createPieceDecryptor({ key, context, stableInput: true });
      const out: Uint8Array[] = [];
      const step = 100_000; // less than a chunk: chunks span pushes
      for (let at = 0; at < kept.length; at += step) {
        out.push(Uint8Array.from(await dec.push(kept.subarray(at, at + step))));
        // Against the contract, on purpose: a byte pushed but not yet opened is changed. Had the
        // queue copied it, this would not matter; held by reference, the chunk fails.
        if (mutateQueued && at === 0) kept[step - 1]! ^= 1;
      }
      out.push(Uint8Array.from(await dec.final()));
      return Uint8Array.from(out.flatMap((o) => [...o]));
    };
    expectBytes(await open(false), plaintext);
    await expectCodeAsync(open(true), 'DECRYPTION_FAILED');
  });
});
