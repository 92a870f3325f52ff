/**
 * Mail that runs itself (docs/mail.md "Filters", "Out-of-office", "Aliases and send-as"):
 * metadata filters (run by the server at delivery), forward addresses proven by a mailed code,
 * content filters kept sealed (bytes the server cannot read), out-of-office settings sealed at
 * rest with the server's SecretBox, and the addresses a user may send from.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import {
  ApiError,
  contentRulesGet,
  contentRulesPut,
  filterList,
  filterReplace,
  forwardAdd,
  forwardList,
  forwardRemove,
  forwardVerify,
  outOfOfficeGet,
  outOfOfficePut,
  sendAddresses,
} from '@sealmail/contract';
import { fromBase64Url, toBase64Url } from '@sealmail/crypto';
import { addressesOf, splitAddress } from '@sealmail/db';
import { forgetOldReplies, openOutOfOffice, sealOutOfOfficeTexts } from '@sealmail/mailstore';
import { defineRoute } from '../http/route';
import { requireSession } from '../auth/plugin';
import { hitRateLimit } from '../auth/rate-limit';
import type { ApiDeps } from '../deps';

const sha256 = (s: string) => new Uint8Array(createHash('sha256').update(s).digest());
/** A mailed code is good for a day and five tries. */
const CODE_SECONDS = 86_400;
/** Confirmation codes mailed per user and day (forward addresses). */
const FORWARD_CODES_PER_DAY = 10;
const CODE_TRIES = 5;

const forwardView = (f: { id: string; address: string; verifiedAt: Date | null; createdAt: Date }) => ({ id: f.id, address: f.address, verified: f.verifiedAt !== null, createdAt: f.createdAt.toISOString() });

