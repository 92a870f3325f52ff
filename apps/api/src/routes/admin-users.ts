/**
 * Admin: the organisation's users (docs/admin.md, "Users" and "Legal hold"), set-up links, and
 * the console's health overview. Every route is for an admin of the caller's own account (an
 * escrow admin is refused: they hold keys, they do not manage people); changes that affect
 * access (role, suspension, deletion, legal hold) need a fresh re-authentication. Every change
 * is recorded in the change history.
 */
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { parse as parseCsv } from 'csv-parse/sync';
import {
  adminAliasAdd,
  adminAliasRemove,
  adminHealth,
  adminLegalHoldLift,
  adminLegalHoldList,
  adminLegalHoldSet,
  adminUserCreate,
  adminUserDelete,
  adminUserImport,
  adminUserInvite,
  adminUserList,
  adminUserStatus,
  adminUserUpdate,
  ApiError,
  INVITATION_TTL_MS,
  invitationAccept,
  invitationLookup,
  MAX_CSV_ROWS,
  PLANS,
  planId as planSchema,
  type AdminUser,
  type PlanId,
} from '@sealmail/contract';
import { addressInUse, checkDatabase, findUserByAddress, recordAudit, splitAddress, type Db, type User } from '@sealmail/db';
import { hashPassword } from '@sealmail/server';
import { defineRoute } from '../http/route';
import { assertFresh, requireSession } from '../auth/plugin';
import { revokeOtherSessions } from '../auth/sessions';
import { dropUnneededMessages, releaseHeldEntries } from '../mail/legal-hold';
import { outboundOfAccount } from './outbound-admin';
import { keepAnEscrowHolder } from '../keys/escrow';
import type { ApiDeps } from '../deps';

