import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  createPieceDecryptor,
  createPieceEncryptor,
  decryptPiece,
  encryptPiece,
  PIECE,
  pieceCiphertextLength,
  piecePlaintextLength,
  pieceDecryptionStream,
  pieceEncryptionStream,
  type AeadBackend,
} from '../src/index';
import { expectBytes, expectCode, expectCodeAsync, fillerBytes, flip, seededRandom } from './helpers';

const key = new Uint8Array(32).fill(0x42);
const context = new TextEncoder().encode('msg-1/piece-0');
const C = PIECE.chunkSize;
const CT = C + PIECE.tagSize;
const H = PIECE.headerSize;
const data = (n: number, seed = 1) => fillerBytes(n, seed);
const backends: AeadBackend[] = ['node', 'webcrypto', 'noble'];

async function streamDecrypt(ct: Uint8Array, parts: number[], k: Uint8Array = key, ctx: Uint8Array = context, extra: { output?: Uint8Array; backend?: AeadBackend } = {}) {
  const dec = createPieceDecryptor({ key: k, context: ctx, ...extra });
  const released: Uint8Array[] = [];
  let error: unknown;
  try {
    let o = 0;
    for (const p of [...parts, ct.length]) {
      const end = Math.min(ct.length, Math.max(o, p));
      released.push(await dec.push(ct.subarray(o, end)));
      o = end;
    }
    released.push(await dec.final());
  } catch (e) {
    error = e;
  }
  const n = released.reduce((a, b) => a + b.length, 0);
  return { error, releasedBytes: n, released };
}

describe('piece lengths', () => {
  it('piecePlaintextLength inverts pieceCiphertextLength and refuses impossible lengths', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 200 * C }), (n) => piecePlaintextLength(pieceCiphertextLength(n)) === n));
    for (const n of [0, 1, C - 1, C, C + 1, 25 * 1024 * 1024]) expect(piecePlaintextLength(pieceCiphertextLength(n))).toBe(n);
    // Between C+H+16 (one full chunk) and C+H+33 (C+1 bytes: two chunks) nothing fits.
    for (const bad of [-1, 0, H, H + PIECE.tagSize - 1, H + CT + 1, H + CT + 16, 1.5]) expectCode(() => piecePlaintextLength(bad), 'INVALID_INPUT');
  });
});

