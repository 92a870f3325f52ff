import { useCallback, useEffect, useState } from 'react';
import { ApiClient, ApiClientError } from '@sealmail/client';
import { blockAdd, blockList, blockRemove } from '@sealmail/contract';

const api = new ApiClient({ baseUrl: '' });
type Entry = Awaited<ReturnType<typeof listBlocked>>[number];

const listBlocked = () => api.request(blockList, {}).then((r) => r.blocked);
/** Blocks a sender for the signed-in user's mailbox (mail from it is refused by the server). */
export const blockSender = (pattern: string) => api.request(blockAdd, { body: { pattern } });

/** Settings: the senders this user blocked (an address, or a whole domain), with Unblock. */
export function BlockedSenders() {
  const [entries, setEntries] = useState<Entry[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const failed = (err: unknown) => setProblem(err instanceof ApiClientError ? err.message : 'The server cannot be reached.');
  const reload = useCallback(() => void listBlocked().then(setEntries, failed), []);
  useEffect(reload, [reload]);

  async function add(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    setProblem(null);
    try {
      await blockSender(String(new FormData(form).get('pattern')));
      form.reset();
      reload();
    } catch (err) {
      if (err instanceof ApiClientError && err.code === 'VALIDATION_FAILED') setProblem('Enter an address (name@domain) or a domain (domain.example).');
      else failed(err);
    }
  }
  async function unblock(id: string) {
    setProblem(null);
    await api.request(blockRemove, { params: { id } }).then(reload, failed);
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
            <button type="button" onClick={() => void unblock(b.id)} aria-label={`Unblock ${b.pattern}`}>
              Unblock
            </button>
          </li>
        ))}
      </ul>
      <form onSubmit={(e) => void add(e)} aria-label="Block a sender">
        <input name="pattern" placeholder="name@domain or domain" required aria-label="Address or domain to block" />
        <button type="submit">Block</button>
      </form>
      {problem && <p role="alert">{problem}</p>}
    </section>
  );
}
