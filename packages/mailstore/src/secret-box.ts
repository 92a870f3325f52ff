/**
 * Server-side sealing of small secrets at rest (TOTP secrets, calendar events, out-of-office texts): AES-256-GCM under a key derived
 * with HKDF-SHA256 from the server's mail key (packages/mailstore/src/server-keys.ts, kept in
 * `<data dir>/keys/server-mail.key`, mode 0600). The database alone does not reveal a secret;
 * whoever holds the data folder's key file and the database does. Replacing the mail key file
 * makes the sealed secrets unreadable (users then enrol again).
 *
 * Format: `v1.` + base64url(12-byte nonce ‖ ciphertext ‖ 16-byte tag); the associated data
 * binds the purpose and the user id, so a sealed value cannot be moved to another user.
 *
 * `ref` is a keyed hash (HMAC-SHA256 under a second HKDF key) for looking a value up without
 * storing it: the Message-IDs of mail from outside, for threading (docs/mail.md "Threads").
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { ServerMailKey } from './server-keys';

const VERSION = 'v1.';

export class SecretBox {
  readonly #key: Buffer;
  readonly #refKey: Buffer;
  constructor(serverKey: ServerMailKey) {
    this.#key = Buffer.from(hkdfSync('sha256', serverKey.secretKey, Buffer.alloc(0), 'sealmail/server-secrets/v1', 32));
    this.#refKey = Buffer.from(hkdfSync('sha256', serverKey.secretKey, Buffer.alloc(0), 'sealmail/server-refs/v1', 32));
  }

  /** The keyed hash of `value` for `purpose` (32 bytes; the same value gives the same ref). */
  ref(purpose: string, value: string): Buffer {
    return createHmac('sha256', this.#refKey).update(`${purpose}\0${value}`).digest();
  }

  seal(purpose: string, userId: string, plaintext: string): string {
    const nonce = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.#key, nonce);
    c.setAAD(Buffer.from(`${purpose}\0${userId}`));
    const ct = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
    return VERSION + Buffer.concat([nonce, ct, c.getAuthTag()]).toString('base64url');
  }

  /** The plaintext, or null when the value is not sealed (legacy clear text) or does not open. */
  open(purpose: string, userId: string, sealed: string): string | null {
    if (!sealed.startsWith(VERSION)) return null;
    const raw = Buffer.from(sealed.slice(VERSION.length), 'base64url');
    if (raw.length < 12 + 16) return null;
    try {
      const d = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, 12));
      d.setAAD(Buffer.from(`${purpose}\0${userId}`));
      d.setAuthTag(raw.subarray(raw.length - 16));
      return Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]).toString('utf8');
    } catch {
      return null;
    }
  }

  static isSealed(value: string): boolean {
    return value.startsWith(VERSION);
  }
}
