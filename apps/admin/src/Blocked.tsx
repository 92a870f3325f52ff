import { useCallback, useEffect, useState } from 'react';
import { ApiClient, ApiClientError } from '@sealmail/client';
import { adminBlockAdd, adminBlockList, adminBlockRemove } from '@sealmail/contract';

const api = new ApiClient({ baseUrl: '' });
type Entry = Awaited<ReturnType<typeof load>>[number];
const load = () => api.request(adminBlockList, {}).then((r) => r.blocked);

/** Senders refused for every mailbox of the account (each change is in the change history). */
export function BlockedSenders() {
  const [entries, setEntries] = useState<Entry[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const failed = (err: unknown) => setProblem(err instanceof ApiClientError ? err.message : 'The change failed.');
  const reload = useCallback(() => void load().then(setEntries, failed), []);
  useEffect(reload, [reload]);

  async function add(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    setProblem(null);
    try {
      await api.request(adminBlockAdd, { body: { pattern: String(new FormData(form).get('pattern')) } });
      form.reset();
      reload();
    } catch (err) {
      failed(err);
    }
  }

  return (
    <section aria-label="Blocked senders">
      <h2>Blocked senders</h2>
      <p>Mail from these addresses or domains (and their subdomains) is refused for everyone in the organisation. Users keep their own lists as well.</p>
      <table>
        <thead>
          <tr>
            <th>Sender</th>
            <th>Since</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {entries?.map((b) => (
            <tr key={b.id}>
              <td>{b.kind === 'domain' ? `${b.pattern} (domain)` : b.pattern}</td>
              <td>{new Date(b.createdAt).toLocaleDateString()}</td>
              <td>
                <button type="button" aria-label={`Unblock ${b.pattern}`} onClick={() => void api.request(adminBlockRemove, { params: { id: b.id } }).then(reload, failed)}>
                  Unblock
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {entries?.length === 0 && <p>Nobody is blocked for the whole organisation.</p>}
      <form aria-label="Block a sender for everyone" onSubmit={(e) => void add(e)}>
        <label>
          Address or domain
          <input name="pattern" required placeholder="name@domain or domain" />
        </label>
        <button type="submit">Block for everyone</button>
      </form>
      {problem && <p role="alert">{problem}</p>}
    </section>
  );
}
