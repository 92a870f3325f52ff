import { ApiClient } from '@sealmail/client';
import { blockAdd, blockList, blockRemove } from '@sealmail/contract';
import { useBlockList } from '@sealmail/ui';

const api = new ApiClient({ baseUrl: '' });
/** Blocks a sender for the signed-in user's mailbox (mail from it is refused by the server). */
export const blockSender = (pattern: string) => api.request(blockAdd, { body: { pattern } });
const calls = {
  list: () => api.request(blockList, {}).then((r) => r.blocked),
  add: blockSender,
  remove: (id: string) => api.request(blockRemove, { params: { id } }),
};

/** Settings: the senders this user blocked (an address, or a whole domain), with Unblock. */
export function BlockedSenders() {
  const { entries, problem, add, remove } = useBlockList(calls);
  async function submit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    if (await add(String(new FormData(form).get('pattern')))) form.reset();
  }

  return (
    <section aria-label="Blocked senders" className="blocked">
      <h2>Blocked senders</h2>
      <p className="sub">Mail from these addresses or domains is refused before it reaches you.</p>
      {entries && entries.length === 0 && <p>Nobody is blocked.</p>}
      <ul>
        {entries?.map((b) => (
          <li key={b.id}>
            <span>{b.kind === 'domain' ? `everyone at ${b.pattern}` : b.pattern}</span>{' '}
            <button type="button" onClick={() => void remove(b.id)} aria-label={`Unblock ${b.pattern}`}>
              Unblock
            </button>
          </li>
        ))}
      </ul>
      <form onSubmit={(e) => void submit(e)} aria-label="Block a sender">
        <input name="pattern" placeholder="name@domain or domain" required aria-label="Address or domain to block" />
        <button type="submit">Block</button>
      </form>
      {problem && <p role="alert">{problem}</p>}
    </section>
  );
}
