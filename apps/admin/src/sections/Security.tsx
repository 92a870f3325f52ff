import { useEffect, useState, type FormEvent } from 'react';
import { ApiClient, ApiClientError } from '@sealmail/client';
import { adminSecurity, adminSecurityGet } from '@sealmail/contract';
import { useReauth } from '../Reauth';
import { useConsole } from '../console';

const api = new ApiClient({ baseUrl: '' });

/** Security settings and password resets: sensitive switches (the password again when the API asks). */
export function Security() {
  const { address, setProblem: onProblem } = useConsole();
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
