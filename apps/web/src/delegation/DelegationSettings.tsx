import { useCallback, useEffect, useState } from 'react';
import { keys, useTranslation, type DelegationOverview } from '@sealmail/ui';
import { delegationError } from './errors';
import './delegation.css';

/**
 * Settings → Delegation (docs/mail.md "Delegation"): who may read (or read and send as) this
 * mailbox, as this device verified it in the user's own key history; granting and revoking.
 * Each change is a signed link made in the key worker; revoking rotates the mailbox's keys.
 */
export function DelegationSettings({ address }: { address: string }) {
  const { t } = useTranslation();
  const [overview, setOverview] = useState<DelegationOverview | null>(null);
  const [delegate, setDelegate] = useState('');
  const [rights, setRights] = useState<'read' | 'send'>('read');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const load = useCallback(() => void keys({ op: 'delegationOverview', address }).then(setOverview, (err: unknown) => setProblem(delegationError(err))), [address]);
  useEffect(() => load(), [load]);

  async function act(f: () => Promise<unknown>, message: string) {
    setBusy(true);
    setProblem(null);
    setDone(null);
    try {
      await f();
      setDone(message);
      load();
    } catch (err) {
      setProblem(delegationError(err));
    } finally {
      setBusy(false);
    }
  }

  function grant(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const who = delegate.trim().toLowerCase();
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(who)) {
      setProblem(t('delegation.addressInvalid'));
      return;
    }
    void act(async () => {
      await keys({ op: 'delegationGrant', address, delegate: who, rights });
      setDelegate('');
    }, t('delegation.granted', { address: who }));
  }

  return (
    <section className="account-section delegation" aria-labelledby="delegation-title">
      <h2 id="delegation-title">{t('delegation.title')}</h2>
      <p>{t('delegation.intro')}</p>
      {overview && overview.grants.length === 0 && <p>{t('delegation.none')}</p>}
      {overview && overview.grants.length > 0 && (
        <ul className="delegates" aria-label={t('delegation.delegates')}>
          {overview.grants.map((g) => (
            <li key={g.address}>
              <span>
                <strong>{g.address}</strong> — {t(`delegation.rights.${g.rights}`)}
              </span>
              <button type="button" className="secondary" disabled={busy} aria-label={t('delegation.revokeNamed', { address: g.address })} onClick={() => void act(() => keys({ op: 'delegationRevoke', address, delegate: g.address }), t('delegation.revoked', { address: g.address }))}>
                {t('delegation.revoke')}
              </button>
            </li>
          ))}
        </ul>
      )}
      <form onSubmit={grant} className="delegation-form">
        <label htmlFor="delegate-address">{t('delegation.delegateAddress')}</label>
        <input id="delegate-address" type="email" autoComplete="off" value={delegate} onInput={(e) => setDelegate(e.currentTarget.value)} />
        <label htmlFor="delegate-rights">{t('delegation.rightsLabel')}</label>
        <select id="delegate-rights" value={rights} onChange={(e) => setRights(e.currentTarget.value as 'read' | 'send')}>
          <option value="read">{t('delegation.rights.read')}</option>
          <option value="send">{t('delegation.rights.send')}</option>
        </select>
        <button type="submit" disabled={busy}>
          {t('delegation.grant')}
        </button>
      </form>
      {done && <p role="status">{done}</p>}
      {problem && (
        <p role="alert" className="warning">
          {problem}
        </p>
      )}
      {overview && overview.mailboxes.length > 0 && (
        <>
          <h3>{t('delegation.delegatedToMe')}</h3>
          <ul>
            {overview.mailboxes.map((m) => (
              <li key={m.userId}>
                {m.address} — {t(`delegation.rights.${m.rights}`)}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
