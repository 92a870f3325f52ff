import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { ApiClient } from '@sealmail/client';
import type { DeviceView } from '@sealmail/client/identity';
import { keys } from './keys/client';
import { SafetyNumber } from './SafetyNumber';

const api = new ApiClient({ baseUrl: '' });
type DeviceRecord = Awaited<ReturnType<ApiClient['deviceRecords']>>['devices'][number];
const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' }) : '—');

/**
 * The user's devices with fingerprints; approve or reject pending ones, revoke others, and name
 * them. Names, kinds, states and fingerprints come from the key history this device verified; the
 * name the user gave and the added/last-used times are the server's records, shown as such (a
 * name is only a label: compare fingerprints to trust a device).
 */
export function Devices({ address, onEnded }: { address: string; onEnded: (message: string) => void }) {
  const [devices, setDevices] = useState<DeviceView[] | null>(null);
  const [records, setRecords] = useState<Map<string, DeviceRecord>>(new Map());
  const [renaming, setRenaming] = useState<string | null>(null);
  const [generations, setGenerations] = useState<number[]>([]);
  const [openings, setOpenings] = useState<{ at: string; purpose: string; by: string | null }[]>([]);
  const [problem, setProblem] = useState<string | null>(null);

  const refresh = useCallback(async () => {
    try {
      setDevices(await keys({ op: 'devices', address }));
      setRecords(new Map((await api.deviceRecords()).devices.map((d) => [d.id, d])));
      setGenerations(await keys({ op: 'generations', address }));
      setOpenings(await keys({ op: 'escrowOpenings', address }));
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (['DEVICE_REVOKED', 'UNAUTHENTICATED', 'TOTP_ENROLLMENT_REQUIRED', 'PASSWORD_CHANGE_REQUIRED'].includes(code ?? '')) onEnded((err as Error).message);
      else setProblem((err as Error).message);
    }
  }, [address, onEnded]);

  useEffect(() => {
    void refresh();
    const t = setInterval(() => void refresh(), 4000);
    return () => clearInterval(t);
  }, [refresh]);

  async function act(op: 'approve' | 'revoke', device: string) {
    setProblem(null);
    try {
      await keys({ op, address, device });
      await refresh();
    } catch (err) {
      setProblem((err as Error).message);
    }
  }

  async function rename(e: FormEvent<HTMLFormElement>, d: DeviceView) {
    e.preventDefault();
    const name = String(new FormData(e.currentTarget).get('name')).trim();
    setProblem(null);
    try {
      // Cleared, or back to the signed name: the server's label is dropped.
      const r = await api.renameDevice(d.id, name && name !== d.name ? name : null);
      setRecords((m) => new Map(m).set(d.id, r));
      setRenaming(null);
    } catch (err) {
      setProblem((err as Error).message);
    }
  }

  return (
    <section aria-label="Devices" className="devices">
      <h2>Devices</h2>
      <p className="sub">Compare a fingerprint with the one shown on the other device before you approve it.</p>
      <table className="stacked-table">
        <thead>
          <tr>
            <th scope="col">Device</th>
            <th scope="col">Kind</th>
            <th scope="col">Status</th>
            <th scope="col">Added</th>
            <th scope="col">Last used</th>
            <th scope="col">Fingerprint</th>
            <th scope="col">
              <span className="visually-hidden">Action</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {devices?.map((d) => {
            const r = records.get(d.id);
            const name = r?.label ?? d.name;
            const real = d.kind !== 'backup' && d.kind !== 'escrow';
            return (
            <tr key={d.id} aria-label={`Device ${name}`}>
              <td data-label="Device">
                {renaming === d.id ? (
                  <form className="rename" onSubmit={(e) => void rename(e, d)} aria-label={`Rename ${name}`}>
                    <input name="name" defaultValue={name} maxLength={100} aria-label={`New name for ${name}`} autoFocus onKeyDown={(e) => e.key === 'Escape' && (e.stopPropagation(), setRenaming(null))} />
                    <button type="submit">Save</button>
                    <button type="button" onClick={() => setRenaming(null)}>
                      Cancel
                    </button>
                  </form>
                ) : (
                  <>
                    <span className="device-name">{name}</span>
                    {d.thisDevice && <strong className="this-device"> (this device)</strong>}
                    {r?.label && <span className="signed-name">set up as “{d.name}”</span>}
                  </>
                )}
              </td>
              <td data-label="Kind">{d.kind}</td>
              <td data-label="Status">{d.expired ? 'request expired' : d.status}</td>
              <td data-label="Added">{when(r?.createdAt)}</td>
              <td data-label="Last used">{d.thisDevice ? 'now' : when(r?.lastSeenAt)}</td>
              <td data-label="Fingerprint" className="fp">{d.fingerprint}</td>
              <td className="row-actions">
                {d.status === 'pending' && (
                  <>
                    {!d.expired && (
                      <button type="button" onClick={() => void act('approve', d.id)}>
                        Approve
                      </button>
                    )}{' '}
                    <button type="button" onClick={() => void act('revoke', d.id)}>
                      Reject
                    </button>
                  </>
                )}
                {d.status === 'approved' && !d.thisDevice && real && (
                  <button type="button" onClick={() => void act('revoke', d.id)}>
                    Revoke
                  </button>
                )}{' '}
                {real && d.status !== 'revoked' && renaming !== d.id && (
                  <button type="button" onClick={() => setRenaming(d.id)} aria-label={`Rename ${name}`}>
                    Rename
                  </button>
                )}
              </td>
            </tr>
            );
          })}
        </tbody>
      </table>
      <p className="sub" aria-label="Key generations">
        Key generations on this device: {generations.join(', ') || '…'}
      </p>
      <SafetyNumber address={address} of={address} own />
      {openings.length > 0 && (
        <>
          <h3>Uses of the escrow key on your keys</h3>
          <ul className="openings" aria-label="Escrow openings">
            {openings.map((o) => (
              <li key={`${o.at}-${o.purpose}`}>
                {new Date(o.at).toLocaleString()}: {o.purpose === 'device-approved' ? 'a new device of yours was approved with the escrow key' : `your keys were opened for ${o.purpose}`} by {o.by ?? 'a removed administrator'}
              </li>
            ))}
          </ul>
        </>
      )}
      {problem && <p role="alert">{problem}</p>}
    </section>
  );
}
