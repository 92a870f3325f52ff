/** Messages between a UI and its key worker. Results carry no key bytes. */
import type { DeviceView } from '@sealmail/client/identity';

export type Request =
  | { op: 'setUp'; address: string; name: string }
  | { op: 'confirmBackup'; address: string }
  | { op: 'confirmEscrowNotice'; address: string }
  | { op: 'devices'; address: string }
  | { op: 'approve'; address: string; device: string }
  | { op: 'revoke'; address: string; device: string }
  | { op: 'recover'; address: string; name: string; backupKey: string }
  | { op: 'generations'; address: string }
  | { op: 'escrowOverview' }
  | { op: 'escrowEnable'; address: string }
  | { op: 'escrowDisable'; address: string }
  | { op: 'escrowUserDevices'; user: string }
  | { op: 'escrowRecover'; address: string; user: string; device: string }
  | { op: 'escrowDiscover'; address: string; user: string };

export interface SetUpResult {
  outcome: 'existing' | 'first' | 'pending';
  /** A backup key the user has not confirmed yet (first device). */
  backupKey: string | null;
  /** This device's fingerprint while it waits for approval. */
  fingerprint: string | null;
  /** The escrow fingerprint, while the user has not acknowledged the escrow notice. */
  escrowNotice: string | null;
}

export interface EscrowOverview {
  escrow: { id: string; status: 'active' | 'disabled'; enabledAt: string; enabledBy: string | null } | null;
  fingerprint: string | null;
  holders: { address: string; deviceId: string }[];
  users: { address: string; displayName: string; hasKeys: boolean; escrowInChain: boolean }[];
}

export interface Results {
  setUp: SetUpResult;
  confirmBackup: null;
  confirmEscrowNotice: null;
  devices: DeviceView[];
  approve: DeviceView;
  revoke: null;
  recover: null;
  generations: number[];
  escrowOverview: EscrowOverview;
  escrowEnable: { fingerprint: string };
  escrowDisable: { cleaned: string[] };
  escrowUserDevices: Omit<DeviceView, 'thisDevice'>[];
  escrowRecover: { generations: number[] };
  escrowDiscover: { generations: number[] };
}

export type Response = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: { code: string; message: string } };
