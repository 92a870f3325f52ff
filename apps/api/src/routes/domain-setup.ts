/**
 * Admin: adding a domain and proving it is the organisation's (DNS TXT), the records to publish
 * and their checker, DKIM key rotation, removal (docs/admin.md, "Domains"). Every change needs an
 * admin with a fresh re-authentication and is recorded in the change history. Another
 * organisation's domains answer 404 like names that do not exist.
 *
 * What an unverified domain may do: be shown with its records and checked, and have its DKIM
 * keys prepared. It may not have users, aliases or mailing lists (409 DOMAIN_UNVERIFIED), and the SMTP
 * ingress refuses mail for it at RCPT (apps/smtp/src/server.ts).
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import {
  adminDkimActivate,
  adminDkimPrepare,
  adminDkimRetire,
  adminDomainAdd,
  adminDomainCheck,
  adminDomainGet,
  adminDomainRemove,
  adminDomainVerify,
  ApiError,
  type DomainDetail,
} from '@sealmail/contract';
import { recordAudit } from '@sealmail/db';
import { defineRoute } from '../http/route';
import { requireSession } from '../auth/plugin';
import type { ActiveSession } from '../auth/sessions';
import type { ApiDeps } from '../deps';
import { checkRecord, dkimRecordSpec, findVerification, mailRecords, mtaStsPolicy, mtaStsPolicyUrl, verificationRecord } from '../mail/domain-records';

type DomainRow = NonNullable<Awaited<ReturnType<ApiDeps['db']['domain']['findUnique']>>>;

/** The caller's organisation's domain of this name, or 404 (another organisation's too). */
async function ownDomain(deps: ApiDeps, accountId: string, name: string): Promise<DomainRow> {
  const d = await deps.db.domain.findUnique({ where: { name } });
  if (!d || d.accountId !== accountId) throw new ApiError('NOT_FOUND');
  return d;
}

/** Users, lists and aliases on a domain. */
async function usageOf(deps: ApiDeps, domainId: string) {
  const [users, lists, aliases] = await Promise.all([deps.db.user.count({ where: { domainId } }), deps.db.mailingList.count({ where: { domainId } }), deps.db.userAlias.count({ where: { domainId } })]);
  return { users, lists, aliases };
}

/** An unverified domain made outside the console (SQL) has no token yet: it gets one. */
async function withToken(deps: ApiDeps, d: DomainRow): Promise<DomainRow> {
  if (d.verifiedAt || d.verifyToken) return d;
  await deps.db.domain.updateMany({ where: { id: d.id, verifyToken: null }, data: { verifyToken: randomBytes(16).toString('hex') } });
  return deps.db.domain.findUniqueOrThrow({ where: { id: d.id } });
}

async function detailOf(deps: ApiDeps, row: DomainRow): Promise<DomainDetail> {
  const d = await withToken(deps, row);
  await deps.dkim.ensureActive(d);
  const keys = await deps.dkim.list(d.id);
  return {
    name: d.name,
    verifiedAt: d.verifiedAt?.toISOString() ?? null,
    createdAt: d.createdAt.toISOString(),
    crossDomainE2ee: d.crossDomainE2ee,
    encryptionPolicy: d.encryptionPolicy,
    verification: verificationRecord(d.name, d.verifyToken ?? ''),
    records: mailRecords(d.name, deps.mailHosts, keys),
    mtaStsPolicy: { url: mtaStsPolicyUrl(d.name), content: mtaStsPolicy(deps.mailHosts) },
    dkim: keys.map((k) => ({ selector: k.selector, state: k.state, record: dkimRecordSpec(d.name, k), createdAt: k.createdAt.toISOString(), activatedAt: k.activatedAt?.toISOString() ?? null })),
    usage: await usageOf(deps, d.id),
  };
}

