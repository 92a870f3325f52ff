import { useEffect, useLayoutEffect, useRef, useState, type FormEvent } from 'react';
import { describeError, formatSize, formatTime, keys, useTranslation } from '@sealmail/ui';
import { address as addressSchema, mailLimits } from '@sealmail/contract';
import { ApiClient } from '@sealmail/client';
import type { MailView } from '@sealmail/ui';

export interface ComposeSeed {
  to?: string;
  cc?: string;
  subject?: string;
  quote?: string;
  /** A saved draft being edited: its text, and the entry each save replaces. */
  body?: string;
  draftId?: string;
  inReplyTo?: MailView;
  /** Files to attach from the start (a forward's attachments, opened on this device: Forward.ts). */
  files?: File[];
}

const list = (s: string) =>
  s
    .split(/[,;\s]+/)
    .map((a) => a.trim())
    .filter(Boolean);
const mib = (n: number) => formatSize(n);
const api = new ApiClient({ baseUrl: '' });

/**
 * The compose window: To, Cc, Bcc, subject, a rich-text body (its plain text goes along), and
 * attachments (25 MiB per message). The key worker seals and sends; the text is saved as an
 * encrypted draft a moment after typing stops.
 */
export function Compose({ address, displayName, seed, onClose, onSent }: { address: string; displayName: string; seed: ComposeSeed; onClose: () => void; onSent: (message: string) => void }) {
  const { t } = useTranslation();
  const [to, setTo] = useState(seed.to ?? '');
  const [cc, setCc] = useState(seed.cc ?? '');
  const [bcc, setBcc] = useState('');
  const [subject, setSubject] = useState(seed.subject ?? '');
  const [files, setFiles] = useState<File[]>(seed.files ?? []);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  // Recipients outside this server get what the domain's policy says unless the sender picks otherwise.
  const [policy, setPolicy] = useState<'secure_only' | 'secure_default' | 'standard_default' | null>(null);
  const [outside, setOutside] = useState<'link' | 'standard'>('link');
  const [draftState, setDraftState] = useState<string>('');
  const editor = useRef<HTMLDivElement>(null);
  const draftId = useRef<string | null>(seed.draftId ?? null);
  const saving = useRef<Promise<unknown>>(Promise.resolve());
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const total = files.reduce((n, f) => n + f.size, 0);

  useEffect(() => {
    void api.mailPolicy().then(
      (p) => {
        setPolicy(p.encryptionPolicy);
        setOutside(p.encryptionPolicy === 'standard_default' ? 'standard' : 'link');
      },
      () => setPolicy(null),
    );
  }, []);

  // A layout effect: the saved body is in the editor before the dialog is first painted (Preact runs plain effects later).
  useLayoutEffect(() => {
    if (editor.current && seed.body !== undefined) editor.current.innerText = seed.body;
    else if (editor.current && seed.quote) editor.current.innerText = `\n\n${seed.quote}`;
    return () => {
      if (timer.current) clearTimeout(timer.current);
    };
  }, [seed.quote, seed.body]);

  const content = () => ({ text: editor.current?.innerText ?? '', html: editor.current?.innerHTML ?? '' });

  /** Saves the draft (sealed to this user only), replacing the previous save. */
  function scheduleDraft() {
    if (timer.current) clearTimeout(timer.current);
    timer.current = setTimeout(() => {
      saving.current = saving.current.then(async () => {
        const { text, html } = content();
        try {
          const r = await keys({
            op: 'mailSend',
            address,
            displayName,
            draft: true,
            ...(draftId.current ? { replacesDraft: draftId.current } : {}),
            mail: { to: list(to), cc: list(cc), bcc: list(bcc), subject, text, html, files: [] },
          });
          draftId.current = r.entryId;
          setDraftState(t('compose.draftSaved', { time: formatTime(new Date()) }));
        } catch {
          setDraftState(t('compose.draftNotSaved'));
        }
      });
    }, 1500);
  }

  const [linkExpiry, setLinkExpiry] = useState<'1d' | '7d' | '30d'>('7d');

  async function send(e?: FormEvent) {
    e?.preventDefault();
    if (total > mailLimits.attachmentBytes) return setProblem(t('compose.tooLarge', { size: mib(total) }));
    // An address that cannot be one is named with its field before anything is sealed.
    for (const [field, value] of [['to', to], ['cc', cc], ['bcc', bcc]] as const) {
      const wrong = list(value).find((a) => !addressSchema.safeParse(a).success);
      if (wrong) return setProblem(t('compose.badAddress', { field: t(`fields.${field}`), value: wrong }));
    }
    if (timer.current) clearTimeout(timer.current);
    setBusy(true);
    setProblem(null);
    try {
      await saving.current;
      const { text, html } = content();
      const r = await keys({
        op: 'mailSend',
        address,
        displayName,
        mail: { to: list(to), cc: list(cc), bcc: list(bcc), subject, text, html, files, ...(seed.inReplyTo ? { inReplyTo: seed.inReplyTo.entryId } : {}), ...(outside === 'standard' ? { allowStandard: true } : {}), ...(outside === 'link' ? { links: { expiresIn: linkExpiry } } : {}) },
        ...(draftId.current ? { replacesDraft: draftId.current } : {}),
      });
      // The sent mail replaced the draft only when it was the one saved; drop any left.
      const refused = r.refused.map((x) => t('compose.refusedBy', { address: x.address, reason: x.code === 'MAILBOX_FULL' ? t('compose.mailboxFull') : x.code }));
      onSent(refused.length ? t('compose.sentButRefused', { list: refused.join(', ') }) : t('compose.sent'));
    } catch (err) {
      setProblem(describeError(err, { to: list(to), cc: list(cc), bcc: list(bcc) }));
      setBusy(false);
    }
  }

  const format = (cmd: string) => () => {
    document.execCommand(cmd);
    editor.current?.focus();
  };

  return (
    <section className="compose" role="dialog" aria-label={t('compose.dialog')} onKeyDown={(e) => (e.key === 'Escape' ? onClose() : e.key === 'Enter' && (e.ctrlKey || e.metaKey) ? void send() : undefined)}>
      <form onSubmit={(e) => void send(e)} onInput={scheduleDraft}>
        <header>
          <h2>{seed.inReplyTo ? t('compose.reply') : t('compose.new')}</h2>
          <button type="button" className="plain" onClick={onClose} aria-label={t('compose.close')}>
            ×
          </button>
        </header>
        <label>
          {t('fields.to')} <input name="to" value={to} onChange={(e) => setTo(e.target.value)} autoFocus={!seed.to} autoComplete="off" />
        </label>
        <label>
          {t('fields.cc')} <input name="cc" value={cc} onChange={(e) => setCc(e.target.value)} autoComplete="off" />
        </label>
        <label>
          {t('fields.bcc')} <input name="bcc" value={bcc} onChange={(e) => setBcc(e.target.value)} autoComplete="off" />
        </label>
        <label>
          {t('fields.subject')} <input name="subject" value={subject} onChange={(e) => setSubject(e.target.value)} />
        </label>
        <div className="toolbar" role="toolbar" aria-label={t('compose.formatting')}>
          <button type="button" onClick={format('bold')} aria-label={t('compose.bold')}>
            <b>B</b>
          </button>
          <button type="button" onClick={format('italic')} aria-label={t('compose.italic')}>
            <i>I</i>
          </button>
          <button type="button" onClick={format('insertUnorderedList')} aria-label={t('compose.bullets')}>
            •
          </button>
        </div>
        <div ref={editor} className="editor" contentEditable role="textbox" aria-multiline="true" aria-label={t('compose.message')} autoFocus={!!seed.to} />
        <label className="attach">
          {t('compose.attach')}
          <input type="file" multiple onChange={(e) => setFiles([...files, ...Array.from(e.target.files ?? [])])} />
        </label>
        {files.length > 0 && (
          <ul className="files" aria-label={t('compose.attachments')}>
            {files.map((f, i) => (
              <li key={`${f.name}-${i}`}>
                {f.name} <span className="size">{mib(f.size)}</span>{' '}
                <button type="button" className="plain" onClick={() => setFiles(files.filter((_, j) => j !== i))} aria-label={t('compose.remove', { name: f.name })}>
                  ×
                </button>
              </li>
            ))}
          </ul>
        )}
        {total > mailLimits.attachmentBytes && <p role="alert">{t('compose.tooLarge', { size: mib(total) })}</p>}
        {problem && <p role="alert">{problem}</p>}
        <fieldset className="outside-choice">
          <legend>{t('compose.outside')}</legend>
          <label>
            <input type="radio" name="outside" checked={outside === 'link'} onChange={() => setOutside('link')} /> {t('compose.link')}{' '}
            <select aria-label={t('compose.linkFor')} value={linkExpiry} onChange={(e) => setLinkExpiry(e.target.value as '1d' | '7d' | '30d')} disabled={outside !== 'link'}>
              <option value="1d">{t('compose.day')}</option>
              <option value="7d">{t('compose.week')}</option>
              <option value="30d">{t('compose.month')}</option>
            </select>
          </label>
          {policy !== 'secure_only' && (
            <label>
              <input type="radio" name="outside" checked={outside === 'standard'} onChange={() => setOutside('standard')} /> {t('compose.standard')}
            </label>
          )}
        </fieldset>
        <footer>
          <button type="submit" disabled={busy}>
            {busy ? t('compose.sending') : t('compose.send')}
          </button>
          <span className="draft-state" role="status">
            {draftState}
          </span>
        </footer>
      </form>
    </section>
  );
}
