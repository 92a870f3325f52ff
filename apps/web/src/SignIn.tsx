import { useState, type FormEvent } from 'react';
import { ApiClient, ApiClientError } from '@sealmail/client';
import { describeError, LanguagePicker, useTranslation } from '@sealmail/ui';

export const api = new ApiClient({ baseUrl: '' });

export type Session = Awaited<ReturnType<ApiClient['session']>>;

/** The first screen: who this server is for, and the sign-in form (with a TOTP step when needed). */
export function SignIn({ domains, onSignedIn, notice }: { domains: string[] | null; onSignedIn: (s: Session) => void; notice?: string | null }) {
  /** The code field: required after TOTP_REQUIRED; offered when this network must wait (a code lets a user through). */
  const { t } = useTranslation();
  const [needTotp, setNeedTotp] = useState<false | 'required' | 'offered'>(false);
  const [problem, setProblem] = useState<string | null>(notice ?? null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    setBusy(true);
    setProblem(null);
    try {
      const { session } = await api.signIn(String(form.get('address')), String(form.get('password')), needTotp ? String(form.get('totp') ?? '') || undefined : undefined);
      onSignedIn(session);
    } catch (err) {
      if (err instanceof ApiClientError && err.code === 'RATE_LIMITED') {
        setNeedTotp((n) => n || 'offered');
        setProblem(t('signin.rateLimited'));
      } else if (err instanceof ApiClientError && err.code === 'TOTP_REQUIRED') {
        setNeedTotp('required');
        setProblem(t('signin.totpRequired'));
      } else if (err instanceof ApiClientError && err.code === 'TOTP_INVALID') setProblem(t('signin.totpInvalid'));
      else if (err instanceof ApiClientError && err.code === 'VALIDATION_FAILED') setProblem(t('signin.addressInvalid'));
      else setProblem(describeError(err instanceof ApiClientError ? err : { code: 'NETWORK' }));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="signin">
      <h1>{t('signin.title')}</h1>
      <p className="sub">{domains ? t('signin.for', { domains: domains.join(', ') || t('signin.thisOrganisation') }) : t('signin.connecting')}</p>
      <form onSubmit={submit} aria-label={t('signin.form')}>
        <label>
          {t('signin.address')}
          <input name="address" type="email" autoComplete="username" required />
        </label>
        <label>
          {t('signin.password')}
          <input name="password" type="password" autoComplete="current-password" required />
        </label>
        {needTotp && (
          <label>
            {t('signin.totp')}
            <input name="totp" autoComplete="one-time-code" aria-describedby="totp-help" required={needTotp === 'required'} autoFocus />
            <span id="totp-help" className="hint">
              {needTotp === 'offered' ? t('signin.totpHelpOffered') : t('signin.totpHelp')}
            </span>
          </label>
        )}
        <button type="submit" disabled={busy}>
          {t('signin.submit')}
        </button>
      </form>
      {problem && <p role="alert">{problem}</p>}
      <LanguagePicker />
    </main>
  );
}