describe('piece AEAD: round trips', () => {
  it.each([0, 1, 1000, C - 1, C, C + 1, 3 * C, 3 * C + 7])('%i bytes, both backends identical', async (n) => {
    const pt = data(n);
    const outs: Uint8Array[] = [];
    for (const backend of backends) {
      const ct = await encryptPiece({ key, context, plaintext: pt, backend, random: seededRandom('salt') });
      expect(ct.length).toBe(pieceCiphertextLength(n));
      outs.push(ct);
      for (const b2 of backends) expectBytes(await decryptPiece({ key, context, ciphertext: ct, backend: b2 }), pt);
    }
    expectBytes(outs[0]!, outs[1]!);
  });

  it('streaming encryptor equals one-shot; streaming decryptor recovers (fast-check, arbitrary splits)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 3 * C + 100 }),
        fc.array(fc.integer({ min: 0, max: 3 * C + 200 }), { maxLength: 6 }),
        fc.constantFrom<AeadBackend>('webcrypto', 'noble'),
        async (n, cuts, backend) => {
          const pt = data(n, n);
          const oneShot = await encryptPiece({ key, context, plaintext: pt, random: seededRandom('s') });
          const enc = await createPieceEncryptor({ key, context, random: seededRandom('s'), backend });
          const parts: Uint8Array[] = [];
          let o = 0;
          for (const c of [...cuts].sort((a, b) => a - b)) {
            const end = Math.min(n, Math.max(o, c));
            parts.push(await enc.push(pt.subarray(o, end)));
            o = end;
          }
          parts.push(await enc.push(pt.subarray(o)));
          parts.push(await enc.final());
          const streamed = new Uint8Array(parts.reduce((a, b) => a + b.length, 0));
          let p = 0;
          for (const x of parts) {
            streamed.set(x, p);
            p += x.length;
          }
          expectBytes(streamed, oneShot);
          const r = await streamDecrypt(oneShot, cuts.map((c) => c % (oneShot.length + 1)).sort((a, b) => a - b));
          expect(r.error).toBeUndefined();
          expect(r.releasedBytes).toBe(n);
        },
      ),
      { numRuns: 20 },
    );
  }, 60_000);

  // A Node Buffer too: its `slice` is a view, not a copy (the SMTP ingress reuses one Buffer).
  it.each([['Uint8Array', (n: number) => new Uint8Array(n)], ['Buffer', (n: number) => Buffer.alloc(n)]] as const)('streaming keeps no reference to pushed buffers (callers may reuse them): %s', async (_, alloc) => {
    const pt = data(2 * C + 333, 5);
    const expected = await encryptPiece({ key, context, plaintext: pt, random: seededRandom('r') });
    const enc = await createPieceEncryptor({ key, context, random: seededRandom('r') });
    const buf = alloc(100_000);
    const parts: Uint8Array[] = [];
    for (let o = 0; o < pt.length; o += buf.length) {
      const n = Math.min(buf.length, pt.length - o);
      buf.set(pt.subarray(o, o + n));
      parts.push(await enc.push(buf.subarray(0, n)));
      buf.fill(0xee); // reuse the buffer
    }
    parts.push(await enc.final());
    expectBytes(new Uint8Array(parts.flatMap((p) => [...p])), expected);
    const dec = createPieceDecryptor({ key, context });
    const outs: Uint8Array[] = [];
    const cbuf = new Uint8Array(70_000);
    for (let o = 0; o < expected.length; o += cbuf.length) {
      const n = Math.min(cbuf.length, expected.length - o);
      cbuf.set(expected.subarray(o, o + n));
      outs.push(await dec.push(cbuf.subarray(0, n)));
      cbuf.fill(0xee);
    }
    outs.push(await dec.final());
    expectBytes(new Uint8Array(outs.flatMap((p) => [...p])), pt);
  });

  it('Web Streams adapters round trip', async () => {
    const pt = data(200_000);
    const src = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < pt.length; i += 30_000) c.enqueue(pt.slice(i, i + 30_000));
        c.close();
      },
    });
    const out = src.pipeThrough(pieceEncryptionStream({ key, context })).pipeThrough(pieceDecryptionStream({ key, context }));
    const chunks: Uint8Array[] = [];
    for await (const c of out as unknown as AsyncIterable<Uint8Array>) chunks.push(c);
    const joined = new Uint8Array(chunks.reduce((a, b) => a + b.length, 0));
    let o = 0;
    for (const c of chunks) {
      joined.set(c, o);
      o += c.length;
    }
    expectBytes(joined, pt);
  });

  it('salt is fresh per encryption', async () => {
    const a = await encryptPiece({ key, context, plaintext: data(10) });
    const b = await encryptPiece({ key, context, plaintext: data(10) });
    expect(a).not.toEqual(b);
  });
});

