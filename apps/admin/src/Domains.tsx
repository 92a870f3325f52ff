import { useEffect, useState } from 'react';
import { ApiClient, ApiClientError } from '@sealmail/client';
import { useReauth } from './Reauth';

const api = new ApiClient({ baseUrl: '' });
type Domain = Awaited<ReturnType<ApiClient['adminDomains']>>['domains'][number];

const POLICIES = {
  secure_only: 'Secure only (expiring links, never standard mail)',
  secure_default: 'Secure by default (expiring links; users may choose standard mail)',
  standard_default: 'Standard by default (users may choose expiring links)',
} as const;
type Policy = keyof typeof POLICIES;

/**
 * The account's domains and their mail settings. Cross-domain E2EE: mail to another organisation
 * on this server is end-to-end encrypted only when both domains turn it on (MISSION §4). The
 * encryption policy for recipients who cannot get mail end to end is chosen once (MISSION §6).
 */
export function Domains() {
  const [domains, setDomains] = useState<Domain[] | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const guard = useReauth();
  useEffect(() => void api.adminDomains().then((r) => setDomains(r.domains), (e: Error) => setProblem(e.message)), []);

  async function toggle(name: string, on: boolean) {
    setProblem(null);
    try {
      const r = await guard(() => api.setCrossDomainE2ee(name, on));
      setDomains((ds) => ds?.map((d) => (d.name === r.name ? { ...d, crossDomainE2ee: r.crossDomainE2ee } : d)) ?? null);
      setStatus(`Cross-domain E2EE ${r.crossDomainE2ee ? 'on' : 'off'} for ${r.name}.`);
    } catch (err) {
      setProblem(err instanceof ApiClientError ? err.message : 'The change failed.');
    }
  }

  async function choose(name: string, policy: Policy) {
    if (!window.confirm(`Set the policy of ${name} to “${POLICIES[policy]}”? It cannot be changed later.`)) return;
    setProblem(null);
    try {
      const r = await guard(() => api.setEncryptionPolicy(name, policy));
      setDomains((ds) => ds?.map((d) => (d.name === r.name ? { ...d, encryptionPolicy: r.encryptionPolicy } : d)) ?? null);
      setStatus(`Encryption policy of ${r.name}: ${POLICIES[r.encryptionPolicy!]}.`);
    } catch (err) {
      setProblem(err instanceof ApiClientError ? err.message : 'The change failed.');
    }
  }

  return (
    <section aria-label="Domains">
      <h2>Domains</h2>
      <table>
        <thead>
          <tr>
            <th>Domain</th>
            <th>Cross-domain E2EE</th>
            <th>Encryption policy</th>
          </tr>
        </thead>
        <tbody>
          {domains?.map((d) => (
            <tr key={d.name}>
              <td>{d.name}</td>
              <td>
                <label className="check">
                  <input type="checkbox" checked={d.crossDomainE2ee} onChange={(e) => void toggle(d.name, e.currentTarget.checked)} aria-label={`Cross-domain E2EE for ${d.name}`} />
                  {d.crossDomainE2ee ? 'on' : 'off'}
                </label>
              </td>
              <td>
                {d.encryptionPolicy ? (
                  <span>{POLICIES[d.encryptionPolicy]}</span>
                ) : (
                  <select aria-label={`Encryption policy for ${d.name}`} value="" onChange={(e) => e.currentTarget.value && void choose(d.name, e.currentTarget.value as Policy)}>
                    <option value="">Not chosen yet (secure by default) — choose once…</option>
                    {Object.entries(POLICIES).map(([k, label]) => (
                      <option key={k} value={k}>
                        {label}
                      </option>
                    ))}
                  </select>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="hint">Mail to users of another organisation on this server is end-to-end encrypted only when both organisations turn this on for their domains.</p>
      {status && <p role="status">{status}</p>}
      {problem && <p role="alert">{problem}</p>}
    </section>
  );
}
