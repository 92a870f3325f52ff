/**
 * Chunked, streaming, key-committing AEAD for mail pieces — docs/crypto.md §5.2.
 *
 * Construction (suite 0x01): AES-256-GCM in the STREAM construction (Hoang, Reyhanitabar,
 * Rogaway, Vizár 2015) over 256 KiB chunks, with a 32-byte key commitment, the GCM key and a nonce
 * prefix derived by one HKDF-SHA256 call from the piece key, a random 32-byte salt and the piece
 * context: `commitment[32] | encKey[32] | noncePrefix[7] = HKDF(salt, key, "sealmail/v1/piece" | suffix)`.
 *
 *   header  = 0x01 | 0x01 | salt[32] | commitment[32]                    (66 bytes)
 *   chunk i = AES-256-GCM(encKey, noncePrefix[7] | u32(i) | last[1], aad, plaintext_i)
 *   aad     = header | u32(len(context)) | context
 *
 * The commitment is checked (constant time) before any chunk is decrypted; every chunk is
 * authenticated before its plaintext is released; the last-chunk flag in the nonce makes
 * truncation and extension fail; the chunk index makes reordering fail; the context (piece id,
 * message id) in the AAD and the key derivation makes swapping chunks between pieces fail.
 */
import { expand, extract } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { CryptoError } from './errors';
import { abytes, concat, decryptionFailed, equalBytes, i2osp, randomBytes, utf8, type RandomSource } from './_util';
import { createGcm, outputBuffer, pickBackend, type AeadBackend, type Gcm } from './_gcm';
import { ByteQueue } from './_byte-queue';

/** Which AES-256-GCM implementation to use: `'node'`, `'webcrypto'` or `'noble'` (identical bytes). */
export type { AeadBackend } from './_gcm';

/** Format constants of the piece AEAD (docs/crypto.md §5.2). */
export const PIECE = Object.freeze({
  version: 0x01,
  suiteAes256GcmChunked: 0x01,
  chunkSize: 262144,
  tagSize: 16,
  headerSize: 66,
  keySize: 32,
  maxContext: 65535,
});

const LABEL = 'sealmail/v1/piece';
const MAX_CHUNKS = 0xffffffff; // 2^32 chunks of 256 KiB = 1 PiB per piece
const CT_CHUNK = PIECE.chunkSize + PIECE.tagSize;
/** Concurrent GCM calls in flight for one-shot helpers (WebCrypto runs them on worker threads). */
const PARALLEL = 32;

/** Options shared by the piece encryptor and decryptor. */
export interface PieceOptions {
  /** 32-byte piece key (fresh per piece). */
  key: Uint8Array;
  /** Binding context, e.g. message id and piece index; ≤ 65535 bytes. Must match on decryption. */
  context: Uint8Array;
  /** AES-GCM implementation; default Node's cipher on Node, else WebCrypto (noble for one-shot pieces ≤ 8 KiB), else noble. */
  backend?: AeadBackend;
}

interface Derived {
  commitment: Uint8Array;
  gcm: Gcm;
  noncePrefix: Uint8Array;
  aad: Uint8Array;
}

function checkOptions(o: PieceOptions): void {
  abytes(o.key, 'key', PIECE.keySize);
  abytes(o.context, 'context');
  if (o.context.length > PIECE.maxContext) throw new CryptoError('INVALID_INPUT', '"context" longer than 65535 bytes');
}

function derive(key: Uint8Array, salt: Uint8Array, context: Uint8Array) {
  const prk = extract(sha256, key, salt);
  const suffix = concat(new Uint8Array([0, PIECE.version, PIECE.suiteAes256GcmChunked]), i2osp(context.length, 4), context);
  const okm = expand(sha256, prk, concat(utf8(LABEL), suffix), 32 + 32 + 7);
  prk.fill(0);
  return { commitment: okm.slice(0, 32), encKey: okm.subarray(32, 64), noncePrefix: okm.slice(64, 71), okm };
}

type Derivation = ReturnType<typeof derive>;

