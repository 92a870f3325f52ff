/**
 * Read-your-writes for the per-process cache (cache/store.ts). Before any request that may write
 * (not GET/HEAD) answers:
 *   - the signed-in user's cached bodies and sessions in this process are dropped at once (a client
 *     that moves a mail and lists again on the same process never sees the old page);
 *   - and the process waits for the cache channel's barrier: every notification committed before
 *     it (this request's own writes, an admin's suspension of another user, a revoked device) has
 *     then been applied here. If the barrier does not come back in time, the cache is cleared.
 * Other processes hear the same notifications within milliseconds of the commit.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { CacheNotifications } from '@sealmail/mailstore';
import type { ApiDeps } from '../deps';

export function installCacheHooks(app: FastifyInstance, deps: ApiDeps, notifications: CacheNotifications): void {
  app.addHook('onSend', async (req) => {
    if (req.method === 'GET' || req.method === 'HEAD' || !deps.cache.active) return;
    if (req.session) deps.cache.dropUser(req.session.userId, true);
    if (!(await notifications.barrier(deps.db))) deps.cache.clear();
  });
}

/** Answers with a JSON body serialised earlier (no serialiser work on a cache hit). */
export function sendJsonBody(reply: FastifyReply, body: Buffer): never {
  void reply.header('content-type', 'application/json; charset=utf-8').send(body);
  return reply as never;
}
