import { useEffect, useState, type FormEvent } from 'react';
import { ApiClient } from '@sealmail/client';
import { outOfOfficeGet, outOfOfficePut } from '@sealmail/contract';
import { describeError, useTranslation } from '@sealmail/ui';

const api = new ApiClient({ baseUrl: '' });
/** An ISO instant as a datetime-local value in this browser's zone, and back. */
const toLocal = (iso: string | null) => {
  if (!iso) return '';
  const d = new Date(iso);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
};
const fromLocal = (v: string) => (v ? new Date(v).toISOString() : null);

/**
 * Settings → Out of office: dates, a subject and text (sealed at rest by the server, which must
 * read them to answer), and optionally another text for senders outside the organisation. Each
 * sender gets one reply per period (every save starts a new one); lists, bulk and automatic mail
 * never get one.
 */
export function OutOfOffice() {
  const { t } = useTranslation();
  const [loaded, setLoaded] = useState(false);
  const [enabled, setEnabled] = useState(false);
  const [startsAt, setStartsAt] = useState('');
  const [endsAt, setEndsAt] = useState('');
  const [subject, setSubject] = useState('');
  const [text, setText] = useState('');
  const [separate, setSeparate] = useState(false);
  const [outsideText, setOutsideText] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  useEffect(() => {
    void api.call(outOfOfficeGet).then(
      (o) => {
        setEnabled(o.enabled);
        setStartsAt(toLocal(o.startsAt));
        setEndsAt(toLocal(o.endsAt));
        setSubject(o.subject);
        setText(o.text);
        setSeparate(o.outsideText !== null);
        setOutsideText(o.outsideText ?? '');
        setLoaded(true);
      },
      (e: unknown) => setProblem(describeError(e)),
    );
  }, []);
  async function save(e: FormEvent) {
    e.preventDefault();
    setProblem(null);
    setNote(null);
    try {
      await api.call(outOfOfficePut, { enabled, startsAt: fromLocal(startsAt), endsAt: fromLocal(endsAt), subject: subject.trim() || t('rules.oooDefaultSubject'), text, outsideText: separate ? outsideText : null });
      setNote(enabled ? t('rules.oooOn') : t('rules.oooOff'));
    } catch (err) {
      setProblem(describeError(err));
    }
  }
  return (
    <section id="settings-outOfOffice" aria-labelledby="ooo-title" className="rules ooo">
      <h2 id="ooo-title">{t('rules.oooTitle')}</h2>
      <p className="sub">{t('rules.oooIntro')}</p>
      <form onSubmit={(e) => void save(e)} aria-label={t('rules.oooTitle')} aria-busy={!loaded}>
        <label className="check">
          <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.currentTarget.checked)} /> {t('rules.oooEnabled')}
        </label>
        <div className="dates">
          <label>
            {t('rules.oooFrom')} <input type="datetime-local" value={startsAt} onChange={(e) => setStartsAt(e.currentTarget.value)} />
          </label>
          <label>
            {t('rules.oooUntil')} <input type="datetime-local" value={endsAt} onChange={(e) => setEndsAt(e.currentTarget.value)} />
          </label>
        </div>
        <label>
          {t('rules.oooSubject')} <input value={subject} maxLength={200} onChange={(e) => setSubject(e.currentTarget.value)} placeholder={t('rules.oooDefaultSubject')} />
        </label>
        <label>
          {t('rules.oooText')} <textarea value={text} rows={4} maxLength={10000} onChange={(e) => setText(e.currentTarget.value)} />
        </label>
        <label className="check">
          <input type="checkbox" checked={separate} onChange={(e) => setSeparate(e.currentTarget.checked)} /> {t('rules.oooSeparate')}
        </label>
        {separate && (
          <label>
            {t('rules.oooOutsideText')} <textarea value={outsideText} rows={4} maxLength={10000} onChange={(e) => setOutsideText(e.currentTarget.value)} />
          </label>
        )}
        <button type="submit">{t('rules.save')}</button>
      </form>
      {note && <p role="status">{note}</p>}
      {problem && <p role="alert">{problem}</p>}
    </section>
  );
}
