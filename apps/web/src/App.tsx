import { useEffect, useState } from 'react';
import { api, SignIn, type Session } from './SignIn';

/** Signed out: the sign-in screen. Signed in: the account screen (mail arrives with the mail release). */
export function App() {
  const [domains, setDomains] = useState<string[] | null>(null);
  const [session, setSession] = useState<Session | null | undefined>(undefined);

  useEffect(() => {
    api.info().then((i) => setDomains(i.domains), () => setDomains([]));
    api.session().then(setSession, () => setSession(null));
  }, []);

  if (session === undefined) return <main className="signin">Loading…</main>;
  if (!session) return <SignIn domains={domains} onSignedIn={setSession} />;
  return (
    <main className="signin">
      <h1>Signed in as {session.user.displayName}</h1>
      <p className="sub">{session.user.address}</p>
      {session.totpEnrollmentRequired && <p role="alert">Your organisation requires an authenticator app: set one up before using your mailbox.</p>}
      <dl className="facts">
        <dt>Second factor</dt>
        <dd>{session.totpEnabled ? 'on' : 'off'}</dd>
        <dt>Session ends</dt>
        <dd>{new Date(session.expiresAt).toLocaleString()}</dd>
      </dl>
      <button type="button" onClick={() => api.signOut().finally(() => setSession(null))}>
        Sign out
      </button>
    </main>
  );
}
