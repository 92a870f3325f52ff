import type { FastifyInstance } from 'fastify';
import { directoryLookup } from '@sealmail/contract';
import { findUserByAddress } from '@sealmail/db';
import { defineRoute } from '../http/route';
import { requireSession } from '../auth/plugin';
import type { ApiDeps } from '../deps';

export async function directoryRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  defineRoute(app, directoryLookup, async (req) => {
    const results = [];
    for (const address of req.body.addresses) {
      const user = await findUserByAddress(deps.db, address);
      results.push({ address, exists: user !== null && user.status === 'active' });
    }
    return { results };
  }, { preHandler: requireSession(deps) });
}
