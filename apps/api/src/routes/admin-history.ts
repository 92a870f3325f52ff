/**
 * Admin: the account's change history (docs/admin.md, "Change history"): list with filters a
 * page at a time, export as CSV or JSON lines, and verify the hash chain. Admins of the account
 * only; another organisation's entries are never reachable (every query is scoped to the
 * caller's account).
 */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { adminHistoryExport, adminHistoryList, adminHistoryVerify, type HistoryEntry } from '@sealmail/contract';
import { prismaQuery, splitAddress, verifyAuditChain, type Db } from '@sealmail/db';
import { defineRoute } from '../http/route';
import { requireSession } from '../auth/plugin';
import type { ApiDeps } from '../deps';

type Filters = { actor?: string | undefined; action?: string | undefined; target?: string | undefined; from?: string | undefined; to?: string | undefined };

/** The Prisma `where` for the filters; null when the actor is not a user of the account (nothing matches). */
async function whereOf(db: Db, accountId: string, f: Filters) {
  let actorId: string | undefined;
  if (f.actor) {
    const parts = splitAddress(f.actor)!;
    const user = await db.user.findFirst({ where: { accountId, localPart: parts.localPart, domain: { name: parts.domain } }, select: { id: true } });
    if (!user) return null;
    actorId = user.id;
  }
  return {
    accountId,
    ...(actorId ? { actorRef: actorId } : {}),
    ...(f.action ? (f.action.endsWith('.') ? { action: { startsWith: f.action } } : { action: f.action }) : {}),
    ...(f.target ? { details: { path: ['user'], equals: f.target } } : {}),
    ...(f.from || f.to ? { createdAt: { ...(f.from ? { gte: new Date(f.from) } : {}), ...(f.to ? { lt: new Date(f.to) } : {}) } } : {}),
  };
}

type Row = { seq: bigint; createdAt: Date; actorRef: string | null; action: string; details: unknown; prevHash: string | null; hash: string | null };

/** Addresses of the actors of these rows (deleted users are absent). */
async function actorsOf(db: Db, rows: Row[]): Promise<Map<string, string>> {
  const ids = [...new Set(rows.flatMap((r) => (r.actorRef ? [r.actorRef] : [])))];
  if (ids.length === 0) return new Map();
  const users = await db.user.findMany({ where: { id: { in: ids } }, select: { id: true, localPart: true, domain: { select: { name: true } } } });
  return new Map(users.map((u) => [u.id, `${u.localPart}@${u.domain.name}`]));
}

const view = (r: Row, actors: Map<string, string>): HistoryEntry => ({
  seq: r.seq.toString(),
  at: r.createdAt.toISOString(),
  actor: r.actorRef ? (actors.get(r.actorRef) ?? null) : null,
  actorId: r.actorRef,
  action: r.action,
  details: (r.details ?? {}) as Record<string, unknown>,
  prevHash: r.prevHash,
  hash: r.hash,
});

const select = { seq: true, createdAt: true, actorRef: true, action: true, details: true, prevHash: true, hash: true } as const;

/** RFC 4180 field: quoted when it holds a comma, quote or line break; formula-leading characters defused for spreadsheets. */
function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
const CSV_COLUMNS = ['seq', 'at', 'actor', 'actorId', 'action', 'details', 'prevHash', 'hash'] as const;
const csvLine = (e: HistoryEntry) => CSV_COLUMNS.map((c) => csvField(c === 'details' ? JSON.stringify(e.details) : String(e[c] ?? ''))).join(',') + '\r\n';

export async function adminHistoryRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const admin = requireSession(deps, { role: 'admin' });

  defineRoute(
    app,
    adminHistoryList,
    async (req) => {
      const { before, limit, ...filters } = req.query;
      const where = await whereOf(deps.db, req.session!.user.accountId, filters);
      if (!where) return { entries: [], nextBefore: null };
      const rows = await deps.db.auditEvent.findMany({ where: { ...where, ...(before ? { seq: { lt: BigInt(before) } } : {}) }, select, orderBy: { seq: 'desc' }, take: limit + 1 });
      const page = rows.slice(0, limit);
      const actors = await actorsOf(deps.db, page);
      return { entries: page.map((r) => view(r, actors)), nextBefore: rows.length > limit ? page[page.length - 1]!.seq.toString() : null };
    },
    { preHandler: admin },
  );

  defineRoute(
    app,
    adminHistoryExport,
    async (req, reply) => {
      const { format, ...filters } = req.query;
      const where = await whereOf(deps.db, req.session!.user.accountId, filters);
      const db = deps.db;
      // Oldest first, read from the database a page at a time as the file is sent.
      async function* lines() {
        if (format === 'csv') yield CSV_COLUMNS.join(',') + '\r\n';
        if (!where) return;
        let after = 0n;
        for (;;) {
          const rows = await db.auditEvent.findMany({ where: { ...where, seq: { gt: after } }, select, orderBy: { seq: 'asc' }, take: 1000 });
          if (rows.length === 0) return;
          const actors = await actorsOf(db, rows);
          yield rows.map((r) => (format === 'csv' ? csvLine(view(r, actors)) : JSON.stringify(view(r, actors)) + '\n')).join('');
          after = rows[rows.length - 1]!.seq;
        }
      }
      const stamp = deps.now().toISOString().slice(0, 10);
      void reply
        .header('content-type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8')
        .header('content-disposition', `attachment; filename="change-history-${stamp}.${format}"`)
        .header('cache-control', 'no-store');
      return reply.send(Readable.from(lines())) as never;
    },
    { preHandler: admin },
  );

  defineRoute(
    app,
    adminHistoryVerify,
    async (req) => {
      const result = await verifyAuditChain(prismaQuery(deps.db), req.session!.user.accountId);
      return { ...result, verifiedAt: deps.now().toISOString() };
    },
    { preHandler: admin },
  );
}