export async function domainSetupRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const admin = requireSession(deps, { role: 'admin' });
  const fresh = requireSession(deps, { role: 'admin', fresh: true });
  const audit = (s: ActiveSession, action: string, details: Record<string, unknown>) =>
    recordAudit(deps.db, { accountId: s.user.accountId, actorUserId: s.userId, action, details: { ...details, actorDeviceId: s.deviceId } });

  defineRoute(
    app,
    adminDomainAdd,
    async (req) => {
      const s = req.session!;
      const name = req.body.name;
      if (await deps.db.domain.findUnique({ where: { name }, select: { id: true } })) throw new ApiError('DOMAIN_TAKEN');
      const token = randomBytes(16).toString('hex');
      const d = await deps.db.domain.create({ data: { accountId: s.user.accountId, name, verifyToken: token } }).catch((err: unknown) => {
        if ((err as { code?: string }).code === 'P2002') throw new ApiError('DOMAIN_TAKEN');
        throw err;
      });
      await audit(s, 'domain.add', { domain: name });
      return detailOf(deps, d);
    },
    { preHandler: fresh },
  );

  defineRoute(app, adminDomainGet, async (req) => detailOf(deps, await ownDomain(deps, req.session!.user.accountId, req.params.name)), { preHandler: admin });

  defineRoute(
    app,
    adminDomainVerify,
    async (req) => {
      const s = req.session!;
      const d = await withToken(deps, await ownDomain(deps, s.user.accountId, req.params.name));
      const expected = verificationRecord(d.name, d.verifyToken ?? '');
      if (d.verifiedAt) return { verified: true, verifiedAt: d.verifiedAt.toISOString(), expected, found: [] };
      const { verified, found } = await findVerification(deps.resolver, d.name, d.verifyToken!);
      if (!verified) return { verified: false, verifiedAt: null, expected, found };
      const at = deps.now();
      await deps.db.domain.updateMany({ where: { id: d.id, verifiedAt: null }, data: { verifiedAt: at } });
      await audit(s, 'domain.verify', { domain: d.name });
      const now = await deps.db.domain.findUniqueOrThrow({ where: { id: d.id }, select: { verifiedAt: true } });
      return { verified: true, verifiedAt: now.verifiedAt!.toISOString(), expected, found };
    },
    { preHandler: admin },
  );

  defineRoute(
    app,
    adminDomainCheck,
    async (req) => {
      const d = await detailOf(deps, await ownDomain(deps, req.session!.user.accountId, req.params.name));
      const records = [...(d.verifiedAt ? [] : [d.verification]), ...d.records];
      const results = [];
      // One after the other: a handful of lookups, and a resolver that fails says so per record.
      for (const r of records) {
        results.push(
          await checkRecord(deps.resolver, r, deps.mailHosts).catch((err: unknown) => ({
            record: r,
            status: 'missing' as const,
            found: [],
            advice: `The lookup failed (${(err as { code?: string }).code ?? 'DNS error'}); check again shortly.`,
          })),
        );
      }
      return { checkedAt: deps.now().toISOString(), results };
    },
    { preHandler: admin },
  );

  defineRoute(
    app,
    adminDkimPrepare,
    async (req) => {
      const s = req.session!;
      const d = await ownDomain(deps, s.user.accountId, req.params.name);
      await deps.dkim.prepareNext(d);
      const detail = await detailOf(deps, d);
      await audit(s, 'domain.dkim_prepare', { domain: d.name, selector: detail.dkim.find((k) => k.state === 'next')?.selector });
      return detail;
    },
    { preHandler: fresh },
  );

  defineRoute(
    app,
    adminDkimActivate,
    async (req) => {
      const s = req.session!;
      const d = await ownDomain(deps, s.user.accountId, req.params.name);
      const next = (await deps.dkim.list(d.id)).find((k) => k.state === 'next');
      if (!next) throw new ApiError('DKIM_NO_NEXT_KEY');
      const confirmed = req.body.confirmPublished === true;
      if (!confirmed) {
        const seen = await checkRecord(deps.resolver, dkimRecordSpec(d.name, next), deps.mailHosts).catch(() => null);
        if (seen?.status !== 'ok') throw new ApiError('DKIM_NOT_PUBLISHED');
      }
      const { selector, previous } = await deps.dkim.activate(d.id, deps.now());
      await audit(s, 'domain.dkim_activate', { domain: d.name, selector, previous, seenInDns: !confirmed });
      return detailOf(deps, d);
    },
    { preHandler: fresh },
  );

  defineRoute(
    app,
    adminDkimRetire,
    async (req) => {
      const s = req.session!;
      const d = await ownDomain(deps, s.user.accountId, req.params.name);
      const selector = await deps.dkim.retireOld(d.id);
      await audit(s, 'domain.dkim_retire', { domain: d.name, selector });
      return detailOf(deps, d);
    },
    { preHandler: fresh },
  );

  defineRoute(
    app,
    adminDomainRemove,
    async (req) => {
      const s = req.session!;
      const d = await ownDomain(deps, s.user.accountId, req.params.name);
      const usage = await usageOf(deps, d.id);
      // Rooms and equipment too: they would go with the domain (cascade), their bookings with them.
      const resources = await deps.db.calendarResource.count({ where: { domainId: d.id } });
      if (usage.users || usage.lists || usage.aliases || resources) {
        const parts = [
          usage.users && `${usage.users} user${usage.users === 1 ? '' : 's'}`,
          usage.lists && `${usage.lists} mailing list${usage.lists === 1 ? '' : 's'}`,
          usage.aliases && `${usage.aliases} alias${usage.aliases === 1 ? '' : 'es'}`,
          resources && `${resources} room${resources === 1 ? '' : 's'} or equipment`,
        ].filter(Boolean);
        throw new ApiError('DOMAIN_IN_USE', undefined, `${d.name} still has ${parts.join(', ')}: move or delete them first.`);
      }
      // The users/lists foreign keys restrict: one created meanwhile makes this fail rather than orphan it.
      await deps.db.domain.delete({ where: { id: d.id } }).catch((err: unknown) => {
        if ((err as { code?: string }).code === 'P2003') throw new ApiError('DOMAIN_IN_USE');
        throw err;
      });
      await audit(s, 'domain.remove', { domain: d.name });
      return { removed: true as const };
    },
    { preHandler: fresh },
  );
}
