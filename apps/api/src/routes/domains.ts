/** Admin: domain settings of the admin's own account (today: the cross-domain E2EE switch). */
import type { FastifyInstance } from 'fastify';
import { adminDomainList, adminDomainUpdate, ApiError } from '@sealmail/contract';
import { recordAudit } from '@sealmail/db';
import { defineRoute } from '../http/route';
import { requireSession } from '../auth/plugin';
import type { ApiDeps } from '../deps';

export async function domainRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  defineRoute(
    app,
    adminDomainList,
    async (req) => {
      const domains = await deps.db.domain.findMany({ where: { accountId: req.session!.user.accountId }, orderBy: { name: 'asc' } });
      return { domains: domains.map((d) => ({ name: d.name, crossDomainE2ee: d.crossDomainE2ee, encryptionPolicy: d.encryptionPolicy })) };
    },
    { preHandler: requireSession(deps, { role: 'admin' }) },
  );

  defineRoute(
    app,
    adminDomainUpdate,
    async (req) => {
      const s = req.session!;
      const domain = await deps.db.domain.findUnique({ where: { name: req.params.name } });
      if (!domain || domain.accountId !== s.user.accountId) throw new ApiError('NOT_FOUND');
      const d = await deps.db.domain.update({ where: { id: domain.id }, data: { crossDomainE2ee: req.body.crossDomainE2ee } });
      await recordAudit(deps.db, { accountId: s.user.accountId, actorUserId: s.userId, action: 'domain.cross_domain_e2ee', details: { domain: d.name, enabled: d.crossDomainE2ee } });
      return { name: d.name, crossDomainE2ee: d.crossDomainE2ee };
    },
    { preHandler: requireSession(deps, { role: 'admin' }) },
  );
}
