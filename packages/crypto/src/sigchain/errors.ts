/** Typed errors of sigchain replay (docs/sigchain.md §5). */
import { CryptoError } from '../errors';

export type SigchainErrorCode =
  | 'BAD_SIGNATURE' // a signature on a link does not verify
  | 'BROKEN_HASH_LINK' // a link's `prev` is not the hash of the link before it
  | 'SEQUENCE_GAP' // sequence numbers do not run 0, 1, 2, …
  | 'SIGNER_NOT_ACTIVE' // the signer is not an approved, unrevoked device at that point
  | 'REVOKED_SIGNER' // the signer was revoked earlier in the chain
  | 'WRONG_USER' // a link names another user
  | 'INVALID_LINK' // a link breaks a rule of its type (root not first, generation skips, …)
  | 'ROLLBACK' // the chain is shorter than one seen before
  | 'FORK'; // the chain differs from one seen before at the same position

/** A sigchain that must not be trusted; `code` says why, `seqno` where (when known). */
export class SigchainError extends CryptoError {
  override readonly name = 'SigchainError';
  constructor(
    override readonly code: SigchainErrorCode,
    message: string,
    readonly seqno?: number,
  ) {
    super(code, message);
  }
}
