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
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { blobComplete, blobCreate, blobPart, getSigchains, mailSealed } from '@sealmail/contract';
import type { CacheNotifications } from '@sealmail/mailstore';
import type { ApiDeps } from '../deps';

/**
 * POST routes that only read (a batch too large for a query string): treated like GETs. The
 * client's list path calls the first right after the rows; dropping the user's pages there would
 * empty the cache on every list.
 */
const READ_ONLY_POSTS = new Set<string>([mailSealed.path, getSigchains.path]);

/**
 * Writes that change nothing a cache holds: attachment uploads (a blob is part of a list row only
 * once a message is filed with it, which notifies). They skip the barrier (a round trip per part)
 * but, as writes, still read their session from Postgres.
 */
const UNCACHED_WRITES = new Set<string>([blobCreate.path, blobPart.path, blobComplete.path]);

/** Whether a request only reads: it may use cached answers and drops none. */
export function onlyReads(req: FastifyRequest): boolean {
  return req.method === 'GET' || req.method === 'HEAD' || (req.method === 'POST' && READ_ONLY_POSTS.has(req.routeOptions.url ?? ''));
}

export function installCacheHooks(app: FastifyInstance, deps: ApiDeps, notifications: CacheNotifications): void {
  app.addHook('onSend', async (req) => {
    if (onlyReads(req) || !deps.cache.active || UNCACHED_WRITES.has(req.routeOptions.url ?? '')) return;
    if (req.session) deps.cache.dropUser(req.session.userId, true);
    if (!(await notifications.barrier(deps.db))) deps.cache.clear();
  });
}

/** Answers with a JSON body serialised earlier (no serialiser work on a cache hit). */
export function sendJsonBody(reply: FastifyReply, body: Buffer): never {
  void reply.header('content-type', 'application/json; charset=utf-8').send(body);
  return reply as never;
}
