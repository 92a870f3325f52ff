import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { DeviceView } from '@sealmail/client/identity';
import { keys } from './keys/client';
import { describeError } from './i18n';

/** The window event a page fires when the server says the user's key history changed (a device asks to join). */
export const KEYS_CHANGED_EVENT = 'sealmail:keys-changed';

/**
 * A banner on every signed-in device when another device asks to join: name, fingerprint to
 * compare, and Approve / Reject right there. Shown at once when the server announces the request
 * (the mailbox's event stream fires {@link KEYS_CHANGED_EVENT}), and checked once a minute too.
 */
export function PendingDevicesAlert({ address }: { address: string }) {
  const { t } = useTranslation();
  const [pending, setPending] = useState<DeviceView[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const refresh = useCallback(async () => {
    try {
      const all = await keys({ op: 'devices', address });
      // Only an approved device can approve; a waiting one sees its own screen instead.
      if (!all.some((d) => d.thisDevice && d.status === 'approved')) return setPending([]);
      setPending(all.filter((d) => d.status === 'pending'));
    } catch {
      // The mailbox shows errors of its own; the banner just stays as it was.
    }
  }, [address]);

  useEffect(() => {
    void refresh();
    const onChange = () => void refresh();
    window.addEventListener(KEYS_CHANGED_EVENT, onChange);
    const t = setInterval(onChange, 60_000);
    return () => {
      window.removeEventListener(KEYS_CHANGED_EVENT, onChange);
      clearInterval(t);
    };
  }, [refresh]);

  async function act(op: 'approve' | 'revoke', d: DeviceView) {
    setBusy(true);
    setProblem(null);
    try {
      await keys({ op, address, device: d.id });
      await refresh();
    } catch (err) {
      setProblem(describeError(err));
    } finally {
      setBusy(false);
    }
  }

  if (!pending.length) return null;
  return (
    <section className="pending-alert" role="alert" aria-label={t('pendingDevices.label')}>
      {pending.map((d) => (
        <div key={d.id} className="pending-device">
          <p>
            <strong>{d.name}</strong> {t(d.expired ? 'pendingDevices.asksExpired' : 'pendingDevices.asks')} <span className="fp">{d.fingerprint}</span>
          </p>
          <div className="actions">
            {!d.expired && (
              <button type="button" disabled={busy} onClick={() => void act('approve', d)}>
                {t('pendingDevices.approve', { name: d.name })}
              </button>
            )}
            <button type="button" className="secondary" disabled={busy} onClick={() => void act('revoke', d)}>
              {t('pendingDevices.reject')}
            </button>
          </div>
        </div>
      ))}
      {problem && <p className="problem">{problem}</p>}
    </section>
  );
}
