/**
 * Native Ed25519 signing through WebCrypto — docs/crypto.md §4.1. Internal module. Ed25519
 * signatures are deterministic (RFC 8032 §5.1.6), so WebCrypto and `@noble/curves` give the same
 * 64 bytes for the same seed and message (test/xwing-native.test.ts checks vectors and random
 * inputs). Returns null where WebCrypto lacks Ed25519, so callers fall back to noble.
 */
let native: Promise<boolean> | undefined;

/** PKCS#8 wrapping of a 32-byte Ed25519 seed (RFC 8410): the fixed DER prefix, then the seed. */
const PKCS8_ED25519 = new Uint8Array([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);
/** Imported signing keys, per secret-key array (weakly held). */
const imported = new WeakMap<Uint8Array, { bytes: Uint8Array; key: Promise<CryptoKey> }>();

function importSeed(seed: Uint8Array): Promise<CryptoKey> {
  const der = new Uint8Array(48);
  der.set(PKCS8_ED25519);
  der.set(seed, 16);
  const key = globalThis.crypto.subtle.importKey('pkcs8', der, { name: 'Ed25519' }, false, ['sign']);
  key.finally(() => der.fill(0)).catch(() => {});
  return key;
}

/** True when WebCrypto can sign with Ed25519 here (probed once). */
export function hasNativeEd25519(): Promise<boolean> {
  native ??= (async () => {
    try {
      if (!globalThis.crypto?.subtle) return false;
      const sig = await globalThis.crypto.subtle.sign({ name: 'Ed25519' }, await importSeed(new Uint8Array(32)), new Uint8Array(0));
      return sig.byteLength === 64;
    } catch {
      return false;
    }
  })();
  return native;
}

/** Pure Ed25519 signature of `message` under the 32-byte `seed`, natively; null without support. */
export async function nativeEd25519Sign(seed: Uint8Array, message: Uint8Array): Promise<Uint8Array | null> {
  if (!(await hasNativeEd25519())) return null;
  let hit = imported.get(seed);
  if (!hit || !hit.bytes.every((b, i) => b === seed[i])) {
    hit = { bytes: Uint8Array.from(seed), key: importSeed(seed) };
    imported.set(seed, hit);
  }
  return new Uint8Array(await globalThis.crypto.subtle.sign({ name: 'Ed25519' }, await hit.key, message as BufferSource));
}
