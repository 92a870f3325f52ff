/**
 * Sealing and opening a mail — docs/crypto.md §7.
 *
 * Seal: each piece under a fresh key (piece AEAD); a manifest of piece keys, sizes and ciphertext
 * hashes encrypted under a fresh message key; the envelope (sender, visible participants and their
 * keys, manifest hash, BCC commitment); for every holder (To/CC, BCC, the sender's Sent copy) a box
 * of the message key to the holder's newest PUK, with the holder's recipient-associated digest as
 * box context and the sender device's signature over that digest inside. Mail sealed by the
 * server (inbound external mail) uses the same code with an external sender and no signature.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { CryptoError } from './errors';
import { ByteReader, ByteWriter } from './encoding';
import { abytes, astring, decryptionFailed, equalBytes, randomBytes, type RandomSource } from './_util';
import { createSha256, sha256Whole, wholeDigestIsFaster } from './_sha256';
import { createPieceDecryptor, createPieceEncryptor, decryptPiece, encryptPiece, pieceCiphertextLength, type AeadBackend } from './aead-stream';
import { openBox, openBoxAsync, sealBoxAsync } from './box';
import { signWithContextAsync, verifyWithContext } from './ed25519';
import { keyId, publicKeysOf, type PublicKeys } from './keys';
import type { PerUserKey } from './puk';
import {
  bccCommitment,
  decodeEnvelope,
  decodeManifest,
  decodeRecipientBox,
  encodeEnvelope,
  encodeManifest,
  encodeRecipientBox,
  mailManifestContext,
  mailPieceContext,
  recipientDigest,
  type BoxRole,
  type ChainPosition,
  type MailEnvelope,
  type MailSender,
  type Manifest,
  type ManifestPiece,
  type ManifestSummary,
} from './mail-format';
import { sealMailSummary, type MailSummaryFields } from './mail-summary';

/** Verification status of an opened mail; the caller decides what to show. */
export type SignatureStatus = 'not-signed' | 'signed-valid' | 'signed-invalid';

/** A holder's newest per-user key, as read from their verified sigchain. */
export interface MailRecipientKey {
  readonly userId: string;
  readonly generation: number;
  readonly publicKeys: PublicKeys;
}

/** A piece to seal: plaintext, or one the caller already encrypted with the streaming API. */
export type PieceInput =
  | { readonly kind: 'body' | 'attachment'; readonly plaintext: Uint8Array }
  | { readonly kind: 'body' | 'attachment'; readonly encrypted: ManifestPiece };

/** The sender: a device that signs, or an external address (server-sealed, unsigned). */
export type SealSender =
  | {
      readonly kind: 'device';
      readonly userId: string;
      readonly deviceId: string;
      readonly signingSecretKey: Uint8Array;
      readonly signingPublicKey: Uint8Array;
      /** The sender's own chain position as this device verified it (signed with the mail; docs/crypto.md §5.7). */
      readonly chain?: ChainPosition;
      /** Sending as a delegate of this mailbox: its user id and chain position (sender kind 4, docs/crypto.md §5.7). */
      readonly onBehalfOf?: { readonly userId: string } & ChainPosition;
    }
  | { readonly kind: 'external'; readonly address: string };

/** The output of {@link sealMail}: what the client uploads. */
export interface SealedMail {
  readonly envelope: Uint8Array;
  readonly manifest: Uint8Array;
  /** Ciphertexts of pieces given as plaintext (undefined for pieces the caller encrypted). */
  readonly pieces: readonly (Uint8Array | undefined)[];
  /** Encoded box records, one per holder (To/CC, BCC, the Sent copy). */
  readonly boxes: readonly { readonly userId: string; readonly role: BoxRole; readonly record: Uint8Array }[];
  /** The message key, for adding a password or server box (keep in memory only). */
  readonly messageKey: Uint8Array;
  /** The sealed summary's ciphertext (docs/crypto.md §5.15), when one was given as fields. */
  readonly summary?: Uint8Array;
}

const CTX_SIG = 'mail-digest';
const keyIdOf = (r: MailRecipientKey) => keyId(r.publicKeys);

