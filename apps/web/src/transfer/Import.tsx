import { useRef, useState } from 'react';
import { folders, type FolderName } from '@sealmail/contract';
import { describeError, keys, useTranslation } from '@sealmail/ui';

type ImportFolder = Exclude<FolderName, 'drafts' | 'outbox'>;
const targets = folders.filter((f): f is ImportFolder => f !== 'drafts' && f !== 'outbox');

/**
 * Import (docs/mail.md §10): an mbox, an EML file or a zip of EML files, read and parsed on this
 * device, each message sealed to the user here before it is uploaded into the chosen folder.
 */
export function Import({ address }: { address: string }) {
  const { t } = useTranslation();
  const file = useRef<HTMLInputElement>(null);
  const [folder, setFolder] = useState<ImportFolder>('archive');
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  async function run(e: React.FormEvent) {
    e.preventDefault();
    const chosen = file.current?.files?.[0];
    if (!chosen) {
      setStatus({ kind: 'error', text: t('transfer.chooseFile') });
      file.current?.focus();
      return;
    }
    setBusy(true);
    setStatus(null);
    try {
      const r = await keys({ op: 'mailImport', address, file: chosen, folder });
      if (r.done === 0 && r.failed === 0) setStatus({ kind: 'error', text: t('transfer.nothingFound') });
      else if (r.failed) setStatus({ kind: 'error', text: t('transfer.importedSome', { count: r.done, failed: r.failed, reason: r.failures[0]?.reason ?? '' }) });
      else setStatus({ kind: 'ok', text: t('transfer.imported', { count: r.done, folder: t(`mail.folders.${folder}`) }) });
    } catch (err) {
      setStatus({ kind: 'error', text: describeError(err) });
    } finally {
      setBusy(false);
    }
  }
  return (
    <form className="transfer-form" onSubmit={(e) => void run(e)} aria-labelledby="import-title">
      <h3 id="import-title">{t('transfer.importTitle')}</h3>
      <p className="sub">{t('transfer.importIntro')}</p>
      <label htmlFor="import-file">{t('transfer.file')}</label>
      <input id="import-file" ref={file} type="file" accept=".mbox,.eml,.zip,application/mbox,message/rfc822,application/zip" />
      <label htmlFor="import-folder">{t('transfer.into')}</label>
      <select id="import-folder" value={folder} onChange={(e) => setFolder(e.currentTarget.value as ImportFolder)}>
        {targets.map((f) => (
          <option key={f} value={f}>
            {t(`mail.folders.${f}`)}
          </option>
        ))}
      </select>
      <button type="submit" disabled={busy}>
        {busy ? t('transfer.importing') : t('transfer.import')}
      </button>
      <p role="status" className={status?.kind === 'error' ? 'error' : 'sub'} data-state={status?.kind ?? (busy ? 'busy' : 'idle')}>
        {busy ? t('transfer.importing') : status?.text}
      </p>
    </form>
  );
}
