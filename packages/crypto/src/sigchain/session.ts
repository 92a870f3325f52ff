/**
 * Session binding: a device proves, with its signing key, that a server session is its own.
 * A new sign-in on a device that already has keys makes a fresh session the server cannot tie
 * to any device; this signature ties it (docs/sigchain.md §8).
 *
 *   message = 0x01 | str(userId) | str(sessionId) | deviceId[32]
 *   signature = Ed25519 with context "device-session" (docs/crypto.md §4.1)
 *
 * The session id is not secret; the proof only helps whoever already holds that session's token.
 */
import { ByteWriter } from '../encoding';
import { abytes, astring } from '../_util';
import { signWithContext, verifyWithContext } from '../ed25519';

/** Version and signature context of session bindings (docs/sigchain.md §8). */
export const SESSION_BINDING = Object.freeze({ version: 0x01, context: 'device-session' });

export interface SessionBinding {
  userId: string;
  sessionId: string;
  deviceId: Uint8Array;
}

function message(b: SessionBinding): Uint8Array {
  return new ByteWriter()
    .u8(SESSION_BINDING.version)
    .str(astring(b.userId, 'userId', 255))
    .str(astring(b.sessionId, 'sessionId', 255))
    .raw(abytes(b.deviceId, 'deviceId', 32))
    .finish();
}

/**
 * Signs a session binding with the device's Ed25519 secret key.
 * @throws {CryptoError} INVALID_INPUT on a bad key, empty ids or a device id that is not 32 bytes.
 */
export function signSessionBinding(signingSecretKey: Uint8Array, binding: SessionBinding): Uint8Array {
  return signWithContext(signingSecretKey, 'device-session', message(binding));
}

/**
 * Checks a session binding against the device's Ed25519 public key (from its verified chain).
 * @throws {CryptoError} INVALID_INPUT on empty ids or a device id that is not 32 bytes.
 */
export function verifySessionBinding(signingPublicKey: Uint8Array, binding: SessionBinding, signature: Uint8Array): boolean {
  return verifyWithContext(signingPublicKey, SESSION_BINDING.context, message(binding), signature);
}
