import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { ApiClient, ApiClientError } from '@sealmail/client';
import {
  adminAliasAdd,
  adminAliasRemove,
  adminUserCreate,
  adminUserDelete,
  adminUserImport,
  adminUserInvite,
  adminUserList,
  adminUserStatus,
  adminUserUpdate,
  PLANS,
  type AdminUser,
  type PlanId,
} from '@sealmail/contract';
import { useReauth } from '../Reauth';
import { useConsole } from '../console';
import { formatBytes, formatTime } from '../format';

const api = new ApiClient({ baseUrl: '' });
const ROLES = { user: 'User', admin: 'Administrator', escrow_admin: 'Escrow administrator' } as const;
type Role = keyof typeof ROLES;
const planLabel = (u: AdminUser) => (u.plan ? PLANS[u.plan].label : 'Custom');
const problemOf = (err: unknown) => (err instanceof ApiClientError || err instanceof Error ? err.message : 'The change failed.');

/**
 * Users: create one or upload a CSV, then per user: a one-time set-up link, role, plan quota,
 * aliases, suspension, password reset and deletion (docs/admin.md, Users).
 */
export function Users() {
  const [users, setUsers] = useState<AdminUser[] | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const { setProblem } = useConsole();
  const load = useCallback(() => api.call(adminUserList).then((r) => setUsers(r.users), (err: unknown) => setProblem(problemOf(err))), [setProblem]);
  useEffect(() => void load(), [load]);
  const replace = (u: AdminUser) => setUsers((us) => us?.map((x) => (x.address === u.address ? u : x)) ?? null);

  return (
    <>
      <section aria-label="Users">
        <h2>Users</h2>
        {status && <p role="status">{status}</p>}
        {users === null ? (
          <p>Loading…</p>
        ) : (
          <ul className="user-list">
            {users.map((u) => (
              <UserCard key={u.address} user={u} onChanged={replace} onDeleted={(m) => (setStatus(m), void load())} />
            ))}
          </ul>
        )}
      </section>
      <NewUser onCreated={(u) => (setUsers((us) => [...(us ?? []), u]), setStatus(`Created ${u.address}. Give them a set-up link next (Manage).`))} />
      <CsvUpload onDone={() => void load()} />
    </>
  );
}