/** What the health overview checks besides the database: set by the API process from its configuration. */
export interface HealthTargets {
  smtp?: { host: string; port: number };
  /** The PEM certificate the services present. */
  certificatePem?: string;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();
type Tx = Parameters<Parameters<Db['$transaction']>[0]>[0];

const include = {
  domain: { select: { name: true } },
  aliases: { select: { localPart: true, domain: { select: { name: true } } }, orderBy: { localPart: 'asc' as const } },
  invitations: { where: { usedAt: null }, orderBy: { createdAt: 'desc' as const }, take: 1, select: { expiresAt: true } },
  links: { select: { seqno: true }, take: 1 },
};
type Row = User & { domain: { name: string }; aliases: { localPart: string; domain: { name: string } }[]; invitations: { expiresAt: Date }[]; links: unknown[] };

async function views(db: Db, rows: Row[], now: Date): Promise<AdminUser[]> {
  const holders = [...new Set(rows.flatMap((r) => (r.legalHoldBy ? [r.legalHoldBy] : [])))];
  const names = new Map((holders.length ? await db.user.findMany({ where: { id: { in: holders } }, select: { id: true, localPart: true, domain: { select: { name: true } } } }) : []).map((u) => [u.id, `${u.localPart}@${u.domain.name}`]));
  return rows.map((r) => ({
    address: `${r.localPart}@${r.domain.name}`,
    displayName: r.displayName,
    role: r.role,
    status: r.status,
    plan: planSchema.safeParse(r.plan).success ? (r.plan as PlanId) : null,
    quotaBytes: Number(r.quotaBytes),
    usedBytes: Number(r.usedBytes),
    hasKeys: r.links.length > 0,
    aliases: r.aliases.map((a) => `${a.localPart}@${a.domain.name}`),
    legalHold: r.legalHoldAt ? { reason: r.legalHoldReason ?? '', since: r.legalHoldAt.toISOString(), by: r.legalHoldBy ? (names.get(r.legalHoldBy) ?? null) : null } : null,
    invitation: r.invitations[0] ? { expiresAt: r.invitations[0].expiresAt.toISOString(), expired: r.invitations[0].expiresAt <= now } : null,
    createdAt: r.createdAt.toISOString(),
  }));
}

/** The quota of a plan, or the custom one. */
function quotaOf(plan: PlanId | null, quotaBytes: number | undefined): bigint {
  return BigInt(plan ? PLANS[plan].quotaBytes : quotaBytes!);
}

export async function adminUserRoutes(app: FastifyInstance, deps: ApiDeps, health: HealthTargets = {}): Promise<void> {
  const admin = { preHandler: requireSession(deps, { role: 'admin' }) };
  const fresh = { preHandler: requireSession(deps, { role: 'admin', fresh: true }) };

  async function view(id: string): Promise<AdminUser> {
    const row = await deps.db.user.findUniqueOrThrow({ where: { id }, include });
    return (await views(deps.db, [row], deps.now()))[0]!;
  }

  /** A user of the caller's own account by address; another organisation's is "not found". */
  async function own(accountId: string, address: string): Promise<User> {
    const u = await findUserByAddress(deps.db, address);
    if (!u || u.accountId !== accountId) throw new ApiError('NOT_FOUND', 'params.address', `There is no user ${address} in your organisation.`);
    return u;
  }

  /**
   * Refuses when `user` is the account's last active admin and would stop being one. The account's
   * active admins are locked first (until `tx` ends), so two changes at once — two demotions, a
   * suspension and a deletion — are counted one after the other, never both against the same two
   * admins (which left an organisation with none).
   */
  async function keepAnAdmin(tx: Tx, user: User): Promise<void> {
    if (user.role !== 'admin' || user.status !== 'active') return;
    const admins = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM users WHERE account_id = ${user.accountId}::uuid AND role = 'admin' AND status = 'active' ORDER BY id FOR UPDATE`;
    if (!admins.some((a) => a.id !== user.id)) throw new ApiError('LAST_ADMIN');
  }

  /** Creates one user (in `tx`); the address must be free on one of the account's domains. */
  async function create(tx: Tx, accountId: string, u: { address: string; displayName: string; role: 'user' | 'admin' | 'escrow_admin'; plan: PlanId | null; quotaBytes?: number | undefined }): Promise<User> {
    const { localPart, domain: domainName } = splitAddress(u.address)!;
    const domain = await tx.domain.findUnique({ where: { name: domainName } });
    if (!domain || domain.accountId !== accountId) throw new ApiError('VALIDATION_FAILED', 'body.address', `body.address: ${domainName} is not a domain of your organisation.`);
    if (!domain.verifiedAt) throw new ApiError('DOMAIN_UNVERIFIED', 'body.address', `${domainName} is not verified yet: prove it is yours (Domains) before adding users to it.`);
    if (await addressInUse(tx, domain.id, localPart)) throw new ApiError('ADDRESS_TAKEN', 'body.address');
    // Nobody knows this password: the user chooses theirs through a set-up link.
    const passwordHash = await hashPassword(randomBytes(32).toString('base64url'));
    return tx.user.create({ data: { accountId, domainId: domain.id, localPart, displayName: u.displayName, role: u.role, plan: u.plan, quotaBytes: quotaOf(u.plan, u.quotaBytes), passwordHash } }).catch((err: unknown) => {
      if ((err as { code?: string }).code === 'P2002') throw new ApiError('ADDRESS_TAKEN', 'body.address');
      throw err;
    });
  }

  defineRoute(
    app,
    adminUserList,
    async (req) => {
      const rows = await deps.db.user.findMany({ where: { accountId: req.session!.user.accountId }, include, orderBy: [{ domainId: 'asc' }, { localPart: 'asc' }], take: 5000 });
      return { users: await views(deps.db, rows, deps.now()) };
    },
    admin,
  );

  defineRoute(
    app,
    adminUserCreate,
    async (req) => {
      const s = req.session!;
      const u = await deps.db.$transaction((tx) => create(tx, s.user.accountId, req.body));
      await recordAudit(deps.db, { accountId: s.user.accountId, actorUserId: s.userId, action: 'admin.user_created', details: { user: req.body.address, role: req.body.role, plan: req.body.plan, quotaBytes: Number(u.quotaBytes), actorDeviceId: s.deviceId } });
      return view(u.id);
    },
    admin,
  );

  defineRoute(
    app,
    adminUserImport,
    async (req) => {
      const s = req.session!;
      let records: Record<string, string>[];
      try {
        records = parseCsv(req.body.csv, { columns: (h: string[]) => h.map((c) => c.trim().toLowerCase().replace(/[\s-]+/g, '_')), skip_empty_lines: true, trim: true, bom: true, relax_column_count: false }) as Record<string, string>[];
      } catch (err) {
        throw new ApiError('VALIDATION_FAILED', 'body.csv', `body.csv: ${(err as Error).message}`);
      }
      if (records.length > MAX_CSV_ROWS) throw new ApiError('VALIDATION_FAILED', 'body.csv', `body.csv: at most ${MAX_CSV_ROWS} users per file.`);
      const first = records[0];
      if (!first || !('address' in first) || !('name' in first || 'display_name' in first)) throw new ApiError('VALIDATION_FAILED', 'body.csv', 'body.csv: the first row must name the columns: address, name (and optionally role, plan, quota_gb).');
      const results = [];
      for (const [i, r] of records.entries()) {
        const line = i + 2; // the header is line 1
        const quotaGb = r.quota_gb ? Number(r.quota_gb) : undefined;
        const parsed = adminUserCreate.body.safeParse({
          address: r.address ?? '',
          displayName: r.name ?? r.display_name ?? '',
          ...(r.role ? { role: r.role } : {}),
          ...(r.plan ? { plan: r.plan === 'custom' ? null : r.plan } : quotaGb !== undefined ? { plan: null } : {}),
          ...(quotaGb !== undefined ? { quotaBytes: Math.round(quotaGb * 1024 ** 3) } : {}),
        });
        if (!parsed.success) {
          const issue = parsed.error.issues[0]!;
          results.push({ line, address: r.address ?? '', status: 'refused' as const, reason: `${issue.path.join('.') || 'row'}: ${issue.message}` });
          continue;
        }
        try {
          // One row, one transaction: a refused row leaves nothing behind.
          await deps.db.$transaction((tx) => create(tx, s.user.accountId, parsed.data));
          results.push({ line, address: parsed.data.address, status: 'created' as const });
        } catch (err) {
          if (!(err instanceof ApiError)) throw err;
          results.push({ line, address: parsed.data.address, status: 'refused' as const, reason: err.message.replace(/^body\.address: /, '') });
        }
      }
      const created = results.filter((r) => r.status === 'created').map((r) => r.address);
      await recordAudit(deps.db, { accountId: s.user.accountId, actorUserId: s.userId, action: 'admin.users_imported', details: { created, refused: results.length - created.length, actorDeviceId: s.deviceId } });
      return { results };
    },
    admin,
  );

  // A role change needs a fresh proof; a name or quota change does not.
  const roleGuard = requireSession(deps, { role: 'admin' });
  const roleFresh = requireSession(deps, { role: 'admin', fresh: true });
  defineRoute(
    app,
    adminUserUpdate,
    async (req) => {
      const s = req.session!;
      const u = await own(s.user.accountId, req.params.address);
      const { displayName, role, plan, quotaBytes } = req.body;
      if (plan === null && quotaBytes === undefined) throw new ApiError('VALIDATION_FAILED', 'body.quotaBytes', 'body.quotaBytes: a custom quota (no plan) needs quotaBytes.');
      await deps.db.$transaction(async (tx) => {
        // An admin may step down themselves, as long as another active admin is left.
        if (role !== undefined && role !== u.role) await keepAnAdmin(tx, u);
        const quota = plan !== undefined ? quotaOf(plan, quotaBytes) : quotaBytes !== undefined ? BigInt(quotaBytes) : undefined;
        await tx.user.update({ where: { id: u.id }, data: { ...(displayName !== undefined ? { displayName } : {}), ...(role !== undefined ? { role } : {}), ...(plan !== undefined ? { plan } : quotaBytes !== undefined ? { plan: null } : {}), ...(quota !== undefined ? { quotaBytes: quota } : {}) } });
      });
      await recordAudit(deps.db, { accountId: s.user.accountId, actorUserId: s.userId, action: 'admin.user_updated', details: { user: req.params.address, ...req.body, actorDeviceId: s.deviceId } });
      return view(u.id);
    },
    {
      preHandler: async (req, reply) => {
        const body = req.body as { role?: unknown } | undefined;
        return (body && body.role !== undefined ? roleFresh : roleGuard)(req, reply);
      },
    },
  );

  defineRoute(
    app,
    adminUserStatus,
    async (req) => {
      const s = req.session!;
      const u = await own(s.user.accountId, req.params.address);
      const { status } = req.body;
      if (u.id === s.userId) throw new ApiError('FORBIDDEN', 'params.address', 'You cannot suspend yourself.');
      let sessionsEnded = 0;
      if (status !== u.status)
        await deps.db.$transaction(async (tx) => {
          if (status === 'suspended') {
            await keepAnAdmin(tx, u);
            sessionsEnded = await revokeOtherSessions(tx, u.id, null, deps.now());
          }
          await tx.user.update({ where: { id: u.id }, data: { status } });
        });
      await recordAudit(deps.db, { accountId: s.user.accountId, actorUserId: s.userId, action: status === 'suspended' ? 'admin.user_suspended' : 'admin.user_reactivated', details: { user: req.params.address, sessionsEnded, actorDeviceId: s.deviceId } });
      return view(u.id);
    },
    fresh,
  );

  defineRoute(
    app,
    adminUserDelete,
    async (req) => {
      const s = req.session!;
      const u = await own(s.user.accountId, req.params.address);
      if (u.id === s.userId) throw new ApiError('FORBIDDEN', 'params.address', 'You cannot delete yourself.');
      const { blobs, messages } = await deps.db.$transaction(async (tx) => {
        // The user's row (and the account's active admins, for keepAnAdmin) locked in one order
        // (by id, as keepAnAdmin does): a legal hold placed at the same moment either lands first
        // and is seen here, or waits and finds no user — it cannot answer 200 for a deleted user.
        await tx.$queryRaw`SELECT id FROM users WHERE id = ${u.id}::uuid OR (account_id = ${u.accountId}::uuid AND role = 'admin' AND status = 'active') ORDER BY id FOR UPDATE`;
        const current = await tx.user.findUniqueOrThrow({ where: { id: u.id } });
        if (current.legalHoldAt) throw new ApiError('LEGAL_HOLD');
        await keepAnAdmin(tx, current);
        await keepAnEscrowHolder(tx, current.accountId, current.id);
        const held = [
          ...(await tx.mailboxEntry.findMany({ where: { userId: u.id }, select: { messageId: true }, distinct: ['messageId'] })),
          // Kept by a hold since lifted (should the lift have stopped half-way): they go with the user.
          ...(await tx.heldMailboxEntry.findMany({ where: { userId: u.id }, select: { messageId: true } })),
        ];
        await tx.heldMailboxEntry.deleteMany({ where: { userId: u.id } });
        const sent = await tx.message.findMany({ where: { senderUserId: u.id }, select: { id: true } });
        // Uploads never sent go with the user; attachments of mail others hold stay theirs.
        const unsent = (await tx.blob.findMany({ where: { ownerUserId: u.id, messageId: null }, select: { id: true } })).map((b) => b.id);
        await tx.blob.deleteMany({ where: { id: { in: unsent } } });
        await tx.user.delete({ where: { id: u.id } });
        const dropped = await dropUnneededMessages(tx, [...held.map((h) => h.messageId), ...sent.map((m) => m.id)]);
        return { blobs: [...unsent, ...dropped.blobs], messages: dropped.messages };
      });
      await deps.blobs.delete(blobs);
      await recordAudit(deps.db, { accountId: s.user.accountId, actorUserId: s.userId, action: 'admin.user_deleted', details: { user: req.params.address, messagesDeleted: messages, actorDeviceId: s.deviceId } });
      return { deleted: true as const, messagesDeleted: messages };
    },
    fresh,
  );

  defineRoute(
    app,
    adminUserInvite,
    async (req) => {
      const s = req.session!;
      const u = await own(s.user.accountId, req.params.address);
      if (u.status !== 'active') throw new ApiError('CONFLICT', 'params.address', 'This user is suspended: reactivate them first.');
      // For someone who has set up their account already, a set-up link chooses a new password
      // for them (and signs them out): the power of a password reset, so it needs the same fresh
      // proof of the admin's own password.
      const setUp = u.passwordChangedAt !== null || (await deps.db.sigchainLink.count({ where: { userId: u.id } })) > 0;
      if (setUp) assertFresh(deps, s);
      const token = randomBytes(32).toString('base64url');
      const expiresAt = new Date(deps.now().getTime() + INVITATION_TTL_MS);
      await deps.db.$transaction([
        // Only the newest link works.
        deps.db.invitation.deleteMany({ where: { userId: u.id, usedAt: null } }),
        deps.db.invitation.create({ data: { userId: u.id, tokenHash: sha256(token), expiresAt, createdBy: s.userId } }),
      ]);
      const link = `${deps.origins.web[0]}/welcome#${token}`;
      let mailedTo: string | null = null;
      let mailProblem: string | null = null;
      if (req.body.sendTo) {
        try {
          if (!deps.outbound) throw new Error('this server does not send mail to the outside world');
          await deps.outbound.sendNotice({
            from: `${s.user.localPart}@${s.user.domain.name}`,
            to: req.body.sendTo,
            subject: 'Your Sealmail account is ready',
            text: `${s.user.displayName} set up a Sealmail mailbox for you: ${req.params.address}.\n\nChoose your password and set up your first device here (the link works once, until ${expiresAt.toUTCString()}):\n\n${link}\n`,
          });
          mailedTo = req.body.sendTo;
        } catch (err) {
          // The link is still shown to the admin, who can pass it on another way.
          mailProblem = (err as Error).message;
          req.log.info({ err }, 'set-up link not mailed');
        }
      }
      await recordAudit(deps.db, { accountId: s.user.accountId, actorUserId: s.userId, action: 'admin.user_invited', details: { user: req.params.address, expiresAt: expiresAt.toISOString(), mailedTo, mailProblem, replacesPassword: setUp, actorDeviceId: s.deviceId } });
      return { link, expiresAt: expiresAt.toISOString(), mailedTo, mailProblem };
    },
    admin,
  );

