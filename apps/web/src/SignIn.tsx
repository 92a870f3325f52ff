import { useEffect, useState, type FormEvent } from 'react';
import { ApiClient, ApiClientError } from '@sealmail/client';

const api = new ApiClient({ baseUrl: '' });

/** The first screen: who this server is for, and the sign-in form. */
export function SignIn() {
  const [domains, setDomains] = useState<string[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    api
      .info()
      .then((info) => setDomains(info.domains))
      .catch((err: unknown) => setProblem(err instanceof ApiClientError ? err.message : 'The server cannot be reached.'));
  }, []);

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const address = String(new FormData(e.currentTarget).get('address') ?? '');
    try {
      const { results } = await api.lookup([address]);
      setNotice(results[0]?.exists ? 'Password sign-in with device keys arrives with the accounts release.' : `${address} has no mailbox here.`);
    } catch (err) {
      setNotice(err instanceof ApiClientError && err.code === 'VALIDATION_FAILED' ? 'Enter a full e-mail address.' : 'The server cannot be reached.');
    }
  }

  return (
    <main className="signin">
      <h1>Sign in to Sealmail</h1>
      <p className="sub">{domains ? `Encrypted mail for ${domains.join(', ') || 'this organisation'}` : problem ?? 'Connecting…'}</p>
      <form onSubmit={submit} aria-label="Sign in">
        <label>
          E-mail address
          <input name="address" type="email" autoComplete="username" required />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required />
        </label>
        <button type="submit">Sign in</button>
      </form>
      {notice && <p role="status">{notice}</p>}
    </main>
  );
}
