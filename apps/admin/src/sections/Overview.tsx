import { useEffect, useState } from 'react';
import { ApiClient } from '@sealmail/client';

const api = new ApiClient({ baseUrl: '' });

/** Overview: the service's health at a glance. */
export function Overview() {
  const [info, setInfo] = useState<{ version: string; domains?: string[] } | null>(null);
  const [ready, setReady] = useState<boolean | null>(null);
  useEffect(() => {
    api.info().then(setInfo, () => undefined);
    api.apiReady().then(() => setReady(true), () => setReady(false));
  }, []);
  return (
    <section aria-label="Overview">
      <h2>Overview</h2>
      <dl>
        <dt>Version</dt>
        <dd>{info?.version ?? '…'}</dd>
        <dt>Database</dt>
        <dd>{ready === null ? '…' : ready ? 'ready' : 'unreachable'}</dd>
        <dt>Domains</dt>
        <dd>{info?.domains ? info.domains.join(', ') || 'none yet' : '…'}</dd>
      </dl>
    </section>
  );
}