  /** The live invitation for a token, or INVITATION_INVALID. */
  async function invitation(token: string) {
    const inv = await deps.db.invitation.findUnique({ where: { tokenHash: sha256(token) }, include: { user: { include: { domain: { select: { name: true } } } } } });
    if (!inv || inv.usedAt || inv.expiresAt <= deps.now() || inv.user.status !== 'active') throw new ApiError('INVITATION_INVALID');
    return inv;
  }

  defineRoute(app, invitationLookup, async (req) => {
    const inv = await invitation(req.body.token);
    return { address: `${inv.user.localPart}@${inv.user.domain.name}`, displayName: inv.user.displayName, expiresAt: inv.expiresAt.toISOString() };
  });

  defineRoute(app, invitationAccept, async (req) => {
    const inv = await invitation(req.body.token);
    const now = deps.now();
    const passwordHash = await hashPassword(req.body.password);
    await deps.db.$transaction(async (tx) => {
      // Used once: of two racing requests, one wins.
      const used = await tx.invitation.updateMany({ where: { id: inv.id, usedAt: null }, data: { usedAt: now } });
      if (used.count !== 1) throw new ApiError('INVITATION_INVALID');
      await tx.user.update({ where: { id: inv.userId }, data: { passwordHash, mustChangePassword: false, passwordChangedAt: now } });
      await revokeOtherSessions(tx, inv.userId, null, now);
    });
    const address = `${inv.user.localPart}@${inv.user.domain.name}`;
    await recordAudit(deps.db, { accountId: inv.user.accountId, actorUserId: inv.userId, action: 'auth.invitation_accepted', details: { user: address } });
    return { address };
  });

