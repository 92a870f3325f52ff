import { useCallback, useEffect, useState } from 'react';
import { ApiClientError } from '@sealmail/client';
import { clientName as uaName, describeError, formatDateTime, i18n, useTranslation } from '@sealmail/ui';
import { api } from '../SignIn';

type SessionRow = Awaited<ReturnType<typeof api.sessions>>['sessions'][number];

/** A short client name from a User-Agent ("Chrome on Linux"), or that it is unknown. */
export const clientName = (ua: string | null): string => (ua ? uaName(ua) : i18n.t('account.sessions.unknownClient'));

const when = (iso: string) => formatDateTime(iso);
const failure = (err: unknown) => describeError(err instanceof ApiClientError ? err : { code: 'NETWORK' });

/** The user's sessions: device, client, address, sign-in and last use; sign out one or all others. */
export function Sessions({ onSignedOut }: { onSignedOut: () => void }) {
  const { t } = useTranslation();
  const [rows, setRows] = useState<SessionRow[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);

  const refresh = useCallback(async () => {
    try {
      setRows((await api.sessions()).sessions);
    } catch (err) {
      setProblem(failure(err));
    }
  }, []);
  useEffect(() => void refresh(), [refresh]);

  async function signOut(row: SessionRow) {
    setProblem(null);
    try {
      await api.revokeSession(row.id);
      if (row.current) return onSignedOut();
      setStatus(t('account.sessions.ended', { name: row.deviceName ?? clientName(row.userAgent) }));
      await refresh();
    } catch (err) {
      setProblem(failure(err));
    }
  }

  async function signOutOthers() {
    setProblem(null);
    try {
      const { revoked } = await api.revokeOtherSessions();
      setStatus(revoked ? t('account.sessions.endedOthers', { count: revoked }) : t('account.sessions.noOthers'));
      await refresh();
    } catch (err) {
      setProblem(failure(err));
    }
  }

  return (
    <section aria-labelledby="sessions-title" className="account-section">
      <h2 id="sessions-title">{t('account.sessions.title')}</h2>
      <p className="sub">{t('account.sessions.intro')}</p>
      <div className="table-scroll">
        <table className="sessions stacked-table">
          <thead>
            <tr>
              <th scope="col">{t('account.sessions.device')}</th>
              <th scope="col">{t('account.sessions.client')}</th>
              <th scope="col">{t('account.sessions.address')}</th>
              <th scope="col">{t('account.sessions.signedIn')}</th>
              <th scope="col">{t('account.sessions.lastUsed')}</th>
              <th scope="col">
                <span className="visually-hidden">{t('account.sessions.action')}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows?.map((r) => (
              <tr key={r.id} aria-label={t(r.current ? 'account.sessions.rowLabelCurrent' : 'account.sessions.rowLabel', { name: r.deviceName ?? clientName(r.userAgent) })}>
                <td data-label={t('account.sessions.device')}>
                  {r.deviceName ?? <em>{t('account.sessions.noDevice')}</em>}
                  {r.deviceStatus === 'pending' && t('account.sessions.waiting')}
                  {r.current && <strong className="current">{t('account.sessions.thisSession')}</strong>}
                </td>
                <td data-label={t('account.sessions.client')} title={r.userAgent ?? ''}>{clientName(r.userAgent)}</td>
                <td data-label={t('account.sessions.address')}>{r.ip ?? t('account.sessions.unknown')}</td>
                <td data-label={t('account.sessions.signedIn')}>{when(r.createdAt)}</td>
                <td data-label={t('account.sessions.lastUsed')}>{when(r.lastSeenAt)}</td>
                <td className="row-actions">
                  <button type="button" className="secondary" onClick={() => void signOut(r)}>
                    {t('account.sessions.end')}<span className="visually-hidden"> {r.current ? t('account.sessions.thisOne') : (r.deviceName ?? clientName(r.userAgent))}</span>
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <button type="button" className="secondary" onClick={() => void signOutOthers()} disabled={!rows || rows.length < 2}>
        {t('account.sessions.endOthers')}
      </button>
      {status && <p role="status">{status}</p>}
      {problem && <p role="alert">{problem}</p>}
    </section>
  );
}
