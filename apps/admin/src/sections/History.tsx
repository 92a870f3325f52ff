import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { ApiClient, ApiClientError } from '@sealmail/client';
import { adminHistoryExport, adminHistoryList, adminHistoryVerify, type HistoryEntry, type HistoryVerification } from '@sealmail/contract';
import './activity.css';

const api = new ApiClient({ baseUrl: '' });
type Verification = HistoryVerification;
type Filters = { actor: string; action: string; target: string; from: string; to: string };
const EMPTY: Filters = { actor: '', action: '', target: '', from: '', to: '' };

/** The filters as query parameters (empty ones left out; local date-times as ISO instants). */
function query(f: Filters): Record<string, string> {
  const q: Record<string, string> = {};
  if (f.actor.trim()) q.actor = f.actor.trim();
  if (f.action.trim()) q.action = f.action.trim();
  if (f.target.trim()) q.target = f.target.trim();
  if (f.from) q.from = new Date(f.from).toISOString();
  if (f.to) q.to = new Date(f.to).toISOString();
  return q;
}

const message = (err: unknown) => (err instanceof ApiClientError ? err.message : 'The server could not be asked; try again.');
const short = (hash: string | null) => (hash ? `${hash.slice(0, 12)}…` : '—');

/**
 * Change history: every admin and security action of the organisation, newest first, with
 * filters, export (CSV, JSON lines) and a check of the hash chain that names the first entry
 * edited, deleted or reordered in the database.
 */
export function History() {
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [applied, setApplied] = useState<Filters>(EMPTY);
  const [entries, setEntries] = useState<HistoryEntry[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [verification, setVerification] = useState<Verification | null>(null);
  const [verifying, setVerifying] = useState(false);

  const load = useCallback(async (f: Filters, before?: string) => {
    setProblem(null);
    try {
      const r = await api.request(adminHistoryList, { query: { ...query(f), ...(before ? { before } : {}), limit: 50 } });
      setEntries((old) => (before && old ? [...old, ...r.entries] : r.entries));
      setNext(r.nextBefore);
    } catch (err) {
      setProblem(message(err));
    }
  }, []);
  useEffect(() => void load(EMPTY), [load]);

  function apply(e: FormEvent) {
    e.preventDefault();
    setApplied(filters);
    void load(filters);
  }

  async function verify() {
    setVerifying(true);
    setVerification(null);
    setProblem(null);
    try {
      setVerification(await api.request(adminHistoryVerify, {}));
    } catch (err) {
      setProblem(message(err));
    } finally {
      setVerifying(false);
    }
  }

  const exportHref = (format: 'csv' | 'jsonl') => `${adminHistoryExport.path}?${new URLSearchParams({ ...query(applied), format }).toString()}`;
  const field = (name: keyof Filters, label: string, type: string, hint?: string) => (
    <label>
      {label}
      <input type={type} value={filters[name]} onChange={(e) => setFilters({ ...filters, [name]: e.currentTarget.value })} aria-describedby={hint ? `history-${name}-hint` : undefined} />
      {hint && (
        <span className="hint" id={`history-${name}-hint`}>
          {hint}
        </span>
      )}
    </label>
  );

  return (
    <section aria-labelledby="history-title" className="activity">
      <h2 id="history-title">Change history</h2>
      <p className="hint">Every admin and security action, each entry chained by hash to the one before, so an entry edited or deleted in the database is found.</p>

      <div className="verify">
        <button type="button" onClick={() => void verify()} disabled={verifying}>
          {verifying ? 'Verifying…' : 'Verify the chain'}
        </button>
        {verification?.intact && (
          <p role="status" className="ok">
            <strong>Chain intact.</strong> {verification.checked} {verification.checked === 1 ? 'entry' : 'entries'} checked; newest is #{verification.head.seq}, hash <code>{verification.head.hash ?? '—'}</code>. Note this hash: if it ever differs from what you noted, the history was rewritten.
          </p>
        )}
        {verification && !verification.intact && (
          <div role="alert" className="broken">
            <p>
              <strong>Chain broken at entry #{verification.firstBroken!.seq}.</strong> {verification.firstBroken!.message}
            </p>
            {verification.problems.length > 1 && (
              <ul>
                {verification.problems.slice(1).map((p) => (
                  <li key={`${p.seq}-${p.kind}`}>{p.message}</li>
                ))}
              </ul>
            )}
            <p>Someone changed the database directly. Keep an export of the history and investigate who had database access.</p>
          </div>
        )}
      </div>

      <form className="filters" onSubmit={apply} aria-label="Filter the change history">
        {field('actor', 'Who acted', 'email')}
        {field('action', 'Action', 'text', 'e.g. auth.sign_in, or auth. for all auth actions')}
        {field('target', 'About user', 'email')}
        {field('from', 'From', 'datetime-local')}
        {field('to', 'Until', 'datetime-local')}
        <div className="buttons">
          <button type="submit">Show</button>
          <button
            type="button"
            className="secondary"
            onClick={() => {
              setFilters(EMPTY);
              setApplied(EMPTY);
              void load(EMPTY);
            }}
          >
            Clear
          </button>
        </div>
      </form>
      <p className="exports">
        Export what is shown: <a href={exportHref('csv')} download>CSV</a> · <a href={exportHref('jsonl')} download>JSON lines</a>
      </p>
      {problem && (
        <p role="alert" className="problem">
          {problem}
        </p>
      )}
      {entries && entries.length === 0 && <p className="hint">No entries match.</p>}
      {entries && entries.length > 0 && (
        <div className="scroll" tabIndex={0} role="region" aria-label="Entries (scrolls sideways)">
          <table className="history">
            <caption className="visually-hidden">Change history, newest first</caption>
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Action</th>
                <th scope="col">Details</th>
                <th scope="col">Hash</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr key={e.seq}>
                  <td>{e.seq}</td>
                  <td>{new Date(e.at).toLocaleString()}</td>
                  <td>{e.actor ?? (e.actorId ? 'deleted user' : 'server')}</td>
                  <td>{e.action}</td>
                  <td className="details">{Object.keys(e.details).length ? JSON.stringify(e.details) : ''}</td>
                  <td className="fp" title={e.hash ?? ''}>
                    {short(e.hash)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {next && (
        <button type="button" className="secondary" onClick={() => void load(applied, next)}>
          Show older entries
        </button>
      )}
    </section>
  );
}
