import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { ApiClient } from '@sealmail/client';
import { sharedMailboxList } from '@sealmail/contract';
import { keys } from '@sealmail/ui';
import { useReauth } from '../Reauth';
import { useConsole } from '../console';

const api = new ApiClient({ baseUrl: '' });
type Mailbox = Awaited<ReturnType<typeof load>>[number];
const load = () => api.request(sharedMailboxList, {}).then((r) => r.mailboxes);
const rightsLabel = { read: 'Read', send: 'Read and send as' } as const;

/**
 * Shared mailboxes (support@, …; docs/mail.md "Delegation and shared mailboxes"): addresses nobody
 * signs in to, whose members read them (and, if allowed, answer as them) from their own mailbox
 * switcher. Creating one starts its key history on this device; members are added and removed by
 * signed grants (removing one rotates the mailbox's keys). Only the admin who created a mailbox
 * holds its key, so only they manage its members.
 */
export function SharedMailboxes() {
  const { address } = useConsole();
  const guard = useReauth();
  const [mailboxes, setMailboxes] = useState<Mailbox[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const reload = useCallback(() => void load().then(setMailboxes, (err: Error) => setProblem(err.message)), []);
  useEffect(reload, [reload]);

  async function act(f: () => Promise<string>) {
    setBusy(true);
    setProblem(null);
    setDone(null);
    try {
      setDone(await f());
      reload();
    } catch (err) {
      setProblem(err instanceof Error ? err.message : 'The change failed.');
    } finally {
      setBusy(false);
    }
  }

  function create(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    const mailbox = String(f.get('address')).trim().toLowerCase();
    void act(async () => {
      await guard(() => keys({ op: 'sharedMailboxCreate', address, mailbox, displayName: String(f.get('name')).trim() }));
      form.reset();
      return `${mailbox} was created. Add its members below.`;
    });
  }

  function addMember(m: Mailbox, e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    const member = String(f.get('member')).trim().toLowerCase();
    const rights = f.get('rights') === 'send' ? 'send' : 'read';
    void act(async () => {
      await keys({ op: 'sharedMailboxMember', address, mailboxUserId: m.userId, member, rights });
      form.reset();
      return `${member} is now a member of ${m.address}.`;
    });
  }

  return (
    <section aria-label="Shared mailboxes">
      <h2>Shared mailboxes</h2>
      <p>An address such as support@ that several people read and answer from their own mailbox. Its keys are made on this device and shared with each member through their key history; nobody signs in to it.</p>
      <form aria-label="New shared mailbox" onSubmit={create}>
        <label>
          Address
          <input name="address" type="email" required placeholder="support@your-domain" />
        </label>
        <label>
          Name
          <input name="name" placeholder="Support" />
        </label>
        <button type="submit" disabled={busy}>
          Create shared mailbox
        </button>
      </form>
      {done && <p role="status">{done}</p>}
      {problem && <p role="alert">{problem}</p>}
      {mailboxes && mailboxes.length === 0 && <p>No shared mailboxes yet.</p>}
      {mailboxes?.map((m) => (
        <article key={m.userId} aria-label={`Shared mailbox ${m.address}`} className="shared-mailbox">
          <h3>
            {m.address}
            {m.displayName ? ` — ${m.displayName}` : ''}
          </h3>
          <p>Created by {m.createdBy || 'an administrator no longer here'}.</p>
          {m.members.length === 0 ? (
            <p>No members yet.</p>
          ) : (
            <ul aria-label={`Members of ${m.address}`}>
              {m.members.map((x) => (
                <li key={x.address}>
                  {x.address} ({rightsLabel[x.rights]}){' '}
                  {m.createdBy === address && (
                    <button type="button" disabled={busy} aria-label={`Remove ${x.address} from ${m.address}`} onClick={() => void act(async () => (await keys({ op: 'sharedMailboxMember', address, mailboxUserId: m.userId, member: x.address, rights: null }), `${x.address} was removed from ${m.address}; its keys were changed.`))}>
                      Remove
                    </button>
                  )}
                </li>
              ))}
            </ul>
          )}
          {m.createdBy === address ? (
            <form aria-label={`Add a member to ${m.address}`} onSubmit={(e) => addMember(m, e)}>
              <label>
                Member address
                <input name="member" type="email" required />
              </label>
              <label>
                May
                <select name="rights" defaultValue="read">
                  <option value="read">{rightsLabel.read}</option>
                  <option value="send">{rightsLabel.send}</option>
                </select>
              </label>
              <button type="submit" disabled={busy}>
                Add member
              </button>
            </form>
          ) : (
            <p>Only {m.createdBy || 'the administrator who created it'} holds its key and manages its members.</p>
          )}
        </article>
      ))}
    </section>
  );
}
