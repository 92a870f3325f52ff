import { useEffect, useState, type FormEvent } from 'react';
import { ApiClientError } from '@sealmail/client';
import { invitationAccept, invitationLookup } from '@sealmail/contract';
import { api, type Session } from '../SignIn';

/**
 * The page of an administrator's one-time set-up link (`/welcome#<token>`): the new user chooses
 * their password, is signed in, and goes on to set up their first device (the backup key). The
 * token stays in the fragment (never sent in a request line or a Referer) and leaves the address
 * bar at once.
 */
export function Welcome({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [token] = useState(() => window.location.hash.slice(1));
  const [who, setWho] = useState<{ address: string; displayName: string; expiresAt: string } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    window.history.replaceState(null, '', '/welcome');
    if (token.length < 20) return setProblem('This set-up link is incomplete: open the whole link your administrator gave you.');
    api.call(invitationLookup, { token }).then(setWho, (err: unknown) => setProblem(err instanceof ApiClientError ? err.message : 'The server cannot be reached.'));
  }, [token]);

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const password = String(f.get('password'));
    if (password.length < 12) return setProblem('Choose a password of at least 12 characters.');
    if (password !== String(f.get('again'))) return setProblem('The two passwords differ: type the same one twice.');
    setBusy(true);
    setProblem(null);
    try {
      const { address } = await api.call(invitationAccept, { token, password });
      const { session } = await api.signIn(address, password);
      window.history.replaceState(null, '', '/');
      onSignedIn(session);
    } catch (err) {
      setProblem(err instanceof ApiClientError ? err.message : 'The server cannot be reached.');
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="signin">
      <h1>Welcome to Sealmail</h1>
      {who ? (
        <>
          <p className="sub">
            {who.displayName}, choose the password for {who.address}. Next you set up this device: it makes your keys and shows your backup key.
          </p>
          <form onSubmit={(e) => void submit(e)} aria-label="Choose your password">
            <label>
              New password (at least 12 characters)
              <input name="password" type="password" autoComplete="new-password" minLength={12} required />
            </label>
            <label>
              New password again
              <input name="again" type="password" autoComplete="new-password" minLength={12} required />
            </label>
            <button type="submit" disabled={busy}>
              Set password and continue
            </button>
          </form>
        </>
      ) : (
        !problem && <p className="sub">Checking your set-up link…</p>
      )}
      {problem && <p role="alert">{problem}</p>}
    </main>
  );
}