export async function rulesRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const session = { preHandler: requireSession(deps) };

  const filters = async (userId: string) => {
    const rows = await deps.db.mailFilter.findMany({ where: { userId }, orderBy: { position: 'asc' }, take: 100 });
    return rows.map((r) => ({ id: r.id, conditions: r.conditions as never, actions: r.actions as never }));
  };

  defineRoute(app, filterList, async (req) => ({ filters: await filters(req.session!.userId) }), session);

  defineRoute(
    app,
    filterReplace,
    async (req) => {
      const userId = req.session!.userId;
      const wanted = req.body.filters;
      // Labels and forward addresses must be the caller's own; forwards must be verified.
      const labelIds = [...new Set(wanted.flatMap((f) => f.actions.labelIds ?? []))];
      if (labelIds.length && (await deps.db.label.count({ where: { userId, id: { in: labelIds } } })) !== labelIds.length) {
        throw new ApiError('VALIDATION_FAILED', 'body.filters', 'body.filters: a label is not one of yours (make it first).');
      }
      for (const [i, f] of wanted.entries()) {
        if (!f.actions.forwardTo) continue;
        const fwd = await deps.db.forwardAddress.findFirst({ where: { id: f.actions.forwardTo, userId } });
        if (!fwd) throw new ApiError('NOT_FOUND', `body.filters.${i}.actions.forwardTo`, 'That forward address is not one of yours.');
        if (!fwd.verifiedAt) throw new ApiError('FORWARD_UNVERIFIED', `body.filters.${i}.actions.forwardTo`);
      }
      await deps.db.$transaction([
        deps.db.mailFilter.deleteMany({ where: { userId } }),
        deps.db.mailFilter.createMany({ data: wanted.map((f, position) => ({ userId, position, conditions: f.conditions, actions: f.actions })) }),
      ]);
      return { filters: await filters(userId) };
    },
    session,
  );

  defineRoute(app, forwardList, async (req) => ({ addresses: (await deps.db.forwardAddress.findMany({ where: { userId: req.session!.userId }, orderBy: { address: 'asc' }, take: 20 })).map(forwardView) }), session);

  defineRoute(
    app,
    forwardAdd,
    async (req, reply) => {
      const s = req.session!;
      const address = req.body.address;
      const parts = splitAddress(address)!;
      // Our own domains get mail end to end or through an alias; forwarding is for outside addresses.
      if (await deps.db.domain.findUnique({ where: { name: parts.domain }, select: { id: true } })) {
        throw new ApiError('VALIDATION_FAILED', 'body.address', `body.address: ${address} is on a domain of this server; ask your administrator for an alias instead.`);
      }
      if (!deps.outbound) throw new ApiError('OUTBOUND_UNAVAILABLE');
      if ((await deps.db.forwardAddress.count({ where: { userId: s.userId } })) >= 20) throw new ApiError('VALIDATION_FAILED', 'body.address', 'body.address: at most 20 forward addresses; remove one first.');
      const now = deps.now();
      // Each code is a mail from this server to an address the user names: a few a day, or a user
      // could have it mail anyone again and again (removing and adding, or adding the same one).
      const existing = await deps.db.forwardAddress.findUnique({ where: { userId_address: { userId: s.userId, address } }, select: { verifiedAt: true } });
      if (!existing?.verifiedAt) {
        const limit = await hitRateLimit(deps.db, `forward-code:${s.userId}`, FORWARD_CODES_PER_DAY, 86_400_000, now);
        if (!limit.allowed) {
          void reply.header('retry-after', String(limit.retryAfterSeconds));
          throw new ApiError('RATE_LIMITED', 'body.address', `At most ${FORWARD_CODES_PER_DAY} confirmation codes a day are mailed; try again in ${Math.ceil(limit.retryAfterSeconds / 3600)} hours.`);
        }
      }
      const code = randomBytes(9).toString('base64url');
      const data = { codeHash: sha256(code), expiresAt: new Date(now.getTime() + CODE_SECONDS * 1000), attempts: 0 };
      const row = await deps.db.forwardAddress.upsert({ where: { userId_address: { userId: s.userId, address } }, create: { userId: s.userId, address, createdAt: now, ...data }, update: data });
      if (row.verifiedAt) return forwardView(row);
      const self = `${s.user.localPart}@${s.user.domain.name}`;
      await deps.outbound
        .sendNotice({
          from: self,
          to: address,
          subject: `Confirm forwarding from ${self}`,
          text: `${self} asked to forward some of their mail to this address.\n\nIf that was you, enter this code in Sealmail (Settings, Filters, Forward addresses):\n\n    ${code}\n\nThe code is good for 24 hours. If it was not you, ignore this mail: nothing is forwarded without the code.\n`,
        })
        .catch((err: unknown) => {
          req.log.info({ err: (err as Error).message }, 'forward code not sent');
          throw new ApiError('VALIDATION_FAILED', 'body.address', `body.address: the code could not be mailed to ${address} (${(err as Error).message.slice(0, 200)}).`);
        });
      return forwardView(row);
    },
    session,
  );

  defineRoute(
    app,
    forwardVerify,
    async (req) => {
      const userId = req.session!.userId;
      const row = await deps.db.forwardAddress.findFirst({ where: { id: req.params.id, userId } });
      if (!row) throw new ApiError('NOT_FOUND');
      if (row.verifiedAt) return forwardView(row);
      const ok = row.codeHash && row.expiresAt && row.expiresAt > deps.now() && row.attempts < CODE_TRIES && timingSafeEqual(Buffer.from(row.codeHash), Buffer.from(sha256(req.body.code)));
      if (!ok) {
        await deps.db.forwardAddress.update({ where: { id: row.id }, data: { attempts: { increment: 1 } } });
        throw new ApiError('FORWARD_CODE_INVALID', 'body.code');
      }
      return forwardView(await deps.db.forwardAddress.update({ where: { id: row.id }, data: { verifiedAt: deps.now(), codeHash: null, expiresAt: null } }));
    },
    session,
  );

  defineRoute(
    app,
    forwardRemove,
    async (req) => {
      const userId = req.session!.userId;
      const { count } = await deps.db.forwardAddress.deleteMany({ where: { id: req.params.id, userId } });
      if (!count) throw new ApiError('NOT_FOUND');
      // Filters forwarding there lose that action; a filter left with no action goes.
      for (const f of await deps.db.mailFilter.findMany({ where: { userId }, take: 100 })) {
        const a = f.actions as { forwardTo?: string; folder?: string; labelIds?: string[]; star?: boolean; markRead?: boolean };
        if (a.forwardTo !== req.params.id) continue;
        const { forwardTo: _gone, ...rest } = a;
        void _gone;
        if (rest.folder || rest.labelIds?.length || rest.star || rest.markRead) await deps.db.mailFilter.update({ where: { id: f.id }, data: { actions: rest } });
        else await deps.db.mailFilter.delete({ where: { id: f.id } });
      }
      return { removed: true as const };
    },
    session,
  );

  defineRoute(
    app,
    contentRulesGet,
    async (req) => {
      const row = await deps.db.contentRules.findUnique({ where: { userId: req.session!.userId } });
      return { record: row ? toBase64Url(row.record) : null, updatedAt: row?.updatedAt.toISOString() ?? null };
    },
    session,
  );

  defineRoute(
    app,
    contentRulesPut,
    async (req) => {
      const userId = req.session!.userId;
      // Sealed on the device (a self box of kind content-rules): the server stores bytes it cannot read.
      const record = fromBase64Url(req.body.record) as Uint8Array<ArrayBuffer>;
      const now = deps.now();
      await deps.db.contentRules.upsert({ where: { userId }, create: { userId, record, updatedAt: now }, update: { record, updatedAt: now } });
      return { updatedAt: now.toISOString() };
    },
    session,
  );

  const empty = { enabled: false, startsAt: null, endsAt: null, subject: 'Out of office', text: '', outsideText: null };
  defineRoute(
    app,
    outOfOfficeGet,
    async (req) => {
      const row = await deps.db.outOfOffice.findUnique({ where: { userId: req.session!.userId } });
      return row ? openOutOfOffice(deps.secrets, row) : empty;
    },
    session,
  );

  defineRoute(
    app,
    outOfOfficePut,
    async (req) => {
      const userId = req.session!.userId;
      const b = req.body;
      const startsAt = b.startsAt ? new Date(b.startsAt) : null;
      const endsAt = b.endsAt ? new Date(b.endsAt) : null;
      if (startsAt && endsAt && endsAt <= startsAt) throw new ApiError('VALIDATION_FAILED', 'body.endsAt', 'body.endsAt: the end must be after the start.');
      if (b.enabled && !b.text.trim()) throw new ApiError('VALIDATION_FAILED', 'body.text', 'body.text: write the reply before turning it on.');
      const sealed = sealOutOfOfficeTexts(deps.secrets, userId, { subject: b.subject || 'Out of office', text: b.text, outsideText: b.outsideText });
      const periodId = randomUUID();
      const data = { enabled: b.enabled, startsAt, endsAt, ...sealed, periodId, updatedAt: deps.now() };
      const row = await deps.db.outOfOffice.upsert({ where: { userId }, create: { userId, ...data }, update: data });
      await forgetOldReplies(deps.db, userId, periodId);
      return openOutOfOffice(deps.secrets, row);
    },
    session,
  );

  defineRoute(
    app,
    sendAddresses,
    async (req) => {
      const [primary, ...aliases] = await addressesOf(deps.db, req.session!.user);
      return { primary: primary!, aliases };
    },
    session,
  );
}
