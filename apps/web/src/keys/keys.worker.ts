/// <reference lib="webworker" />
/**
 * The key worker: the only place in the web client that holds key material. It runs the shared
 * Identity flows (packages/client) with the IndexedDB key store and talks to the API itself
 * (same origin, session cookie); the UI sends requests and gets results without key bytes.
 */
import { ApiClient } from '@sealmail/client';
import { Identity, indexedDbKeyStore } from '@sealmail/client/identity';
import type { Request, Response, SetUpResult } from './protocol';

const store = indexedDbKeyStore();
const identity = store.then((s) => new Identity(new ApiClient({ baseUrl: self.location.origin }), s));
const backupNote = (address: string) => `backup-unconfirmed:${address.toLowerCase()}`;

/**
 * Sets this device up, or finds where it stands: a backup key the user has not confirmed yet is
 * kept (encrypted, like the device keys) and shown again after a reload until confirmed; a device
 * still waiting for approval shows its fingerprint again.
 */
async function setUp(req: Extract<Request, { op: 'setUp' }>): Promise<SetUpResult> {
  const [id, s] = await Promise.all([identity, store]);
  const r = await id.setUpThisDevice({ address: req.address, name: req.name, kind: 'browser' });
  if (r.outcome === 'first') {
    await s.saveNote(backupNote(req.address), r.backupKey);
    return { outcome: 'first', backupKey: r.backupKey };
  }
  if (r.outcome === 'pending') return { outcome: 'pending', fingerprint: r.fingerprint };
  const unconfirmed = await s.loadNote(backupNote(req.address));
  if (unconfirmed) return { outcome: 'first', backupKey: unconfirmed };
  const me = (await id.devices(req.address)).find((d) => d.thisDevice);
  if (me?.status === 'pending') return { outcome: 'pending', fingerprint: me.fingerprint };
  return { outcome: 'existing' };
}

async function handle(req: Request): Promise<unknown> {
  const id = await identity;
  switch (req.op) {
    case 'setUp':
      return setUp(req);
    case 'confirmBackup':
      await (await store).deleteNote(backupNote(req.address));
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
