import './compose.css';
import { useState } from 'react';
import { describeError, keys, useTranslation, type Compose } from '@sealmail/ui';
import { MergeError, parseMergeCsv, placeholdersOf, previewMerge, type MergeResult, type MergeRowPreview, type MergeTemplate } from '@sealmail/client/merge';

/**
 * Mail merge from the compose window: the mail being written is the template ({{column}}
 * placeholders), a CSV names the recipients and fields; a preview per row flags missing fields
 * and bad addresses; then each good row is sealed and sent as its own mail (E2EE, link or
 * standard per recipient, as the compose window's choice says), with progress and a report.
 */
export function Merge({ address, displayName, template, options, onClose }: { address: string; displayName: string; template: MergeTemplate; options: Pick<Compose, 'allowStandard' | 'links'>; onClose: (sent: number) => void }) {
  const { t } = useTranslation();
  const [previews, setPreviews] = useState<MergeRowPreview[] | null>(null);
  const [columns, setColumns] = useState<string[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const [report, setReport] = useState<MergeResult[]>([]);
  const [running, setRunning] = useState(false);
  const good = previews?.filter((p) => !p.problems.length).length ?? 0;
  const unknown = placeholdersOf(template).filter((p) => columns.length && !columns.some((c) => c.toLowerCase() === p.toLowerCase()));

  async function load(file: File | undefined) {
    setReport([]);
    setPreviews(null);
    if (!file) return;
    try {
      const csv = parseMergeCsv(await file.text());
      setColumns(csv.columns);
      setPreviews(previewMerge(template, csv));
      setProblem(null);
    } catch (err) {
      setProblem(err instanceof MergeError ? t(`composeTools.merge.${err.code}`, { detail: err.message }) : describeError(err));
    }
  }

  async function run() {
    if (!previews) return;
    setRunning(true);
    const out: MergeResult[] = [];
    for (const p of previews) {
      let r: MergeResult;
      if (p.problems.length) r = { row: p.row, to: p.to, status: 'skipped', reason: p.problems.map((x) => x.detail).join('; ') };
      else {
        try {
          const sent = await keys({ op: 'mailSend', address, displayName, mail: { to: [p.to], cc: [], bcc: [], subject: p.mail.subject, text: p.mail.text, ...(p.mail.html ? { html: p.mail.html } : {}), files: [], ...options } });
          r = { row: p.row, to: p.to, status: 'sent', entryId: sent.entryId };
        } catch (err) {
          r = { row: p.row, to: p.to, status: 'failed', reason: describeError(err) };
        }
      }
      out.push(r);
      setReport([...out]);
    }
    setRunning(false);
  }

  const sent = report.filter((r) => r.status === 'sent').length;
  const done = report.length === (previews?.length ?? -1);
  return (
    <section className="merge" role="dialog" aria-label={t('composeTools.merge.title')} onKeyDown={(e) => e.key === 'Escape' && !running && (e.stopPropagation(), onClose(sent))}>
      <header>
        <h2>{t('composeTools.merge.title')}</h2>
        <button type="button" className="plain" onClick={() => onClose(sent)} disabled={running} aria-label={t('compose.close')}>
          ×
        </button>
      </header>
      <p className="sub">{t('composeTools.merge.intro', { example: '{{name}}' })}</p>
      <label className="attach">
        {t('composeTools.merge.csv')} <input type="file" accept=".csv,text/csv" disabled={running} onChange={(e) => void load(e.currentTarget.files?.[0])} />
      </label>
      {unknown.length > 0 && <p role="alert">{t('composeTools.merge.unknownFields', { list: unknown.join(', ') })}</p>}
      {problem && <p role="alert">{problem}</p>}
      {previews && (
        <div className="merge-table" tabIndex={0} role="region" aria-label={t('composeTools.merge.previewRegion')}>
          <table>
            <caption>{t('composeTools.merge.preview', { good, count: previews.length })}</caption>
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">{t('fields.to')}</th>
                <th scope="col">{t('fields.subject')}</th>
                <th scope="col">{t('composeTools.merge.state')}</th>
              </tr>
            </thead>
            <tbody>
              {previews.map((p) => {
                const r = report.find((x) => x.row === p.row);
                return (
                  <tr key={p.row} className={p.problems.length ? 'flagged' : undefined}>
                    <td>{p.row}</td>
                    <td>{p.to || '—'}</td>
                    <td>{p.mail.subject}</td>
                    <td>{r ? `${t(`composeTools.merge.${r.status}`)}${r.reason ? `: ${r.reason}` : ''}` : p.problems.length ? p.problems.map((x) => x.detail).join('; ') : t('composeTools.merge.ready')}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <footer>
        <button type="button" disabled={!good || running || done} onClick={() => void run()}>
          {t('composeTools.merge.send', { count: good })}
        </button>
        <span role="status">{report.length > 0 && (done ? t('composeTools.merge.report', { sent, failed: report.filter((r) => r.status === 'failed').length, skipped: report.filter((r) => r.status === 'skipped').length }) : t('composeTools.merge.progress', { done: report.length, count: previews?.length ?? 0 }))}</span>
      </footer>
    </section>
  );
}
