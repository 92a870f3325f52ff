import { useState, type FormEvent } from 'react';
import { ApiClient, ApiClientError } from '@sealmail/client';
import { adminMailSearch, adminMailTrace, type MailSearchResult, type TraceItem } from '@sealmail/contract';
import { formatBytes } from '../charts';
import './activity.css';

const api = new ApiClient({ baseUrl: '' });
const message = (err: unknown) => (err instanceof ApiClientError ? err.message : 'The server could not be asked; try again.');
const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : '—');

type TraceForm = { sender: string; recipient: string; from: string; to: string; messageId: string };
type SearchForm = { party: string; sender: string; recipient: string; from: string; to: string; minSize: string };

/** Non-empty fields as query parameters; local date-times as ISO instants. */
function query<T extends Record<string, string>>(f: T): Record<string, string> {
  const q: Record<string, string> = {};
  for (const [k, v] of Object.entries(f)) {
    if (!v.trim()) continue;
    q[k] = k === 'from' || k === 'to' ? new Date(v).toISOString() : k === 'minSize' ? String(Math.round(Number(v) * 1024)) : v.trim();
  }
  return q;
}

function Field<T extends Record<string, string>>({ id, form, set, name, label, type = 'text', hint }: { id: string; form: T; set: (f: T) => void; name: keyof T & string; label: string; type?: string; hint?: string }) {
  return (
    <label>
      {label}
      <input type={type} value={form[name]} onChange={(e) => set({ ...form, [name]: e.currentTarget.value })} aria-describedby={hint ? `${id}-${name}-hint` : undefined} {...(type === 'number' ? { min: 0 } : {})} />
      {hint && (
        <span className="hint" id={`${id}-${name}-hint`}>
          {hint}
        </span>
      )}
    </label>
  );
}

const DIRECTION = { inbound: 'Received from outside', outbound: 'Sent outside', internal: 'Sent inside the organisation' } as const;

function Trace({ m }: { m: TraceItem }) {
  return (
    <article className="trace" aria-label={`Message from ${m.sender}, ${when(m.sentAt)}`}>
      <h4>
        {DIRECTION[m.direction]}: {m.sender} → {[...m.to, ...m.cc].join(', ') || '(no visible recipients)'}
      </h4>
      <dl>
        <dt>Sent</dt>
        <dd>
          {when(m.sentAt)} · {formatBytes(m.size)} · {m.attachments} {m.attachments === 1 ? 'attachment' : 'attachments'} · {m.protection === 'e2ee' ? 'end-to-end encrypted' : 'server encrypted'}
        </dd>
        <dt>Message id</dt>
        <dd className="fp">{m.id}</dd>
        {m.received && (
          <>
            <dt>Received</dt>
            <dd>Over SMTP from outside. SPF, DKIM and DMARC results are sealed inside the message for its recipients; the server does not keep them.</dd>
          </>
        )}
        <dt>Mailboxes here</dt>
        <dd>
          {m.mailboxes.length === 0 ? (
            'none'
          ) : (
            <ul>
              {m.mailboxes.map((b) => (
                <li key={`${b.address}-${b.role}`}>
                  {b.address} ({b.role === 'sender-copy' ? 'sender’s copy' : b.role}), filed in {b.folder}, {when(b.deliveredAt)}
                </li>
              ))}
            </ul>
          )}
        </dd>
        {m.outbound.length > 0 && (
          <>
            <dt>Outside delivery</dt>
            <dd>
              <ul>
                {m.outbound.map((o) => (
                  <li key={`${o.recipient}-${o.kind}`}>
                    {o.recipient}
                    {o.kind === 'link-notice' ? ' (link notice)' : ''}: <span className={`state-${o.status}`}>{o.status}</span> after {o.attempts} {o.attempts === 1 ? 'attempt' : 'attempts'}
                    {o.lastError ? ` — ${o.lastError}` : ''}
                    {o.bouncedAt ? ` — sender notified ${when(o.bouncedAt)}` : ''}
                  </li>
                ))}
              </ul>
            </dd>
          </>
        )}
        {m.links.length > 0 && (
          <>
            <dt>Expiring links</dt>
            <dd>
              <ul>
                {m.links.map((l) => (
                  <li key={l.recipient}>
                    {l.recipient}: {l.expiredAt ? `expired ${when(l.expiredAt)}` : `expires ${when(l.expiresAt)}`}, opened {l.openCount} {l.openCount === 1 ? 'time' : 'times'}
                  </li>
                ))}
              </ul>
            </dd>
          </>
        )}
      </dl>
    </article>
  );
}

/**
 * Mail activity: message trace (each message's route: received, mailboxes, outside deliveries,
 * links) and metadata search (who mailed whom, when, sizes). Metadata only; every search is
 * recorded in the change history.
 */
