/**
 * One server-sealed copy's cryptography as one call (docs/performance.md "Speed, third round"):
 * `sealMail` and, for a relayed or held copy, the message key boxed to the server's mail key. The
 * message key itself never leaves: it is zeroed here once the server box is made, so the same call
 * can run in a worker thread (seal-pool.ts) and send back only what is stored.
 */
import { createServerBox, sealMail, type SealedMail } from '@sealmail/crypto';

export interface SealJob {
  /** `sealMail`'s input without its test-only randomness and backend (a worker cannot take functions). */
  mail: Omit<Parameters<typeof sealMail>[0], 'random' | 'backend'>;
  /** Box the message key to this server mail key too (relayed and held copies). */
  serverPublicKey?: Uint8Array;
}

export type SealResult = Omit<SealedMail, 'messageKey'> & { serverBox?: Uint8Array };

/** Seals in this thread. The caller zeroes its plaintexts afterwards, as before. */
export async function sealJob(job: SealJob): Promise<SealResult> {
  const { messageKey, ...sealed } = await sealMail(job.mail);
  try {
    return { ...sealed, ...(job.serverPublicKey ? { serverBox: createServerBox({ envelope: sealed.envelope, messageKey, serverPublicKey: job.serverPublicKey }) } : {}) };
  } finally {
    messageKey.fill(0);
  }
}