  defineRoute(
    app,
    adminAliasAdd,
    async (req) => {
      const s = req.session!;
      const u = await own(s.user.accountId, req.params.address);
      const { localPart, domain: domainName } = splitAddress(req.body.alias)!;
      const domain = await deps.db.domain.findUnique({ where: { name: domainName } });
      if (!domain || domain.accountId !== s.user.accountId) throw new ApiError('VALIDATION_FAILED', 'body.alias', `body.alias: ${domainName} is not a domain of your organisation.`);
      if (!domain.verifiedAt) throw new ApiError('DOMAIN_UNVERIFIED', 'body.alias', `${domainName} is not verified yet: prove it is yours (Domains) before adding aliases on it.`);
      await deps.db.$transaction(async (tx) => {
        if (await addressInUse(tx, domain.id, localPart)) throw new ApiError('ADDRESS_TAKEN', 'body.alias');
        await tx.userAlias.create({ data: { userId: u.id, domainId: domain.id, localPart } });
      }).catch((err: unknown) => {
        if ((err as { code?: string }).code === 'P2002') throw new ApiError('ADDRESS_TAKEN', 'body.alias');
        throw err;
      });
      await recordAudit(deps.db, { accountId: s.user.accountId, actorUserId: s.userId, action: 'admin.alias_added', details: { user: req.params.address, alias: req.body.alias, actorDeviceId: s.deviceId } });
      return view(u.id);
    },
    admin,
  );

