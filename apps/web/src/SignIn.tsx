import { useState, type FormEvent } from 'react';
import { ApiClient, ApiClientError } from '@sealmail/client';

export const api = new ApiClient({ baseUrl: '' });

export type Session = Awaited<ReturnType<ApiClient['session']>>;

/** The first screen: who this server is for, and the sign-in form (with a TOTP step when needed). */
export function SignIn({ domains, onSignedIn, notice }: { domains: string[] | null; onSignedIn: (s: Session) => void; notice?: string | null }) {
  /** The code field: required after TOTP_REQUIRED; offered when this network must wait (a code lets a user through). */
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
        setProblem(err.message);
      } else if (err instanceof ApiClientError && err.code === 'TOTP_REQUIRED') {
        setNeedTotp('required');
        setProblem('Enter the code from your authenticator app.');
      } else if (err instanceof ApiClientError && err.code === 'TOTP_INVALID') setProblem('That code is not right or was already used: type the code your app shows now, or an unused recovery code.');
      else if (err instanceof ApiClientError && err.code === 'VALIDATION_FAILED') setProblem('Enter a full e-mail address.');
      else setProblem(err instanceof ApiClientError && err.code !== 'NETWORK' ? err.message : 'The server cannot be reached.');
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="signin">
      <h1>Sign in to Sealmail</h1>
      <p className="sub">{domains ? `Encrypted mail for ${domains.join(', ') || 'this organisation'}` : 'Connecting…'}</p>
      <form onSubmit={submit} aria-label="Sign in">
        <label>
          E-mail address
          <input name="address" type="email" autoComplete="username" required />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required />
        </label>
        {needTotp && (
          <label>
            Authenticator code
            <input name="totp" autoComplete="one-time-code" aria-describedby="totp-help" required={needTotp === 'required'} autoFocus />
            <span id="totp-help" className="hint">
              The 6 digits your app shows, or one of your recovery codes{needTotp === 'offered' ? ' (if you use an authenticator app)' : ''}.
            </span>
          </label>
        )}
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
      {problem && <p role="alert">{problem}</p>}
    </main>
  );
}