async function setup(o: PieceOptions, header: Uint8Array, pre?: Derivation, knownSize?: number): Promise<Derived> {
  const d = pre ?? derive(o.key, header.subarray(2, 34), o.context);
  const gcm = await createGcm(d.encKey, pickBackend(o.backend, knownSize));
  d.okm.fill(0);
  const aad = concat(header, i2osp(o.context.length, 4), o.context);
  return { commitment: d.commitment, gcm, noncePrefix: d.noncePrefix, aad };
}

function nonce(prefix: Uint8Array, index: number, last: boolean): Uint8Array {
  if (index > MAX_CHUNKS) throw new CryptoError('INVALID_INPUT', 'piece exceeds 2^32 chunks');
  const n = new Uint8Array(12);
  n.set(prefix, 0);
  n.set(i2osp(index, 4), 7);
  n[11] = last ? 1 : 0;
  return n;
}

/**
 * Plaintext length of a piece whose ciphertext is `ciphertextLength` bytes (the inverse of
 * {@link pieceCiphertextLength}); lets a server check sizes it cannot decrypt.
 * @throws {CryptoError} INVALID_INPUT when no piece has that ciphertext length.
 */
export function piecePlaintextLength(ciphertextLength: number): number {
  const n = ciphertextLength - PIECE.headerSize;
  if (!Number.isSafeInteger(ciphertextLength) || n < PIECE.tagSize) throw new CryptoError('INVALID_INPUT', '"ciphertextLength" is not the length of a piece');
  const plaintext = n - Math.max(1, Math.ceil(n / CT_CHUNK)) * PIECE.tagSize;
  if (plaintext < 0 || pieceCiphertextLength(plaintext) !== ciphertextLength) throw new CryptoError('INVALID_INPUT', '"ciphertextLength" is not the length of a piece');
  return plaintext;
}

/** Ciphertext length of a piece with `plaintextLength` bytes. @throws {CryptoError} INVALID_INPUT. */
export function pieceCiphertextLength(plaintextLength: number): number {
  if (!Number.isSafeInteger(plaintextLength) || plaintextLength < 0) {
    throw new CryptoError('INVALID_INPUT', '"plaintextLength" expected a non-negative integer');
  }
  const chunks = Math.max(1, Math.ceil(plaintextLength / PIECE.chunkSize));
  return PIECE.headerSize + plaintextLength + chunks * PIECE.tagSize;
}

/** Streaming piece encryptor: push plaintext, collect ciphertext, then `final()`. */
export interface PieceEncryptor {
  /** Encrypts what can be encrypted; the first output starts with the 66-byte header. */
  push(plaintext: Uint8Array): Promise<Uint8Array>;
  /** Encrypts the last chunk (possibly empty). The encryptor cannot be used afterwards. */
  final(): Promise<Uint8Array>;
}

/**
 * Creates a streaming piece encryptor (docs/crypto.md §5.2). Holds at most one chunk of
 * plaintext besides what the caller pushes.
 * @throws {CryptoError} INVALID_INPUT on a bad key or context, or when used after `final()`.
 */