  defineRoute(
    app,
    adminAliasRemove,
    async (req) => {
      const s = req.session!;
      const u = await own(s.user.accountId, req.params.address);
      const { localPart, domain } = splitAddress(req.params.alias)!;
      const gone = await deps.db.userAlias.deleteMany({ where: { userId: u.id, localPart, domain: { name: domain } } });
      if (gone.count !== 1) throw new ApiError('NOT_FOUND', 'params.alias', `${req.params.alias} is not an alias of ${req.params.address}.`);
      await recordAudit(deps.db, { accountId: s.user.accountId, actorUserId: s.userId, action: 'admin.alias_removed', details: { user: req.params.address, alias: req.params.alias, actorDeviceId: s.deviceId } });
      return view(u.id);
    },
    admin,
  );

  defineRoute(
    app,
    adminLegalHoldSet,
    async (req) => {
      const s = req.session!;
      const u = await own(s.user.accountId, req.params.address);
      // updateMany: a user deleted meanwhile (the delete held the row) is not found, never a 500.
      const held = await deps.db.user.updateMany({ where: { id: u.id }, data: { legalHoldAt: u.legalHoldAt ?? deps.now(), legalHoldReason: req.body.reason, legalHoldBy: s.userId } });
      if (held.count !== 1) throw new ApiError('NOT_FOUND', 'params.address', `There is no user ${req.params.address} in your organisation.`);
      await recordAudit(deps.db, { accountId: s.user.accountId, actorUserId: s.userId, action: 'admin.legal_hold_set', details: { user: req.params.address, reason: req.body.reason, actorDeviceId: s.deviceId } });
      return view(u.id);
    },
    fresh,
  );

