import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { ApiClient, ApiClientError } from '@sealmail/client';
import { adminLegalHoldLift, adminLegalHoldList, adminLegalHoldSet, adminUserList } from '@sealmail/contract';
import { useReauth } from '../Reauth';
import { useConsole } from '../console';
import { formatTime } from '../format';

const api = new ApiClient({ baseUrl: '' });
type Hold = Awaited<ReturnType<typeof listHolds>>['holds'][number];
const listHolds = () => api.call(adminLegalHoldList);

/**
 * Legal hold: while a user is held, nothing of their mail is deleted for good (what they delete
 * leaves their sight and stays on the server) and the user cannot be deleted (docs/admin.md).
 */
export function LegalHold() {
  const guard = useReauth();
  const { setProblem } = useConsole();
  const [holds, setHolds] = useState<Hold[] | null>(null);
  const [addresses, setAddresses] = useState<string[]>([]);
  const [status, setStatus] = useState<string | null>(null);
  const [formProblem, setFormProblem] = useState<string | null>(null);
  const load = useCallback(() => {
    listHolds().then((r) => setHolds(r.holds), (err: Error) => setProblem(err.message));
    api.call(adminUserList).then((r) => setAddresses(r.users.filter((u) => !u.legalHold).map((u) => u.address)), () => undefined);
  }, [setProblem]);
  useEffect(() => load(), [load]);

  async function place(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    const address = String(f.get('address'));
    setFormProblem(null);
    try {
      await guard(() => api.request(adminLegalHoldSet, { params: { address }, body: { reason: String(f.get('reason')).trim() } }));
      form.reset();
      setStatus(`${address} is under legal hold: nothing of their mail can be deleted for good.`);
      load();
    } catch (err) {
      setFormProblem(err instanceof ApiClientError && err.code === 'VALIDATION_FAILED' ? 'Give the reason (at least 3 characters), e.g. the case reference.' : err instanceof Error ? err.message : 'The hold was not placed.');
    }
  }

  async function lift(h: Hold) {
    if (!window.confirm(`Lift the legal hold on ${h.address}? The ${h.keptEntries} item${h.keptEntries === 1 ? '' : 's'} they deleted while held will then be deleted for good.`)) return;
    try {
      const r = await guard(() => api.request(adminLegalHoldLift, { params: { address: h.address } }));
      setStatus(`Hold on ${h.address} lifted; ${r.entriesDeleted} kept item${r.entriesDeleted === 1 ? '' : 's'} deleted for good.`);
      load();
    } catch (err) {
      setProblem(err instanceof Error ? err.message : 'The hold was not lifted.');
    }
  }

  return (
    <>
      <section aria-label="Legal hold">
        <h2>Legal hold</h2>
        <p>While a user is held, what they delete disappears from their mailbox but stays on the server, and the user cannot be deleted. Placing and lifting a hold asks for your password again and is recorded.</p>
        {status && <p role="status">{status}</p>}
        {holds === null ? (
          <p>Loading…</p>
        ) : holds.length === 0 ? (
          <p>Nobody is under legal hold.</p>
        ) : (
          <table aria-label="Users under legal hold">
            <thead>
              <tr>
                <th>User</th>
                <th>Reason</th>
                <th>Since</th>
                <th>Kept after deletion</th>
                <th>
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {holds.map((h) => (
                <tr key={h.address}>
                  <td>{h.address}</td>
                  <td>{h.reason}</td>
                  <td>
                    {formatTime(h.since)}
                    {h.by ? ` by ${h.by}` : ''}
                  </td>
                  <td>{h.keptEntries}</td>
                  <td>
                    <button type="button" className="secondary" aria-label={`Lift hold on ${h.address}`} onClick={() => void lift(h)}>
                      Lift hold
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section aria-label="Place a legal hold">
        <h2>Place a legal hold</h2>
        <form aria-label="Place a user under legal hold" onSubmit={(e) => void place(e)}>
          <label>
            User
            <select name="address" required defaultValue="">
              <option value="" disabled>
                Choose a user
              </option>
              {addresses.map((a) => (
                <option key={a} value={a}>
                  {a}
                </option>
              ))}
            </select>
          </label>
          <label>
            Reason (e.g. the case reference)
            <input name="reason" required minLength={3} maxLength={500} />
          </label>
          <button type="submit">Place under legal hold</button>
        </form>
        {formProblem && <p role="alert">{formProblem}</p>}
      </section>
    </>
  );
}