describe('piece AEAD: tampering fails and releases no plaintext', () => {
  const pt = data(3 * C + 100, 9); // 4 chunks
  let ct: Uint8Array;
  const fresh = async () => (ct ??= await encryptPiece({ key, context, plaintext: pt, random: seededRandom('t') }));

  const cases: [string, (c: Uint8Array) => Uint8Array, string][] = [
    ['version byte', (c) => flip(c, 0), 'UNSUPPORTED_VERSION'],
    ['suite byte', (c) => flip(c, 1), 'UNSUPPORTED_SUITE'],
    ['salt', (c) => flip(c, 10), 'DECRYPTION_FAILED'],
    ['commitment', (c) => flip(c, 40), 'DECRYPTION_FAILED'],
    ['chunk 0 body', (c) => flip(c, H + 5), 'DECRYPTION_FAILED'],
    ['chunk 0 tag', (c) => flip(c, H + CT - 1), 'DECRYPTION_FAILED'],
    ['chunk 2 body', (c) => flip(c, H + 2 * CT + 77), 'DECRYPTION_FAILED'],
    ['last chunk body', (c) => flip(c, c.length - 20), 'DECRYPTION_FAILED'],
    ['last chunk tag', (c) => flip(c, c.length - 1), 'DECRYPTION_FAILED'],
    ['drop last chunk', (c) => c.subarray(0, H + 3 * CT), 'DECRYPTION_FAILED'],
    ['drop last byte', (c) => c.subarray(0, c.length - 1), 'DECRYPTION_FAILED'],
    ['header only', (c) => c.subarray(0, H), 'DECRYPTION_FAILED'],
    ['empty', () => new Uint8Array(0), 'DECRYPTION_FAILED'],
    ['append a byte', (c) => Uint8Array.from([...c, 0]), 'DECRYPTION_FAILED'],
    ['append a copy of chunk 0', (c) => Uint8Array.from([...c, ...c.subarray(H, H + CT)]), 'DECRYPTION_FAILED'],
    [
      'swap chunks 0 and 1',
      (c) => {
        const x = Uint8Array.from(c);
        x.set(c.subarray(H + CT, H + 2 * CT), H);
        x.set(c.subarray(H, H + CT), H + CT);
        return x;
      },
      'DECRYPTION_FAILED',
    ],
    ['duplicate chunk 0 over chunk 1', (c) => { const x = Uint8Array.from(c); x.set(c.subarray(H, H + CT), H + CT); return x; }, 'DECRYPTION_FAILED'],
  ];

  it.each(cases)('%s (one-shot)', async (_name, mutate, code) => {
    const bad = mutate(await fresh());
    for (const backend of backends) await expectCodeAsync(decryptPiece({ key, context, ciphertext: bad, backend }), code);
  });

  it.each(cases)('%s (streaming: no tampered chunk released)', async (name, mutate, code) => {
    const bad = mutate(await fresh());
    const r = await streamDecrypt(bad, [1000, H + CT + 5, H + 2 * CT + 9]);
    expect((r.error as { code?: string })?.code).toBe(code);
    // Chunks released before the failure are authentic and in order; nothing after it is released.
    const released = new Uint8Array(r.released.reduce((a, b) => a + b.length, 0));
    let o = 0;
    for (const x of r.released) {
      released.set(x, o);
      o += x.length;
    }
    expectBytes(released, pt.subarray(0, released.length));
    expect(released.length).toBeLessThan(pt.length);
    if (/^(version|suite|salt|commitment|chunk 0 body|chunk 0 tag|header only|empty)/.test(name)) expect(released.length).toBe(0);
  });

  it('wrong key fails before any chunk is decrypted (commitment)', async () => {
    const c = await fresh();
    await expectCodeAsync(decryptPiece({ key: flip(key, 3), context, ciphertext: c }), 'DECRYPTION_FAILED');
    const r = await streamDecrypt(c, [H], flip(key, 3));
    expect(r.releasedBytes).toBe(0);
  });

  it('swapping chunks between pieces (same key, other context) fails', async () => {
    const c = await fresh();
    const other = await encryptPiece({ key, context: new TextEncoder().encode('msg-1/piece-1'), plaintext: pt, random: seededRandom('t') });
    const x = Uint8Array.from(c);
    x.set(other.subarray(H + CT, H + 2 * CT), H + CT);
    await expectCodeAsync(decryptPiece({ key, context, ciphertext: x }), 'DECRYPTION_FAILED');
    await expectCodeAsync(decryptPiece({ key, context, ciphertext: other }), 'DECRYPTION_FAILED');
  });

  it('moving bytes between ciphertext and associated data (context) fails', async () => {
    const c = await fresh();
    const moved = new Uint8Array([...context, c[c.length - 1]!]);
    await expectCodeAsync(decryptPiece({ key, context: moved, ciphertext: c.subarray(0, c.length - 1) }), 'DECRYPTION_FAILED');
    const small = await encryptPiece({ key, context, plaintext: data(5) });
    await expectCodeAsync(
      decryptPiece({ key, context: context.subarray(0, context.length - 1), ciphertext: Uint8Array.from([...small, context[context.length - 1]!]) }),
      'DECRYPTION_FAILED',
    );
  });

  it('labels bad inputs', async () => {
    const e = expectCode(() => createPieceDecryptor({ key: new Uint8Array(16), context }), 'INVALID_INPUT');
    expect(e.message).toBe('"key" expected 32 bytes, got 16');
    await expectCodeAsync(encryptPiece({ key, context: new Uint8Array(70000), plaintext: data(1) }), 'INVALID_INPUT');
  });

  it('a decryptor refuses to continue after a failure', async () => {
    const dec = createPieceDecryptor({ key, context });
    await expectCodeAsync(dec.push(flip(await fresh(), 40)), 'DECRYPTION_FAILED');
    await expectCodeAsync(dec.push((await fresh()).subarray(0, 10)), 'DECRYPTION_FAILED');
    await expectCodeAsync(dec.final(), 'DECRYPTION_FAILED');
  });
});

