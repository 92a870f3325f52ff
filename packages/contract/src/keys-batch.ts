/**
 * The key directory in one request (docs/performance.md "Round trips and uploads"): the chains of
 * several addresses at once, for sending to many recipients. Each chain is exactly what
 * `getSigchain` answers for that address; the client verifies and pins every one of them the same
 * way. Addresses the caller may not encrypt to are listed in `missing` with unknown ones, so a
 * lookup across organisations tells nothing.
 */
import { z } from 'zod';
import { address, getSigchain } from './routes';
import { mailLimits } from './mail';

export const getSigchains = {
  method: 'POST',
  path: '/api/v1/keys/sigchains',
  body: z.object({ addresses: z.array(address).min(1).max(mailLimits.recipients + 1) }),
  response: z.object({
    /** One entry per found address, in the order asked (each as `getSigchain` answers it). */
    chains: z.array(getSigchain.response),
    /** Addresses with no chain to show this caller: unknown, or outside what they may encrypt to. */
    missing: z.array(z.string()),
  }),
} as const;