/** Box plaintext: `messageKey[32] | u8 hasSig | sig[64]? | (sender copy) commitKey[32] | u16 n | str*`. */
function encodeBoxPlaintext(mk: Uint8Array, sig: Uint8Array | undefined, senderCopy?: { commitKey: Uint8Array; bcc: readonly string[] }) {
  const w = new ByteWriter().raw(mk).u8(sig ? 1 : 0);
  if (sig) w.raw(sig);
  if (senderCopy) {
    w.raw(senderCopy.commitKey).u16(senderCopy.bcc.length);
    for (const b of senderCopy.bcc) w.str(b);
  }
  return w.finish();
}

/**
 * Seals a mail to its holders (docs/crypto.md §7.1).
 * @example
 * ```ts
 * const sealed = await sealMail({
 *   messageId, sender: { kind: 'device', userId, deviceId, signingSecretKey, signingPublicKey },
 *   pieces: [{ kind: 'body', plaintext: mime }], to: [bobNewestPuk], senderCopy: myNewestPuk,
 * });
 * // upload sealed.envelope, sealed.manifest, sealed.pieces, sealed.boxes; then forget sealed.messageKey
 * ```
 * @throws {CryptoError} INVALID_INPUT on malformed inputs (ids, keys, duplicate holders).
 */
export async function sealMail(opts: {
  messageId: string;
  sender: SealSender;
  pieces: readonly PieceInput[];
  to: readonly MailRecipientKey[];
  bcc?: readonly MailRecipientKey[];
  /** The sender's own newest PUK, for the Sent copy (omitted for server-sealed mail). */
  senderCopy?: MailRecipientKey;
  notE2EE?: boolean;
  /** A summary to seal with the mail (docs/crypto.md §5.15), or one sealed before (re-sealing keeps its entry). */
  summary?: MailSummaryFields | { readonly encrypted: ManifestSummary };
  random?: RandomSource;
  backend?: AeadBackend;
}): Promise<SealedMail> {
  const { messageId, random } = opts;
  astring(messageId, 'messageId');
  const bcc = opts.bcc ?? [];
  const seen = new Set<string>();
  for (const r of [...opts.to, ...bcc]) {
    if (seen.has(r.userId)) throw new CryptoError('INVALID_INPUT', `duplicate recipient ${r.userId}`);
    seen.add(r.userId);
  }
  // 1. Pieces under fresh keys.
  const ciphertexts: (Uint8Array | undefined)[] = [];
  const entries: ManifestPiece[] = [];
  for (const [i, p] of opts.pieces.entries()) {
    if ('encrypted' in p) {
      entries.push(p.encrypted);
      ciphertexts.push(undefined);
      continue;
    }
    const key = randomBytes(random, 32);
    const ct = await encryptPiece({ key, context: mailPieceContext(messageId, i), plaintext: abytes(p.plaintext, 'plaintext'), random, backend: opts.backend });
    entries.push({ kind: p.kind, key, size: p.plaintext.length, ciphertextHash: await sha256Whole(ct) });
    ciphertexts.push(ct);
  }
  // 1b. The summary under its own key, listed in the manifest.
  const sum = opts.summary ? ('encrypted' in opts.summary ? { entry: opts.summary.encrypted, ciphertext: undefined } : await sealMailSummary({ messageId, summary: opts.summary, random, backend: opts.backend })) : undefined;
  // 2. Manifest under a fresh message key.
  const messageKey = randomBytes(random, 32);
  const manifestPt = encodeManifest({ messageId, notE2EE: !!opts.notE2EE, pieces: entries, ...(sum ? { summary: sum.entry } : {}) });
  const manifest = await encryptPiece({ key: messageKey, context: mailManifestContext(messageId), plaintext: manifestPt, random, backend: opts.backend });
  manifestPt.fill(0);
  // 3. BCC commitment and envelope.
  const commitKey = randomBytes(random, 32);
  const bccIds = bcc.map((b) => b.userId);
  const s = opts.sender;
  const sender: MailSender =
    s.kind === 'device'
      ? { kind: 'device', userId: s.userId, deviceId: s.deviceId, signingPublicKey: s.signingPublicKey, ...(s.chain ? { chain: s.chain } : {}), ...(s.onBehalfOf ? { onBehalfOf: s.onBehalfOf } : {}) }
      : { kind: 'external', address: s.address };
  const envelope = encodeEnvelope({
    messageId,
    sender,
    recipients: opts.to.map((r) => ({ userId: r.userId, generation: r.generation, keyId: keyIdOf(r) })),
    manifestHash: sha256(manifest),
    bccCommitment: bccCommitment(commitKey, bccIds),
  });
  // 4. One box per holder, with the holder's digest as context and the signature inside.
  const holders: [MailRecipientKey, BoxRole][] = [...opts.to.map((r) => [r, 'to'] as [MailRecipientKey, BoxRole]), ...bcc.map((r) => [r, 'bcc'] as [MailRecipientKey, BoxRole])];
  if (opts.senderCopy) holders.push([opts.senderCopy, 'sender-copy']);
  const boxes = await Promise.all(
    holders.map(async ([r, role]) => {
      const digest = recipientDigest(envelope, { role, userId: r.userId, generation: r.generation, keyId: keyIdOf(r) });
      const sig = s.kind === 'device' ? await signWithContextAsync(s.signingSecretKey, CTX_SIG, digest) : undefined;
      const plaintext = encodeBoxPlaintext(messageKey, sig, role === 'sender-copy' ? { commitKey, bcc: bccIds } : undefined);
      const box = await sealBoxAsync({ recipientPublicKey: r.publicKeys.encryptionPublicKey, purpose: 'mail-recipient', context: digest, plaintext, random });
      plaintext.fill(0);
      return { userId: r.userId, role, record: encodeRecipientBox({ role, userId: r.userId, generation: r.generation, box }) };
    }),
  );
  commitKey.fill(0);
  return { envelope, manifest, pieces: ciphertexts, boxes, messageKey, ...(sum?.ciphertext ? { summary: sum.ciphertext } : {}) };
}

