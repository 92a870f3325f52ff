/**
 * HPKE, RFC 9180, base mode (mode_base = 0x00) — docs/crypto.md §4.3.
 *
 * KDF: HKDF-SHA256 (kdf_id 0x0001). AEAD: ChaCha20-Poly1305 (aead_id 0x0003).
 * KEMs: DHKEM(X25519, HKDF-SHA256) (kem_id 0x0020, RFC 9180 §4.1/§7.1.3), checked against the
 * RFC's Appendix A.2.1 vector; and X-Wing (kem_id 0x647a, draft-connolly-cfrg-xwing-kem §"Use in
 * HPKE"), used for every Sealmail box. Only the single-shot and context APIs of base mode are
 * provided; PSK and Auth modes are not (docs/crypto.md §4.3 says why).
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { expand, extract } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { shake256 } from '@noble/hashes/sha3.js';
import { CryptoError } from './errors';
import { abytes, concat, decryptionFailed, equalBytes, i2osp, randomBytes, utf8, type RandomSource } from './_util';
import { XWING, xwingDecapsulate, xwingDecapsulateAsync, xwingEncapsulate, xwingEncapsulateAsync, xwingKeyPairFromSeed, type KemKeyPair } from './xwing';

/** An HPKE KEM (RFC 9180 §4). `encap`/`decap` return the KEM shared secret. */
export interface HpkeKem {
  readonly id: number;
  readonly name: string;
  readonly Nsecret: number;
  readonly Nenc: number;
  readonly Npk: number;
  readonly Nsk: number;
  /** RFC 9180 §7.1.3 `DeriveKeyPair(ikm)`. */
  deriveKeyPair(ikm: Uint8Array): KemKeyPair;
  /** `Encap(pkR)`; randomness (`Nsk` bytes for DHKEM, 64 for X-Wing) comes from `random`. */
  encap(pkR: Uint8Array, random?: RandomSource): { sharedSecret: Uint8Array; enc: Uint8Array };
  /** `Decap(enc, skR)`. */
  decap(enc: Uint8Array, skR: Uint8Array): Uint8Array;
  /** Optional faster `Encap` (native primitives); same output distribution, same `decap`. */
  encapAsync?(pkR: Uint8Array, random?: RandomSource): Promise<{ sharedSecret: Uint8Array; enc: Uint8Array }>;
  /** Optional faster `Decap` (native primitives); the same shared secret as `decap`. */
  decapAsync?(enc: Uint8Array, skR: Uint8Array): Promise<Uint8Array>;
}

const HPKE_V1 = utf8('HPKE-v1');
const EMPTY = new Uint8Array(0);
const KDF_HKDF_SHA256 = 0x0001;
const AEAD_CHACHA20POLY1305 = 0x0003;
const Nk = 32;
const Nn = 12;
const Nh = 32;

function labeledExtract(suiteId: Uint8Array, salt: Uint8Array, label: string, ikm: Uint8Array): Uint8Array {
  return extract(sha256, concat(HPKE_V1, suiteId, utf8(label), ikm), salt);
}
function labeledExpand(suiteId: Uint8Array, prk: Uint8Array, label: string, info: Uint8Array, L: number): Uint8Array {
  return expand(sha256, prk, concat(i2osp(L, 2), HPKE_V1, suiteId, utf8(label), info), L);
}

const DHKEM_SUITE = concat(utf8('KEM'), i2osp(0x0020, 2));

/** DHKEM(X25519, HKDF-SHA256), RFC 9180 §4.1 and §7.1. */
export const dhkemX25519: HpkeKem = Object.freeze({
  id: 0x0020,
  name: 'DHKEM(X25519, HKDF-SHA256)',
  Nsecret: 32,
  Nenc: 32,
  Npk: 32,
  Nsk: 32,
  deriveKeyPair(ikm: Uint8Array): KemKeyPair {
    abytes(ikm, 'ikm');
    const prk = labeledExtract(DHKEM_SUITE, EMPTY, 'dkp_prk', ikm);
    const secretKey = labeledExpand(DHKEM_SUITE, prk, 'sk', EMPTY, 32);
    return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
  },
  encap(pkR: Uint8Array, random?: RandomSource) {
    abytes(pkR, 'publicKey', 32);
    const { secretKey: skE, publicKey: pkE } = dhkemX25519.deriveKeyPair(randomBytes(random, 32));
    return { sharedSecret: dhSharedSecret(skE, pkR, pkE, pkR), enc: pkE };
  },
  decap(enc: Uint8Array, skR: Uint8Array) {
    abytes(enc, 'enc', 32);
    abytes(skR, 'secretKey', 32);
    return dhSharedSecret(skR, enc, enc, x25519.getPublicKey(skR));
  },
});

