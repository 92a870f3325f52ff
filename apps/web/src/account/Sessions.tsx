import { useCallback, useEffect, useState } from 'react';
import { ApiClientError } from '@sealmail/client';
import { clientName } from '@sealmail/ui';
import { api } from '../SignIn';

type SessionRow = Awaited<ReturnType<typeof api.sessions>>['sessions'][number];

const when = (iso: string) => new Date(iso).toLocaleString();

/** The user's sessions: device, client, address, sign-in and last use; sign out one or all others. */
export function Sessions({ onSignedOut }: { onSignedOut: () => void }) {
  const [rows, setRows] = useState<SessionRow[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);

  const refresh = useCallback(async () => {
    try {
      setRows((await api.sessions()).sessions);
    } catch (err) {
      setProblem(err instanceof ApiClientError ? err.message : 'The server cannot be reached.');
    }
  }, []);
  useEffect(() => void refresh(), [refresh]);

  async function signOut(row: SessionRow) {
    setProblem(null);
    try {
      await api.revokeSession(row.id);
      if (row.current) return onSignedOut();
      setStatus(`Signed out ${row.deviceName ?? clientName(row.userAgent)}.`);
      await refresh();
    } catch (err) {
      setProblem(err instanceof ApiClientError ? err.message : 'The server cannot be reached.');
    }
  }

  async function signOutOthers() {
    setProblem(null);
    try {
      const { revoked } = await api.revokeOtherSessions();
      setStatus(revoked ? `Signed out ${revoked} other session${revoked === 1 ? '' : 's'}.` : 'No other sessions were signed in.');
      await refresh();
    } catch (err) {
      setProblem(err instanceof ApiClientError ? err.message : 'The server cannot be reached.');
    }
  }

  return (
    <section aria-labelledby="sessions-title" className="account-section">
      <h2 id="sessions-title">Sessions</h2>
      <p className="sub">Where you are signed in. Ending a session signs it out. If you do not recognise one, end it and change your password.</p>
      <div className="table-scroll">
        <table className="sessions stacked-table">
          <thead>
            <tr>
              <th scope="col">Device</th>
              <th scope="col">Client</th>
              <th scope="col">Address</th>
              <th scope="col">Signed in</th>
              <th scope="col">Last used</th>
              <th scope="col">
                <span className="visually-hidden">Action</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows?.map((r) => (
              <tr key={r.id} aria-label={`Session ${r.deviceName ?? clientName(r.userAgent)}${r.current ? ' (this session)' : ''}`}>
                <td data-label="Device">
                  {r.deviceName ?? <em>no device set up</em>}
                  {r.deviceStatus === 'pending' && ' (waiting for approval)'}
                  {r.current && <strong className="current"> · this session</strong>}
                </td>
                <td data-label="Client" title={r.userAgent ?? ''}>{clientName(r.userAgent)}</td>
                <td data-label="Address">{r.ip ?? 'unknown'}</td>
                <td data-label="Signed in">{when(r.createdAt)}</td>
                <td data-label="Last used">{when(r.lastSeenAt)}</td>
                <td className="row-actions">
                  <button type="button" className="secondary" onClick={() => void signOut(r)}>
                    End session<span className="visually-hidden"> {r.current ? '(this one)' : (r.deviceName ?? clientName(r.userAgent))}</span>
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <button type="button" className="secondary" onClick={() => void signOutOthers()} disabled={!rows || rows.length < 2}>
        End all other sessions
      </button>
      {status && <p role="status">{status}</p>}
      {problem && <p role="alert">{problem}</p>}
    </section>
  );
}
