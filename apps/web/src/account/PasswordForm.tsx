import { useState, type FormEvent } from 'react';
import { ApiClientError } from '@sealmail/client';
import { api } from '../SignIn';

/**
 * Change the password: the current one, the new one twice. Every other session is signed out.
 * `forced`: an administrator reset it, so this comes before anything else.
 */
export function PasswordForm({ forced = false, onChanged }: { forced?: boolean; onChanged?: () => void }) {
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
    if (next.length < 12) return setProblem('The new password needs at least 12 characters.');
    if (next !== String(data.get('again'))) return setProblem('The two new passwords differ: type the same one twice.');
    if (next === current) return setProblem('The new password must differ from the current one.');
    setBusy(true);
    try {
      const { sessionsEnded } = await api.changePassword(current, next);
      form.reset();
      setStatus(`Password changed.${sessionsEnded ? ` ${sessionsEnded} other session${sessionsEnded === 1 ? ' was' : 's were'} signed out.` : ''}`);
      onChanged?.();
    } catch (err) {
      if (err instanceof ApiClientError && err.code === 'PASSWORD_INCORRECT') setProblem('Your current password is not right: type it again.');
      else setProblem(err instanceof ApiClientError ? err.message : 'The server cannot be reached.');
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="password-title" className="account-section">
      <h2 id="password-title">{forced ? 'Choose a new password' : 'Password'}</h2>
      <p className="sub">
        {forced
          ? 'Your administrator reset your password. Type the temporary password, then choose your own.'
          : 'Changing it signs out every other session of yours.'}
      </p>
      <form onSubmit={submit} aria-label="Change password" className="stack">
        <label>
          {forced ? 'Temporary password' : 'Current password'}
          <input name="current" type="password" autoComplete="current-password" required />
        </label>
        <label>
          New password (at least 12 characters)
          <input name="next" type="password" autoComplete="new-password" minLength={12} required />
        </label>
        <label>
          New password again
          <input name="again" type="password" autoComplete="new-password" minLength={12} required />
        </label>
        <button type="submit" disabled={busy}>
          Change password
        </button>
      </form>
      {status && <p role="status">{status}</p>}
      {problem && <p role="alert">{problem}</p>}
    </section>
  );
}
