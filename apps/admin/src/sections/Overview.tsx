import { useCallback, useEffect, useState } from 'react';
import { ApiClient } from '@sealmail/client';
import { adminHealth } from '@sealmail/contract';
import { useConsole } from '../console';
import { formatBytes, formatTime } from '../format';

const api = new ApiClient({ baseUrl: '' });
type Health = Awaited<ReturnType<typeof health>>;
const health = () => api.call(adminHealth);

/** Overview: the service's health at a glance, each line checked by the API just now. */
export function Overview() {
  const { setProblem } = useConsole();
  const [h, setH] = useState<Health | null>(null);
  const [domains, setDomains] = useState<string[] | null>(null);
  const [checkedAt, setCheckedAt] = useState<Date | null>(null);
  const load = useCallback(() => {
    health().then(
      (r) => (setH(r), setCheckedAt(new Date())),
      (err: Error) => setProblem(`The API cannot be reached: ${err.message}`),
    );
    api.info().then((i) => setDomains(i.domains ?? []), () => undefined);
  }, [setProblem]);
  useEffect(() => load(), [load]);

  const state = (ok: boolean) => <span className={ok ? 'ok' : 'bad'}>{ok ? 'OK' : 'Problem'}</span>;
  return (
    <section aria-label="Overview">
      <h2>Overview</h2>
      {!h ? (
        <p>Checking…</p>
      ) : (
        <dl className="health">
          <dt>API</dt>
          <dd>
            {state(true)} version {h.version}, up {Math.round(h.uptimeSeconds / 60)} min
          </dd>
          <dt>Database</dt>
          <dd>{h.database.ok ? <>{state(true)} reachable</> : <>{state(false)} unreachable</>}</dd>
          <dt>Outbound queue</dt>
          <dd>
            {state(h.queue.ok && h.queue.failed === 0)} {h.queue.waiting} waiting, {h.queue.failed} failed{!h.queue.ok ? ' (the relay’s queue cannot be read)' : ''}
          </dd>
          <dt>SMTP ingress</dt>
          <dd>
            {state(h.smtp.ok)} {h.smtp.host ? `${h.smtp.host}:${h.smtp.port}: ` : ''}
            {h.smtp.detail}
          </dd>
          <dt>Certificate</dt>
          <dd>{h.certificate ? <>{state(h.certificate.ok)} expires {formatTime(h.certificate.expiresAt)} ({h.certificate.daysLeft} days left); {h.certificate.subject}</> : 'not known to the API'}</dd>
          <dt>Storage</dt>
          <dd>
            {formatBytes(h.storage.usedBytes)} used by {h.storage.users} user{h.storage.users === 1 ? '' : 's'} (quotas total {formatBytes(h.storage.quotaBytes)})
          </dd>
          <dt>Domains</dt>
          <dd>{domains === null ? '…' : domains.join(', ') || 'none yet'}</dd>
        </dl>
      )}
      <p>
        <button type="button" className="secondary" onClick={load}>
          Check again
        </button>{' '}
        {checkedAt && <span>Checked {checkedAt.toLocaleTimeString()}.</span>}
      </p>
    </section>
  );
}
