import { useEffect, useState } from 'react';
import { ApiClient } from '@sealmail/client';

const api = new ApiClient({ baseUrl: '' });

/** The admin console's first screen: server status and the administrator sign-in. */
export function AdminSignIn() {
  const [status, setStatus] = useState<{ version: string; domains: string[]; ready: boolean } | null>(null);
  const [unreachable, setUnreachable] = useState(false);

  useEffect(() => {
    Promise.all([api.info(), api.ready().then(() => true, () => false)])
      .then(([info, ready]) => setStatus({ version: info.version, domains: info.domains, ready }))
      .catch(() => setUnreachable(true));
  }, []);

  return (
    <main className="admin">
      <h1>Sealmail admin console</h1>
      <section aria-label="Server status">
        {unreachable && <p>The API cannot be reached.</p>}
        {status && (
          <dl>
            <dt>Version</dt>
            <dd>{status.version}</dd>
            <dt>Database</dt>
            <dd>{status.ready ? 'ready' : 'unreachable'}</dd>
            <dt>Domains</dt>
            <dd>{status.domains.join(', ') || 'none yet'}</dd>
          </dl>
        )}
      </section>
      <form aria-label="Administrator sign-in" onSubmit={(e) => e.preventDefault()}>
        <label>
          Administrator address
          <input name="address" type="email" autoComplete="username" required />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required />
        </label>
        <button type="submit" disabled title="Administrator sign-in arrives with the accounts release">
          Sign in
        </button>
      </form>
    </main>
  );
}
