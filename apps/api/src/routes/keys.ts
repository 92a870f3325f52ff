/**
 * The key directory (docs/sigchain.md): users' sigchains stored verbatim, checked on append,
 * served to any signed-in client, which verifies them itself; and the PUK boxes of each device.
 *
 * Appending: the caller's session must belong to the chain's user; a root or a device adding
 * itself binds the session to that new device; any other link must be signed by the session's
 * own device. A device-revoke ends every session of the revoked device at once. A device that
 * already has keys binds a fresh session by signing it (docs/sigchain.md §8).
 */
import type { FastifyInstance } from 'fastify';
import { ApiError, appendSigchainLink, bindSessionDevice, getSigchain, myPukBoxes } from '@sealmail/contract';
import { CryptoError, decodeLink, fromBase64Url, fromHex, LinkType, replaySigchain, toBase64Url, toHex, verifySessionBinding, type SigchainState } from '@sealmail/crypto';
import { findUserByAddress, recordAudit } from '@sealmail/db';
import { defineRoute } from '../http/route';
import { requireSession } from '../auth/plugin';
import type { ApiDeps } from '../deps';

function refuse(reason: string): never {
  throw new ApiError('SIGCHAIN_INVALID', undefined, `The key history link was refused: ${reason}.`);
}

export async function keyRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  defineRoute(
    app,
    getSigchain,
    async (req) => {
      const user = await findUserByAddress(deps.db, req.params.address);
      if (!user) throw new ApiError('NOT_FOUND');
      const links = await deps.db.sigchainLink.findMany({ where: { userId: user.id }, orderBy: { seqno: 'asc' }, select: { bytes: true } });
      return { userId: user.id, address: req.params.address, links: links.map((l) => toBase64Url(l.bytes)) };
    },
    { preHandler: requireSession(deps) },
  );

  defineRoute(
    app,
    appendSigchainLink,
    async (req) => {
      const session = req.session!;
      let bytes: Uint8Array;
      let link;
      try {
        bytes = fromBase64Url(req.body.link);
        link = decodeLink(bytes);
      } catch (err) {
        refuse(err instanceof CryptoError ? err.message : 'undecodable');
      }
      if (link.userId !== session.userId) throw new ApiError('FORBIDDEN', undefined, 'You can only extend your own key history.');
      const signerHex = toHex(link.signer);
      const addsSigner = (link.body.type === LinkType.Root || link.body.type === LinkType.DeviceAdd) && session.deviceId === null;
      if (!addsSigner && session.deviceId !== signerHex) {
        // The one exception: the user's backup key, a virtual device any of their sessions may
        // act as when the backup key is typed in (recovery without another device).
        const backup = await deps.db.device.findUnique({ where: { id: signerHex } });
        const byBackup = backup?.userId === session.userId && backup.kind === 'backup' && backup.status === 'approved' && session.deviceId !== null;
        if (!byBackup) throw new ApiError('DEVICE_REQUIRED', undefined, 'Links must be signed by the device this session belongs to.');
      }

      const result = await deps.db.$transaction(async (tx) => {
        // One writer per chain at a time: lock the user's row.
        await tx.$queryRaw`SELECT id FROM users WHERE id = ${session.userId}::uuid FOR UPDATE`;
        const stored = await tx.sigchainLink.findMany({ where: { userId: session.userId }, orderBy: { seqno: 'asc' }, select: { bytes: true } });
        if (link.seqno !== stored.length) refuse(`it is link ${link.seqno}, the chain has ${stored.length} links`);
        let state: SigchainState;
        try {
          state = replaySigchain([...stored.map((l) => l.bytes), bytes], { userId: session.userId });
        } catch (err) {
          refuse(err instanceof CryptoError ? `${err.code}: ${err.message}` : 'invalid');
        }
        // The boxes must be for the generation this link introduces, one per active device.
        const puk = 'puk' in link.body ? link.body.puk : null;
        const boxes = req.body.pukBoxes;
        if (puk) {
          const active = [...state.devices.values()].filter((d) => d.status !== 'revoked').map((d) => toHex(d.id));
          const addressed = new Set(boxes.map((b) => b.deviceId));
          if (boxes.some((b) => b.generation !== puk.generation)) refuse('PUK boxes must be for the generation the link introduces');
          if (addressed.size !== boxes.length || active.some((id) => !addressed.has(id)) || boxes.some((b) => !active.includes(b.deviceId))) {
            refuse('the new per-user key must be boxed to every active device, exactly once each');
          }
        } else if (boxes.length) {
          // Older generations for a device being approved or a new virtual device.
          const known = new Set([...state.devices.values()].filter((d) => d.status !== 'revoked').map((d) => toHex(d.id)));
          if (boxes.some((b) => !known.has(b.deviceId) || b.generation > state.puks.length)) refuse('PUK boxes must be for active devices and existing generations');
        }
        await tx.sigchainLink.create({ data: { userId: session.userId, seqno: link.seqno, type: link.body.type, bytes: new Uint8Array(bytes), hash: new Uint8Array(link.hash) } });
        for (const d of state.devices.values()) {
          const id = toHex(d.id);
          await tx.device.upsert({
            where: { id },
            create: { id, userId: session.userId, name: d.name, kind: d.kind, status: d.status, addedSeqno: d.addedAt, revokedSeqno: d.revokedAt ?? null },
            update: { status: d.status, revokedSeqno: d.revokedAt ?? null },
          });
        }
        for (const b of boxes) {
          await tx.pukBox.upsert({
            where: { userId_generation_deviceId: { userId: session.userId, generation: b.generation, deviceId: b.deviceId } },
            create: { userId: session.userId, generation: b.generation, deviceId: b.deviceId, box: new Uint8Array(fromBase64Url(b.box)) },
            update: { box: new Uint8Array(fromBase64Url(b.box)) },
          });
        }
        if ('deviceId' in link.body && link.body.type !== LinkType.DeviceApprove) {
          // A revoked device gets nothing new and its sessions end now.
          const revoked = toHex(link.body.deviceId);
          await tx.session.updateMany({ where: { deviceId: revoked, revokedAt: null }, data: { revokedAt: deps.now() } });
        }
        let deviceId = session.deviceId;
        if (addsSigner) {
          deviceId = signerHex;
          await tx.session.update({ where: { id: session.id }, data: { deviceId } });
        }
        return { seqno: link.seqno, headHash: toHex(state.headHash), deviceId };
      });
      await recordAudit(deps.db, { accountId: session.user.accountId, actorUserId: session.userId, action: 'keys.sigchain_append', details: { seqno: link.seqno, type: LinkType[link.body.type] } });
      return result;
    },
    { preHandler: requireSession(deps) },
  );

  defineRoute(
    app,
    bindSessionDevice,
    async (req) => {
      const session = req.session!;
      const { deviceId, signature } = req.body;
      const proofFailed = (why: string) => new ApiError('DEVICE_PROOF_INVALID', undefined, `This device could not prove it belongs to the account: ${why}.`);
      if (session.deviceId === deviceId) return { deviceId };
      if (session.deviceId !== null) throw proofFailed('this session already acts as another device');
      const stored = await deps.db.sigchainLink.findMany({ where: { userId: session.userId }, orderBy: { seqno: 'asc' }, select: { bytes: true } });
      const device = stored.length ? replaySigchain(stored.map((l) => l.bytes), { userId: session.userId }).devices.get(deviceId) : undefined;
      if (!device || device.kind === 'backup' || device.kind === 'escrow') throw proofFailed('no such device of this user');
      if (device.status === 'revoked') throw proofFailed('the device was revoked');
      let sig: Uint8Array;
      try {
        sig = fromBase64Url(signature);
      } catch {
        throw proofFailed('the signature does not decode');
      }
      if (sig.length !== 64 || !verifySessionBinding(device.keys.signingPublicKey, { userId: session.userId, sessionId: session.id, deviceId: fromHex(deviceId) }, sig)) {
        throw proofFailed('the signature does not verify');
      }
      const bound = await deps.db.session.updateMany({ where: { id: session.id, deviceId: null }, data: { deviceId } });
      if (bound.count !== 1) throw proofFailed('this session already acts as another device');
      await recordAudit(deps.db, { accountId: session.user.accountId, actorUserId: session.userId, action: 'keys.session_bound', details: { deviceId } });
      return { deviceId };
    },
    { preHandler: requireSession(deps) },
  );

  defineRoute(
    app,
    myPukBoxes,
    async (req) => {
      const s = req.session!;
      const wanted = req.params.deviceId;
      if (wanted !== s.deviceId) {
        const d = await deps.db.device.findUnique({ where: { id: wanted } });
        if (!d || d.userId !== s.userId || d.kind !== 'backup' || d.status === 'revoked') throw new ApiError('NOT_FOUND');
      }
      const boxes = await deps.db.pukBox.findMany({ where: { userId: s.userId, deviceId: wanted }, orderBy: { generation: 'asc' } });
      return { boxes: boxes.map((b) => ({ generation: b.generation, box: toBase64Url(b.box) })) };
    },
    { preHandler: requireSession(deps, { device: true }) },
  );
}
