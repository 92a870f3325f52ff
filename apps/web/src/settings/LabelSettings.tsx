/**
 * Settings → Labels (docs/mail.md "Organising mail"): rename a label (its new name sealed in the
 * key worker to the user's own key, bound to the label's id) or delete it, after a confirmation
 * (the label comes off every mail; the mail stays where it is).
 */
import '../mail/extras.css';
import { useCallback, useEffect, useState } from 'react';
import { ApiClient } from '@sealmail/client';
import { describeError, keys, useTranslation } from '@sealmail/ui';

const api = new ApiClient({ baseUrl: '' });

function LabelRow({ address, label, onChanged, onProblem }: { address: string; label: { id: string; name: string }; onChanged: (message: string) => void; onProblem: (p: string) => void }) {
  const { t } = useTranslation();
  const [renaming, setRenaming] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);
  if (renaming !== null)
    return (
      <li>
        <form
          className="label-edit"
          aria-label={t('extras.renameLabelName', { name: label.name })}
          onSubmit={(e) => {
            e.preventDefault();
            if (!renaming.trim()) return onProblem(t('extras.labelNameMissing'));
            keys({ op: 'renameLabel', address, id: label.id, name: renaming }).then(
              () => (setRenaming(null), onChanged(t('extras.labelRenamed', { name: renaming.trim() }))),
              (err: unknown) => onProblem(describeError(err)),
            );
          }}
        >
          <label>
            {t('extras.labelNewName')} <input value={renaming} onChange={(e) => setRenaming(e.target.value)} maxLength={100} autoFocus />
          </label>
          <button type="submit">{t('organise.save')}</button>
          <button type="button" className="secondary" onClick={() => setRenaming(null)}>
            {t('organise.cancel')}
          </button>
        </form>
      </li>
    );
  return (
    <li>
      <span className="label-name">{label.name}</span>
      {confirming ? (
        <span className="label-confirm" role="group" aria-label={t('extras.deleteLabelName', { name: label.name })}>
          <span>{t('extras.deleteLabelConfirm', { name: label.name })}</span>{' '}
          <button type="button" className="danger" autoFocus onClick={() => api.deleteLabel(label.id).then(() => (setConfirming(false), onChanged(t('extras.labelDeleted', { name: label.name }))), (err: unknown) => onProblem(describeError(err)))}>
            {t('extras.deleteLabel')}
          </button>{' '}
          <button type="button" className="secondary" onClick={() => setConfirming(false)}>
            {t('organise.cancel')}
          </button>
        </span>
      ) : (
        <span className="label-actions">
          <button type="button" className="secondary" onClick={() => setRenaming(label.name)} aria-label={t('extras.renameLabelName', { name: label.name })}>
            {t('extras.renameLabel')}
          </button>{' '}
          <button type="button" className="secondary" onClick={() => setConfirming(true)} aria-label={t('extras.deleteLabelName', { name: label.name })}>
            {t('extras.deleteLabel')}
          </button>
        </span>
      )}
    </li>
  );
}

export function LabelSettings({ address }: { address: string }) {
  const { t } = useTranslation();
  const [labels, setLabels] = useState<{ id: string; name: string }[] | null>(null);
  const [status, setStatus] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const load = useCallback(() => void keys({ op: 'labels', address }).then(setLabels, (err: unknown) => setProblem(describeError(err))), [address]);
  useEffect(() => load(), [load]);
  return (
    <section id="settings-labels" className="account-section label-settings" aria-labelledby="labels-title">
      <h2 id="labels-title">{t('extras.labelsTitle')}</h2>
      <p className="sub">{t('extras.labelsIntro')}</p>
      {labels && labels.length === 0 && <p>{t('extras.noLabels')}</p>}
      {labels && labels.length > 0 && (
        <ul className="settings-list" aria-label={t('extras.labelsTitle')}>
          {labels.map((l) => (
            <LabelRow key={l.id} address={address} label={l} onProblem={setProblem} onChanged={(m) => (setProblem(null), setStatus(m), load())} />
          ))}
        </ul>
      )}
      <p role="status">{status}</p>
      {problem && <p role="alert">{problem}</p>}
    </section>
  );
}
