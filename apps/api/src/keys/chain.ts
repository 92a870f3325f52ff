/**
 * Appending to a user's sigchain, shared by the user's own devices (routes/keys.ts) and by
 * escrow admins acting with the escrow key (routes/escrow.ts). One writer per chain at a time
 * (the user's row is locked); the whole chain is replayed with the new link; the PUK boxes that
 * come with it must fit the link; devices and boxes are derived and stored; a revoked device's
 * sessions end in the same transaction.
 */
import { ApiError } from '@sealmail/contract';
import { approvedDevices, CryptoError, decodeLink, fromBase64Url, LinkType, replaySigchain, toHex, type Link, type SigchainState } from '@sealmail/crypto';
import type { Db } from '@sealmail/db';
import { syncDelegations } from '../delegation/grants';

export interface PukBoxIn {
  deviceId: string;
  generation: number;
  box: string;
}

export function refuse(reason: string): never {
  throw new ApiError('SIGCHAIN_INVALID', undefined, `The key history link was refused: ${reason}.`);
}

/** Decodes a posted link or refuses it. */
export function decodePosted(encoded: string): { bytes: Uint8Array; link: Link } {
  try {
    const bytes = fromBase64Url(encoded);
    return { bytes, link: decodeLink(bytes) };
  } catch (err) {
    refuse(err instanceof CryptoError ? err.message : 'undecodable');
  }
}

type Tx = Parameters<Parameters<Db['$transaction']>[0]>[0];

/** The stored chain of a user, replayed (null when empty). */
export async function storedChain(db: Db | Tx, userId: string): Promise<{ bytes: Uint8Array[]; state: SigchainState | null }> {
  const stored = await db.sigchainLink.findMany({ where: { userId }, orderBy: { seqno: 'asc' }, select: { bytes: true } });
  const bytes = stored.map((l) => l.bytes);
  return { bytes, state: bytes.length ? replaySigchain(bytes, { userId }) : null };
}

/**
 * Appends `link` to `userId`'s chain. `authorise` sees the chain as it was (null for a new
 * chain) and throws to refuse. Returns the new state.
 */
export async function appendLink(
  db: Db,
  opts: {
    userId: string;
    bytes: Uint8Array;
    link: Link;
    boxes: PukBoxIn[];
    /** With a device-approve: the signed history box for the approved device (docs/crypto.md §5.5). */
    historyBox?: string;
    now: Date;
    authorise: (prior: SigchainState | null, tx: Tx) => Promise<void> | void;
    afterwards?: (state: SigchainState, tx: Tx) => Promise<void>;
  },
): Promise<SigchainState> {
  const { userId, bytes, link, boxes } = opts;
  return db.$transaction(async (tx) => {
    await tx.$queryRaw`SELECT id FROM users WHERE id = ${userId}::uuid FOR UPDATE`;
    const stored = await storedChain(tx, userId);
    if (link.seqno !== stored.bytes.length) refuse(`it is link ${link.seqno}, the chain has ${stored.bytes.length} links`);
    await opts.authorise(stored.state, tx);
    if (opts.historyBox !== undefined && link.body.type !== LinkType.DeviceApprove) refuse('a history box comes only with a device approval');
    if (link.body.type === LinkType.DeviceApprove) {
      // Requests expire: a device that asked more than 7 days ago must ask again.
      const target = toHex(link.body.deviceId);
      const asked = await tx.device.findUnique({ where: { userId_id: { userId, id: target } }, select: { addedSeqno: true } });
      const request = asked && (await tx.sigchainLink.findUnique({ where: { userId_seqno: { userId, seqno: asked.addedSeqno } }, select: { createdAt: true } }));
      if (request && opts.now.getTime() - request.createdAt.getTime() > DEVICE_REQUEST_TTL_MS) throw new ApiError('DEVICE_REQUEST_EXPIRED');
    }
    let state: SigchainState;
    try {
      state = replaySigchain([...stored.bytes, bytes], { userId });
    } catch (err) {
      refuse(err instanceof CryptoError ? `${err.code}: ${err.message}` : 'invalid');
    }
    checkBoxes(link, state, boxes);
    await tx.sigchainLink.create({ data: { userId, seqno: link.seqno, type: link.body.type, bytes: new Uint8Array(bytes), hash: new Uint8Array(link.hash), createdAt: opts.now } });
    for (const d of state.devices.values()) {
      const id = toHex(d.id);
      await tx.device.upsert({
        where: { userId_id: { userId, id } },
        create: { id, userId, name: d.name, kind: d.kind, status: d.status, addedSeqno: d.addedAt, revokedSeqno: d.revokedAt ?? null },
        update: { status: d.status, revokedSeqno: d.revokedAt ?? null },
      });
    }
    for (const b of boxes) {
      const box = new Uint8Array(fromBase64Url(b.box));
      await tx.pukBox.upsert({
        where: { userId_generation_deviceId: { userId, generation: b.generation, deviceId: b.deviceId } },
        create: { userId, generation: b.generation, deviceId: b.deviceId, box },
        update: { box },
      });
    }
    await syncDelegations(tx, userId, link, state);
    if (opts.historyBox !== undefined && link.body.type === LinkType.DeviceApprove) {
      const deviceId = toHex(link.body.deviceId);
      const box = new Uint8Array(fromBase64Url(opts.historyBox));
      await tx.pukHistoryBox.upsert({ where: { userId_deviceId: { userId, deviceId } }, create: { userId, deviceId, fromDeviceId: toHex(link.signer), box }, update: { fromDeviceId: toHex(link.signer), box } });
    }
    if (link.body.type === LinkType.DeviceRevoke) {
      // A revoked device gets nothing new and its sessions end now.
      await tx.session.updateMany({ where: { userId, deviceId: toHex(link.body.deviceId), revokedAt: null }, data: { revokedAt: opts.now } });
    }
    await opts.afterwards?.(state, tx);
    return state;
  });
}

/** How long a device's request to join may wait for approval. */
export const DEVICE_REQUEST_TTL_MS = 7 * 24 * 3600 * 1000;

/**
 * A link that introduces a PUK generation brings it boxed to every approved device, exactly once
 * each; others may bring older generations for approved devices. A pending device receives
 * nothing (docs/sigchain.md §4): its first keys come with its approval.
 */
function checkBoxes(link: Link, state: SigchainState, boxes: PukBoxIn[]): void {
  const active = approvedDevices(state).map((d) => toHex(d.id));
  const puk = 'puk' in link.body ? link.body.puk : null;
  if (puk) {
    const addressed = new Set(boxes.map((b) => b.deviceId));
    if (boxes.some((b) => b.generation !== puk.generation)) refuse('PUK boxes must be for the generation the link introduces');
    if (addressed.size !== boxes.length || active.some((id) => !addressed.has(id)) || boxes.some((b) => !active.includes(b.deviceId))) {
      refuse('the new per-user key must be boxed to every approved device, exactly once each');
    }
  } else if (boxes.some((b) => !active.includes(b.deviceId) || b.generation < 1 || b.generation > state.puks.length)) {
    refuse('PUK boxes must be for approved devices and existing generations');
  }
}
