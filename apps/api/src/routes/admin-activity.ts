/**
 * Admin: mail activity and reports of the admin's own account (docs/admin.md, "Mail activity",
 * "Reports"): message trace, metadata search (each search recorded in the change history with its
 * query) and daily volume, spam, bounces and storage. Metadata only: the server never shows content.
 */
import type { FastifyInstance } from 'fastify';
import { adminMailSearch, adminMailTrace, adminReports, ApiError } from '@sealmail/contract';
import { recordAudit } from '@sealmail/db';
import { defineRoute } from '../http/route';
import { requireSession } from '../auth/plugin';
import { dailyReport, findAccountMessages, storageReport } from '../mail/activity';
import type { ApiDeps } from '../deps';

const DAY = 86_400_000;
/** Longest report range, in days. */
const MAX_REPORT_DAYS = 366;

export async function adminActivityRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const admin = requireSession(deps, { role: 'admin' });

  defineRoute(
    app,
    adminMailTrace,
    async (req) => {
      const { limit, ...filters } = req.query;
      const { messages, nextBefore } = await findAccountMessages(deps.db, req.session!.user.accountId, filters, limit);
      return { messages: messages.map((m) => ({ ...m, received: m.direction === 'inbound' && m.protection === 'server' ? { via: 'smtp' as const, authentication: 'sealed-in-message' as const } : null })), nextBefore };
    },
    { preHandler: admin },
  );

  defineRoute(
    app,
    adminMailSearch,
    async (req) => {
      const s = req.session!;
      const { limit, ...filters } = req.query;
      const { messages, nextBefore } = await findAccountMessages(deps.db, s.user.accountId, filters, limit);
      // Looking through the account's mail metadata is itself an admin action (MISSION §6).
      const query = Object.fromEntries(Object.entries(req.query).filter(([k, v]) => v !== undefined && k !== 'limit'));
      await recordAudit(deps.db, { accountId: s.user.accountId, actorUserId: s.userId, action: 'admin.metadata_search', details: { query, results: messages.length, actorDeviceId: s.deviceId } });
      return {
        results: messages.map((m) => ({
          id: m.id,
          sentAt: m.sentAt,
          direction: m.direction,
          sender: m.sender,
          recipients: [...new Set([...m.to, ...m.cc, ...m.mailboxes.filter((b) => b.role !== 'sender-copy').map((b) => b.address), ...m.outbound.map((o) => o.recipient)].map((a) => a.toLowerCase()))],
          size: m.size,
          attachments: m.attachments,
        })),
        nextBefore,
      };
    },
    { preHandler: admin },
  );

  defineRoute(
    app,
    adminReports,
    async (req) => {
      const today = deps.now().toISOString().slice(0, 10);
      const to = req.query.to ?? today;
      const from = req.query.from ?? new Date(Date.parse(`${to}T00:00:00Z`) - 29 * DAY).toISOString().slice(0, 10);
      const [f, t] = [Date.parse(`${from}T00:00:00Z`), Date.parse(`${to}T00:00:00Z`)];
      if (Number.isNaN(f) || new Date(f).toISOString().slice(0, 10) !== from) throw new ApiError('VALIDATION_FAILED', 'querystring.from', 'querystring.from: not a real day');
      if (Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== to) throw new ApiError('VALIDATION_FAILED', 'querystring.to', 'querystring.to: not a real day');
      if (t < f) throw new ApiError('VALIDATION_FAILED', 'querystring.to', 'querystring.to: the range ends before it starts');
      if ((t - f) / DAY + 1 > MAX_REPORT_DAYS) throw new ApiError('VALIDATION_FAILED', 'querystring.from', `querystring.from: a report covers at most ${MAX_REPORT_DAYS} days`);
      const accountId = req.session!.user.accountId;
      const [days, storage] = await Promise.all([dailyReport(deps.db, accountId, from, to), storageReport(deps.db, accountId)]);
      return { from, to, days, storage };
    },
    { preHandler: admin },
  );
}
