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
