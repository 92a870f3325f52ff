/** Messages between the UI and the key worker. Results carry no key bytes. */
import type { DeviceView } from '@sealmail/client/identity';

export type Request =
  | { op: 'setUp'; address: string; name: string }
  | { op: 'confirmBackup'; address: string }
  | { op: 'devices'; address: string }
  | { op: 'approve'; address: string; device: string }
  | { op: 'revoke'; address: string; device: string }
  | { op: 'recover'; address: string; name: string; backupKey: string }
  | { op: 'generations'; address: string };

export type SetUpResult = { outcome: 'existing' } | { outcome: 'first'; backupKey: string } | { outcome: 'pending'; fingerprint: string };

export interface Results {
  setUp: SetUpResult;
  confirmBackup: null;
  devices: DeviceView[];
  approve: DeviceView;
  revoke: null;
  recover: null;
  generations: number[];
}

export type Response = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: { code: string; message: string } };