export function MailActivity() {
  const [trace, setTrace] = useState<TraceForm>({ sender: '', recipient: '', from: '', to: '', messageId: '' });
  const [traced, setTraced] = useState<{ items: TraceItem[]; next: string | null; q: Record<string, string> } | null>(null);
  const [search, setSearch] = useState<SearchForm>({ party: '', sender: '', recipient: '', from: '', to: '', minSize: '' });
  const [found, setFound] = useState<{ items: MailSearchResult[]; next: string | null; q: Record<string, string> } | null>(null);
  const [traceProblem, setTraceProblem] = useState<string | null>(null);
  const [searchProblem, setSearchProblem] = useState<string | null>(null);

  async function runTrace(e: FormEvent | null, before?: string) {
    e?.preventDefault();
    setTraceProblem(null);
    const q = before && traced ? traced.q : query(trace);
    try {
      const r = await api.request(adminMailTrace, { query: { ...q, ...(before ? { before } : {}) } });
      setTraced({ items: before && traced ? [...traced.items, ...r.messages] : r.messages, next: r.nextBefore, q });
    } catch (err) {
      setTraceProblem(message(err));
    }
  }

  async function runSearch(e: FormEvent | null, before?: string) {
    e?.preventDefault();
    setSearchProblem(null);
    const q = before && found ? found.q : query(search);
    try {
      const r = await api.request(adminMailSearch, { query: { ...q, ...(before ? { before } : {}) } });
      setFound({ items: before && found ? [...found.items, ...r.results] : r.results, next: r.nextBefore, q });
    } catch (err) {
      setSearchProblem(message(err));
    }
  }

  return (
    <div className="activity">
      <section aria-labelledby="trace-title">
        <h2 id="trace-title">Message trace</h2>
        <p className="hint">Follow messages by sender, recipient, time or message id: where each one went and how its delivery stands. Addresses, times and sizes only; the server never shows content.</p>
        <form className="filters" onSubmit={(e) => void runTrace(e)} aria-label="Trace messages">
          <Field id="trace" form={trace} set={setTrace} name="sender" label="Sender" type="email" />
          <Field id="trace" form={trace} set={setTrace} name="recipient" label="Recipient" type="email" />
          <Field id="trace" form={trace} set={setTrace} name="from" label="From" type="datetime-local" />
          <Field id="trace" form={trace} set={setTrace} name="to" label="Until" type="datetime-local" />
          <Field id="trace" form={trace} set={setTrace} name="messageId" label="Message id" />
          <div className="buttons">
            <button type="submit">Trace</button>
          </div>
        </form>
        {traceProblem && (
          <p role="alert" className="problem">
            {traceProblem}
          </p>
        )}
        {traced && (
          <div aria-live="polite">
            <h3>{traced.items.length === 0 ? 'No messages match.' : `${traced.items.length} ${traced.items.length === 1 ? 'message' : 'messages'}${traced.next ? ' so far' : ''}`}</h3>
            {traced.items.map((m) => (
              <Trace key={m.id} m={m} />
            ))}
            {traced.next && (
              <button type="button" className="secondary" onClick={() => void runTrace(null, traced.next!)}>
                Show older messages
              </button>
            )}
          </div>
        )}
      </section>

      <section aria-labelledby="search-title">
        <h2 id="search-title">Metadata search</h2>
        <p className="hint">Who mailed whom, when, and how large, across the organisation. Each search, with what you searched for, is recorded in the change history.</p>
        <form className="filters" onSubmit={(e) => void runSearch(e)} aria-label="Search mail metadata">
          <Field id="search" form={search} set={setSearch} name="party" label="Address or domain contains" hint="At least 2 characters, e.g. example.org" />
          <Field id="search" form={search} set={setSearch} name="sender" label="Sender" type="email" />
          <Field id="search" form={search} set={setSearch} name="recipient" label="Recipient" type="email" />
          <Field id="search" form={search} set={setSearch} name="from" label="From" type="datetime-local" />
          <Field id="search" form={search} set={setSearch} name="to" label="Until" type="datetime-local" />
          <Field id="search" form={search} set={setSearch} name="minSize" label="At least (KB)" type="number" />
          <div className="buttons">
            <button type="submit">Search</button>
          </div>
        </form>
        {searchProblem && (
          <p role="alert" className="problem">
            {searchProblem}
          </p>
        )}
        {found && found.items.length === 0 && <p className="hint">No messages match.</p>}
        {found && found.items.length > 0 && (
          <div className="scroll" tabIndex={0} role="region" aria-label="Results (scrolls sideways)">
            <table>
              <caption className="visually-hidden">Messages found, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">From</th>
                  <th scope="col">To</th>
                  <th scope="col">Size</th>
                </tr>
              </thead>
              <tbody>
                {found.items.map((r) => (
                  <tr key={r.id}>
                    <td>{when(r.sentAt)}</td>
                    <td>{r.sender}</td>
                    <td>{r.recipients.join(', ')}</td>
                    <td>{formatBytes(r.size)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {found?.next && (
          <button type="button" className="secondary" onClick={() => void runSearch(null, found.next!)}>
            Show older results
          </button>
        )}
      </section>
    </div>
  );
}
