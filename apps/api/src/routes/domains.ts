/**
 * Domain settings of the admin's own account: the cross-domain E2EE switch, and the default
 * encryption policy, which is chosen once (the update only takes when none is set: a concurrent
 * second choice loses) and never changed. Users read their own domain's policy. Adding,
 * verifying, checking and removing domains and their DKIM keys: domain-setup.ts.
 */
import type { FastifyInstance } from 'fastify';
import { adminDomainList, adminDomainUpdate, ApiError, mailPolicy } from '@sealmail/contract';
import { recordAudit } from '@sealmail/db';
import { defineRoute } from '../http/route';
import { requireSession } from '../auth/plugin';
import type { ApiDeps } from '../deps';
import { domainSetupRoutes } from './domain-setup';

export async function domainRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  defineRoute(
    app,
    adminDomainList,
    async (req) => {
      const domains = await deps.db.domain.findMany({ where: { accountId: req.session!.user.accountId }, orderBy: { name: 'asc' } });
      return { domains: domains.map((d) => ({ name: d.name, crossDomainE2ee: d.crossDomainE2ee, encryptionPolicy: d.encryptionPolicy, verifiedAt: d.verifiedAt?.toISOString() ?? null })) };
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
      const { crossDomainE2ee, encryptionPolicy } = req.body;
      if (encryptionPolicy !== undefined && domain.encryptionPolicy !== encryptionPolicy) {
        if (domain.encryptionPolicy) throw new ApiError('POLICY_IMMUTABLE');
        const set = await deps.db.domain.updateMany({ where: { id: domain.id, encryptionPolicy: null }, data: { encryptionPolicy } });
        if (set.count !== 1) throw new ApiError('POLICY_IMMUTABLE');
        await recordAudit(deps.db, { accountId: s.user.accountId, actorUserId: s.userId, action: 'domain.encryption_policy', details: { domain: domain.name, policy: encryptionPolicy, actorDeviceId: s.deviceId } });
      }
      if (crossDomainE2ee !== undefined && crossDomainE2ee !== domain.crossDomainE2ee) {
        await deps.db.domain.update({ where: { id: domain.id }, data: { crossDomainE2ee } });
        await recordAudit(deps.db, { accountId: s.user.accountId, actorUserId: s.userId, action: 'domain.cross_domain_e2ee', details: { domain: domain.name, enabled: crossDomainE2ee, actorDeviceId: s.deviceId } });
      }
      const d = await deps.db.domain.findUniqueOrThrow({ where: { id: domain.id } });
      return { name: d.name, crossDomainE2ee: d.crossDomainE2ee, encryptionPolicy: d.encryptionPolicy };
    },
    // A security setting: an approved device and a fresh re-authentication (docs/operations.md, Security).
    { preHandler: requireSession(deps, { role: 'admin', fresh: true }) },
  );

  await domainSetupRoutes(app, deps);

  defineRoute(
    app,
    mailPolicy,
    async (req) => {
      const d = await deps.db.domain.findUniqueOrThrow({ where: { id: req.session!.user.domainId }, select: { encryptionPolicy: true } });
      return { encryptionPolicy: d.encryptionPolicy };
    },
    { preHandler: requireSession(deps) },
  );
}
