/**
 * Native X25519 through WebCrypto, for the X25519 half of X-Wing encapsulation — docs/crypto.md
 * §4.2. Internal module. Used only when the caller did not supply its own randomness (the
 * ephemeral key then comes from WebCrypto's generator, like the default `random`); returns null
 * when the runtime has no WebCrypto X25519, so callers fall back to `@noble/curves`. Results are
 * the same function (RFC 7748 X25519); tests check native and noble paths against each other and
 * against the X-Wing vectors through decapsulation.
 */
let native: Promise<boolean> | undefined;

function subtle(): SubtleCrypto | undefined {
  return globalThis.crypto?.subtle;
}

/** True when WebCrypto supports X25519 here (probed once). */
export function hasNativeX25519(): Promise<boolean> {
  native ??= (async () => {
    try {
      const s = subtle();
      if (!s) return false;
      const kp = (await s.generateKey({ name: 'X25519' }, false, ['deriveBits'])) as CryptoKeyPair;
      const raw = new Uint8Array(await s.exportKey('raw', kp.publicKey));
      return raw.length === 32;
    } catch {
      return false;
    }
  })();
  return native;
}

/**
 * A fresh ephemeral X25519 key pair made natively and its shared secret with `peer`:
 * `{ publicKey = X25519(e, 9), sharedSecret = X25519(e, peer) }`. Null without native support.
 * Throws (any error) when `peer` is invalid or gives an all-zero secret.
 */
export async function nativeEphemeralX25519(peer: Uint8Array): Promise<{ publicKey: Uint8Array; sharedSecret: Uint8Array } | null> {
  if (!(await hasNativeX25519())) return null;
  const s = subtle()!;
  const kp = (await s.generateKey({ name: 'X25519' }, false, ['deriveBits'])) as CryptoKeyPair;
  const peerKey = await s.importKey('raw', peer as BufferSource, { name: 'X25519' }, false, []);
  const [pub, ss] = await Promise.all([s.exportKey('raw', kp.publicKey), s.deriveBits({ name: 'X25519', public: peerKey }, kp.privateKey, 256)]);
  return { publicKey: new Uint8Array(pub), sharedSecret: new Uint8Array(ss) };
}

/** PKCS#8 wrapping of a raw X25519 private key (RFC 8410): the fixed DER prefix, then the 32 bytes. */
const PKCS8_X25519 = new Uint8Array([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20]);
/** Imported private keys, per secret-key array (weakly held; the caller keeps the bytes alive). */
const imported = new WeakMap<Uint8Array, { bytes: Uint8Array; key: Promise<CryptoKey> }>();

/**
 * `X25519(secretKey, peer)` natively (RFC 7748). The imported key is kept per `secretKey` array.
 * Null without native support. Throws (any error) when `peer` gives an all-zero secret.
 */
export async function nativeX25519(secretKey: Uint8Array, peer: Uint8Array): Promise<Uint8Array | null> {
  if (!(await hasNativeX25519())) return null;
  const s = subtle()!;
  let hit = imported.get(secretKey);
  if (!hit || !hit.bytes.every((b, i) => b === secretKey[i])) {
    const der = new Uint8Array(48);
    der.set(PKCS8_X25519);
    der.set(secretKey, 16);
    hit = { bytes: Uint8Array.from(secretKey), key: s.importKey('pkcs8', der, { name: 'X25519' }, false, ['deriveBits']) };
    hit.key.finally(() => der.fill(0)).catch(() => {});
    imported.set(secretKey, hit);
  }
  const peerKey = await s.importKey('raw', peer as BufferSource, { name: 'X25519' }, false, []);
  return new Uint8Array(await s.deriveBits({ name: 'X25519', public: peerKey }, await hit.key, 256));
}