export async function createPieceEncryptor(opts: PieceOptions & { random?: RandomSource; output?: Uint8Array }): Promise<PieceEncryptor> {
  checkOptions(opts);
  // With `output` (at least the piece's ciphertext length), the ciphertext is sealed straight into
  // it in order and push/final answer views of it: no buffer per push, and a caller that sends
  // the ciphertext in parts can send views of it without gathering them.
  const output = opts.output;
  let written = 0;
  const into = (n: number): Uint8Array => {
    if (!output) return outputBuffer(n);
    if (written + n > output.length) throw new CryptoError('INVALID_INPUT', '"output" is shorter than the ciphertext');
    written += n;
    return output.subarray(written - n, written);
  };
  const header = new Uint8Array(PIECE.headerSize);
  header[0] = PIECE.version;
  header[1] = PIECE.suiteAes256GcmChunked;
  header.set(randomBytes(opts.random, 32), 2);
  const d = derive(opts.key, header.subarray(2, 34), opts.context);
  header.set(d.commitment, 34);
  const st = await setup(opts, header, d); // aad binds the full header, commitment included
  const queue = new ByteQueue();
  let index = 0;
  let headerSent = false;
  let done = false;
  const emit = (parts: Uint8Array[]): Uint8Array => {
    if (!headerSent) {
      headerSent = true;
      parts.unshift(header);
    }
    return parts.length === 1 ? parts[0]! : concat(...parts);
  };
  return {
    async push(plaintext) {
      if (done) throw new CryptoError('INVALID_INPUT', 'encryptor already finalised');
      queue.push(abytes(plaintext, 'plaintext'));
      // Every chunk that is certainly not the last, sealed straight into one output (no gathering copy).
      const chunks = queue.length > PIECE.chunkSize ? Math.ceil(queue.length / PIECE.chunkSize) - 1 : 0;
      if (!chunks) {
        queue.detach();
        if (headerSent) return new Uint8Array(0);
        if (!output) return emit([]);
        headerSent = true;
        const out = into(PIECE.headerSize);
        out.set(header);
        return out;
      }
      const head = headerSent ? 0 : PIECE.headerSize;
      const out = into(head + chunks * CT_CHUNK);
      try {
        if (head) out.set(header, 0);
        for (let i = 0; i < chunks; i++) await st.gcm.sealInto(nonce(st.noncePrefix, index++, false), st.aad, queue.take(PIECE.chunkSize), out, head + i * CT_CHUNK);
      } finally {
        queue.detach(); // only the tail (< one chunk) is copied; the caller's buffer is free again
      }
      headerSent = true;
      return out;
    },
    async final() {
      if (done) throw new CryptoError('INVALID_INPUT', 'encryptor already finalised');
      done = true;
      if (output) {
        const pt = queue.take(queue.length);
        const head = headerSent ? 0 : PIECE.headerSize;
        const out = into(head + pt.length + PIECE.tagSize);
        if (head) out.set(header);
        headerSent = true;
        await st.gcm.sealInto(nonce(st.noncePrefix, index++, true), st.aad, pt, out, head);
        return out;
      }
      const last = await st.gcm.seal(nonce(st.noncePrefix, index++, true), st.aad, queue.take(queue.length));
      return emit([last]);
    },
  };
}

/** Streaming piece decryptor: every released byte has been authenticated. */
export interface PieceDecryptor {
  /** Decrypts every complete chunk that is certainly not the last one. */
  push(ciphertext: Uint8Array): Promise<Uint8Array>;
  /** Decrypts the last chunk; throws if the piece was truncated. Output before `final()` succeeds is authentic but possibly incomplete. */
  final(): Promise<Uint8Array>;
}

/**
 * Creates a streaming piece decryptor. The key commitment is checked as soon as the header has
 * arrived, before any chunk is decrypted (docs/crypto.md §5.2).
 * @example
 * ```ts
 * const dec = createPieceDecryptor({ key, context });
 * for await (const part of download) sink.write(await dec.push(part));
 * sink.write(await dec.final()); // only now is the piece known to be complete
 * ```
 * @throws {CryptoError} INVALID_INPUT on a bad key/context; at push/final: UNSUPPORTED_VERSION,
 * UNSUPPORTED_SUITE, DECRYPTION_FAILED (wrong key or context, tampering, truncation, extension, reordering).
 */
