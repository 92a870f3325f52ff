import { useState, type FormEvent } from 'react';
import { ApiClientError } from '@sealmail/client';
import { describeError, formatDateTime, useTranslation } from '@sealmail/ui';
import { api, type Session } from '../SignIn';

/** Who is signed in; the display name (the From of sent mail) with a form to change it; sign out. */
export function Profile({ session, onChanged, onSignOut }: { session: Session; onChanged: () => void; onSignOut: () => void }) {
  const { t } = useTranslation();
  const [problem, setProblem] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function save(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const name = String(new FormData(e.currentTarget).get('displayName')).trim();
    setProblem(null);
    setStatus(null);
    if (!name) return setProblem(t('settings.nameEmpty'));
    if (/[<>"]/.test(name)) return setProblem(t('settings.nameCharacters'));
    setBusy(true);
    try {
      const r = await api.updateProfile(name);
      setStatus(t('settings.nameSaved', { name: r.displayName }));
      onChanged();
    } catch (err) {
      setProblem(err instanceof ApiClientError && err.field === 'body.displayName' ? t('settings.nameRefused', { problem: err.message }) : describeError(err instanceof ApiClientError ? err : { code: 'NETWORK' }));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section id="settings-profile" aria-labelledby="profile-title" className="account-section">
      <h2 id="profile-title">{t('settings.profile')}</h2>
      <p className="sub">
        {t('settings.signedInAs')} <strong>{session.user.displayName}</strong> ({session.user.address})
      </p>
      <form onSubmit={(e) => void save(e)} aria-label={t('settings.nameForm')} className="inline">
        <label>
          {t('settings.displayName')}
          <input name="displayName" defaultValue={session.user.displayName} maxLength={100} required autoComplete="name" aria-describedby="display-name-hint" />
        </label>
        <button type="submit" disabled={busy}>
          {t('settings.saveName')}
        </button>
      </form>
      <p id="display-name-hint" className="hint">
        {t('settings.nameHint')}
      </p>
      <dl className="facts">
        <dt>{t('account.secondFactor')}</dt>
        <dd>{session.totpEnabled ? t('account.on') : t('account.off')}</dd>
        <dt>{t('account.sessionEnds')}</dt>
        <dd>{formatDateTime(session.expiresAt)}</dd>
      </dl>
      {status && <p role="status">{status}</p>}
      {problem && <p role="alert">{problem}</p>}
      <button type="button" className="secondary" onClick={onSignOut}>
        {t('common.signOut')}
      </button>
    </section>
  );
}