/** What a holder learns from its box. */
export interface OpenedRecipientBox {
  readonly messageKey: Uint8Array;
  readonly status: SignatureStatus;
  readonly role: BoxRole;
  readonly envelope: MailEnvelope;
  readonly digest: Uint8Array;
  /** For the sender's own Sent copy: the BCC list, verified against the commitment. */
  readonly bcc?: readonly string[];
}

/**
 * Opens the holder's box (docs/crypto.md §7.2). `expectedSenderSigningKeys` are the sender's
 * device signing keys from the sender's verified sigchain; a signature by any other key is
 * `signed-invalid`.
 * @throws {CryptoError} DECRYPTION_FAILED (wrong PUK, tampered box or envelope, BCC commitment
 * mismatch on a Sent copy), MALFORMED, UNSUPPORTED_VERSION, UNSUPPORTED_SUITE, INVALID_INPUT.
 */
export function openRecipientBox(opts: OpenRecipientBoxOptions): OpenedRecipientBox {
  const at = recipientBoxFor(opts);
  return finishRecipientBox(opts, at, openBox({ box: at.rec.box, recipientSecretKey: opts.puk.encryption.secretKey, purpose: 'mail-recipient', context: at.digest }));
}

/**
 * {@link openRecipientBox} with the decapsulation's X25519 half done natively where available
 * (docs/crypto.md §4.2): the same checks, the same result.
 * @throws {CryptoError} as {@link openRecipientBox}.
 */
export async function openRecipientBoxAsync(opts: OpenRecipientBoxOptions): Promise<OpenedRecipientBox> {
  const at = recipientBoxFor(opts);
  return finishRecipientBox(opts, at, await openBoxAsync({ box: at.rec.box, recipientSecretKey: opts.puk.encryption.secretKey, purpose: 'mail-recipient', context: at.digest }));
}

interface OpenRecipientBoxOptions {
  envelope: Uint8Array;
  record: Uint8Array;
  userId: string;
  puk: PerUserKey;
  expectedSenderSigningKeys?: readonly Uint8Array[];
}

/** The record for this holder and the digest its box is bound to (nothing decrypted yet). */
function recipientBoxFor(opts: OpenRecipientBoxOptions) {
  const envelope = decodeEnvelope(opts.envelope);
  const rec = decodeRecipientBox(opts.record);
  if (rec.userId !== opts.userId || rec.generation !== opts.puk.generation) throw decryptionFailed();
  const digest = recipientDigest(opts.envelope, { role: rec.role, userId: rec.userId, generation: rec.generation, keyId: keyId(publicKeysOf(opts.puk)) });
  return { envelope, rec, digest };
}

