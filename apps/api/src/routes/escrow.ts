/**
 * Escrow ("device-managed encryption", MISSION §3, docs/crypto.md §3.5, docs/sigchain.md §3).
 *
 * The escrow key is made on an admin's device; the server stores its public half, certificate
 * and the secret boxed to escrow admins' devices — never the secret. Every user's client adds
 * the escrow device to its own chain (the key routes check it is this account's active key and
 * refuse its removal by the user while escrow is on). Escrow admins, acting with the escrow key
 * on their device, read a user's escrow PUK boxes (recovery, discovery, removal), approve a new
 * device for a user, and — after turning escrow off — remove it from every chain with a new PUK.
 * Every use is recorded in the account's change history. Another account's users are invisible.
 */
import type { FastifyInstance } from 'fastify';
import { myEscrowOpenings, accountEscrow, adminEscrowAppend, adminEscrowBox, adminEscrowDisable, adminEscrowEnable, adminEscrowGet, adminEscrowPukBoxes, ApiError } from '@sealmail/contract';
import { CryptoError, decodePublicKeys, fromBase64Url, fromHex, keyId, LinkType, toBase64Url, toHex, verifyEscrowCertificate, verifyEscrowEndorsement } from '@sealmail/crypto';
import { findUserByAddress, recordAudit } from '@sealmail/db';
import { defineRoute } from '../http/route';
import { requireSession } from '../auth/plugin';
import { activeEscrow, escrowAdminWhere, escrowView, holdsEscrowKey, isEscrowAdmin, latestEscrow } from '../keys/escrow';
import { appendLink, decodePosted, refuse, storedChain } from '../keys/chain';
import type { ActiveSession } from '../auth/sessions';
import type { ApiDeps } from '../deps';