function dhSharedSecret(sk: Uint8Array, pk: Uint8Array, enc: Uint8Array, pkR: Uint8Array): Uint8Array {
  let dh: Uint8Array;
  try {
    dh = x25519.getSharedSecret(sk, pk);
  } catch {
    throw decryptionFailed(); // all-zero output (small-order point): RFC 9180 §7.1.4
  }
  if (equalBytes(dh, new Uint8Array(32))) throw decryptionFailed();
  const prk = labeledExtract(DHKEM_SUITE, EMPTY, 'eae_prk', dh);
  return labeledExpand(DHKEM_SUITE, prk, 'shared_secret', concat(enc, pkR), 32);
}

/** X-Wing as an HPKE KEM (kem_id 0x647a), per draft-connolly-cfrg-xwing-kem "Use in HPKE". */
export const xwingKem: HpkeKem = Object.freeze({
  id: 0x647a,
  name: 'X-Wing',
  Nsecret: XWING.sharedSecret,
  Nenc: XWING.cipherText,
  Npk: XWING.publicKey,
  Nsk: XWING.secretKey,
  deriveKeyPair(ikm: Uint8Array): KemKeyPair {
    abytes(ikm, 'ikm');
    return xwingKeyPairFromSeed(shake256(ikm, { dkLen: 32 }));
  },
  encap(pkR: Uint8Array, random?: RandomSource) {
    const { cipherText, sharedSecret } = xwingEncapsulate(pkR, { eseed: randomBytes(random, XWING.eseed) });
    return { sharedSecret, enc: cipherText };
  },
  decap(enc: Uint8Array, skR: Uint8Array) {
    return xwingDecapsulate(enc, skR);
  },
  async encapAsync(pkR: Uint8Array, random?: RandomSource) {
    const { cipherText, sharedSecret } = await xwingEncapsulateAsync(pkR, random ? { random } : {});
    return { sharedSecret, enc: cipherText };
  },
  decapAsync(enc: Uint8Array, skR: Uint8Array) {
    return xwingDecapsulateAsync(enc, skR);
  },
});

/** An HPKE encryption context (RFC 9180 §5.2) for one direction. @throws {CryptoError} from `seal`, `open`, `export` (see each). */
export class HpkeContext {
  private seq = 0;
  /** @internal use {@link setupBaseSender} / {@link setupBaseReceiver}. */
  constructor(
    private readonly key: Uint8Array,
    private readonly baseNonce: Uint8Array,
    private readonly exporterSecret: Uint8Array,
    private readonly suiteId: Uint8Array,
  ) {}
  private nextNonce(): Uint8Array {
    if (this.seq >= 0xffffffff) throw new CryptoError('INVALID_INPUT', 'HPKE message limit reached');
    const n = Uint8Array.from(this.baseNonce);
    const s = i2osp(this.seq, Nn);
    for (let i = 0; i < Nn; i++) n[i]! ^= s[i]!;
    return n;
  }
  /**
   * `ContextS.Seal(aad, pt)`.
   * @throws {CryptoError} INVALID_INPUT on non-byte arguments or after 2^32-1 messages.
   */
  seal(aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    abytes(aad, 'aad');
    abytes(plaintext, 'plaintext');
    const ct = chacha20poly1305(this.key, this.nextNonce(), aad).encrypt(plaintext);
    this.seq++;
    return ct;
  }
  /**
   * `ContextR.Open(aad, ct)`.
   * @throws {CryptoError} DECRYPTION_FAILED when authentication fails; INVALID_INPUT on non-bytes.
   */
  open(aad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    abytes(aad, 'aad');
    abytes(ciphertext, 'ciphertext');
    let pt: Uint8Array;
    try {
      pt = chacha20poly1305(this.key, this.nextNonce(), aad).decrypt(ciphertext);
    } catch {
      throw decryptionFailed();
    }
    this.seq++;
    return pt;
  }
  /**
   * `Context.Export(exporter_context, L)` (RFC 9180 §5.3).
   * @throws {CryptoError} INVALID_INPUT when `length` exceeds 255·Nh.
   */
  export(exporterContext: Uint8Array, length: number): Uint8Array {
    abytes(exporterContext, 'exporterContext');
    if (!Number.isInteger(length) || length < 1 || length > 255 * Nh) {
      throw new CryptoError('INVALID_INPUT', `"length" expected 1..${255 * Nh}, got ${length}`);
    }
    return labeledExpand(this.suiteId, this.exporterSecret, 'sec', exporterContext, length);
  }
}