/** Reads the opened box: the message key, the signature (checked), a Sent copy's BCC commitment. */
function finishRecipientBox(opts: OpenRecipientBoxOptions, at: ReturnType<typeof recipientBoxFor>, pt: Uint8Array): OpenedRecipientBox {
  const { envelope, rec, digest } = at;
  const r = new ByteReader(pt);
  const messageKey = r.raw(32).slice();
  const hasSig = r.u8();
  const sig = hasSig === 1 ? r.raw(64).slice() : undefined;
  if (hasSig > 1) throw new CryptoError('MALFORMED', 'recipient box: bad signature flag');
  let bcc: string[] | undefined;
  if (rec.role === 'sender-copy') {
    const commitKey = r.raw(32);
    const n = r.u16();
    bcc = [];
    for (let i = 0; i < n; i++) bcc.push(r.str());
    if (!equalBytes(bccCommitment(commitKey, bcc), envelope.bccCommitment)) throw decryptionFailed();
  }
  r.end();
  pt.fill(0);
  let status: SignatureStatus = 'not-signed';
  if (sig) {
    const claimed = envelope.sender.kind === 'device' ? envelope.sender.signingPublicKey : undefined;
    const trusted = !!claimed && (opts.expectedSenderSigningKeys ?? []).some((k) => equalBytes(k, claimed));
    status = trusted && verifyWithContext(claimed!, CTX_SIG, digest, sig) ? 'signed-valid' : 'signed-invalid';
  }
  return { messageKey, status, role: rec.role, envelope, digest, ...(bcc ? { bcc } : {}) };
}

/**
 * Checks the manifest ciphertext against the envelope's hash, then decrypts it.
 * @throws {CryptoError} DECRYPTION_FAILED, MALFORMED, UNSUPPORTED_VERSION, UNSUPPORTED_SUITE.
 */
export async function openManifest(opts: { envelope: MailEnvelope; manifest: Uint8Array; messageKey: Uint8Array; backend?: AeadBackend }): Promise<Manifest> {
  if (!equalBytes(sha256(abytes(opts.manifest, 'manifest')), opts.envelope.manifestHash)) throw decryptionFailed();
  const pt = await decryptPiece({ key: opts.messageKey, context: mailManifestContext(opts.envelope.messageId), ciphertext: opts.manifest, backend: opts.backend });
  const m = decodeManifest(pt);
  if (m.messageId !== opts.envelope.messageId) throw decryptionFailed();
  return m;
}

/**
 * Checks a piece ciphertext against its manifest hash, then decrypts it (all or nothing).
 * @throws {CryptoError} DECRYPTION_FAILED, INVALID_INPUT (no such piece).
 */
export async function openMailPiece(opts: { manifest: Manifest; index: number; ciphertext: Uint8Array; backend?: AeadBackend }): Promise<Uint8Array> {
  const p = opts.manifest.pieces[opts.index];
  if (!p) throw new CryptoError('INVALID_INPUT', `"index" no piece ${opts.index}`);
  if (!equalBytes(await sha256Whole(abytes(opts.ciphertext, 'ciphertext')), p.ciphertextHash)) throw decryptionFailed();
  const pt = await decryptPiece({ key: p.key, context: mailPieceContext(opts.manifest.messageId, opts.index), ciphertext: opts.ciphertext, backend: opts.backend });
  if (pt.length !== p.size) throw decryptionFailed();
  return pt;
}

/**
 * Opens a whole mail for one holder: box, manifest, every piece. Returns plaintexts and the
 * verification status; nothing is returned unless everything authenticates.
 * @throws {CryptoError} as {@link openRecipientBox}, {@link openManifest}, {@link openMailPiece}.
 */
