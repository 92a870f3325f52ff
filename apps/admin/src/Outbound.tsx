import { useCallback, useEffect, useState } from 'react';
import { ApiClient, ApiClientError } from '@sealmail/client';

const api = new ApiClient({ baseUrl: '' });
type Item = Awaited<ReturnType<ApiClient['adminOutbound']>>['deliveries'][number];
type Status = 'queued' | 'failed' | 'cancelled' | 'delivered' | 'all';

/**
 * The outbound queue (docs/mail.md §8): outside deliveries of this account's users — addresses,
 * state, attempts, last error and next attempt; never content. Retry now, or cancel (the sender
 * then gets a delivery report).
 */
export function Outbound() {
  const [status, setStatus] = useState<Status>('queued');
  const [items, setItems] = useState<Item[] | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const load = useCallback(() => void api.adminOutbound({ status }).then((r) => setItems(r.deliveries), (e: Error) => setProblem(e.message)), [status]);
  useEffect(load, [load]);

  async function act(item: Item, action: 'retry' | 'cancel') {
    setProblem(null);
    try {
      const r = action === 'retry' ? await api.adminOutboundRetry(item.id) : await api.adminOutboundCancel(item.id);
      setNote(`${action === 'retry' ? 'Trying again' : 'Cancelled'}: ${r.recipient}.`);
      load();
    } catch (err) {
      setProblem(err instanceof ApiClientError ? err.message : 'The change failed.');
    }
  }

  const when = (s: string | null) => (s ? new Date(s).toLocaleString() : '—');
  return (
    <section aria-label="Outbound queue">
      <h2>Outbound queue</h2>
      <label>
        Show{' '}
        <select value={status} onChange={(e) => setStatus(e.currentTarget.value as Status)}>
          <option value="queued">waiting</option>
          <option value="failed">failed</option>
          <option value="cancelled">cancelled</option>
          <option value="delivered">delivered</option>
          <option value="all">all</option>
        </select>
      </label>{' '}
      <button type="button" onClick={load}>
        Refresh
      </button>
      {items && items.length === 0 && <p className="hint">Nothing here.</p>}
      {items && items.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>From</th>
              <th>To</th>
              <th>Kind</th>
              <th>State</th>
              <th>Attempts</th>
              <th>Last error</th>
              <th>Next attempt</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {items.map((d) => (
              <tr key={d.id}>
                <td>{d.sender}</td>
                <td>{d.recipient}</td>
                <td>{d.kind === 'mail' ? 'standard mail' : 'link notice'}</td>
                <td>{d.status}</td>
                <td>{d.attempts}</td>
                <td>{d.lastError ?? ''}</td>
                <td>{when(d.nextAttemptAt)}</td>
                <td>
                  {d.status !== 'delivered' && (
                    <button type="button" onClick={() => void act(d, 'retry')} aria-label={`Retry ${d.recipient}`}>
                      Retry now
                    </button>
                  )}
                  {d.status === 'queued' && (
                    <button type="button" onClick={() => void act(d, 'cancel')} aria-label={`Cancel ${d.recipient}`}>
                      Cancel
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {note && <p role="status">{note}</p>}
      {problem && <p role="alert">{problem}</p>}
    </section>
  );
}