  defineRoute(
    app,
    adminLegalHoldLift,
    async (req) => {
      const s = req.session!;
      const u = await own(s.user.accountId, req.params.address);
      if (!u.legalHoldAt) throw new ApiError('CONFLICT', 'params.address', `${req.params.address} is not under legal hold.`);
      await deps.db.user.update({ where: { id: u.id }, data: { legalHoldAt: null, legalHoldReason: null, legalHoldBy: null } });
      const entriesDeleted = await releaseHeldEntries(deps.db, deps.blobs, u.id);
      await recordAudit(deps.db, { accountId: s.user.accountId, actorUserId: s.userId, action: 'admin.legal_hold_lifted', details: { user: req.params.address, reason: u.legalHoldReason, entriesDeleted, actorDeviceId: s.deviceId } });
      return { user: await view(u.id), entriesDeleted };
    },
    fresh,
  );

  defineRoute(
    app,
    adminLegalHoldList,
    async (req) => {
      const accountId = req.session!.user.accountId;
      const rows = await deps.db.user.findMany({ where: { accountId, legalHoldAt: { not: null } }, include, orderBy: { legalHoldAt: 'asc' }, take: 5000 });
      const kept = new Map((await deps.db.heldMailboxEntry.groupBy({ by: ['userId'], where: { userId: { in: rows.map((r) => r.id) } }, _count: { _all: true } })).map((g) => [g.userId, g._count._all]));
      const v = await views(deps.db, rows, deps.now());
      return { holds: rows.map((r, i) => ({ address: v[i]!.address, displayName: r.displayName, reason: v[i]!.legalHold!.reason, since: v[i]!.legalHold!.since, by: v[i]!.legalHold!.by, keptEntries: kept.get(r.id) ?? 0 })) };
    },
    admin,
  );

