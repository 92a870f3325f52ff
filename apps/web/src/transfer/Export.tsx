import { useState } from 'react';
import { folders, type FolderName } from '@sealmail/contract';
import { describeError, keys, useTranslation } from '@sealmail/ui';

/** Hands a Blob to the browser as a download (the file was built on this device). */
function download(file: Blob, name: string) {
  const url = URL.createObjectURL(file);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/**
 * Export (docs/mail.md §10): a folder or all mail as mbox or a zip of EML files, decrypted on this
 * device in the key worker, message by message, and handed over as a download.
 */
export function Export({ address }: { address: string }) {
  const { t } = useTranslation();
  const [folder, setFolder] = useState<FolderName | 'all'>('inbox');
  const [format, setFormat] = useState<'mbox' | 'eml-zip'>('mbox');
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  async function run(e: React.FormEvent) {
    e.preventDefault();
    setBusy(true);
    setStatus(null);
    try {
      const r = await keys({ op: 'mailExport', address, ...(folder === 'all' ? {} : { folder }), format });
      const stem = `sealmail-${folder === 'all' ? 'all-mail' : folder}-${new Date().toISOString().slice(0, 10)}`;
      download(r.file, `${stem}.${format === 'mbox' ? 'mbox' : 'zip'}`);
      setStatus({ kind: r.failed ? 'error' : 'ok', text: r.failed ? t('transfer.exportedSome', { count: r.done, failed: r.failed }) : t('transfer.exported', { count: r.done }) });
    } catch (err) {
      setStatus({ kind: 'error', text: describeError(err) });
    } finally {
      setBusy(false);
    }
  }
  return (
    <form className="transfer-form" onSubmit={(e) => void run(e)} aria-labelledby="export-title">
      <h3 id="export-title">{t('transfer.exportTitle')}</h3>
      <p className="sub">{t('transfer.exportIntro')}</p>
      <label htmlFor="export-folder">{t('transfer.folder')}</label>
      <select id="export-folder" value={folder} onChange={(e) => setFolder(e.currentTarget.value as FolderName | 'all')}>
        <option value="all">{t('transfer.allMail')}</option>
        {folders.map((f) => (
          <option key={f} value={f}>
            {t(`mail.folders.${f}`)}
          </option>
        ))}
      </select>
      <fieldset>
        <legend>{t('transfer.format')}</legend>
        <label>
          <input type="radio" name="export-format" value="mbox" checked={format === 'mbox'} onChange={() => setFormat('mbox')} /> {t('transfer.mbox')}
        </label>
        <label>
          <input type="radio" name="export-format" value="eml-zip" checked={format === 'eml-zip'} onChange={() => setFormat('eml-zip')} /> {t('transfer.emlZip')}
        </label>
      </fieldset>
      <button type="submit" disabled={busy}>
        {busy ? t('transfer.exporting') : t('transfer.export')}
      </button>
      <p role="status" className={status?.kind === 'error' ? 'error' : 'sub'} data-state={status?.kind ?? (busy ? 'busy' : 'idle')}>
        {busy ? t('transfer.exporting') : status?.text}
      </p>
    </form>
  );
}