export async function openMail(opts: {
  envelope: Uint8Array;
  record: Uint8Array;
  manifest: Uint8Array;
  pieces: readonly Uint8Array[];
  userId: string;
  puk: PerUserKey;
  expectedSenderSigningKeys?: readonly Uint8Array[];
  backend?: AeadBackend;
}): Promise<{ status: SignatureStatus; role: BoxRole; envelope: MailEnvelope; manifest: Manifest; pieces: Uint8Array[]; bcc?: readonly string[] }> {
  const box = openRecipientBox(opts);
  const manifest = await openManifest({ envelope: box.envelope, manifest: opts.manifest, messageKey: box.messageKey, backend: opts.backend });
  if (opts.pieces.length !== manifest.pieces.length) throw decryptionFailed();
  const pieces: Uint8Array[] = [];
  for (let i = 0; i < opts.pieces.length; i++) pieces.push(await openMailPiece({ manifest, index: i, ciphertext: opts.pieces[i]!, backend: opts.backend }));
  return { status: box.status, role: box.role, envelope: box.envelope, manifest, pieces, ...(box.bcc ? { bcc: box.bcc } : {}) };
}

/**
 * Streams one piece of a mail being sealed (an attachment too large to hold twice): feed
 * plaintext, upload what comes out, then put `final().piece` into {@link sealMail}'s pieces as
 * `{ kind, encrypted: piece }`. The ciphertext hash is computed on the way, or (with `output`
 * where the native hash has no incremental form) once at the end. `final()` is `end()` then
 * `piece()`: a caller may send `end()`'s last ciphertext before asking for `piece()`, so that the
 * hash is computed while the last part is on the way.
 * @throws {CryptoError} INVALID_INPUT on bad arguments, on use after `end()` or `final()`, or on
 * `piece()` before `end()`.
 */
export async function createMailPieceEncryptor(opts: {
  messageId: string;
  index: number;
  kind: 'body' | 'attachment';
  random?: RandomSource;
  backend?: AeadBackend;
  /** Seal the ciphertext straight into this buffer (at least `pieceCiphertextLength` of the plaintext); push/final answer views of it. */
  output?: Uint8Array;
  /** @internal How the ciphertext hash is computed (default: the runtime's fastest; tests force each). */
  hashing?: Hashing;
}): Promise<{
  push(plaintext: Uint8Array): Promise<Uint8Array>;
  /** Seals the last chunk and answers its ciphertext (the encryptor takes no more plaintext). */
  end(): Promise<Uint8Array>;
  /** After `end()`: the manifest entry, with the hash of the whole ciphertext. */
  piece(): Promise<ManifestPiece>;
  /** `end()` and `piece()` together. */
  final(): Promise<{ last: Uint8Array; piece: ManifestPiece }>;
}> {
  astring(opts.messageId, 'messageId');
  const key = randomBytes(opts.random, 32);
  const output = opts.output;
  const enc = await createPieceEncryptor({ key, context: mailPieceContext(opts.messageId, opts.index), random: opts.random, backend: opts.backend, ...(output ? { output } : {}) });
  // With `output` the whole ciphertext ends up in one buffer, so where the incremental hash is
  // pure JS (browsers) it is hashed once at the end with the native digest instead.
  const whole = !!output && (opts.hashing ?? (wholeDigestIsFaster(output.length) ? 'whole' : 'incremental')) === 'whole';
  const hash = whole ? null : createSha256(opts.hashing === 'pure-js' ? { native: false } : {});
  let size = 0;
  let written = 0;
  const took = (out: Uint8Array) => {
    if (hash) hash.update(out);
    // The views follow one another from the start of `output` (createPieceEncryptor's contract).
    else if (out.length && (out.buffer !== output!.buffer || out.byteOffset !== output!.byteOffset + written)) throw new CryptoError('INVALID_INPUT', 'piece ciphertext is not contiguous in "output"');
    written += out.length;
    return out;
  };
  let ended = false;
  let pieced = false;
  const end = async () => {
    const last = took(await enc.final());
    ended = true;
    return last;
  };
  const piece = async (): Promise<ManifestPiece> => {
    if (!ended) throw new CryptoError('INVALID_INPUT', 'piece() before end(): the ciphertext is not complete');
    if (pieced) throw new CryptoError('INVALID_INPUT', 'piece() already answered');
    pieced = true;
    const ciphertextHash = hash ? hash.digest() : await sha256Whole(output!.subarray(0, written));
    return { kind: opts.kind, key, size, ciphertextHash };
  };
  return {
    async push(plaintext) {
      const n = abytes(plaintext, 'plaintext').length;
      const out = took(await enc.push(plaintext));
      size += n; // only once taken: a push refused (after end()) does not count
      return out;
    },
    end,
    piece,
    async final() {
      const last = await end();
      return { last, piece: await piece() };
    },
  };
}

