import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiClient } from '@sealmail/client';
import type { DeviceView } from '@sealmail/client/identity';
import { keys } from './keys/client';
import { SafetyNumber } from './SafetyNumber';
import { formatDate, formatDateTime } from './i18n';

const api = new ApiClient({ baseUrl: '' });
type DeviceRecord = Awaited<ReturnType<ApiClient['deviceRecords']>>['devices'][number];
const when = (iso: string | null | undefined) => (iso ? formatDateTime(iso) : '—');

/**
 * The user's devices with fingerprints; approve or reject pending ones, revoke others, and name
 * them. Names, kinds, states and fingerprints come from the key history this device verified; the
 * name the user gave and the added/last-used times are the server's records, shown as such (a
 * name is only a label: compare fingerprints to trust a device).
 */
export function Devices({ address, onEnded }: { address: string; onEnded: (message: string) => void }) {
  const { t } = useTranslation();
  const [devices, setDevices] = useState<DeviceView[] | null>(null);
  const [records, setRecords] = useState<Map<string, DeviceRecord>>(new Map());
  const [renaming, setRenaming] = useState<string | null>(null);
  const [generations, setGenerations] = useState<number[]>([]);
  const [openings, setOpenings] = useState<{ at: string; purpose: string; by: string | null; caseRef?: string; range?: { from: string; to: string } }[]>([]);
  const [problem, setProblem] = useState<string | null>(null);

  const refresh = useCallback(async () => {
    try {
      setDevices(await keys({ op: 'devices', address }));
      setRecords(new Map((await api.deviceRecords()).devices.map((d) => [d.id, d])));
      setGenerations(await keys({ op: 'generations', address }));
      setOpenings(await keys({ op: 'escrowOpenings', address }));
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (['DEVICE_REVOKED', 'UNAUTHENTICATED', 'TOTP_ENROLLMENT_REQUIRED', 'PASSWORD_CHANGE_REQUIRED'].includes(code ?? '')) onEnded((err as Error).message);
      else setProblem((err as Error).message);
    }
  }, [address, onEnded]);

  useEffect(() => {
    void refresh();
    const t = setInterval(() => void refresh(), 4000);
    return () => clearInterval(t);
  }, [refresh]);

  async function act(op: 'approve' | 'revoke', device: string) {
    setProblem(null);
    try {
      await keys({ op, address, device });
      await refresh();
    } catch (err) {
      setProblem((err as Error).message);
    }
  }

  async function rename(e: FormEvent<HTMLFormElement>, d: DeviceView) {
    e.preventDefault();
    const name = String(new FormData(e.currentTarget).get('name')).trim();
    setProblem(null);
    try {
      // Cleared, or back to the signed name: the server's label is dropped.
      const r = await api.renameDevice(d.id, name && name !== d.name ? name : null);
      setRecords((m) => new Map(m).set(d.id, r));
      setRenaming(null);
    } catch (err) {
      setProblem((err as Error).message);
    }
  }

  return (
    <section aria-label={t('devices.title')} className="devices">
      <h2>{t('devices.title')}</h2>
      <p className="sub">{t('devices.intro')}</p>
      <table className="stacked-table">
        <thead>
          <tr>
            <th scope="col">{t('devices.device')}</th>
            <th scope="col">{t('devices.kind')}</th>
            <th scope="col">{t('devices.status')}</th>
            <th scope="col">{t('devices.added')}</th>
            <th scope="col">{t('devices.lastUsed')}</th>
            <th scope="col">{t('devices.fingerprint')}</th>
            <th scope="col">
              <span className="visually-hidden">{t('devices.action')}</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {devices?.map((d) => {
            const r = records.get(d.id);
            const name = r?.label ?? d.name;
            const real = d.kind !== 'backup' && d.kind !== 'escrow';
            return (
            <tr key={d.id} aria-label={t('devices.rowLabel', { name })}>
              <td data-label={t('devices.device')}>
                {renaming === d.id ? (
                  <form className="rename" onSubmit={(e) => void rename(e, d)} aria-label={t('devices.renameNamed', { name })}>
                    <input name="name" defaultValue={name} maxLength={100} aria-label={t('devices.newName', { name })} autoFocus onKeyDown={(e) => e.key === 'Escape' && (e.stopPropagation(), setRenaming(null))} />
                    <button type="submit">{t('devices.save')}</button>
                    <button type="button" onClick={() => setRenaming(null)}>
                      {t('devices.cancel')}
                    </button>
                  </form>
                ) : (
                  <>
                    <span className="device-name">{name}</span>
                    {d.thisDevice && <strong className="this-device"> {t('devices.thisDevice')}</strong>}
                    {r?.label && <span className="signed-name">{t('devices.setUpAs', { name: d.name })}</span>}
                  </>
                )}
              </td>
              <td data-label={t('devices.kind')}>{t(`devices.kinds.${d.kind}`, { defaultValue: d.kind })}</td>
              <td data-label={t('devices.status')}>{d.expired ? t('devices.expired') : t(`devices.states.${d.status}`, { defaultValue: d.status })}</td>
              <td data-label={t('devices.added')}>{when(r?.createdAt)}</td>
              <td data-label={t('devices.lastUsed')}>{d.thisDevice ? t('devices.now') : when(r?.lastSeenAt)}</td>
              <td data-label={t('devices.fingerprint')} className="fp">{d.fingerprint}</td>
              <td className="row-actions">
                {d.status === 'pending' && (
                  <>
                    {!d.expired && (
                      <button type="button" onClick={() => void act('approve', d.id)}>
                        {t('devices.approve')}
                      </button>
                    )}{' '}
                    <button type="button" onClick={() => void act('revoke', d.id)}>
                      {t('devices.reject')}
                    </button>
                  </>
                )}
                {d.status === 'approved' && !d.thisDevice && real && (
                  <button type="button" onClick={() => void act('revoke', d.id)}>
                    {t('devices.revoke')}
                  </button>
                )}{' '}
                {real && d.status !== 'revoked' && renaming !== d.id && (
                  <button type="button" onClick={() => setRenaming(d.id)} aria-label={t('devices.renameNamed', { name })}>
                    {t('devices.rename')}
                  </button>
                )}
              </td>
            </tr>
            );
          })}
        </tbody>
      </table>
      <p className="sub" aria-label={t('pending.generationsLabel')}>
        {t('pending.generations', { list: generations.join(', ') || '…' })}
      </p>
      <SafetyNumber address={address} of={address} own />
      {openings.length > 0 && (
        <>
          <h3>{t('devices.escrowUses')}</h3>
          <ul className="openings" aria-label={t('devices.escrowOpenings')}>
            {openings.map((o) => (
              <li key={`${o.at}-${o.purpose}`}>
                {formatDateTime(o.at)}: {o.purpose === 'device-approved' ? t('devices.escrowApproved', { by: o.by ?? t('devices.removedAdmin') }) : t('devices.escrowOpened', { purpose: o.purpose, by: o.by ?? t('devices.removedAdmin') })}
                {o.caseRef ? t('devices.escrowCase', { caseRef: o.caseRef, from: formatDate(o.range?.from ?? o.at), to: formatDate(new Date(new Date(o.range?.to ?? o.at).getTime() - 1)) }) : ''}
              </li>
            ))}
          </ul>
        </>
      )}
      {problem && <p role="alert">{problem}</p>}
    </section>
  );
}
