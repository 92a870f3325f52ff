import type { FastifyInstance } from 'fastify';
import { ApiError, health, ready, serverInfo } from '@sealmail/contract';
import { checkDatabase, listDomains } from '@sealmail/db';
import { defineRoute } from '../http/route';
import type { ApiDeps } from '../deps';

export async function healthRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  // Probes run every few seconds: log them only when something is wrong.
  defineRoute(app, health, async () => ({ status: 'ok' as const, uptimeSeconds: Math.round(process.uptime()) }), { logLevel: 'warn' });

  defineRoute(app, ready, async (req) => {
    try {
      await checkDatabase(deps.db);
    } catch (err) {
      req.log.warn({ err }, 'readiness check: database unreachable');
      throw new ApiError('DATABASE_UNAVAILABLE');
    }
    return { status: 'ready' as const };
  }, { logLevel: 'warn' });

  defineRoute(app, serverInfo, async () => ({
    service: 'sealmail' as const,
    version: deps.version,
    domains: (await listDomains(deps.db)).map((d) => d.name),
  }));
}
