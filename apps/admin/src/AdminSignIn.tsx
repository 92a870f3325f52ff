import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { ApiClient, ApiClientError } from '@sealmail/client';
import { KeyGate } from '@sealmail/ui';
import { ReauthProvider } from './Reauth';
import { Shell } from './Shell';

const api = new ApiClient({ baseUrl: '' });
type Session = Awaited<ReturnType<ApiClient['session']>>;
/** Who may use the console: admins (every section) and escrow admins (their sections only). */
const consoleRoles: ReadonlySet<string> = new Set(['admin', 'escrow_admin']);

/** The admin console's first screen: server status and the administrator sign-in; then the console. */
export function AdminSignIn() {
  const [status, setStatus] = useState<{ version: string; ready: boolean } | null>(null);
  const [unreachable, setUnreachable] = useState(false);
  const [session, setSession] = useState<Session | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const ended = useCallback((message: string) => {
    setProblem(message);
    setSession(null);
  }, []);

  useEffect(() => {
    // The readiness check under /api: this host answers /readyz itself, with its page.
    Promise.all([api.info(), api.apiReady().then(() => true, () => false)])
      .then(([info, ready]) => setStatus({ version: info.version, ready }))
      .catch(() => setUnreachable(true));
    api.session().then((s) => (consoleRoles.has(s.user.role) ? setSession(s) : undefined), () => undefined);
  }, []);

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    setProblem(null); // an earlier attempt's message does not survive a new one
    try {
      const { session: s } = await api.signIn(String(form.get('address')), String(form.get('password')), form.get('totp') ? String(form.get('totp')) : undefined);
      if (!consoleRoles.has(s.user.role)) {
        await api.signOut();
        setProblem('This account is neither an administrator nor an escrow admin: sign in to the web client instead.');
        return;
      }
      setSession(s);
    } catch (err) {
      setProblem(err instanceof ApiClientError ? err.message : 'The server cannot be reached.');
    }
  }

  async function signOut() {
    await api.signOut().catch(() => undefined);
    setProblem(null);
    setSession(null);
  }

  // Signed in: this console is one of the admin's devices; escrow is done with its keys.
  if (session)
    return (
      <KeyGate address={session.user.address} onEnded={ended}>
        <ReauthProvider totp={session.totpEnabled}>
          <Shell address={session.user.address} role={session.user.role} onSignOut={() => void signOut()} />
        </ReauthProvider>
      </KeyGate>
    );
  return (
    <main className="admin signin-page">
      <h1>Sealmail admin console</h1>
      <section aria-label="Server status">
        {unreachable && <p>The API cannot be reached.</p>}
        {status && (
          <dl>
            <dt>Version</dt>
            <dd>{status.version}</dd>
            <dt>Database</dt>
            <dd>{status.ready ? 'ready' : 'unreachable'}</dd>
          </dl>
        )}
      </section>
      <form aria-label="Administrator sign-in" onSubmit={submit}>
        <label>
          Administrator address
          <input name="address" type="email" autoComplete="username" required />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required />
        </label>
        <label>
          Authenticator code (if you use one)
          <input name="totp" inputMode="numeric" autoComplete="one-time-code" />
        </label>
        <button type="submit">Sign in</button>
      </form>
      {problem && <p role="alert">{problem}</p>}
    </main>
  );
}
