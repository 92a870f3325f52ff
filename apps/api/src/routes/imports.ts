/**
 * Admin: migration into Sealmail (docs/admin.md "Import"). Mail files are streamed into sealed
 * staging parts (never whole in memory, size-limited) and imported by a queue job; Google Groups
 * member lists become mailing lists; a Google Contacts CSV is parsed and held sealed for the
 * user's address book. Every import is recorded in the change history; a user of another
 * organisation is not found.
 */
import type { FastifyInstance } from 'fastify';
import { adminImportContacts, adminImportGet, adminImportGroups, adminImportList, adminImportMail, ApiError, type MailImportView } from '@sealmail/contract';
import { recordAudit, splitAddress } from '@sealmail/db';
import { defineRoute } from '../http/route';
import { requireSession } from '../auth/plugin';
import { UploadTooLargeError } from '../imports/staging';
import { importGroups } from '../imports/groups';
import { importContacts } from '../imports/contacts';
import type { ApiDeps } from '../deps';

type ImportRow = Awaited<ReturnType<ApiDeps['db']['mailImport']['findFirstOrThrow']>> & { user: { localPart: string; domain: { name: string } } };
const include = { user: { select: { localPart: true, domain: { select: { name: true } } } } } as const;

function view(r: ImportRow): MailImportView {
  return {
    id: r.id,
    userId: r.userId,
    address: `${r.user.localPart}@${r.user.domain.name}`,
    format: r.format as MailImportView['format'],
    fileName: r.fileName,
    folder: r.folder as MailImportView['folder'],
    status: r.status,
    size: Number(r.size),
    total: r.total,
    processed: r.processed,
    imported: r.imported,
    duplicates: r.duplicates,
    failed: r.failed,
    failures: (r.failures as MailImportView['failures']) ?? [],
    error: r.error,
    createdAt: r.createdAt.toISOString(),
    startedAt: r.startedAt?.toISOString() ?? null,
    finishedAt: r.finishedAt?.toISOString() ?? null,
  };
}

/** Content types a mail file may be sent as; the body is then read as a stream by the handler. */
const MAIL_TYPES = ['application/octet-stream', 'application/mbox', 'application/zip', 'application/x-zip-compressed', 'message/rfc822'];

export async function importRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const admin = { preHandler: requireSession(deps, { role: 'admin' }) };
  // Leave the body unread: the handler streams it into sealed staging parts.
  app.addContentTypeParser(MAIL_TYPES, (_req, _payload, done) => done(null, undefined));

  const userOf = async (who: { userId?: string | undefined; address?: string | undefined }, accountId: string) => {
    const parts = who.address ? splitAddress(who.address) : null;
    const where = who.userId ? { id: who.userId, accountId } : parts ? { accountId, localPart: parts.localPart, domain: { name: parts.domain } } : null;
    const user = where ? await deps.db.user.findFirst({ where, select: { id: true, localPart: true, domain: { select: { name: true } } } }) : null;
    if (!user) throw new ApiError('NOT_FOUND', undefined, 'There is no such user in your organisation.');
    return user;
  };

  defineRoute(
    app,
    adminImportMail,
    async (req) => {
      const s = req.session!;
      const importer = deps.importer;
      if (!importer) throw new ApiError('IMPORT_UNAVAILABLE');
      const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (!MAIL_TYPES.includes(type)) throw new ApiError('UNSUPPORTED_MEDIA_TYPE', undefined, `Send the file itself as ${MAIL_TYPES.join(', ')}.`);
      const user = await userOf(req.query, s.user.accountId);
      const declared = Number(req.headers['content-length'] ?? NaN);
      if (declared > importer.maxUploadBytes) throw new ApiError('PAYLOAD_TOO_LARGE', undefined, `An import may be at most ${importer.maxUploadBytes} bytes.`);
      const imp = await deps.db.mailImport.create({
        data: { accountId: s.user.accountId, userId: user.id, actorUserId: s.userId, format: req.query.format, fileName: req.query.fileName, folder: req.query.folder },
      });
      let stored: { size: number; parts: number };
      try {
        stored = await importer.staging.write(imp.id, req.raw, importer.maxUploadBytes);
      } catch (err) {
        await deps.db.mailImport.delete({ where: { id: imp.id } });
        if (err instanceof UploadTooLargeError) {
          req.raw.resume();
          throw new ApiError('PAYLOAD_TOO_LARGE', undefined, `An import may be at most ${importer.maxUploadBytes} bytes.`);
        }
        throw err;
      }
      if (stored.size === 0) {
        await deps.db.mailImport.delete({ where: { id: imp.id } });
        throw new ApiError('VALIDATION_FAILED', 'body', 'body: the file is empty.');
      }
      const row = await deps.db.mailImport.update({ where: { id: imp.id }, data: { status: 'queued', size: stored.size, parts: stored.parts }, include });
      await recordAudit(deps.db, { accountId: s.user.accountId, actorUserId: s.userId, action: 'import.mail', details: { importId: imp.id, user: `${user.localPart}@${user.domain.name}`, format: req.query.format, fileName: req.query.fileName, bytes: stored.size } });
      await importer.enqueue(imp.id);
      return view(row);
    },
    admin,
  );

  defineRoute(
    app,
    adminImportList,
    async (req) => {
      const rows = await deps.db.mailImport.findMany({ where: { accountId: req.session!.user.accountId }, include, orderBy: { createdAt: 'desc' }, take: 100 });
      return { imports: rows.map(view) };
    },
    admin,
  );

  defineRoute(
    app,
    adminImportGet,
    async (req) => {
      const row = await deps.db.mailImport.findFirst({ where: { id: req.params.id, accountId: req.session!.user.accountId }, include });
      if (!row) throw new ApiError('NOT_FOUND');
      return view(row);
    },
    admin,
  );

  defineRoute(
    app,
    adminImportGroups,
    async (req) => {
      const s = req.session!;
      const result = await importGroups(deps.db, s.user.accountId, req.body);
      await recordAudit(deps.db, { accountId: s.user.accountId, actorUserId: s.userId, action: 'import.groups', details: { lists: result.lists.map((l) => ({ address: l.address, created: l.created, added: l.added })), skipped: result.skipped.length } });
      return result;
    },
    { ...admin, bodyLimit: 6 * 1024 * 1024 },
  );

  defineRoute(
    app,
    adminImportContacts,
    async (req) => {
      const s = req.session!;
      const user = await userOf(req.body, s.user.accountId);
      const result = await importContacts(deps.db, deps.serverKey, user.id, req.body.csv, deps.now());
      await recordAudit(deps.db, { accountId: s.user.accountId, actorUserId: s.userId, action: 'import.contacts', details: { user: `${user.localPart}@${user.domain.name}`, contacts: result.contacts, sealedTo: result.sealedTo } });
      return result;
    },
    { ...admin, bodyLimit: 6 * 1024 * 1024 },
  );
}
