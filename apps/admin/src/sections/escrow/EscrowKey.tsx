import { useCallback, useEffect, useState } from 'react';
import { keys, type EscrowOverview } from '@sealmail/ui';
import { useReauth } from '../../Reauth';

type UserDevice = { id: string; name: string; kind: string; status: string; fingerprint: string };

/**
 * Escrow ("device-managed encryption"): turn it on (the key is made on this console's device),
 * see who holds it and whose key histories carry it, recover a user's new device, open a user's
 * keys for discovery, turn it off. Every use is recorded in the account's change history.
 */
export function EscrowKey({ address }: { address: string }) {
  const [view, setView] = useState<EscrowOverview | null>(null);
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [recovering, setRecovering] = useState<{ user: string; devices: UserDevice[] } | null>(null);
  // Turning escrow on or off is a sensitive switch: the password again when the API asks.
  const guard = useReauth();

  const refresh = useCallback(() => keys({ op: 'escrowOverview' }).then(setView, (e: Error) => setProblem(e.message)), []);
  useEffect(() => void refresh(), [refresh]);

  async function act(what: () => Promise<string>) {
    setBusy(true);
    setProblem(null);
    try {
      setStatus(await what());
      await refresh();
    } catch (e) {
      setProblem((e as Error).message);
    } finally {
      setBusy(false);
    }
  }

  const on = view?.escrow?.status === 'active';
  return (
    <section aria-label="Escrow">
      <h2>Escrow</h2>
      {view && !on && <p>Escrow is off: only users’ own devices and backup keys can open their mail.</p>}
      {view?.escrow?.status === 'disabled' && <p>Escrow was turned off, but some key histories still carry it: finish turning it off.</p>}
      {on && (
        <dl>
          <dt>Escrow</dt>
          <dd>on since {new Date(view.escrow!.enabledAt).toLocaleString()}</dd>
          <dt>Fingerprint</dt>
          <dd aria-label="Escrow fingerprint">{view.fingerprint}</dd>
          <dt>Held by</dt>
          <dd>{view.holders.map((h) => h.address).join(', ')}</dd>
        </dl>
      )}
      {view && !on && (
        <button type="button" disabled={busy} onClick={() => void act(() => guard(async () => `Escrow is on. Fingerprint ${(await keys({ op: 'escrowEnable', address })).fingerprint}.`))}>
          Turn on escrow
        </button>
      )}
      {(on || view?.escrow?.status === 'disabled') && (
        <button type="button" disabled={busy} onClick={() => void act(() => guard(async () => `Escrow is off. Removed from ${(await keys({ op: 'escrowDisable', address })).cleaned.length} key histories, with new keys for each user.`))}>
          {on ? 'Turn off escrow' : 'Finish turning off escrow'}
        </button>
      )}
      {view && (
        <table aria-label="Users">
          <thead>
            <tr>
              <th>User</th>
              <th>Keys</th>
              <th>Escrow in key history</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {view.users.map((u) => (
              <tr key={u.address} aria-label={`User ${u.address}`}>
                <td>{u.address}</td>
                <td>{u.hasKeys ? 'yes' : 'not yet'}</td>
                <td>{u.escrowInChain ? 'yes' : 'no'}</td>
                <td>
                  {on && u.escrowInChain && (
                    <>
                      <button type="button" disabled={busy} onClick={() => void keys({ op: 'escrowUserDevices', user: u.address }).then((devices) => setRecovering({ user: u.address, devices }), (e: Error) => setProblem(e.message))}>
                        Recover a device
                      </button>{' '}
                      <button type="button" disabled={busy} onClick={() => void act(async () => `Opened ${u.address}’s keys (generations ${(await keys({ op: 'escrowDiscover', address, user: u.address })).generations.join(', ')}). This was recorded.`)}>
                        Open keys (discovery)
                      </button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {recovering && (
        <section aria-label="Recover a device">
          <h3>Recover a device of {recovering.user}</h3>
          <p>Compare the fingerprint with the one on the user’s new device before you approve it.</p>
          {recovering.devices.filter((d) => d.status === 'pending').length === 0 && <p>No device of {recovering.user} is waiting for approval: ask them to sign in on the new device first.</p>}
          <ul>
            {recovering.devices
              .filter((d) => d.status === 'pending')
              .map((d) => (
                <li key={d.id}>
                  {d.name} — <span className="fp">{d.fingerprint}</span>{' '}
                  <button
                    type="button"
                    disabled={busy}
                    onClick={() =>
                      void act(async () => {
                        const r = await keys({ op: 'escrowRecover', address, user: recovering.user, device: d.id });
                        setRecovering(null);
                        return `Approved ${d.name} for ${recovering.user}; it can read generations ${r.generations.join(', ')}. This was recorded.`;
                      })
                    }
                  >
                    Approve with the escrow key
                  </button>
                </li>
              ))}
          </ul>
        </section>
      )}
      {status && <p role="status">{status}</p>}
      {problem && <p role="alert">{problem}</p>}
    </section>
  );
}
