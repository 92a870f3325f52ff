/**
 * Settings → Reported and allowed senders (docs/mail.md "Organising mail"): the senders this user
 * marked with Report spam (their later mail goes to Spam) or Not spam (it stays in the Inbox),
 * each with Remove, which forgets the verdict (the sender's mail is scored as anyone's again).
 */
import '../mail/extras.css';
import { useCallback, useEffect, useState } from 'react';
import { ApiClient } from '@sealmail/client';
import { senderVerdictList, senderVerdictRemove } from '@sealmail/contract';
import { describeError, formatDate, useTranslation } from '@sealmail/ui';

const api = new ApiClient({ baseUrl: '' });
type Verdict = Awaited<ReturnType<typeof list>>[number];
const list = () => api.request(senderVerdictList, {}).then((r) => r.verdicts);

function VerdictList({ kind, verdicts, onRemove }: { kind: 'spam' | 'allow'; verdicts: Verdict[]; onRemove: (v: Verdict) => void }) {
  const { t } = useTranslation();
  const mine = verdicts.filter((v) => v.verdict === kind);
  const title = kind === 'spam' ? t('extras.reportedTitle') : t('extras.allowedTitle');
  return (
    <>
      <h3>{title}</h3>
      {mine.length === 0 ? (
        <p>{kind === 'spam' ? t('extras.noneReported') : t('extras.noneAllowed')}</p>
      ) : (
        <ul className="settings-list" aria-label={title}>
          {mine.map((v) => (
            <li key={v.address}>
              <span className="label-name">{v.address}</span> <span className="size">{t('extras.since', { date: formatDate(v.createdAt) })}</span>{' '}
              <button type="button" className="secondary" onClick={() => onRemove(v)} aria-label={t('extras.removeVerdictName', { address: v.address })}>
                {t('extras.removeVerdict')}
              </button>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

export function SenderVerdicts() {
  const { t } = useTranslation();
  const [verdicts, setVerdicts] = useState<Verdict[] | null>(null);
  const [status, setStatus] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const load = useCallback(() => void list().then(setVerdicts, (err: unknown) => setProblem(describeError(err))), []);
  useEffect(() => load(), [load]);
  const remove = (v: Verdict) =>
    api.request(senderVerdictRemove, { params: { address: v.address } }).then(
      () => (setProblem(null), setStatus(t('extras.verdictRemoved', { address: v.address })), load()),
      (err: unknown) => setProblem(describeError(err)),
    );
  return (
    <section id="settings-spamSenders" className="account-section sender-verdicts" aria-labelledby="verdicts-title">
      <h2 id="verdicts-title">{t('extras.verdictsTitle')}</h2>
      <p className="sub">{t('extras.verdictsIntro')}</p>
      {verdicts && (
        <>
          <VerdictList kind="spam" verdicts={verdicts} onRemove={(v) => void remove(v)} />
          <VerdictList kind="allow" verdicts={verdicts} onRemove={(v) => void remove(v)} />
        </>
      )}
      <p role="status">{status}</p>
      {problem && <p role="alert">{problem}</p>}
    </section>
  );
}
