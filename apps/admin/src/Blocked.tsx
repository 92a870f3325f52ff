import { ApiClient } from '@sealmail/client';
import { adminBlockAdd, adminBlockList, adminBlockRemove } from '@sealmail/contract';
import { useBlockList } from '@sealmail/ui';

const api = new ApiClient({ baseUrl: '' });
const calls = {
  list: () => api.request(adminBlockList, {}).then((r) => r.blocked),
  add: (pattern: string) => api.request(adminBlockAdd, { body: { pattern } }),
  remove: (id: string) => api.request(adminBlockRemove, { params: { id } }),
};

/** Senders refused for every mailbox of the account (each change is in the change history). */
export function BlockedSenders() {
  const { entries, problem, add, remove } = useBlockList(calls);
  async function submit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    if (await add(String(new FormData(form).get('pattern')))) form.reset();
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
                <button type="button" aria-label={`Unblock ${b.pattern}`} onClick={() => void remove(b.id)}>
                  Unblock
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {entries?.length === 0 && <p>Nobody is blocked for the whole organisation.</p>}
      <form aria-label="Block a sender for everyone" onSubmit={(e) => void submit(e)}>
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