  defineRoute(
    app,
    adminHealth,
    async (req) => {
      const accountId = req.session!.user.accountId;
      const database = await checkDatabase(deps.db).then(() => true, () => false);
      const [waiting, failed] = database
        ? await outboundOfAccount(deps.db, accountId).then((ours) => Promise.all([deps.db.outboundDelivery.count({ where: { status: 'queued', ...ours } }), deps.db.outboundDelivery.count({ where: { status: 'failed', ...ours } })]))
        : [0, 0];
      const jobs = deps.outbound ? await deps.outbound.queueSize().catch(() => null) : null;
      const storage = database ? await deps.db.user.aggregate({ where: { accountId }, _sum: { usedBytes: true, quotaBytes: true }, _count: { _all: true } }) : null;
      const smtp = health.smtp ? await smtpGreeting(health.smtp.host, health.smtp.port) : { ok: false, detail: 'not configured for this API process' };
      let certificate = null;
      if (health.certificatePem) {
        const c = new X509Certificate(health.certificatePem);
        const expiresAt = new Date(c.validTo);
        const daysLeft = Math.floor((expiresAt.getTime() - deps.now().getTime()) / 86_400_000);
        certificate = { ok: daysLeft >= 14, subject: c.subject.replace(/\n/g, ', '), expiresAt: expiresAt.toISOString(), daysLeft };
      }
      return {
        version: deps.version,
        uptimeSeconds: Math.round(process.uptime()),
        database: { ok: database },
        // The relay's job count is the whole server's; an admin sees their organisation's mail.
        queue: { ok: database && jobs !== null, waiting, failed },
        smtp: { ok: smtp.ok, host: health.smtp?.host ?? '', port: health.smtp?.port ?? 0, detail: smtp.detail },
        certificate,
        storage: { usedBytes: Number(storage?._sum.usedBytes ?? 0), quotaBytes: Number(storage?._sum.quotaBytes ?? 0), users: storage?._count._all ?? 0 },
      };
    },
    admin,
  );
}

/** Connects to the SMTP ingress and reads its greeting (220), then says QUIT. */
function smtpGreeting(host: string, port: number): Promise<{ ok: boolean; detail: string }> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let data = '';
    const done = (ok: boolean, detail: string) => {
      socket.destroy();
      resolve({ ok, detail });
    };
    socket.setTimeout(3000, () => done(false, 'no greeting within 3 s'));
    socket.on('error', (err) => done(false, err.message));
    socket.on('data', (d: Buffer) => {
      data += d.toString('latin1');
      if (!data.includes('\n')) return;
      const line = data.split(/\r?\n/)[0]!;
      socket.write('QUIT\r\n');
      done(line.startsWith('220'), line.slice(0, 120));
    });
  });
}
