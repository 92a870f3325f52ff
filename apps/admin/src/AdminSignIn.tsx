import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { ApiClient, ApiClientError } from '@sealmail/client';
import { adminSecurity, adminSecurityGet } from '@sealmail/contract';
import { KeyGate } from '@sealmail/ui';
import { Escrow } from './Escrow';
import { Domains } from './Domains';
import { Outbound } from './Outbound';
import { BlockedSenders } from './Blocked';
import { Lists } from './Lists';
import { ReauthProvider, useReauth } from './Reauth';

const api = new ApiClient({ baseUrl: '' });
type Session = Awaited<ReturnType<ApiClient['session']>>;

/** The admin console's first screen: server status and the administrator sign-in; then security settings. */
export function AdminSignIn() {
  const [status, setStatus] = useState<{ version: string; domains: string[] | undefined; ready: boolean } | null>(null);
  const [unreachable, setUnreachable] = useState(false);
  const [session, setSession] = useState<Session | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const ended = useCallback((message: string) => {
    setProblem(message);
    setSession(null);
  }, []);

  useEffect(() => {
    Promise.all([api.info(), api.ready().then(() => true, () => false)])
      .then(([info, ready]) => setStatus({ version: info.version, domains: info.domains, ready }))
      .catch(() => setUnreachable(true));
    api.session().then((s) => (s.user.role === 'admin' ? setSession(s) : undefined), () => undefined);
  }, []);

  // The server names the organisation's domains only to a signed-in caller.
  useEffect(() => {
    if (session) api.info().then((i) => setStatus((st) => (st ? { ...st, domains: i.domains } : st)), () => undefined);
  }, [session]);

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    try {
      const { session: s } = await api.signIn(String(form.get('address')), String(form.get('password')), form.get('totp') ? String(form.get('totp')) : undefined);
      if (s.user.role !== 'admin') {
        await api.signOut();
        setProblem('This account is not an administrator.');
        return;
      }
      setSession(s);
    } catch (err) {
      setProblem(err instanceof ApiClientError ? err.message : 'The server cannot be reached.');
    }
  }

  const header = (
    <>
      <h1>Sealmail admin console</h1>
      <section aria-label="Server status">
        {unreachable && <p>The API cannot be reached.</p>}
        {status && (
          <dl>
            <dt>Version</dt>
            <dd>{status.version}</dd>
            <dt>Database</dt>
            <dd>{status.ready ? 'ready' : 'unreachable'}</dd>
            {status.domains && (
              <>
                <dt>Domains</dt>
                <dd>{status.domains.join(', ') || 'none yet'}</dd>
              </>
            )}
          </dl>
        )}
      </section>
    </>
  );
  const alert = problem && <p role="alert">{problem}</p>;

  // Signed in: this console is one of the admin's devices; escrow is done with its keys.
  if (session)
    return (
      <KeyGate address={session.user.address} onEnded={ended}>
        <main className="admin">
          {header}
          <ReauthProvider totp={session.totpEnabled}>
            <Security address={session.user.address} onProblem={setProblem} />
            <Domains />
            <Outbound />
            <Lists />
            <BlockedSenders />
            <Escrow address={session.user.address} />
          </ReauthProvider>
          {alert}
        </main>
      </KeyGate>
    );
  return (
    <main className="admin">
      {header}
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
      {alert}
    </main>
  );
}

/** Security settings and password resets: sensitive switches (the password again when the API asks). */
function Security({ address, onProblem }: { address: string; onProblem: (m: string | null) => void }) {
  const guard = useReauth();
  const [requireTotp, setRequireTotp] = useState<boolean | null>(null);
  const [saved, setSaved] = useState(true);
  // Read once this console's device is set up (KeyGate): admin routes need an approved device.
  useEffect(() => {
    api.call(adminSecurityGet).then((r) => setRequireTotp(r.requireTotp), (err: Error) => onProblem(err.message));
  }, [onProblem]);
  const [reset, setReset] = useState<{ user: string; temporaryPassword: string; sessionsEnded: number } | null>(null);
  const [resetProblem, setResetProblem] = useState<string | null>(null);

  async function setPolicy(value: boolean) {
    const before = requireTotp;
    setRequireTotp(value); // shown at once; put back if the server refuses
    setSaved(false);
    try {
      const r = await guard(() => api.call(adminSecurity, { requireTotp: value }));
      setRequireTotp(r.requireTotp);
      setSaved(true);
      onProblem(null);
    } catch (err) {
      setRequireTotp(before);
      setSaved(true);
      onProblem(err instanceof Error ? err.message : 'The change failed.');
    }
  }

  async function resetPassword(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const user = String(new FormData(e.currentTarget).get('user')).trim();
    setResetProblem(null);
    setReset(null);
    try {
      const r = await guard(() => api.adminResetPassword(user));
      setReset({ user, ...r });
    } catch (err) {
      const code = err instanceof ApiClientError ? err.code : null;
      setResetProblem(code === 'NOT_FOUND' ? `There is no user ${user} in your organisation.` : code === 'VALIDATION_FAILED' ? 'Type the user’s full e-mail address.' : err instanceof Error ? err.message : 'The reset failed.');
    }
  }

  return (
    <section aria-label="Security">
      <h2>Security</h2>
      <p>Signed in as {address}.</p>
      <label className="check">
        <input type="checkbox" checked={requireTotp ?? false} onChange={(e) => void setPolicy(e.currentTarget.checked)} />
        Require an authenticator app (TOTP) for every user
      </label>
      {requireTotp !== null && saved && <p role="status">Authenticator {requireTotp ? 'required' : 'optional'} for everyone. Users without one set it up at their next request.</p>}
      <form aria-label="Reset a user's password" onSubmit={resetPassword}>
        <label>
          Reset the password of (e-mail address)
          <input name="user" type="email" required />
        </label>
        <button type="submit">Reset password</button>
      </form>
      {reset && (
        <p role="status">
          {reset.user} is signed out everywhere ({reset.sessionsEnded} session{reset.sessionsEnded === 1 ? '' : 's'}). Give them this temporary password; they must choose their own at the next sign-in:{' '}
          <code className="temporary" aria-label="Temporary password">
            {reset.temporaryPassword}
          </code>
        </p>
      )}
      {resetProblem && <p role="alert">{resetProblem}</p>}
    </section>
  );
}
