import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { ApiClient } from '@sealmail/client';
import { adminEscrowAdmins, adminEscrowDesignate, adminEscrowUndesignate } from '@sealmail/contract';
import { keys } from '@sealmail/ui';
import { useReauth } from '../../Reauth';

const api = new ApiClient({ baseUrl: '' });
type Admins = Awaited<ReturnType<typeof load>>;
const load = () => api.request(adminEscrowAdmins, {}).then((r) => r.admins);

/**
 * The escrow admins: several, so escrow does not die with one person's devices. Admins designate
 * and remove them (password again when the API asks); a device that holds the escrow key boxes it
 * to the escrow admins' devices that lack it (on this device; the server never sees the key).
 * Every designation, removal and sharing is recorded in the change history.
 */
export function KeyHolders({ address, isAdmin }: { address: string; isAdmin: boolean }) {
  const [admins, setAdmins] = useState<Admins | null>(null);
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const guard = useReauth();
  const refresh = useCallback(() => load().then(setAdmins, (e: Error) => setProblem(e.message)), []);
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
  function designate(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const who = String(new FormData(form).get('address') ?? '').trim();
    if (!who) return setProblem('Enter the address of the user to designate.');
    void act(async () => {
      await guard(() => api.request(adminEscrowDesignate, { body: { address: who } }));
      form.reset();
      return `${who} is now an escrow admin. Share the escrow key with their devices (they must have signed in once).`;
    });
  }
  const missing = (admins ?? []).some((a) => a.devices.some((d) => !d.holdsKey));
  return (
    <section aria-label="Key holders">
      <h2>Escrow admins</h2>
      <p>Escrow admins can recover a user’s device and open a user’s mail for discovery. Designate more than one, so the escrow key outlives any one person’s devices.</p>
      {admins && admins.length === 0 && <p>No escrow admins yet: turning escrow on makes you the first.</p>}
      {admins && admins.length > 0 && (
        <table aria-label="Escrow admins">
          <thead>
            <tr>
              <th>Escrow admin</th>
              <th>Devices holding the key</th>
              <th>Designated</th>
              {isAdmin && <th />}
            </tr>
          </thead>
          <tbody>
            {admins.map((a) => (
              <tr key={a.address} aria-label={`Escrow admin ${a.address}`}>
                <td>
                  {a.displayName} &lt;{a.address}&gt;{a.role === 'admin' ? ' (admin)' : ''}
                </td>
                <td>{a.devices.length === 0 ? 'no device yet (must sign in once)' : a.devices.map((d) => `${d.name}: ${d.holdsKey ? 'holds the key' : 'not yet'}`).join('; ')}</td>
                <td>
                  {new Date(a.designatedAt).toLocaleDateString()}
                  {a.designatedBy ? ` by ${a.designatedBy}` : ''}
                </td>
                {isAdmin && (
                  <td>
                    <button type="button" className="secondary" style={{ whiteSpace: 'nowrap' }} disabled={busy} onClick={() => void act(async () => `${a.address} is no longer an escrow admin; ${(await guard(() => api.request(adminEscrowUndesignate, { params: { address: a.address } }))).boxesDeleted} device key box(es) deleted.`)}>
                      Remove
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {missing && (
        <p>
          <button type="button" disabled={busy} onClick={() => void act(async () => {
            const added = await keys({ op: 'escrowShareKey', address });
            return added.length ? `The escrow key now reaches ${added.map((a) => a.address).join(', ')} (${added.length} device(s)).` : 'Every escrow admin device holds the key already.';
          })}>
            Share the escrow key with their devices
          </button>
        </p>
      )}
      {isAdmin && (
        <form onSubmit={designate} aria-label="Designate an escrow admin">
          <label>
            Designate an escrow admin (address)
            <input name="address" type="email" autoComplete="off" placeholder="name@example.test" />
          </label>
          <button type="submit" disabled={busy}>
            Designate
          </button>
        </form>
      )}
      {status && <p role="status">{status}</p>}
      {problem && <p role="alert">{problem}</p>}
    </section>
  );
}
