/** Test helper: gives a user a first device and per-user key, written straight into their chain. */
import { createLink, generateDeviceKeys, generatePerUserKey, LinkType, publicKeysOf, type PerUserKey } from '@sealmail/crypto';
import type { Db } from '@sealmail/db';

export async function giveKeys(db: Db, userId: string): Promise<PerUserKey> {
  const device = generateDeviceKeys();
  const puk = generatePerUserKey(1);
  const link = createLink({ userId, seqno: 0, prev: new Uint8Array(32), time: Date.now(), signer: device, body: { type: LinkType.Root, device: { name: 'Laptop', kind: 'browser', keys: publicKeysOf(device) }, puk: { generation: 1, keys: publicKeysOf(puk) } }, newKeys: [puk] });
  await db.sigchainLink.create({ data: { userId, seqno: 0, type: LinkType.Root, bytes: new Uint8Array(link.bytes), hash: new Uint8Array(link.hash) } });
  return puk;
}
