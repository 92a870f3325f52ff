import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError, apiReady, health, ready, serverInfo } from '@sealmail/contract';
import { checkDatabase } from '@sealmail/db';
import { defineRoute } from '../http/route';
import { readToken } from '../auth/plugin';
import { findActiveSession } from '../auth/sessions';
import type { ApiDeps } from '../deps';

export async function healthRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  // Probes run every few seconds: log them only when something is wrong.
  defineRoute(app, health, async () => ({ status: 'ok' as const, uptimeSeconds: Math.round(process.uptime()) }), { logLevel: 'warn' });

  const readiness = async (req: FastifyRequest) => {
    try {
      await checkDatabase(deps.db);
    } catch (err) {
      req.log.warn({ err }, 'readiness check: database unreachable');
      throw new ApiError('DATABASE_UNAVAILABLE');
    }
    return { status: 'ready' as const };
  };
  defineRoute(app, ready, readiness, { logLevel: 'warn' });
  // The same under /api: web hosts forward only /api/*, so the admin console asks here.
  defineRoute(app, apiReady, readiness, { logLevel: 'warn' });

  // Anonymous callers learn nothing about any organisation; a signed-in caller, its own domains.
  defineRoute(app, serverInfo, async (req) => {
    const token = readToken(req);
    const session = token ? await findActiveSession(deps.db, token, deps.now(), deps.auth) : null;
    const domains = session ? (await deps.db.domain.findMany({ where: { accountId: session.user.accountId }, select: { name: true }, orderBy: { name: 'asc' } })).map((d) => d.name) : undefined;
    return { service: 'sealmail' as const, version: deps.version, ...(domains ? { domains } : {}) };
  });
}
