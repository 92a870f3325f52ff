import { useCallback, useEffect, useState } from 'react';
import { ApiClient } from '@sealmail/client';
import { adminListCreate, adminListDelete, adminListList, adminListUpdate, listPosting, type ListPosting } from '@sealmail/contract';
import { memberProblem, parseMembers, problemText } from './problem';

const api = new ApiClient({ baseUrl: '' });
type List = Awaited<ReturnType<typeof load>>[number];
const load = () => api.request(adminListList, {}).then((r) => r.lists);

/** Who may post, in words (mail from outside counts only when SPF or DKIM vouches for its sender). */
const POSTING: Record<ListPosting, string> = {
  anyone: 'Anyone',
  organisation: 'People in the organisation',
  members: 'Members only',
};
const postingOf = (f: FormData) => listPosting.parse(f.get('posting') ?? 'anyone');
function PostingSelect({ value, label }: { value?: ListPosting; label?: string }) {
  return (
    <select name="posting" defaultValue={value ?? 'anyone'} {...(label ? { 'aria-label': label } : {})}>
      {listPosting.options.map((p) => (
        <option key={p} value={p}>
          {POSTING[p]}
        </option>
      ))}
    </select>
  );
}

/**
 * Mailing lists: an address on one of the organisation's domains whose mail (from outside, or
 * posted by the organisation's own users) goes to every member, sealed by the server (mail to
 * lists is not end-to-end encrypted). Members outside the organisation get it relayed as standard
 * mail from the list address.
 */
export function Lists() {
  const [lists, setLists] = useState<List[] | null>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  // A refused member is named by its line and as typed (problem.ts), never by the request's path.
  const failed = (err: unknown, members: string[] = []) => setProblem(problemText(err, { members }));
  const reload = useCallback(() => void load().then(setLists, failed), []);
  useEffect(reload, [reload]);

  async function create(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    setProblem(null);
    const members = parseMembers(String(f.get('members')));
    const wrong = memberProblem(members);
    if (wrong) return setProblem(wrong);
    try {
      await api.request(adminListCreate, { body: { address: String(f.get('address')), name: String(f.get('name')), members, posting: postingOf(f) } });
      form.reset();
      reload();
    } catch (err) {
      failed(err, members);
    }
  }
  async function save(id: string, e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    setProblem(null);
    const members = parseMembers(String(f.get('members')));
    const wrong = memberProblem(members);
    if (wrong) return setProblem(wrong);
    try {
      await api.request(adminListUpdate, { params: { id }, body: { name: String(f.get('name')), members, posting: postingOf(f) } });
      setEditing(null);
      reload();
    } catch (err) {
      failed(err, members);
    }
  }
  async function remove(l: List) {
    if (!window.confirm(`Delete the list ${l.address}? Mail to it will be refused.`)) return;
    await api.request(adminListDelete, { params: { id: l.id } }).then(reload, failed);
  }

  return (
    <section aria-label="Mailing lists">
      <h2>Mailing lists</h2>
      <p>Mail to a list is not end-to-end encrypted: the server seals a copy for each member here, and relays it as standard mail to members outside your organisation.</p>
      <table>
        <thead>
          <tr>
            <th>Address</th>
            <th>Name</th>
            <th>Members</th>
            <th>Who may post</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {lists?.map((l) =>
            editing === l.id ? (
              <tr key={l.id}>
                <td>{l.address}</td>
                <td colSpan={4}>
                  <form aria-label={`Edit ${l.address}`} onSubmit={(e) => void save(l.id, e)}>
                    <input name="name" defaultValue={l.name} required aria-label="List name" />
                    <textarea name="members" defaultValue={l.members.map((m) => m.address).join('\n')} rows={4} aria-label="Members, one per line" />
                    <PostingSelect value={l.posting} label="Who may post" />
                    <button type="submit">Save</button>
                    <button type="button" onClick={() => setEditing(null)}>
                      Cancel
                    </button>
                  </form>
                </td>
              </tr>
            ) : (
              <tr key={l.id}>
                <td>{l.address}</td>
                <td>{l.name}</td>
                <td>{l.members.map((m) => (m.local ? m.address : `${m.address} (outside, relayed as standard mail)`)).join(', ') || 'none'}</td>
                <td>{POSTING[l.posting]}</td>
                <td>
                  <button type="button" onClick={() => setEditing(l.id)} aria-label={`Edit ${l.address}`}>
                    Edit
                  </button>
                  <button type="button" onClick={() => void remove(l)} aria-label={`Delete ${l.address}`}>
                    Delete
                  </button>
                </td>
              </tr>
            ),
          )}
        </tbody>
      </table>
      {lists?.length === 0 && <p>No lists yet.</p>}
      <form aria-label="New mailing list" onSubmit={(e) => void create(e)}>
        <label>
          Address
          <input name="address" type="email" required placeholder="team@your-domain" />
        </label>
        <label>
          Name
          <input name="name" required />
        </label>
        <label>
          Members (one per line)
          <textarea name="members" rows={3} />
        </label>
        <label>
          Who may post
          <PostingSelect />
        </label>
        <p>“People in the organisation” and “Members only” take mail from outside only when SPF or DKIM vouches for its sender; anything else is refused, and the sender is told.</p>
        <button type="submit">Create list</button>
      </form>
      {problem && <p role="alert">{problem}</p>}
    </section>
  );
}
