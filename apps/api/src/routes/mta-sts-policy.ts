/**
 * The MTA-STS policy file (RFC 8461 §3.3) of every verified domain, at
 * `https://mta-sts.<domain>/.well-known/mta-sts.txt`: the domain comes from the host name the
 * request was made to (X-Forwarded-Host from a trusted proxy: the web host forwards this path).
 * Unverified and unknown domains: 404. Public: senders fetch it without any session.
 */
import type { FastifyInstance } from 'fastify';
import { ApiError } from '@sealmail/contract';
import type { ApiDeps } from '../deps';
import { mtaStsPolicy } from '../mail/domain-records';

export const MTA_STS_PATH = '/.well-known/mta-sts.txt';

export async function mtaStsPolicyRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  app.get(MTA_STS_PATH, { logLevel: 'warn' }, async (req, reply) => {
    const host = req.hostname.toLowerCase().replace(/\.$/, '');
    if (!host.startsWith('mta-sts.')) throw new ApiError('NOT_FOUND');
    const domain = await deps.db.domain.findUnique({ where: { name: host.slice('mta-sts.'.length) }, select: { verifiedAt: true } });
    if (!domain?.verifiedAt) throw new ApiError('NOT_FOUND');
    return reply.type('text/plain; charset=utf-8').header('cache-control', 'max-age=3600').send(mtaStsPolicy(deps.mailHosts));
  });
}
