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
import { ApiError, appendSigchainLink, bindSessionDevice, getSigchain, myPukBoxes, resetKeyHistory } from '@sealmail/contract';
import { verifyPassword } from '@sealmail/server';
import { checkSecondFactor } from '../auth/second-factor';
import { assertNotThrottled, recordFailure } from './auth';
import { fromBase64Url, fromHex, keyId, LinkType, toBase64Url, toHex, verifySessionBinding } from '@sealmail/crypto';
import { findMailboxByAddress, recordAudit, type Db } from '@sealmail/db';
import { defineRoute } from '../http/route';
import { activeEscrow } from '../keys/escrow';
import { mayEncryptTo as canEncryptTo } from '../keys/reach';
import { appendLink, decodePosted, refuse, storedChain } from '../keys/chain';
import { assertApprovedDevice, requireSession } from '../auth/plugin';
import type { ActiveSession } from '../auth/sessions';
import type { ApiDeps } from '../deps';

export async function keyRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  // Device set-up: open to sessions whose device is not approved yet (or not set up at all).
  const setup = requireSession(deps, { setup: true });
  const mayEncryptTo = (session: ActiveSession, user: { accountId: string; domainId: string }) => canEncryptTo(deps.db, session.user, user);

  defineRoute(
    app,
    getSigchain,
    async (req) => {
      // An alias or +tag address answers its user's chain, naming the user's own address.
      const user = await findMailboxByAddress(deps.db, req.params.address);
      // A session still setting up its device reads only its own chain.
      if (user?.id !== req.session!.userId) assertApprovedDevice(req.session!);
      if (!user || !(await mayEncryptTo(req.session!, user))) throw new ApiError('NOT_FOUND');
      const links = await deps.db.sigchainLink.findMany({ where: { userId: user.id }, orderBy: { seqno: 'asc' }, select: { bytes: true, createdAt: true } });
      const resets = await deps.db.keyReset.findMany({ where: { userId: user.id }, orderBy: { id: 'asc' }, take: 100 });
      return {
        userId: user.id,
        address: req.params.address,
        links: links.map((l) => toBase64Url(l.bytes)),
        storedAt: links.map((l) => l.createdAt.toISOString()),
        resets: resets.map((r) => ({ at: r.resetAt.toISOString(), oldLength: r.oldLength, oldRoot: toHex(r.oldRoot), oldHead: toHex(r.oldHead) })),
        ...(await primaryIfAlias(deps.db, user, req.params.address)),
      };
    },
    { preHandler: setup },
  );

  defineRoute(
    app,
    appendSigchainLink,
    async (req) => {
      const session = req.session!;
      const { bytes, link } = decodePosted(req.body.link);
      if (link.userId !== session.userId) throw new ApiError('FORBIDDEN', undefined, 'You can only extend your own key history.');
      const signerHex = toHex(link.signer);
      // A new device enters by a root (the first device) or by asking to join (pending, no keys).
      const addsSigner = (link.body.type === LinkType.Root || link.body.type === LinkType.DeviceRequest) && session.deviceId === null;
      const escrow = await activeEscrow(deps.db, session.user.accountId);
      const state = await appendLink(deps.db, {
        userId: session.userId,
        bytes,
        link,
        boxes: req.body.pukBoxes,
        ...(req.body.historyBox !== undefined ? { historyBox: req.body.historyBox } : {}),
        now: deps.now(),
        authorise(prior) {
          if (!addsSigner && session.deviceId !== signerHex) {
            // The one exception: the user's backup key, a virtual device any of their device
            // sessions may act as when the backup key is typed in (recovery without another device).
            const signer = prior?.devices.get(signerHex);
            const byBackup = signer?.kind === 'backup' && signer.status === 'approved' && session.deviceId !== null;
            if (!byBackup) throw new ApiError('DEVICE_REQUIRED', undefined, 'Links must be signed by the device this session belongs to.');
          }
          if (link.body.type === LinkType.DelegateGrant || link.body.type === LinkType.DelegateRevoke) refuse('delegation links go to /api/v1/delegation/links, with their key boxes');
          if (link.body.type === LinkType.EscrowAdd && (!escrow || escrow.id !== toHex(keyId(link.body.device.keys)) || link.body.accountId !== session.user.accountId)) {
            refuse('escrow-add must add this account’s active escrow key');
          }
          if (link.body.type === LinkType.EscrowRemove && escrow && escrow.id === toHex(link.body.deviceId)) {
            throw new ApiError('ESCROW_ENFORCED');
          }
        },
        async afterwards(_state, tx) {
          if (addsSigner) await tx.session.update({ where: { id: session.id }, data: { deviceId: signerHex } });
          // Revoking a device also ends the user's sessions that have no device (password-only
          // sessions, e.g. of someone who had the password): set-up may start again by signing in.
          if (link.body.type === LinkType.DeviceRevoke) await tx.session.updateMany({ where: { userId: session.userId, deviceId: null, revokedAt: null }, data: { revokedAt: deps.now() } });
        },
      });
      await recordAudit(deps.db, { accountId: session.user.accountId, actorUserId: session.userId, action: 'keys.sigchain_append', details: { seqno: link.seqno, type: LinkType[link.body.type] } });
      // A first (or any new) per-user key: mail held while the user had none is filed now, by the queue.
      if (link.body.type !== LinkType.DeviceRequest) await deps.heldMail?.enqueue(session.userId).catch((err: unknown) => req.log.warn({ err }, 'held mail job not queued (the sweep will)'));
      // The user's other signed-in devices hear of a device waiting for approval at once.
      if (link.body.type === LinkType.DeviceRequest) await deps.events.publish(deps.db, session.userId, { entryId: '', folder: '', kind: 'keys' });
      return { seqno: link.seqno, headHash: toHex(state.headHash), deviceId: addsSigner ? signerHex : session.deviceId };
    },
    { preHandler: setup },
  );

  defineRoute(
    app,
    resetKeyHistory,
    async (req, reply) => {
      const s = req.session!;
      // The password (and second factor) again, throttled and recorded like a re-authentication.
      await assertNotThrottled(deps, req, reply, s.userId);
      const user = await deps.db.user.findUniqueOrThrow({ where: { id: s.userId } });
      if (!(await verifyPassword(user.passwordHash, req.body.password))) {
        await recordFailure(deps, req, user, 'keys.reset_failed', 'password');
        throw new ApiError('PASSWORD_INCORRECT');
      }
      const second = await checkSecondFactor(deps.db, deps.secrets, user, req.body, deps.now());
      if (second === 'missing') throw new ApiError('TOTP_REQUIRED');
      if (second === 'invalid') {
        await recordFailure(deps, req, user, 'keys.reset_failed', req.body.recoveryCode ? 'recovery_code' : 'totp');
        throw new ApiError('TOTP_INVALID');
      }
      if (await activeEscrow(deps.db, s.user.accountId)) throw new ApiError('KEY_RESET_REFUSED', undefined, 'Escrow is on for your organisation: ask an escrow administrator to approve this device instead of starting afresh.');
      const now = deps.now();
      await deps.db.$transaction(async (tx) => {
        await tx.$queryRaw`SELECT id FROM users WHERE id = ${s.userId}::uuid FOR UPDATE`;
        const links = await tx.sigchainLink.findMany({ where: { userId: s.userId }, orderBy: { seqno: 'asc' }, select: { hash: true } });
        if (!links.length) throw new ApiError('KEY_RESET_REFUSED');
        await tx.keyReset.create({ data: { userId: s.userId, resetAt: now, oldLength: links.length, oldRoot: new Uint8Array(links[0]!.hash), oldHead: new Uint8Array(links.at(-1)!.hash) } });
        await tx.pukHistoryBox.deleteMany({ where: { userId: s.userId } });
        await tx.pukBox.deleteMany({ where: { userId: s.userId } });
        // Grants lived in the old history; mailbox keys boxed to the old per-user keys open for nobody now.
        await tx.delegateGrant.deleteMany({ where: { managerUserId: s.userId } });
        await tx.mailboxKeyBox.deleteMany({ where: { OR: [{ mailboxUserId: s.userId }, { delegateUserId: s.userId }] } });
        await tx.device.deleteMany({ where: { userId: s.userId } });
        await tx.sigchainLink.deleteMany({ where: { userId: s.userId } });
        // Every session acting as one of the old devices ends; this one goes on, with no device.
        await tx.session.updateMany({ where: { userId: s.userId, revokedAt: null, NOT: { id: s.id } }, data: { revokedAt: now } });
        await tx.session.update({ where: { id: s.id }, data: { deviceId: null } });
      });
      await recordAudit(deps.db, { accountId: s.user.accountId, actorUserId: s.userId, action: 'keys.history_reset', details: {} });
      return { resetAt: now.toISOString() };
    },
    // The device that starts afresh is one waiting for approval, with nothing left to approve it.
    { preHandler: setup },
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
      const device = (await storedChain(deps.db, session.userId)).state?.devices.get(deviceId);
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
    { preHandler: setup },
  );

  defineRoute(
    app,
    myPukBoxes,
    async (req) => {
      const s = req.session!;
      const wanted = req.params.deviceId;
      if (wanted !== s.deviceId) {
        const d = await deps.db.device.findUnique({ where: { userId_id: { userId: s.userId, id: wanted } } });
        if (!d || d.kind !== 'backup' || d.status === 'revoked') throw new ApiError('NOT_FOUND');
      }
      const boxes = await deps.db.pukBox.findMany({ where: { userId: s.userId, deviceId: wanted }, orderBy: { generation: 'asc' } });
      const history = await deps.db.pukHistoryBox.findUnique({ where: { userId_deviceId: { userId: s.userId, deviceId: wanted } } });
      return { boxes: boxes.map((b) => ({ generation: b.generation, box: toBase64Url(b.box) })), history: history ? { fromDeviceId: history.fromDeviceId, box: toBase64Url(history.box) } : null };
    },
    { preHandler: requireSession(deps, { setup: true, device: true }) },
  );
}

/** `{ primary }` when `address` is not the user's own address (an alias or a +tag form). */
async function primaryIfAlias(db: Db, user: { localPart: string; domainId: string }, address: string): Promise<{ primary?: string }> {
  const domain = await db.domain.findUnique({ where: { id: user.domainId }, select: { name: true } });
  const own = `${user.localPart}@${domain?.name ?? ''}`;
  return own === address.toLowerCase() ? {} : { primary: own };
}
