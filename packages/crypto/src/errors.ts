/**
 * Typed errors of the crypto package (docs/crypto.md, "Errors").
 *
 * Every failure has a stable `code`. Messages about *inputs* are labelled
 * (`"nonce" expected 24 bytes, got 12`); messages about failed authentication are flat and never
 * say which part of a ciphertext was wrong.
 */
export type CryptoErrorCode =
  | 'INVALID_INPUT' // a caller passed a malformed argument (wrong length, type, range)
  | 'UNSUPPORTED_VERSION' // a byte format names a version this code does not know
  | 'UNSUPPORTED_SUITE' // a byte format names a suite this code does not know
  | 'MALFORMED' // a byte string does not parse as the format it claims
  | 'DECRYPTION_FAILED' // authentication failed: wrong key, tampering, truncation, reordering
  | 'SIGNATURE_INVALID' // a signature does not verify
  | 'KEY_MISMATCH' // an opened key does not match the public key the caller expected (e.g. from the sigchain)
  | 'CHECKSUM_MISMATCH'; // a human-typed secret (backup key) has a wrong checksum: a typo

/**
 * An error raised by `@sealmail/crypto`; `code` is stable and safe to show or log
 * (docs/crypto.md §8).
 * @throws Nothing itself; every other export throws it.
 */
export class CryptoError extends Error {
  override readonly name: string = 'CryptoError';
  constructor(
    readonly code: CryptoErrorCode | (string & {}),
    message: string,
  ) {
    super(message);
  }
}
