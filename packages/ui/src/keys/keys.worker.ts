/// <reference lib="webworker" />
/**
 * The key worker: the only place in a Sealmail front end that holds key material. It runs the
 * shared flows (packages/client: Identity, EscrowAdmin) with the IndexedDB key store and talks to
 * the API itself (same origin, session cookie); the UI sends requests and gets results without
 * key bytes.
 */
import { ApiClient } from '@sealmail/client';
import { EscrowAdmin, Identity, indexedDbKeyStore } from '@sealmail/client/identity';
import type { Request, Response, Results, SetUpResult } from './protocol';

const api = new ApiClient({ baseUrl: self.location.origin });
const store = indexedDbKeyStore();
const identity = store.then((s) => new Identity(api, s));
const escrowAdmin = identity.then((id) => new EscrowAdmin(api, id));
const note = (kind: 'backup-unconfirmed' | 'escrow-notice', address: string) => `${kind}:${address.toLowerCase()}`;

/**
 * Sets this device up, or finds where it stands. A backup key the user has not confirmed is kept
 * (encrypted, like the device keys) and shown again until confirmed; a device waiting for
 * approval shows its fingerprint again; an approved device adds the account's escrow key when
 * escrow is on, and the notice is shown until the user acknowledges it.
 */
async function setUp(req: Extract<Request, { op: 'setUp' }>): Promise<SetUpResult> {
  const [id, s] = await Promise.all([identity, store]);
  const r = await id.setUpThisDevice({ address: req.address, name: req.name, kind: 'browser' });
  if (r.outcome === 'first') await s.saveNote(note('backup-unconfirmed', req.address), r.backupKey);
  const me = (await id.devices(req.address)).find((d) => d.thisDevice);
  if (me?.status === 'approved') {
    const escrow = await id.ensureEscrow(req.address);
    if (escrow?.added) await s.saveNote(note('escrow-notice', req.address), escrow.fingerprint);
  }
  return {
    outcome: r.outcome,
    backupKey: await s.loadNote(note('backup-unconfirmed', req.address)),
    fingerprint: me?.status === 'pending' ? me.fingerprint : null,
    escrowNotice: await s.loadNote(note('escrow-notice', req.address)),
  };
}

async function handle(req: Request): Promise<Results[Request['op']]> {
  const id = await identity;
  switch (req.op) {
    case 'setUp':
      return setUp(req);
    case 'confirmBackup':
      await (await store).deleteNote(note('backup-unconfirmed', req.address));
      return null;
    case 'confirmEscrowNotice':
      await (await store).deleteNote(note('escrow-notice', req.address));
      return null;
    case 'devices':
      return id.devices(req.address);
    case 'approve':
      return id.approve(req.address, req.device);
    case 'revoke':
      await id.revoke(req.address, req.device);
      return null;
    case 'recover':
      await id.recover({ address: req.address, name: req.name, kind: 'browser', backupKey: req.backupKey });
      return null;
    case 'generations':
      return (await id.perUserKeys(req.address)).map((p) => p.generation);
    case 'escrowOverview':
      return (await escrowAdmin).overview();
    case 'escrowEnable':
      return { fingerprint: (await (await escrowAdmin).enable(req.address)).fingerprint };
    case 'escrowDisable':
      return { cleaned: await (await escrowAdmin).disable(req.address) };
    case 'escrowUserDevices':
      return (await escrowAdmin).userDevices(req.user);
    case 'escrowRecover':
      return (await escrowAdmin).recover(req.address, req.user, req.device);
    case 'escrowDiscover':
      return { generations: (await (await escrowAdmin).discover(req.address, req.user)).map((p) => p.generation) };
  }
}

self.onmessage = (e: MessageEvent<{ id: number; req: Request }>) => {
  handle(e.data.req).then(
    (result) => self.postMessage({ id: e.data.id, ok: true, result } satisfies Response),
    (err: unknown) => {
      const error = err as { code?: string; message?: string };
      self.postMessage({ id: e.data.id, ok: false, error: { code: String(error.code ?? 'ERROR'), message: String(error.message ?? err) } } satisfies Response);
    },
  );
};
