/**
 * Domains (docs/admin.md, "Domains"): the account's domains with their status, adding one,
 * proving ownership (DNS TXT), the records to publish with copy buttons, the checker, DKIM key
 * rotation over two selectors, removal; and per domain the cross-domain E2EE switch and the
 * encryption policy for recipients who cannot get mail end to end (chosen once).
 */
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { ApiClient, ApiClientError } from '@sealmail/client';
import {
  adminDkimActivate,
  adminDkimPrepare,
  adminDkimRetire,
  adminDomainAdd,
  adminDomainCheck,
  adminDomainGet,
  adminDomainRemove,
  adminDomainVerify,
  type DnsRecordSpec,
  type DomainDetail,
  type RecordCheck,
} from '@sealmail/contract';
import { useReauth } from '../Reauth';
import { CopyButton } from './CopyButton';
import './domains.css';

const api = new ApiClient({ baseUrl: '' });
type DomainRow = Awaited<ReturnType<ApiClient['adminDomains']>>['domains'][number];

const POLICIES = {
  secure_only: 'Secure only (expiring links, never standard mail)',
  secure_default: 'Secure by default (expiring links; users may choose standard mail)',
  standard_default: 'Standard by default (users may choose expiring links)',
} as const;
type Policy = keyof typeof POLICIES;

const message = (err: unknown, fallback: string) => (err instanceof ApiClientError || err instanceof Error ? err.message : fallback);