export function createPieceDecryptor(
  opts: PieceOptions & {
    output?: Uint8Array;
    /** @internal The caller never changes bytes it pushed (views of a buffer it keeps whole): they are queued without copies. */
    stableInput?: boolean;
  },
): PieceDecryptor {
  checkOptions(opts);
  const queue = new ByteQueue();
  let st: Derived | undefined;
  let index = 0;
  // With `output`, plaintext is opened straight into it in order (one buffer for the whole piece,
  // no per-push allocation or gathering copy); push/final answer views of it. A piece longer than
  // `output` fails like tampering.
  const output = opts.output;
  let written = 0;
  const into = (n: number): Uint8Array => {
    if (!output) return outputBuffer(n);
    if (written + n > output.length) throw decryptionFailed();
    written += n;
    return output.subarray(written - n, written);
  };
  let failed = false;
  let done = false;
  const guard = async <T>(f: () => Promise<T>): Promise<T> => {
    if (failed) throw decryptionFailed();
    if (done) throw new CryptoError('INVALID_INPUT', 'decryptor already finalised');
    try {
      return await f();
    } catch (e) {
      failed = true;
      throw e;
    }
  };
  const readHeader = async (): Promise<Derived | undefined> => {
    if (st || queue.length < PIECE.headerSize) return st;
    const header = Uint8Array.from(queue.take(PIECE.headerSize));
    if (header[0] !== PIECE.version) throw new CryptoError('UNSUPPORTED_VERSION', `piece: unsupported version ${header[0]}`);
    if (header[1] !== PIECE.suiteAes256GcmChunked) throw new CryptoError('UNSUPPORTED_SUITE', `piece: unsupported suite ${header[1]}`);
    const s = await setup(opts, header);
    if (!equalBytes(s.commitment, header.subarray(34, 66))) throw decryptionFailed();
    return (st = s);
  };
  const openChunk = async (s: Derived, ct: Uint8Array, last: boolean): Promise<Uint8Array> => {
    const pt = await s.gcm.open(nonce(s.noncePrefix, index, last), s.aad, ct);
    if (!pt) throw decryptionFailed();
    index++;
    return pt;
  };
  return {
    push: (ciphertext) =>
      guard(async () => {
        queue.push(abytes(ciphertext, 'ciphertext'), opts.stableInput);
        try {
          const s = await readHeader();
          // Every chunk that is certainly not the last, opened straight into one output.
          const chunks = s && queue.length > CT_CHUNK ? Math.ceil(queue.length / CT_CHUNK) - 1 : 0;
          if (!s || !chunks) return new Uint8Array(0);
          const out = into(chunks * PIECE.chunkSize);
          for (let i = 0; i < chunks; i++) {
            if (!(await s.gcm.openInto(nonce(s.noncePrefix, index, false), s.aad, queue.take(CT_CHUNK), out, i * PIECE.chunkSize))) {
              out.fill(0);
              throw decryptionFailed();
            }
            index++;
          }
          return out;
        } finally {
          queue.detach();
        }
      }),
    final: () =>
      guard(async () => {
        const s = await readHeader();
        if (!s || queue.length < PIECE.tagSize) throw decryptionFailed();
        if (output) {
          const ct = queue.take(queue.length);
          const out = into(ct.length - PIECE.tagSize);
          if (!(await s.gcm.openInto(nonce(s.noncePrefix, index, true), s.aad, ct, out, 0))) throw decryptionFailed();
          index++;
          done = true;
          return out;
        }
        const pt = await openChunk(s, queue.take(queue.length), true);
        done = true;
        return pt;
      }),
  };
}

/** Runs `n` async jobs with bounded concurrency, in order of index. */
async function forEachParallel(n: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await job(next++);
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, n) }, worker));
}

/**
 * One-shot piece encryption into a single output buffer (input + output in memory, nothing more).
 * @example
 * ```ts
 * const key = generatePieceKey();
 * const context = mailPieceContext('msg-1', 0);
 * const ct = await encryptPiece({ key, context, plaintext });
 * const pt = await decryptPiece({ key, context, ciphertext: ct });
 * ```
 * @throws {CryptoError} INVALID_INPUT on a bad key, context or plaintext.
 */
export async function encryptPiece(
  opts: PieceOptions & { plaintext: Uint8Array; random?: RandomSource },
): Promise<Uint8Array> {
  checkOptions(opts);
  const pt = abytes(opts.plaintext, 'plaintext');
  const header = new Uint8Array(PIECE.headerSize);
  header[0] = PIECE.version;
  header[1] = PIECE.suiteAes256GcmChunked;
  header.set(randomBytes(opts.random, 32), 2);
  const d = derive(opts.key, header.subarray(2, 34), opts.context);
  header.set(d.commitment, 34);
  const st = await setup(opts, header, d, pt.length);
  const out = outputBuffer(pieceCiphertextLength(pt.length)); // every byte written below
  out.set(header, 0);
  const chunks = Math.max(1, Math.ceil(pt.length / PIECE.chunkSize));
  await forEachParallel(chunks, async (i) => {
    const start = i * PIECE.chunkSize;
    await st.gcm.sealInto(nonce(st.noncePrefix, i, i === chunks - 1), st.aad, pt.subarray(start, Math.min(pt.length, start + PIECE.chunkSize)), out, PIECE.headerSize + i * CT_CHUNK);
  });
  return out;
}