describe('piece AEAD: decrypting into one output buffer (output option)', () => {
  const pt = data(3 * C + 100, 11); // 4 chunks
  const splits = [[], [1000, H + CT + 5, H + 2 * CT + 9], [H, H + CT, H + 2 * CT, H + 3 * CT]];

  it('recovers the plaintext into the buffer, every released chunk a view of it, on every backend', async () => {
    const ct = await encryptPiece({ key, context, plaintext: pt, random: seededRandom('o') });
    for (const backend of backends) {
      for (const parts of splits) {
        const output = new Uint8Array(pt.length);
        const r = await streamDecrypt(ct, parts, key, context, { output, backend });
        expect(r.error).toBeUndefined();
        expectBytes(output, pt);
        expect(r.releasedBytes).toBe(pt.length);
        for (const x of r.released) if (x.length) expect(x.buffer).toBe(output.buffer);
      }
    }
  });

  it('tampering fails, and the buffer holds nothing past the authentic chunks released before it', async () => {
    const ct = await encryptPiece({ key, context, plaintext: pt, random: seededRandom('o') });
    for (const bad of [flip(ct, H + 2 * CT + 77), flip(ct, ct.length - 1), ct.subarray(0, H + 3 * CT)]) {
      const output = new Uint8Array(pt.length);
      const r = await streamDecrypt(bad, [H + CT + 5, H + 2 * CT + 9], key, context, { output });
      expect((r.error as { code?: string })?.code).toBe('DECRYPTION_FAILED');
      expectBytes(output.subarray(0, r.releasedBytes), pt.subarray(0, r.releasedBytes));
      expect(output.subarray(r.releasedBytes).every((b) => b === 0)).toBe(true);
      expect(r.releasedBytes).toBeLessThan(pt.length);
    }
  });

  it('a piece longer than the buffer fails like tampering', async () => {
    const ct = await encryptPiece({ key, context, plaintext: pt, random: seededRandom('o') });
    for (const short of [pt.length - 1, 2 * C]) {
      const r = await streamDecrypt(ct, [H + CT + 5], key, context, { output: new Uint8Array(short) });
      expect((r.error as { code?: string })?.code).toBe('DECRYPTION_FAILED');
    }
  });
});

describe('piece AEAD: sealing into one output buffer (output option)', () => {
  it('the same ciphertext as without it, every output a view of the buffer in order, whatever the pushes', async () => {
    for (const n of [0, 10, C - 1, C, C + 1, 3 * C + 100]) {
      const pt = data(n, 12);
      const expected = await encryptPiece({ key, context, plaintext: pt, random: seededRandom('s') });
      for (const cuts of [[], [1], [C], [5, C + 7, 2 * C + 3]]) {
        const output = new Uint8Array(pieceCiphertextLength(n));
        const enc = await createPieceEncryptor({ key, context, random: seededRandom('s'), output });
        let at = 0;
        let o = 0;
        const outs: Uint8Array[] = [];
        for (const cut of [...cuts.filter((c) => c < n), n]) {
          outs.push(await enc.push(pt.subarray(o, cut)));
          o = cut;
        }
        outs.push(await enc.final());
        for (const x of outs) {
          if (!x.length) continue;
          expect(x.buffer).toBe(output.buffer);
          expect(x.byteOffset - output.byteOffset).toBe(at); // in order, no gaps
          at += x.length;
        }
        expect(at).toBe(expected.length);
        expectBytes(output, expected);
      }
    }
  });

  it('refuses to write past the buffer', async () => {
    const pt = data(2 * C, 13);
    const enc = await createPieceEncryptor({ key, context, output: new Uint8Array(pieceCiphertextLength(2 * C) - 1) });
    await enc.push(pt);
    await expectCodeAsync(enc.final(), 'INVALID_INPUT');
  });
});