function UserCard({ user: u, onChanged, onDeleted }: { user: AdminUser; onChanged: (u: AdminUser) => void; onDeleted: (message: string) => void }) {
  const guard = useReauth();
  const { address: me } = useConsole();
  const [problem, setProblem] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [invite, setInvite] = useState<{ link: string; expiresAt: string; mailedTo: string | null; mailProblem: string | null } | null>(null);
  const [temporary, setTemporary] = useState<string | null>(null);
  const [plan, setPlan] = useState<PlanId | 'custom'>(u.plan ?? 'custom');
  const params = { address: u.address };

  async function run(what: () => Promise<unknown>) {
    setProblem(null);
    setNote(null);
    try {
      await what();
    } catch (err) {
      setProblem(problemOf(err));
    }
  }
  const update = (body: object) => run(async () => onChanged(await guard(() => api.request(adminUserUpdate, { params, body }))));
  const usedShare = Math.min(100, (u.usedBytes / Math.max(1, u.quotaBytes)) * 100);

  return (
    <li className="user-card" aria-label={`User ${u.address}`}>
      <div className="user-head">
        <strong>{u.displayName}</strong> <span className="addr">{u.address}</span>
        <span className="badges">
          {u.role !== 'user' && <span className="badge">{ROLES[u.role]}</span>}
          {u.status === 'suspended' && <span className="badge warn">Suspended</span>}
          {u.legalHold && <span className="badge warn">Legal hold</span>}
          {!u.hasKeys && <span className="badge">Not set up yet</span>}
        </span>
      </div>
      <div className="usage">
        <span>
          {planLabel(u)}: {formatBytes(u.usedBytes)} of {formatBytes(u.quotaBytes)} used
        </span>
        <progress max={100} value={usedShare} aria-label={`Storage used by ${u.address}`} />
      </div>
      {u.aliases.length > 0 && <p className="aliases">Also receives mail for: {u.aliases.join(', ')}</p>}
      <details>
        <summary>Manage {u.address}</summary>
        <div className="manage">
          <div className="row">
            <button type="button" onClick={() => void run(async () => setInvite(await api.request(adminUserInvite, { params, body: {} })))}>
              Create set-up link
            </button>
            {u.address !== me &&
              (u.status === 'active' ? (
                <button
                  type="button"
                  className="secondary"
                  onClick={() =>
                    window.confirm(`Suspend ${u.address}? They are signed out everywhere and cannot sign in; mail to them is refused until you reactivate them.`) &&
                    void run(async () => (onChanged(await guard(() => api.request(adminUserStatus, { params, body: { status: 'suspended' } }))), setNote(`${u.address} is suspended and signed out everywhere.`)))
                  }
                >
                  Suspend
                </button>
              ) : (
                <button type="button" className="secondary" onClick={() => void run(async () => (onChanged(await guard(() => api.request(adminUserStatus, { params, body: { status: 'active' } }))), setNote(`${u.address} can sign in again.`)))}>
                  Reactivate
                </button>
              ))}
            {u.address !== me && u.hasKeys && (
              <button type="button" className="secondary" onClick={() => void run(async () => setTemporary((await guard(() => api.adminResetPassword(u.address))).temporaryPassword))}>
                Reset password
              </button>
            )}
          </div>
          <form
            aria-label={`Send the set-up link of ${u.address} by mail`}
            onSubmit={(e) => {
              e.preventDefault();
              const sendTo = String(new FormData(e.currentTarget).get('sendTo')).trim();
              void run(async () => setInvite(await api.request(adminUserInvite, { params, body: { sendTo } })));
            }}
          >
            <label>
              Or mail a new set-up link to (an address outside, e.g. their private one)
              <input name="sendTo" type="email" required />
            </label>
            <button type="submit" className="secondary">
              Mail the link
            </button>
          </form>
          {invite && <InviteLink address={u.address} invite={invite} />}
          {temporary && (
            <p role="status">
              {u.address} is signed out everywhere. Give them this temporary password; they must choose their own at the next sign-in:{' '}
              <code className="temporary" aria-label="Temporary password">
                {temporary}
              </code>
            </p>
          )}
          <div className="row">
            <label>
              Role
              <select value={u.role} onChange={(e) => void update({ role: e.currentTarget.value as Role })}>
                {Object.entries(ROLES).map(([k, v]) => (
                  <option key={k} value={k}>
                    {v}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Plan
              <select
                value={plan}
                onChange={(e) => {
                  const p = e.currentTarget.value as PlanId | 'custom';
                  setPlan(p);
                  if (p !== 'custom') void update({ plan: p });
                }}
              >
                {Object.entries(PLANS).map(([k, v]) => (
                  <option key={k} value={k}>
                    {v.label} ({formatBytes(v.quotaBytes)})
                  </option>
                ))}
                <option value="custom">Custom quota</option>
              </select>
            </label>
          </div>
          {plan === 'custom' && (
            <form
              aria-label={`Custom quota of ${u.address}`}
              onSubmit={(e) => {
                e.preventDefault();
                const gb = Number(new FormData(e.currentTarget).get('gb'));
                void update({ plan: null, quotaBytes: Math.round(gb * 1024 ** 3) });
              }}
            >
              <label>
                Quota in GB
                <input name="gb" type="number" min="0.01" step="any" required defaultValue={(u.quotaBytes / 1024 ** 3).toFixed(2)} />
              </label>
              <button type="submit">Set quota</button>
            </form>
          )}
          <Aliases user={u} onChanged={onChanged} />
          {u.address !== me && (
            <p>
              <button
                type="button"
                className="danger"
                onClick={() =>
                  window.confirm(`Delete ${u.address}? Their mailbox is deleted: mail only they hold is gone for good; copies others received stay with them. This cannot be undone.`) &&
                  void run(async () => {
                    const r = await guard(() => api.request(adminUserDelete, { params }));
                    onDeleted(`Deleted ${u.address} and ${r.messagesDeleted} message${r.messagesDeleted === 1 ? '' : 's'} only they held.`);
                  })
                }
              >
                Delete user
              </button>
            </p>
          )}
          {note && <p role="status">{note}</p>}
          {problem && <p role="alert">{problem}</p>}
        </div>
      </details>
    </li>
  );
}

function InviteLink({ address, invite }: { address: string; invite: { link: string; expiresAt: string; mailedTo: string | null; mailProblem: string | null } }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="invite" role="group" aria-label={`Set-up link for ${address}`}>
      <p>
        {invite.mailedTo ? `Mailed to ${invite.mailedTo}. ` : ''}
        {invite.mailProblem ? `It could not be mailed (${invite.mailProblem}); pass it on another way. ` : ''}
        This link is shown once and works once, until {formatTime(invite.expiresAt)}. Earlier links of {address} no longer work.
      </p>
      <input readOnly value={invite.link} aria-label="Set-up link" onFocus={(e) => e.currentTarget.select()} />
      <button type="button" onClick={() => void navigator.clipboard.writeText(invite.link).then(() => setCopied(true))}>
        Copy link
      </button>
      {copied && <span role="status"> Copied.</span>}
    </div>
  );
}

function Aliases({ user: u, onChanged }: { user: AdminUser; onChanged: (u: AdminUser) => void }) {
  const [problem, setProblem] = useState<string | null>(null);
  async function add(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const alias = String(new FormData(form).get('alias')).trim();
    setProblem(null);
    try {
      onChanged(await api.request(adminAliasAdd, { params: { address: u.address }, body: { alias } }));
      form.reset();
    } catch (err) {
      const code = err instanceof ApiClientError ? err.code : null;
      setProblem(code === 'ADDRESS_TAKEN' ? `${alias} already belongs to a user, a mailing list or an alias: choose another address.` : problemOf(err));
    }
  }
  return (
    <div className="aliases-edit">
      <h3>Aliases of {u.address}</h3>
      {u.aliases.length === 0 ? (
        <p>None.</p>
      ) : (
        <ul>
          {u.aliases.map((a) => (
            <li key={a}>
              {a}{' '}
              <button type="button" className="secondary small" aria-label={`Remove alias ${a}`} onClick={() => void api.request(adminAliasRemove, { params: { address: u.address, alias: a } }).then(onChanged, (err: unknown) => setProblem(problemOf(err)))}>
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
      <form aria-label={`Add an alias for ${u.address}`} onSubmit={(e) => void add(e)}>
        <label>
          New alias (an address on one of your domains)
          <input name="alias" type="email" required />
        </label>
        <button type="submit">Add alias</button>
      </form>
      {problem && <p role="alert">{problem}</p>}
    </div>
  );
}

function NewUser({ onCreated }: { onCreated: (u: AdminUser) => void }) {
  const [plan, setPlan] = useState<PlanId | 'custom'>('business');
  const [problem, setProblem] = useState<string | null>(null);
  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const f = new FormData(form);
    setProblem(null);
    try {
      const u = await api.call(adminUserCreate, {
        address: String(f.get('address')).trim(),
        displayName: String(f.get('displayName')).trim(),
        role: String(f.get('role')) as Role,
        plan: plan === 'custom' ? null : plan,
        ...(plan === 'custom' ? { quotaBytes: Math.round(Number(f.get('gb')) * 1024 ** 3) } : {}),
      });
      form.reset();
      setPlan('business');
      onCreated(u);
    } catch (err) {
      const code = err instanceof ApiClientError ? err.code : null;
      setProblem(code === 'ADDRESS_TAKEN' ? 'This address already belongs to a user, a mailing list or an alias: choose another.' : problemOf(err));
    }
  }
  return (
    <section aria-label="New user">
      <h2>New user</h2>
      <form aria-label="Create a user" onSubmit={(e) => void submit(e)}>
        <label>
          Address (on one of your domains)
          <input name="address" type="email" required />
        </label>
        <label>
          Display name
          <input name="displayName" required maxLength={100} />
        </label>
        <label>
          Role
          <select name="role" defaultValue="user">
            {Object.entries(ROLES).map(([k, v]) => (
              <option key={k} value={k}>
                {v}
              </option>
            ))}
          </select>
        </label>
        <label>
          Plan
          <select name="plan" value={plan} onChange={(e) => setPlan(e.currentTarget.value as PlanId | 'custom')}>
            {Object.entries(PLANS).map(([k, v]) => (
              <option key={k} value={k}>
                {v.label} ({formatBytes(v.quotaBytes)})
              </option>
            ))}
            <option value="custom">Custom quota</option>
          </select>
        </label>
        {plan === 'custom' && (
          <label>
            Quota in GB
            <input name="gb" type="number" min="0.01" step="any" required />
          </label>
        )}
        <button type="submit">Create user</button>
      </form>
      {problem && <p role="alert">{problem}</p>}
    </section>
  );
}

function CsvUpload({ onDone }: { onDone: () => void }) {
  const [results, setResults] = useState<{ line: number; address: string; status: 'created' | 'refused'; reason?: string | undefined }[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const file = new FormData(e.currentTarget).get('file');
    setProblem(null);
    setResults(null);
    if (!(file instanceof File) || file.size === 0) return setProblem('Choose a CSV file first.');
    if (file.size > 1_000_000) return setProblem('The file is larger than 1 MB: split it into several.');
    try {
      setResults((await api.call(adminUserImport, { csv: await file.text() })).results);
      onDone();
    } catch (err) {
      setProblem(problemOf(err));
    }
  }
  const created = results?.filter((r) => r.status === 'created').length ?? 0;
  return (
    <section aria-label="Upload users">
      <h2>Upload users (CSV)</h2>
      <p>
        The first row names the columns: <code>address</code>, <code>name</code>, and optionally <code>role</code> (user, admin, escrow_admin), <code>plan</code> (pro, business, business_plus, enterprise, custom) and <code>quota_gb</code>. Each row is created whole or not at all.
      </p>
      <form aria-label="Upload a CSV of users" onSubmit={(e) => void submit(e)}>
        <label>
          CSV file
          <input name="file" type="file" accept=".csv,text/csv" required />
        </label>
        <button type="submit">Upload users</button>
      </form>
      {problem && <p role="alert">{problem}</p>}
      {results && (
        <>
          <p role="status">
            {created} created, {results.length - created} refused.
          </p>
          <table aria-label="Upload results">
            <thead>
              <tr>
                <th>Line</th>
                <th>Address</th>
                <th>Result</th>
              </tr>
            </thead>
            <tbody>
              {results.map((r) => (
                <tr key={r.line}>
                  <td>{r.line}</td>
                  <td>{r.address}</td>
                  <td>{r.status === 'created' ? 'Created' : `Refused: ${r.reason}`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
