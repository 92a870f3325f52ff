import { useState, type FormEvent } from 'react';
import { ApiClientError } from '@sealmail/client';
import { describeError, useTranslation } from '@sealmail/ui';
import { api } from '../SignIn';

/**
 * Change the password: the current one, the new one twice. Every other session is signed out.
 * `forced`: an administrator reset it, so this comes before anything else.
 */
export function PasswordForm({ forced = false, onChanged }: { forced?: boolean; onChanged?: () => void }) {
  const { t } = useTranslation();
  const [problem, setProblem] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = e.currentTarget;
    const data = new FormData(form);
    const current = String(data.get('current'));
    const next = String(data.get('next'));
    setProblem(null);
    setStatus(null);
    if (next.length < 12) return setProblem(t('account.password.tooShort', { count: next.length }));
    if (next !== String(data.get('again'))) return setProblem(t('account.password.differ'));
    if (next === current) return setProblem(t('account.password.same'));
    setBusy(true);
    try {
      const { sessionsEnded } = await api.changePassword(current, next);
      form.reset();
      setStatus(sessionsEnded ? t('account.password.changedEnded', { count: sessionsEnded }) : t('account.password.changed'));
      onChanged?.();
    } catch (err) {
      if (err instanceof ApiClientError && err.code === 'PASSWORD_INCORRECT') setProblem(t('account.password.incorrect'));
      else setProblem(describeError(err instanceof ApiClientError ? err : { code: 'NETWORK' }));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="password-title" className="account-section">
      <h2 id="password-title">{forced ? t('account.password.titleForced') : t('account.password.title')}</h2>
      <p className="sub">
        {forced ? t('account.password.introForced') : t('account.password.intro')}
      </p>
      <form onSubmit={submit} aria-label={t('account.password.form')} className="stack">
        <label>
          {forced ? t('account.password.temporary') : t('account.password.current')}
          <input name="current" type="password" autoComplete="current-password" required />
        </label>
        <label>
          {t('account.password.next')}
          <input name="next" type="password" autoComplete="new-password" minLength={12} required />
        </label>
        <label>
          {t('account.password.again')}
          <input name="again" type="password" autoComplete="new-password" minLength={12} required />
        </label>
        <button type="submit" disabled={busy}>
          {t('account.password.submit')}
        </button>
      </form>
      {status && <p role="status">{status}</p>}
      {problem && <p role="alert">{problem}</p>}
    </section>
  );
}