/**
 * How a streamed piece's ciphertext hash is computed: incrementally (Node's hash, else pure JS),
 * incrementally in pure JS, or once over the whole ciphertext kept in one buffer (WebCrypto's
 * digest in browsers, which has no incremental form).
 */
export type Hashing = 'incremental' | 'pure-js' | 'whole';

/** The largest piece a decryptor keeps whole for its hash (an attachment is at most 25 MiB). */
export const WHOLE_PIECE_MAX = 64 * 1024 * 1024;

/**
 * Streams one piece of an opened mail: every byte `push` releases is authenticated; `final`
 * throws unless the piece was complete, matches the manifest's hash and has the manifest's size.
 * Callers must not treat output as the attachment until `final` succeeded.
 * @throws {CryptoError} INVALID_INPUT (no such piece); at push/final: DECRYPTION_FAILED.
 */
export function createMailPieceDecryptor(opts: {
  manifest: Manifest;
  index: number;
  backend?: AeadBackend;
  /** Open the plaintext straight into this buffer (at least the piece's size); push/final answer views of it. */
  output?: Uint8Array;
  /** @internal How the ciphertext hash is computed (default: the runtime's fastest; tests force each). */
  hashing?: Hashing;
}): {
  push(ciphertext: Uint8Array): Promise<Uint8Array>;
  final(): Promise<Uint8Array>;
  /** The ciphertext is copied into one buffer as it comes (the hash is taken over it at the end): pushing small arrays costs nothing more than large ones. */
  readonly keepsWhole: boolean;
} {
  const p = opts.manifest.pieces[opts.index];
  if (!p) throw new CryptoError('INVALID_INPUT', `"index" no piece ${opts.index}`);
  // Where the incremental hash is pure JS (browsers), the ciphertext is kept in one buffer of the
  // size the manifest implies and hashed once at the end with the native digest: ten times faster
  // for an attachment, at the cost of holding its ciphertext until then. Never beyond
  // WHOLE_PIECE_MAX: the size is the sender's word, and a hostile one must not make the reader
  // allocate whatever it names. The chunks are then opened from views of that buffer (no copies
  // in the decryptor's queue, however the ciphertext arrives).
  const wanted = opts.hashing ?? (wholeDigestIsFaster(p.size) ? 'whole' : 'incremental');
  const keep = wanted === 'whole' && Number.isSafeInteger(p.size) && p.size >= 0 && p.size <= WHOLE_PIECE_MAX;
  const kept = keep ? new Uint8Array(pieceCiphertextLength(p.size)) : null;
  const dec = createPieceDecryptor({ key: p.key, context: mailPieceContext(opts.manifest.messageId, opts.index), backend: opts.backend, ...(opts.output ? { output: opts.output } : {}), stableInput: !!kept });
  const hash = kept ? null : createSha256(wanted === 'pure-js' ? { native: false } : {});
  let received = 0;
  let released = 0;
  return {
    keepsWhole: !!kept,
    async push(ciphertext) {
      abytes(ciphertext, 'ciphertext');
      let input = ciphertext;
      if (kept) {
        if (received + ciphertext.length > kept.length) throw decryptionFailed(); // longer than the manifest's piece
        kept.set(ciphertext, received);
        input = kept.subarray(received, received + ciphertext.length);
      } else hash!.update(ciphertext);
      received += ciphertext.length;
      const out = await dec.push(input);
      released += out.length;
      if (released > p.size) throw decryptionFailed();
      return out;
    },
    async final() {
      const out = await dec.final();
      released += out.length;
      const digest = kept ? (received === kept.length ? await sha256Whole(kept) : null) : hash!.digest();
      if (released !== p.size || !digest || !equalBytes(digest, p.ciphertextHash)) throw decryptionFailed();
      return out;
    },
  };
}