export function DomainsSection() {
  const [domains, setDomains] = useState<DomainRow[] | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const guard = useReauth();

  const reload = useCallback(() => api.adminDomains().then((r) => setDomains(r.domains), (e: unknown) => setProblem(message(e, 'The domains could not be loaded.'))), []);
  useEffect(() => void reload(), [reload]);

  async function add(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const name = String(new FormData(form).get('domain')).trim();
    setProblem(null);
    setStatus(null);
    try {
      const d = await guard(() => api.call(adminDomainAdd, { name }));
      form.reset();
      await reload();
      setOpen(d.name);
      setStatus(`${d.name} added. Publish its verification record, then press Verify.`);
    } catch (err) {
      const code = err instanceof ApiClientError ? err.code : null;
      setProblem(code === 'VALIDATION_FAILED' ? 'Type a domain name such as example.com (no @, no https://).' : message(err, 'The domain could not be added.'));
    }
  }

  async function toggle(name: string, on: boolean) {
    setProblem(null);
    try {
      const r = await guard(() => api.setCrossDomainE2ee(name, on));
      setDomains((ds) => ds?.map((d) => (d.name === r.name ? { ...d, crossDomainE2ee: r.crossDomainE2ee } : d)) ?? null);
      setStatus(`Cross-domain E2EE ${r.crossDomainE2ee ? 'on' : 'off'} for ${r.name}.`);
    } catch (err) {
      setProblem(message(err, 'The change failed.'));
    }
  }

  async function choose(name: string, policy: Policy) {
    if (!window.confirm(`Set the policy of ${name} to “${POLICIES[policy]}”? It cannot be changed later.`)) return;
    setProblem(null);
    try {
      const r = await guard(() => api.setEncryptionPolicy(name, policy));
      setDomains((ds) => ds?.map((d) => (d.name === r.name ? { ...d, encryptionPolicy: r.encryptionPolicy } : d)) ?? null);
      setStatus(`Encryption policy of ${r.name}: ${POLICIES[r.encryptionPolicy!]}.`);
    } catch (err) {
      setProblem(message(err, 'The change failed.'));
    }
  }

  return (
    <section aria-label="Domains" className="domains">
      <h2>Domains</h2>
      <form aria-label="Add a domain" className="inline-form" onSubmit={add}>
        <label>
          Domain name
          <input name="domain" required placeholder="example.com" autoComplete="off" spellCheck={false} />
        </label>
        <button type="submit">Add domain</button>
      </form>
      <table className="domain-list">
        <thead>
          <tr>
            <th>Domain</th>
            <th>Status</th>
            <th>Cross-domain E2EE</th>
            <th>Encryption policy</th>
          </tr>
        </thead>
        <tbody>
          {domains?.map((d) => (
            <tr key={d.name}>
              <td data-label="Domain">
                <button type="button" className="link" aria-expanded={open === d.name} onClick={() => setOpen(open === d.name ? null : d.name)}>
                  {d.name}
                </button>
              </td>
              <td data-label="Status">{d.verifiedAt ? <span className="badge ok">Verified</span> : <span className="badge warn">Not verified</span>}</td>
              <td data-label="Cross-domain E2EE">
                <label className="check">
                  <input type="checkbox" checked={d.crossDomainE2ee} onChange={(e) => void toggle(d.name, e.currentTarget.checked)} aria-label={`Cross-domain E2EE for ${d.name}`} />
                  {d.crossDomainE2ee ? 'on' : 'off'}
                </label>
              </td>
              <td data-label="Encryption policy">
                {d.encryptionPolicy ? (
                  <span>{POLICIES[d.encryptionPolicy]}</span>
                ) : (
                  <select aria-label={`Encryption policy for ${d.name}`} value="" onChange={(e) => e.currentTarget.value && void choose(d.name, e.currentTarget.value as Policy)}>
                    <option value="">Not chosen yet (secure by default) — choose once…</option>
                    {Object.entries(POLICIES).map(([k, label]) => (
                      <option key={k} value={k}>
                        {label}
                      </option>
                    ))}
                  </select>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="hint">Mail to users of another organisation on this server is end-to-end encrypted only when both organisations turn this on for their domains. Open a domain for its DNS records.</p>
      {status && <p role="status">{status}</p>}
      {problem && <p role="alert">{problem}</p>}
      {open && (
        <DomainPanel
          key={open}
          name={open}
          onChanged={() => {
            setStatus(null);
            void reload();
          }}
          onRemoved={() => {
            setOpen(null);
            setStatus(`${open} was removed.`);
            void reload();
          }}
        />
      )}
    </section>
  );
}

const STATUS_LABEL = { ok: 'Right', missing: 'Missing', wrong: 'Wrong' } as const;

/** One domain: ownership, records with copy buttons, the checker, DKIM keys, removal. */
function DomainPanel({ name, onChanged, onRemoved }: { name: string; onChanged: () => void; onRemoved: () => void }) {
  const [d, setD] = useState<DomainDetail | null>(null);
  const [checks, setChecks] = useState<{ at: string; results: RecordCheck[] } | null>(null);
  // Each message is shown beside the part of the panel it is about.
  type Area = 'verify' | 'check' | 'dkim' | 'remove';
  const [note, setNoteIn] = useState<{ where: Area; text: string } | null>(null);
  const [problem, setProblemIn] = useState<{ where: Area; text: string } | null>(null);
  const said = (where: Area) => (
    <>
      {note?.where === where && <p role="status">{note.text}</p>}
      {problem?.where === where && <p role="alert">{problem.text}</p>}
    </>
  );
  const [busy, setBusy] = useState(false);
  const [unpublished, setUnpublished] = useState(false);
  const guard = useReauth();

  useEffect(() => {
    api.request(adminDomainGet, { params: { name } }).then(setD, (e: unknown) => setProblemIn({ where: 'verify', text: message(e, 'The domain could not be loaded.') }));
  }, [name]);

  async function run<T>(where: Area, what: () => Promise<T>, fallback: string): Promise<T | undefined> {
    setBusy(true);
    setProblemIn(null);
    setNoteIn(null);
    try {
      return await what();
    } catch (err) {
      setProblemIn({ where, text: message(err, fallback) });
      return undefined;
    } finally {
      setBusy(false);
    }
  }

  async function verify() {
    const r = await run('verify', () => api.request(adminDomainVerify, { params: { name } }), 'The lookup failed.');
    if (!r) return;
    if (r.verified) {
      setD((x) => (x ? { ...x, verifiedAt: r.verifiedAt } : x));
      setNoteIn({ where: 'verify', text: `${name} is verified: users, lists and mail for it are now accepted.` });
      onChanged();
    } else
      setProblemIn({
        where: 'verify',
        text: r.found.length
          ? `Not verified: ${r.expected.name} holds ${r.found.map((f) => `"${f}"`).join(', ')}, not this domain's token. Replace it with "${r.expected.value}".`
          : `Not verified: there is no TXT record at ${r.expected.name} yet. Publish "${r.expected.value}" there (DNS changes can take a few minutes), then verify again.`,
      });
  }

  async function check() {
    const r = await run('check', () => api.request(adminDomainCheck, { params: { name } }), 'The check failed.');
    if (r) setChecks({ at: r.checkedAt, results: r.results });
  }

  async function dkim(step: 'next' | 'activate' | 'retire', confirmPublished = false) {
    setUnpublished(false);
    const r = await run(
      'dkim',
      () =>
        guard(() =>
          step === 'next'
            ? api.request(adminDkimPrepare, { params: { name } })
            : step === 'activate'
              ? api.request(adminDkimActivate, { params: { name }, body: confirmPublished ? { confirmPublished: true } : {} })
              : api.request(adminDkimRetire, { params: { name } }),
        ).catch((err: unknown) => {
          if (err instanceof ApiClientError && err.code === 'DKIM_NOT_PUBLISHED') setUnpublished(true);
          throw err;
        }),
      'The DKIM change failed.',
    );
    if (!r) return;
    setD(r);
    const active = r.dkim.find((k) => k.state === 'active')?.selector;
    setNoteIn({
      where: 'dkim',
      text:
        step === 'next'
          ? 'A new DKIM key is ready: publish its record below, then switch signing to it.' : step === 'activate' ? `Outbound mail is now signed with selector ${active}. Keep the old record published for a few days, then retire it.` : 'The old DKIM key is retired: delete its DNS record.',
    });
  }

  async function remove() {
    if (!window.confirm(`Remove ${name} from your organisation? Its DKIM keys are deleted.`)) return;
    const r = await run('remove', () => guard(() => api.request(adminDomainRemove, { params: { name } })), 'The domain could not be removed.');
    if (r) onRemoved();
  }

  if (!d) return problem ? <p role="alert">{problem.text}</p> : <p>Loading {name}…</p>;
  const byId = new Map(checks?.results.map((c) => [c.record.id, c]));
  const next = d.dkim.find((k) => k.state === 'next');
  const old = d.dkim.find((k) => k.state === 'old');
  return (
    <section aria-label={`Domain ${name}`} className="domain-panel">
      <h3>{name}</h3>
      {!d.verifiedAt ? (
        <div className="verify">
          <p>
            <strong>Not verified.</strong> Until it is, {name} takes no mail and no users or lists. Publish this TXT record at your DNS provider, then press Verify.
          </p>
          <RecordCard record={d.verification} check={byId.get('verify')} />
          <button type="button" onClick={() => void verify()} disabled={busy}>
            Verify
          </button>
          {said('verify')}
        </div>
      ) : (
        <p>
          <span className="badge ok">Verified</span> since {new Date(d.verifiedAt).toLocaleString()}. {d.usage.users} user{d.usage.users === 1 ? '' : 's'}, {d.usage.lists} list{d.usage.lists === 1 ? '' : 's'}.
        </p>
      )}
      {d.verifiedAt && said('verify')}

      <h4>Records to publish</h4>
      <p className="hint">Publish each record at your DNS provider exactly as shown, then check.</p>
      <div className="records">
        {d.records.map((r) => (
          <RecordCard key={r.id} record={r} check={byId.get(r.id)} />
        ))}
      </div>
      <div className="record policy">
        <p>
          <strong>MTA-STS policy file</strong>, served by this server at <code>{d.mtaStsPolicy.url}</code> once the <code>mta-sts.{name}</code> record points here:
        </p>
        <pre>{d.mtaStsPolicy.content}</pre>
        <CopyButton text={d.mtaStsPolicy.content} label="Copy the MTA-STS policy" />
      </div>
      <button type="button" onClick={() => void check()} disabled={busy}>
        Check records
      </button>
      {said('check')}
      {checks && (
        <p role="status">
          Checked {new Date(checks.at).toLocaleTimeString()}: {checks.results.filter((c) => c.status === 'ok').length} of {checks.results.length} right.
        </p>
      )}

      <h4>DKIM keys</h4>
      <ul className="dkim">
        {d.dkim.map((k) => (
          <li key={k.selector}>
            <strong>{k.selector}</strong> — {k.state === 'active' ? 'signs outbound mail' : k.state === 'next' ? 'new, not signing yet: publish its record' : 'replaced: keep its record until you retire it'}
          </li>
        ))}
      </ul>
      <div className="buttons">
        {!next && !old && (
          <button type="button" onClick={() => void dkim('next')} disabled={busy}>
            Make a new DKIM key
          </button>
        )}
        {next && (
          <button type="button" onClick={() => void dkim('activate')} disabled={busy}>
            Switch signing to {next.selector}
          </button>
        )}
        {next && unpublished && (
          <button type="button" className="secondary" onClick={() => void dkim('activate', true)} disabled={busy}>
            I have published it: switch anyway
          </button>
        )}
        {old && (
          <button type="button" className="secondary" onClick={() => void dkim('retire')} disabled={busy}>
            Retire old key {old.selector}
          </button>
        )}
      </div>
      {said('dkim')}

      <h4>Remove</h4>
      <button type="button" className="danger" onClick={() => void remove()} disabled={busy}>
        Remove {name}
      </button>
      {said('remove')}
    </section>
  );
}

/** One record with copy buttons for its name and value, and the checker's verdict when there is one. */
function RecordCard({ record, check }: { record: DnsRecordSpec; check?: RecordCheck | undefined }) {
  return (
    <div className={`record${check ? ` ${check.status}` : ''}`} aria-label={`${record.type} record ${record.name}`} role="group">
      <p className="record-head">
        <span className="rtype">{record.type}</span> {record.purpose}
        {check && <span className={`badge ${check.status === 'ok' ? 'ok' : 'bad'}`}>{STATUS_LABEL[check.status]}</span>}
      </p>
      <dl>
        <dt>Name</dt>
        <dd>
          <code>{record.name}</code> <CopyButton text={record.name} label={`Copy the name of the ${record.type} record ${record.name}`} />
        </dd>
        {record.priority !== undefined && (
          <>
            <dt>Priority</dt>
            <dd>{record.priority}</dd>
          </>
        )}
        <dt>Value</dt>
        <dd>
          <code>{record.value}</code> <CopyButton text={record.value} label={`Copy the value of the ${record.type} record ${record.name}`} />
        </dd>
      </dl>
      {check && check.status !== 'ok' && <CheckLine check={check} />}
    </div>
  );
}

function CheckLine({ check }: { check: RecordCheck }) {
  return (
    <div className="check-result">
      {check.found.length > 0 && (
        <p>
          Found: {check.found.map((f, i) => (
            <code key={i}>{f}</code>
          ))}
        </p>
      )}
      {check.advice && <p>{check.advice}</p>}
    </div>
  );
}
