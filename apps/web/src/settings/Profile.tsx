import { useState, type FormEvent } from 'react';
import { ApiClientError } from '@sealmail/client';
import { api, type Session } from '../SignIn';

/** Who is signed in; the display name (the From of sent mail) with a form to change it; sign out. */
export function Profile({ session, onChanged, onSignOut }: { session: Session; onChanged: () => void; onSignOut: () => void }) {
  const [problem, setProblem] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function save(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const name = String(new FormData(e.currentTarget).get('displayName')).trim();
    setProblem(null);
    setStatus(null);
    if (!name) return setProblem('Type a display name: it is shown to the people you write to.');
    if (/[<>"]/.test(name)) return setProblem('A display name cannot contain <, > or ": remove them.');
    setBusy(true);
    try {
      const r = await api.updateProfile(name);
      setStatus(`Your display name is now “${r.displayName}”.`);
      onChanged();
    } catch (err) {
      setProblem(err instanceof ApiClientError && err.field === 'body.displayName' ? `That name cannot be used (${err.message}): choose another.` : err instanceof ApiClientError ? err.message : 'The server cannot be reached.');
    } finally {
      setBusy(false);
    }
  }

  return (
    <section id="settings-profile" aria-labelledby="profile-title" className="account-section">
      <h2 id="profile-title">Profile</h2>
      <p className="sub">
        Signed in as <strong>{session.user.displayName}</strong> ({session.user.address})
      </p>
      <form onSubmit={(e) => void save(e)} aria-label="Change display name" className="inline">
        <label>
          Display name
          <input name="displayName" defaultValue={session.user.displayName} maxLength={100} required autoComplete="name" aria-describedby="display-name-hint" />
        </label>
        <button type="submit" disabled={busy}>
          Save name
        </button>
      </form>
      <p id="display-name-hint" className="hint">
        Shown with your address in the From of the mail you send.
      </p>
      <dl className="facts">
        <dt>Second factor</dt>
        <dd>{session.totpEnabled ? 'on' : 'off'}</dd>
        <dt>Session ends</dt>
        <dd>{new Date(session.expiresAt).toLocaleString()}</dd>
      </dl>
      {status && <p role="status">{status}</p>}
      {problem && <p role="alert">{problem}</p>}
      <button type="button" className="secondary" onClick={onSignOut}>
        Sign out
      </button>
    </section>
  );
}