function keySchedule(kem: HpkeKem, sharedSecret: Uint8Array, info: Uint8Array): HpkeContext {
  const suiteId = concat(utf8('HPKE'), i2osp(kem.id, 2), i2osp(KDF_HKDF_SHA256, 2), i2osp(AEAD_CHACHA20POLY1305, 2));
  const pskIdHash = labeledExtract(suiteId, EMPTY, 'psk_id_hash', EMPTY);
  const infoHash = labeledExtract(suiteId, EMPTY, 'info_hash', info);
  const ctx = concat(new Uint8Array([0x00]), pskIdHash, infoHash);
  const secret = labeledExtract(suiteId, sharedSecret, 'secret', EMPTY);
  return new HpkeContext(
    labeledExpand(suiteId, secret, 'key', ctx, Nk),
    labeledExpand(suiteId, secret, 'base_nonce', ctx, Nn),
    labeledExpand(suiteId, secret, 'exp', ctx, Nh),
    suiteId,
  );
}

/**
 * `SetupBaseS(pkR, info)` (RFC 9180 §5.1.1).
 * @throws {CryptoError} INVALID_INPUT when `publicKey` has the wrong size or is invalid.
 */
export function setupBaseSender(
  kem: HpkeKem,
  publicKey: Uint8Array,
  info: Uint8Array,
  opts: { random?: RandomSource } = {},
): { enc: Uint8Array; context: HpkeContext } {
  abytes(info, 'info');
  const { sharedSecret, enc } = kem.encap(publicKey, opts.random);
  return { enc, context: keySchedule(kem, sharedSecret, info) };
}

/**
 * `SetupBaseR(enc, skR, info)` (RFC 9180 §5.1.1).
 * @throws {CryptoError} INVALID_INPUT on wrong sizes; DECRYPTION_FAILED on a degenerate DH.
 */
export function setupBaseReceiver(kem: HpkeKem, enc: Uint8Array, secretKey: Uint8Array, info: Uint8Array): HpkeContext {
  abytes(info, 'info');
  return keySchedule(kem, kem.decap(enc, secretKey), info);
}

/**
 * Single-shot `Seal` (RFC 9180 §6.1): returns the encapsulation and the ciphertext.
 * @throws {CryptoError} INVALID_INPUT on malformed arguments.
 */
export function hpkeSeal(
  kem: HpkeKem,
  publicKey: Uint8Array,
  info: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
  opts: { random?: RandomSource } = {},
): { enc: Uint8Array; ciphertext: Uint8Array } {
  const { enc, context } = setupBaseSender(kem, publicKey, info, opts);
  return { enc, ciphertext: context.seal(aad, plaintext) };
}

/**
 * Single-shot `Open` (RFC 9180 §6.1).
 * @throws {CryptoError} DECRYPTION_FAILED when authentication fails; INVALID_INPUT on wrong sizes.
 */
export function hpkeOpen(
  kem: HpkeKem,
  enc: Uint8Array,
  secretKey: Uint8Array,
  info: Uint8Array,
  aad: Uint8Array,
  ciphertext: Uint8Array,
): Uint8Array {
  return setupBaseReceiver(kem, enc, secretKey, info).open(aad, ciphertext);
}

/**
 * Single-shot `Seal` using the KEM's native `encapAsync` when it has one (X-Wing: WebCrypto
 * X25519), else `encap`. Output is opened by {@link hpkeOpen}.
 * @throws {CryptoError} INVALID_INPUT on malformed arguments.
 */
export async function hpkeSealAsync(
  kem: HpkeKem,
  publicKey: Uint8Array,
  info: Uint8Array,
  aad: Uint8Array,
  plaintext: Uint8Array,
  opts: { random?: RandomSource } = {},
): Promise<{ enc: Uint8Array; ciphertext: Uint8Array }> {
  abytes(info, 'info');
  const { sharedSecret, enc } = kem.encapAsync ? await kem.encapAsync(publicKey, opts.random) : kem.encap(publicKey, opts.random);
  return { enc, ciphertext: keySchedule(kem, sharedSecret, info).seal(aad, plaintext) };
}

/**
 * Single-shot `Open` using the KEM's native `decapAsync` when it has one (X-Wing: WebCrypto
 * X25519 on the holder's expanded key), else `decap`. Same result as {@link hpkeOpen}.
 * @throws {CryptoError} DECRYPTION_FAILED when authentication fails; INVALID_INPUT on wrong sizes.
 */
export async function hpkeOpenAsync(
  kem: HpkeKem,
  enc: Uint8Array,
  secretKey: Uint8Array,
  info: Uint8Array,
  aad: Uint8Array,
  ciphertext: Uint8Array,
): Promise<Uint8Array> {
  abytes(info, 'info');
  const sharedSecret = kem.decapAsync ? await kem.decapAsync(enc, secretKey) : kem.decap(enc, secretKey);
  return keySchedule(kem, sharedSecret, info).open(aad, ciphertext);
}