/**
 * One-shot piece decryption: all or nothing — returns the plaintext only if every chunk, the
 * commitment and the length check out.
 * @throws {CryptoError} UNSUPPORTED_VERSION, UNSUPPORTED_SUITE, DECRYPTION_FAILED, INVALID_INPUT.
 */
export async function decryptPiece(opts: PieceOptions & { ciphertext: Uint8Array }): Promise<Uint8Array> {
  checkOptions(opts);
  const ct = abytes(opts.ciphertext, 'ciphertext');
  if (ct.length >= 1 && ct[0] !== PIECE.version) throw new CryptoError('UNSUPPORTED_VERSION', `piece: unsupported version ${ct[0]}`);
  if (ct.length >= 2 && ct[1] !== PIECE.suiteAes256GcmChunked) throw new CryptoError('UNSUPPORTED_SUITE', `piece: unsupported suite ${ct[1]}`);
  const body = ct.length - PIECE.headerSize;
  if (body < PIECE.tagSize) throw decryptionFailed();
  const header = ct.subarray(0, PIECE.headerSize);
  const st = await setup(opts, header, undefined, body);
  if (!equalBytes(st.commitment, header.subarray(34))) throw decryptionFailed();
  const chunks = Math.max(1, Math.ceil((body - PIECE.tagSize) / CT_CHUNK));
  const lastLen = body - (chunks - 1) * CT_CHUNK;
  if (lastLen < PIECE.tagSize || lastLen > CT_CHUNK) throw decryptionFailed();
  const out = outputBuffer(body - chunks * PIECE.tagSize); // every byte written below, or all zeroed
  let ok = true;
  await forEachParallel(chunks, async (i) => {
    if (!ok) return;
    const start = PIECE.headerSize + i * CT_CHUNK;
    if (!(await st.gcm.openInto(nonce(st.noncePrefix, i, i === chunks - 1), st.aad, ct.subarray(start, Math.min(ct.length, start + CT_CHUNK)), out, i * PIECE.chunkSize))) ok = false;
  });
  if (!ok) {
    out.fill(0);
    throw decryptionFailed();
  }
  return out;
}

/** Generates a fresh 32-byte piece key. @throws {CryptoError} INVALID_INPUT when `random` misbehaves. */
export function generatePieceKey(opts: { random?: RandomSource } = {}): Uint8Array {
  return randomBytes(opts.random, PIECE.keySize);
}

/**
 * Web Streams adapter: a TransformStream that encrypts a piece (browsers and Node 20).
 * @throws {CryptoError} INVALID_INPUT on bad options (as a stream error).
 */
export function pieceEncryptionStream(opts: PieceOptions & { random?: RandomSource }): TransformStream<Uint8Array, Uint8Array> {
  let enc: Promise<PieceEncryptor> | undefined;
  const get = () => (enc ??= createPieceEncryptor(opts));
  return new TransformStream({
    async transform(chunk, ctl) {
      const out = await (await get()).push(chunk);
      if (out.length) ctl.enqueue(out);
    },
    async flush(ctl) {
      ctl.enqueue(await (await get()).final());
    },
  });
}

/**
 * Web Streams adapter: a TransformStream that decrypts a piece; errors the stream on any failure.
 * @throws {CryptoError} as {@link createPieceDecryptor}, delivered as a stream error.
 */
export function pieceDecryptionStream(opts: PieceOptions): TransformStream<Uint8Array, Uint8Array> {
  const dec = createPieceDecryptor(opts);
  return new TransformStream({
    async transform(chunk, ctl) {
      const out = await dec.push(chunk);
      if (out.length) ctl.enqueue(out);
    },
    async flush(ctl) {
      const out = await dec.final();
      if (out.length) ctl.enqueue(out);
    },
  });
}
