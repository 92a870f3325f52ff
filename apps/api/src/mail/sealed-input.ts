/**
 * Checks shared by the routes that take sealed mail from a device (send, import): a part that does
 * not decode or does not fit is `MAIL_INVALID` with the reason, never a 500.
 */
import { createHash } from 'node:crypto';
import { ApiError } from '@sealmail/contract';

export const invalidMail = (why: string, field?: string) => new ApiError('MAIL_INVALID', field, `The sealed mail was refused: ${why}.`);

/** Runs a decoder; any throw becomes `MAIL_INVALID` naming `why`. */
export function decodeOr<T>(f: () => T, why: string): T {
  try {
    return f();
  } catch {
    throw invalidMail(why);
  }
}

export const sha256 = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());
export const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(a, b) === 0;
