import { useCallback, useEffect, useState } from 'react';
import type { DeviceView } from '@sealmail/client/identity';
import { keys } from './keys/client';
import { SafetyNumber } from './SafetyNumber';

/** The user's devices with fingerprints; approve or reject pending ones, revoke others. */
export function Devices({ address, onEnded }: { address: string; onEnded: (message: string) => void }) {
  const [devices, setDevices] = useState<DeviceView[] | null>(null);
  const [generations, setGenerations] = useState<number[]>([]);
  const [openings, setOpenings] = useState<{ at: string; purpose: string; by: string | null; caseRef?: string; range?: { from: string; to: string } }[]>([]);
  const [problem, setProblem] = useState<string | null>(null);

  const refresh = useCallback(async () => {
    try {
      setDevices(await keys({ op: 'devices', address }));
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
            <th scope="col">Fingerprint</th>
            <th scope="col">
              <span className="visually-hidden">Action</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {devices?.map((d) => (
            <tr key={d.id} aria-label={`Device ${d.name}`}>
              <td data-label="Device">
                {d.name}
                {d.thisDevice && ' (this device)'}
              </td>
              <td data-label="Kind">{d.kind}</td>
              <td data-label="Status">{d.expired ? 'request expired' : d.status}</td>
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
                {d.status === 'approved' && !d.thisDevice && d.kind !== 'backup' && d.kind !== 'escrow' && (
                  <button type="button" onClick={() => void act('revoke', d.id)}>
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
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
                {o.caseRef ? ` — case “${o.caseRef}”, mail received ${new Date(o.range?.from ?? o.at).toLocaleDateString()} to ${new Date(new Date(o.range?.to ?? o.at).getTime() - 1).toLocaleDateString()}` : ''}
              </li>
            ))}
          </ul>
        </>
      )}
      {problem && <p role="alert">{problem}</p>}
    </section>
  );
}
