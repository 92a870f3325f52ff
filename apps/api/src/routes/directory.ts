import type { FastifyInstance } from 'fastify';
import { directoryLookup } from '@sealmail/contract';
import { findMailboxByAddress } from '@sealmail/db';
import { defineRoute } from '../http/route';
import { mayEncryptTo } from '../keys/reach';
import { requireSession } from '../auth/plugin';
import type { ApiDeps } from '../deps';

export async function directoryRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  defineRoute(app, directoryLookup, async (req) => {
    const results = [];
    for (const address of req.body.addresses) {
      const user = await findMailboxByAddress(deps.db, address);
      // Another organisation's users exist only where both domains turned on cross-domain E2EE
      // (the same rule as key lookups): otherwise nothing tells whether they are here.
      const visible = user !== null && user.status === 'active' && (await mayEncryptTo(deps.db, req.session!.user, user));
      results.push({ address, exists: visible });
    }
    return { results };
  }, { preHandler: requireSession(deps) });
}
