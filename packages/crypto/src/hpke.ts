/**
 * HPKE, RFC 9180, base mode (docs/crypto.md §5): KDF HKDF-SHA256 (0x0001), AEAD
 * ChaCha20-Poly1305 (0x0003), over a KEM that is either DHKEM(X25519, HKDF-SHA256) (0x0020,
 * checked against the RFC's Appendix A.2 vectors) or X-Wing (0x647a, the hybrid
 * X25519 + ML-KEM-768 KEM every Sealmail box uses; see xwing.ts).
 */
import { checkBytes, concat, u16, utf8, type RandomSource, systemRandom } from './bytes';
import { CryptoError } from './errors';
import { chacha, dh, hkdfSha256Expand, hkdfSha256Extract } from './primitives';

/** A KEM as RFC 9180 §4 describes it. */
export interface Kem {
  readonly id: number;
  readonly name: string;
  readonly Nenc: number;
  readonly Npk: number;
  readonly Nsk: number;
  /** Deterministic key pair from input key material (RFC 9180 §7.1.3). */
  deriveKeyPair(ikm: Uint8Array): { secretKey: Uint8Array; publicKey: Uint8Array };
  /** `random` yields the KEM's ephemeral randomness. */
  encap(publicKey: Uint8Array, random: RandomSource): { sharedSecret: Uint8Array; enc: Uint8Array };
  decap(enc: Uint8Array, secretKey: Uint8Array): Uint8Array;
}

const KDF_ID = 0x0001;
const AEAD_ID = 0x0003;
const Nk = 32;
const Nn = 12;
const HPKE_V1 = utf8('HPKE-v1');

function labeledExtract(suiteId: Uint8Array, salt: Uint8Array, label: string, ikm: Uint8Array): Uint8Array {
  return hkdfSha256Extract(salt, concat(HPKE_V1, suiteId, utf8(label), ikm));
}
function labeledExpand(suiteId: Uint8Array, prk: Uint8Array, label: string, info: Uint8Array, L: number): Uint8Array {
  return hkdfSha256Expand(prk, concat(u16(L), HPKE_V1, suiteId, utf8(label), info), L);
}

/** DHKEM(X25519, HKDF-SHA256), RFC 9180 §4.1. */
export const dhkemX25519: Kem = (() => {
  const suiteId = concat(utf8('KEM'), u16(0x0020));
  const extractAndExpand = (dhv: Uint8Array, kemContext: Uint8Array) => {
    const prk = labeledExtract(suiteId, new Uint8Array(), 'eae_prk', dhv);
    return labeledExpand(suiteId, prk, 'shared_secret', kemContext, 32);
  };
  const deriveKeyPair = (ikm: Uint8Array) => {
    const prk = labeledExtract(suiteId, new Uint8Array(), 'dkp_prk', ikm);
    const secretKey = labeledExpand(suiteId, prk, 'sk', new Uint8Array(), 32);
    return { secretKey, publicKey: dh.publicKey(secretKey) };
  };
  return {
    id: 0x0020,
    name: 'DHKEM(X25519, HKDF-SHA256)',
    Nenc: 32,
    Npk: 32,
    Nsk: 32,
    deriveKeyPair,
    encap(pkR, random) {
      checkBytes(pkR, 'publicKey', 32);
      const e = deriveKeyPair(random(32));
      const dhv = dh.shared(e.secretKey, pkR);
      return { sharedSecret: extractAndExpand(dhv, concat(e.publicKey, pkR)), enc: e.publicKey };
    },
    decap(enc, skR) {
      checkBytes(enc, 'enc', 32);
      const dhv = dh.shared(skR, enc);
      return extractAndExpand(dhv, concat(enc, dh.publicKey(skR)));
    },
  };
})();

/** An HPKE context after setup (RFC 9180 §5.2), for a sequence of messages. */
export class HpkeContext {
  private seq = 0;
  constructor(
    private readonly key: Uint8Array,
    private readonly baseNonce: Uint8Array,
  ) {}
  private nonce(): Uint8Array {
    const n = this.baseNonce.slice();
    let s = this.seq;
    for (let i = Nn - 1; i >= Nn - 8 && s > 0; i--) {
      n[i]! ^= s & 0xff;
      s = Math.floor(s / 256);
    }
    return n;
  }
  seal(aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    const ct = chacha.seal(this.key, this.nonce(), plaintext, aad);
    this.seq++;
    return ct;
  }
  /** @throws CryptoError DECRYPTION_FAILED */
  open(aad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    const pt = chacha.open(this.key, this.nonce(), ciphertext, aad);
    this.seq++;
    return pt;
  }
}

function keySchedule(kem: Kem, sharedSecret: Uint8Array, info: Uint8Array): HpkeContext {
  const suiteId = concat(utf8('HPKE'), u16(kem.id), u16(KDF_ID), u16(AEAD_ID));
  const mode = 0x00;
  const pskIdHash = labeledExtract(suiteId, new Uint8Array(), 'psk_id_hash', new Uint8Array());
  const infoHash = labeledExtract(suiteId, new Uint8Array(), 'info_hash', info);
  const ctx = concat(new Uint8Array([mode]), pskIdHash, infoHash);
  // RFC 9180 §5.1: secret = LabeledExtract(shared_secret, "secret", psk), psk empty in base mode.
  const s = labeledExtract(suiteId, sharedSecret, 'secret', new Uint8Array());
  return new HpkeContext(labeledExpand(suiteId, s, 'key', ctx, Nk), labeledExpand(suiteId, s, 'base_nonce', ctx, Nn));
}

/** SetupBaseS (RFC 9180 §5.1.1). */
export function setupBaseSender(kem: Kem, pkR: Uint8Array, info: Uint8Array, random: RandomSource = systemRandom): { enc: Uint8Array; context: HpkeContext } {
  const { sharedSecret, enc } = kem.encap(pkR, random);
  return { enc, context: keySchedule(kem, sharedSecret, info) };
}

/** SetupBaseR (RFC 9180 §5.1.1). @throws CryptoError DECRYPTION_FAILED on a bad encapsulation. */
export function setupBaseRecipient(kem: Kem, enc: Uint8Array, skR: Uint8Array, info: Uint8Array): HpkeContext {
  checkBytes(enc, 'enc', kem.Nenc);
  checkBytes(skR, 'secretKey', kem.Nsk);
  return keySchedule(kem, kem.decap(enc, skR), info);
}

/** Single-shot SealBase: returns enc ‖ ciphertext. */
export function hpkeSeal(kem: Kem, pkR: Uint8Array, info: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, random: RandomSource = systemRandom): Uint8Array {
  checkBytes(pkR, 'publicKey', kem.Npk);
  const { enc, context } = setupBaseSender(kem, pkR, info, random);
  return concat(enc, context.seal(aad, plaintext));
}

/**
 * Single-shot OpenBase of enc ‖ ciphertext.
 * @throws CryptoError DECRYPTION_FAILED (flat: no detail) or MALFORMED when too short.
 */
export function hpkeOpen(kem: Kem, skR: Uint8Array, info: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array {
  if (sealed.length < kem.Nenc + 16) throw new CryptoError('MALFORMED', 'sealed box: truncated');
  try {
    return setupBaseRecipient(kem, sealed.subarray(0, kem.Nenc), skR, info).open(aad, sealed.subarray(kem.Nenc));
  } catch (e) {
    if (e instanceof CryptoError && e.code === 'INVALID_INPUT') throw e;
    throw new CryptoError('DECRYPTION_FAILED', 'decryption failed');
  }
}