export async function escrowRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  // Escrow admins (designated, docs/admin.md "Escrow & discovery") need not be admins.
  const admin = requireSession(deps, { role: ['admin', 'escrow_admin'] });
  const adminDevice = requireSession(deps, { role: ['admin', 'escrow_admin'], device: true });
  // Turning escrow on or off: an approved device and a fresh re-authentication.
  const sensitive = requireSession(deps, { role: 'admin', fresh: true });

  /** A user of the admin's own account, or NOT_FOUND (other accounts do not exist for it). */
  async function userOfAccount(session: ActiveSession, address: string) {
    const user = await findUserByAddress(deps.db, address);
    if (!user || user.accountId !== session.user.accountId) throw new ApiError('NOT_FOUND');
    return user;
  }
  const audit = (s: ActiveSession, action: string, details: Record<string, unknown>) => recordAudit(deps.db, { accountId: s.user.accountId, actorUserId: s.userId, action, details: { ...details, actorDeviceId: s.deviceId } });

  defineRoute(
    app,
    accountEscrow,
    async (req) => {
      const e = await activeEscrow(deps.db, req.session!.user.accountId);
      return { escrow: e ? await escrowView(deps.db, e) : null };
    },
    { preHandler: requireSession(deps, { setup: true }) },
  );

  defineRoute(
    app,
    myEscrowOpenings,
    async (req) => {
      const s = req.session!;
      const me = await deps.db.user.findUniqueOrThrow({ where: { id: s.userId }, include: { domain: true } });
      const address = `${me.localPart}@${me.domain.name}`;
      const events = await deps.db.auditEvent.findMany({
        where: { accountId: s.user.accountId, action: { in: ['escrow.recovery_keys_read', 'escrow.discovery_keys_read', 'escrow.removal_keys_read', 'escrow.recovery', 'escrow.discovery_opened'] }, details: { path: ['user'], equals: address } },
        include: { actor: { include: { domain: true } } },
        orderBy: { createdAt: 'desc' },
        take: 200,
      });
      const purposeOf = (action: string): 'recovery' | 'discovery' | 'removal' | 'device-approved' =>
        action === 'escrow.recovery' ? 'device-approved' : (action.split('.')[1]!.split('_')[0] as 'recovery' | 'discovery' | 'removal');
      const detailsOf = (d: unknown) => (d && typeof d === 'object' ? (d as Record<string, unknown>) : {});
      return {
        openings: events.map((e) => {
          const d = detailsOf(e.details);
          const discovery = e.action === 'escrow.discovery_opened' && typeof d.caseRef === 'string' ? { caseRef: d.caseRef, range: { from: String(d.from), to: String(d.to) } } : {};
          return { at: e.createdAt.toISOString(), purpose: purposeOf(e.action), by: e.actor ? `${e.actor.localPart}@${e.actor.domain.name}` : null, ...discovery };
        }),
      };
    },
    { preHandler: requireSession(deps) },
  );

  defineRoute(
    app,
    adminEscrowGet,
    async (req) => {
      const s = req.session!;
      const e = await latestEscrow(deps.db, s.user.accountId);
      const holders = e
        ? await deps.db.escrowBox.findMany({ where: { escrowId: e.id }, include: { user: { include: { domain: true } } }, orderBy: { createdAt: 'asc' } })
        : [];
      const users = await deps.db.user.findMany({ where: { accountId: s.user.accountId }, include: { domain: true, devices: { where: e ? { id: e.id } : { id: '' } }, _count: { select: { links: true } } }, orderBy: [{ domain: { name: 'asc' } }, { localPart: 'asc' }] });
      return {
        escrow: e && (e.status === 'active' || users.some((u) => u.devices.some((d) => d.status !== 'revoked'))) ? await escrowView(deps.db, e) : null,
        holders: holders.map((h) => ({ address: `${h.user.localPart}@${h.user.domain.name}`, deviceId: h.deviceId })),
        users: users.map((u) => ({
          address: `${u.localPart}@${u.domain.name}`,
          displayName: u.displayName,
          hasKeys: u._count.links > 0,
          escrowInChain: u.devices.some((d) => d.status !== 'revoked'),
        })),
      };
    },
    { preHandler: admin },
  );

  defineRoute(
    app,
    adminEscrowEnable,
    async (req) => {
      const s = req.session!;
      const invalid = (field: string, why: string) => new ApiError('ESCROW_INVALID', field, `The escrow key is not valid for this account: ${why}.`);
      let keys;
      try {
        keys = decodePublicKeys(fromBase64Url(req.body.publicKeys));
      } catch (err) {
        throw invalid('body.publicKeys', err instanceof CryptoError ? err.message : 'undecodable');
      }
      const certificate = fromBase64Url(req.body.certificate);
      if (!verifyEscrowCertificate(keys, s.user.accountId, certificate)) throw invalid('body.certificate', 'the certificate does not verify');
      const id = toHex(keyId(keys));
      // Every box goes to an approved (real) device of an admin of this account, and one to the caller's.
      // Boxes go to this admin's devices and to designated escrow admins' (the enabling admin is designated with it).
      const devices = await deps.db.device.findMany({ where: { id: { in: req.body.boxes.map((b) => b.deviceId) }, status: 'approved', kind: { in: ['browser', 'cli'] }, user: { accountId: s.user.accountId, status: 'active', OR: [{ id: s.userId }, ...escrowAdminWhere.OR] } } });
      const owner = new Map(devices.map((d) => [d.id, d.userId]));
      req.body.boxes.forEach((b, i) => {
        if (!owner.has(b.deviceId)) throw invalid(`body.boxes.${i}.deviceId`, 'not an approved device of this administrator or of a designated escrow admin of this account');
      });
      if (!owner.has(s.deviceId!)) throw invalid('body.boxes', 'the key must be boxed to this device too');
      // The endorsement by this admin's device: what users' clients check before escrow joins their chains.
      const endorser = (await storedChain(deps.db, s.userId)).state?.devices.get(s.deviceId!);
      const endorsement = fromBase64Url(req.body.endorsement);
      if (!endorser || endorser.status !== 'approved' || !verifyEscrowEndorsement(endorser.keys.signingPublicKey, s.user.accountId, fromHex(id), endorsement)) {
        throw invalid('body.endorsement', 'the endorsement is not a signature of this device');
      }
      await deps.db.$transaction(async (tx) => {
        await tx.$queryRaw`SELECT id FROM accounts WHERE id = ${s.user.accountId}::uuid FOR UPDATE`;
        if (await tx.escrowKey.findFirst({ where: { accountId: s.user.accountId, status: 'active' } })) throw new ApiError('CONFLICT', undefined, 'Escrow is already on for this account.');
        if (await tx.escrowKey.findUnique({ where: { id } })) throw new ApiError('CONFLICT', undefined, 'This escrow key was used before; make a new one.');
        await tx.escrowKey.create({
          data: { id, accountId: s.user.accountId, publicKeys: new Uint8Array(fromBase64Url(req.body.publicKeys)), certificate: new Uint8Array(certificate), enabledById: s.userId, endorsedByDevice: s.deviceId!, endorsement: new Uint8Array(endorsement), enabledAt: deps.now() },
        });
        await tx.escrowBox.createMany({ data: req.body.boxes.map((b) => ({ escrowId: id, deviceId: b.deviceId, userId: owner.get(b.deviceId)!, box: new Uint8Array(fromBase64Url(b.box)) })) });
        await tx.escrowAdmin.upsert({ where: { userId: s.userId }, create: { userId: s.userId, accountId: s.user.accountId, designatedById: s.userId, designatedAt: deps.now() }, update: {} });
      });
      await audit(s, 'escrow.enabled', { escrowId: id, holders: req.body.boxes.map((b) => b.deviceId) });
      return { id };
    },
    { preHandler: sensitive },
  );

  defineRoute(
    app,
    adminEscrowDisable,
    async (req) => {
      const s = req.session!;
      const e = await activeEscrow(deps.db, s.user.accountId);
      if (!e) throw new ApiError('CONFLICT', undefined, 'Escrow is not on for this account.');
      await deps.db.escrowKey.update({ where: { id: e.id }, data: { status: 'disabled', disabledAt: deps.now() } });
      const remaining = await remainingChains(e.id);
      if (remaining === 0) await deps.db.escrowBox.deleteMany({ where: { escrowId: e.id } });
      await audit(s, 'escrow.disabled', { escrowId: e.id, chainsToClean: remaining });
      return { id: e.id, remaining };
    },
    { preHandler: sensitive },
  );

  /** Chains that still carry the escrow device. */
  const remainingChains = (escrowId: string) => deps.db.device.count({ where: { id: escrowId, status: { not: 'revoked' } } });

  defineRoute(
    app,
    adminEscrowBox,
    async (req) => {
      const s = req.session!;
      const e = await latestEscrow(deps.db, s.user.accountId);
      const box = e && (await deps.db.escrowBox.findUnique({ where: { escrowId_deviceId: { escrowId: e.id, deviceId: s.deviceId! } } }));
      if (!e || !box || box.userId !== s.userId || !(await isEscrowAdmin(deps.db, s.userId))) throw new ApiError('NOT_FOUND', undefined, 'This device holds no escrow key of this account.');
      return { escrowId: e.id, box: toBase64Url(box.box) };
    },
    { preHandler: adminDevice },
  );

  defineRoute(
    app,
    adminEscrowPukBoxes,
    async (req) => {
      const s = req.session!;
      const user = await userOfAccount(s, req.params.address);
      const e = await latestEscrow(deps.db, s.user.accountId);
      if (!e || !(await holdsEscrowKey(deps.db, e.id, s))) throw new ApiError('FORBIDDEN', undefined, 'Only an escrow admin’s device can do this.');
      if (req.body.purpose !== 'removal' && e.status !== 'active') throw new ApiError('CONFLICT', undefined, 'Escrow is off for this account.');
      const boxes = await deps.db.pukBox.findMany({ where: { userId: user.id, deviceId: e.id }, orderBy: { generation: 'asc' } });
      await audit(s, `escrow.${req.body.purpose}_keys_read`, { escrowId: e.id, user: req.params.address, generations: boxes.map((b) => b.generation) });
      return { escrowId: e.id, boxes: boxes.map((b) => ({ generation: b.generation, box: toBase64Url(b.box) })) };
    },
    { preHandler: adminDevice },
  );

  defineRoute(
    app,
    adminEscrowAppend,
    async (req) => {
      const s = req.session!;
      const user = await userOfAccount(s, req.params.address);
      const { bytes, link } = decodePosted(req.body.link);
      if (link.userId !== user.id) refuse('the link is for another user');
      const e = await latestEscrow(deps.db, s.user.accountId);
      if (!e || toHex(link.signer) !== e.id) refuse('escrow admins sign with the account’s escrow key');
      if (!(await holdsEscrowKey(deps.db, e.id, s))) throw new ApiError('FORBIDDEN', undefined, 'Only an escrow admin’s device can do this.');
      const type = link.body.type;
      if (type === LinkType.DeviceApprove && e.status !== 'active') throw new ApiError('CONFLICT', undefined, 'Escrow is off for this account.');
      if (type !== LinkType.DeviceApprove && type !== LinkType.EscrowRemove) refuse('with the escrow key an admin may only approve a device or remove escrow');
      const state = await appendLink(deps.db, { userId: user.id, bytes, link, boxes: req.body.pukBoxes, ...(req.body.historyBox !== undefined ? { historyBox: req.body.historyBox } : {}), now: deps.now(), authorise: () => undefined });
      if (type === LinkType.EscrowRemove && e.status === 'disabled' && (await remainingChains(e.id)) === 0) {
        // Escrow is off and out of every chain: the boxed secret has no use left.
        await deps.db.escrowBox.deleteMany({ where: { escrowId: e.id } });
      }
      await audit(s, type === LinkType.DeviceApprove ? 'escrow.recovery' : 'escrow.removed', {
        escrowId: e.id,
        user: req.params.address,
        ...(type === LinkType.DeviceApprove ? { deviceId: toHex(link.body.deviceId) } : {}),
      });
      return { seqno: link.seqno, headHash: toHex(state.headHash) };
    },
    { preHandler: adminDevice },
  );
}
