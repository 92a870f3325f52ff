import { useEffect, useLayoutEffect, useRef, useState, type FormEvent } from 'react';
import { describeError, formatDateTime, formatSize, formatTime, keys, useTranslation } from '@sealmail/ui';
import { address as addressSchema, mailLimits } from '@sealmail/contract';
import { ApiClient } from '@sealmail/client';
import type { MailView } from '@sealmail/ui';
import { sanitizeMailHtml } from '@sealmail/client/html';
import { scheduledCancel } from '@sealmail/contract';
import { EditorToolbar } from '../compose/EditorToolbar';
import { ImageButton, useInlineImages } from '../compose/InlineImages';
import { Schedule } from '../compose/Schedule';
import { Merge } from '../compose/Merge';
import { undoSendSeconds } from '../compose/ComposeSettings';
import { RecipientInput } from '../contacts/RecipientInput';
import { useRecipientExpansion } from '../contacts/recipients';
import { FromPicker } from '../rules/FromPicker';
import { PHONE, useInertBehind, useMedia } from '../layout';

export interface ComposeSeed {
  to?: string;
  cc?: string;
  subject?: string;
  quote?: string;
  /** A saved draft being edited: its text, and the entry each save replaces. */
  body?: string;
  draftId?: string;
  inReplyTo?: MailView;
  /** A mail reopened by Undo send or Edit in the Outbox: everything as it was. */
  bcc?: string;
  html?: string;
  /** Files to attach from the start (a forward's attachments, opened on this device: Forward.ts). */
  files?: File[];
  /** The inline images `html` names by `cid:` (a reopened draft or Outbox mail: compose/reopen.ts). */
  inline?: { cid: string; file: File }[];
  /** Edit draft: the key worker's session continuing the draft, and its id for each of `files`, then each of `inline`. */
  session?: string;
  fileIds?: string[];
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
export function Compose({ address, displayName, seed, onClose, onSent }: { address: string; displayName: string; seed: ComposeSeed; onClose: () => void; onSent: (message: string, undo?: { seconds: number; undo: () => Promise<ComposeSeed> }) => void }) {
  const { t } = useTranslation();
  const [to, setTo] = useState(seed.to ?? '');
  const [cc, setCc] = useState(seed.cc ?? '');
  const [bcc, setBcc] = useState(seed.bcc ?? '');
  const [subject, setSubject] = useState(seed.subject ?? '');
  const [from, setFrom] = useState<string | null>(null);
  const [files, setFiles] = useState<File[]>(seed.files ?? []);
  // What a draft save, a moment after the last change, attaches (the files as they are then).
  const filesNow = useRef(files);
  filesNow.current = files;
  // The draft's saves share one session in the key worker: a file uploaded by one save is kept by
  // the next (by its id here) instead of being sealed and sent again (docs/mail.md "Drafts").
  const session = useRef(seed.session ?? crypto.randomUUID());
  const fileIds = useRef(new WeakMap<File, string>([...(seed.files ?? []), ...(seed.inline ?? []).map((i) => i.file)].flatMap((f, i) => (seed.fileIds?.[i] ? [[f, seed.fileIds[i]] as [File, string]] : []))));
  const idsOf = (fs: File[]) => fs.map((f) => fileIds.current.get(f) ?? (fileIds.current.set(f, crypto.randomUUID()), fileIds.current.get(f)!));
  // An image in the text is the same File from save to save (compose/InlineImages.tsx): its upload is kept too.
  const withIds = (inline: { file: File; cid: string }[]) => {
    const ids = idsOf(inline.map((i) => i.file));
    return inline.map((i, k) => ({ ...i, id: ids[k]! }));
  };
  const [merging, setMerging] = useState(false);
  const undoDelay = useRef(0);
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
  const expandAll = useRecipientExpansion(address);
  const images = useInlineImages(editor);

  useEffect(() => {
    void api.mailPolicy().then(
      (p) => {
        setPolicy(p.encryptionPolicy);
        setOutside(p.encryptionPolicy === 'standard_default' ? 'standard' : 'link');
      },
      () => setPolicy(null),
    );
    void undoSendSeconds().then((n) => (undoDelay.current = n), () => undefined);
  }, []);

  // A layout effect: the saved body is in the editor before the dialog is first painted (Preact runs plain effects later).
  useLayoutEffect(() => {
    if (editor.current && seed.html) editor.current.innerHTML = images.adopt(sanitizeMailHtml(seed.html), seed.inline ?? []);
    else if (editor.current && seed.body !== undefined) editor.current.innerText = seed.body;
    else if (editor.current && seed.quote) editor.current.innerText = `\n\n${seed.quote}`;
  }, [seed.quote, seed.body]);

  const content = () => ({ text: editor.current?.innerText ?? '', html: editor.current?.innerHTML ?? '' });

  // The fields as last rendered: a save reads them when it runs, not as they were when it was
  // scheduled (the form hears an input before the field's new value is rendered).
  const fields = useRef({ to, cc, bcc, subject });
  fields.current = { to, cc, bcc, subject };
  /** The editor's content at the last change not yet saved (null: nothing waits). */
  const pending = useRef<{ text: string; html: string } | null>(null);
  const mounted = useRef(true);

  /** Saves the draft (sealed to this user only), replacing the previous save. */
  function saveDraft() {
    const snap = pending.current;
    pending.current = null;
    if (!snap) return;
    const f = fields.current;
    const attached = filesNow.current;
    saving.current = saving.current.then(async () => {
      // The draft keeps everything: attachments and inline images are sealed with it too.
      const { html, inline } = images.collect(snap.html);
      try {
        const r = await keys({
          op: 'mailSend',
          address,
          displayName,
          draft: true,
          ...(draftId.current ? { replacesDraft: draftId.current } : {}),
          session: session.current,
          mail: { to: list(f.to), cc: list(f.cc), bcc: list(f.bcc), subject: f.subject, text: snap.text, html, files: attached, fileIds: idsOf(attached), ...(inline.length ? { inline: withIds(inline) } : {}) },
        });
        draftId.current = r.entryId;
        if (mounted.current) setDraftState(t('compose.draftSaved', { time: formatTime(new Date()) }));
      } catch {
        if (mounted.current) setDraftState(t('compose.draftNotSaved'));
      }
    });
  }

  /** A change: the draft is saved a moment after typing stops (the status says so only then). */
  function scheduleDraft() {
    if (timer.current) clearTimeout(timer.current);
    pending.current = content();
    setDraftState('');
    timer.current = setTimeout(saveDraft, 1500);
  }

  /** Sent (or merged): nothing of it is saved as a draft any more. */
  function dropPendingDraft() {
    if (timer.current) clearTimeout(timer.current);
    pending.current = null;
  }

  // Closing the window saves a change made in the last moment instead of losing it.
  useEffect(
    () => () => {
      mounted.current = false;
      if (timer.current) clearTimeout(timer.current);
      saveDraft();
    },
    [],
  );

  const [linkExpiry, setLinkExpiry] = useState<'1d' | '7d' | '30d'>('7d');

  async function send(e?: FormEvent, at?: Date) {
    e?.preventDefault();
    if (total + images.size() > mailLimits.attachmentBytes) return setProblem(t('compose.tooLarge', { size: mib(total + images.size()) }));
    // Contact groups become their members' addresses here, on the device (contacts/recipients.ts).
    const rcpt = expandAll({ to, cc, bcc });
    if ('problem' in rcpt) return setProblem(rcpt.problem);
    // An address that cannot be one is named with its field before anything is sealed.
    for (const [field, value] of [['to', rcpt.to], ['cc', rcpt.cc], ['bcc', rcpt.bcc]] as const) {
      const wrong = value.find((a) => !addressSchema.safeParse(a).success);
      if (wrong) return setProblem(t('compose.badAddress', { field: t(`fields.${field}`), value: wrong }));
    }
    dropPendingDraft();
    setBusy(true);
    setProblem(null);
    try {
      await saving.current;
      // Images in the text become cid: references to inline parts sealed with the mail.
      const { html, inline } = images.collect(content().html);
      const { text } = content();
      // Undo send: held by the server for the delay (the scheduled-send path), so closing the tab loses nothing.
      const delay = at ? 0 : undoDelay.current;
      const sendAt = at ?? (delay ? new Date(Date.now() + delay * 1000) : undefined);
      const r = await keys({
        op: 'mailSend',
        address,
        displayName,
        ...(sendAt ? { sendAt: sendAt.toISOString() } : {}),
        session: session.current,
        mail: { to: rcpt.to, cc: rcpt.cc, bcc: rcpt.bcc, subject, text, html, files, fileIds: idsOf(files), ...(inline.length ? { inline: withIds(inline) } : {}), ...(seed.inReplyTo ? { inReplyTo: seed.inReplyTo.entryId } : {}), ...(outside === 'standard' ? { allowStandard: true } : {}), ...(outside === 'link' ? { links: { expiresIn: linkExpiry } } : {}), ...(from ? { from } : {}) },
        ...(draftId.current ? { replacesDraft: draftId.current } : {}),
      });
      // The sent mail replaced the draft only when it was the one saved; drop any left.
      if (at) return onSent(t('composeTools.scheduledFor', { time: formatDateTime(at) }));
      if (delay && r.scheduledId) {
        const id = r.scheduledId;
        const again: ComposeSeed = { to, cc, bcc, subject, html, body: text, files, ...(inline.length ? { inline } : {}), ...(seed.inReplyTo ? { inReplyTo: seed.inReplyTo } : {}) };
        return onSent(t('composeTools.sendingIn', { count: delay }), { seconds: delay, undo: () => api.request(scheduledCancel, { params: { id } }).then(() => again) });
      }
      const refused = r.refused.map((x) => t('compose.refusedBy', { address: x.address, reason: x.code === 'MAILBOX_FULL' ? t('compose.mailboxFull') : x.code }));
      onSent(refused.length ? t('compose.sentButRefused', { list: refused.join(', ') }) : t('compose.sent'));
    } catch (err) {
      // The saved draft went on another device: the next Send sends this as a new mail (the message says so).
      if ((err as { code?: unknown } | null)?.code === 'DRAFT_GONE') {
        draftId.current = null;
        setDraftState(''); // "Draft saved …" no longer holds
      }
      setProblem(describeError(err, { to: rcpt.to, cc: rcpt.cc, bcc: rcpt.bcc }));
      setBusy(false);
    }
  }

  const format = (cmd: string) => () => {
    document.execCommand(cmd);
    editor.current?.focus();
  };

  // On a phone compose covers the whole screen: it is modal, and what it hides is inert (Tab stays in
  // it). The desk's corner window leaves the mailbox usable beside it.
  const phone = useMedia(PHONE);
  const box = useRef<HTMLElement>(null);
  useInertBehind(box, phone);

  return (
    <section ref={box} className="compose" role="dialog" aria-modal={phone ? 'true' : undefined} aria-label={t('compose.dialog')} onKeyDown={(e) => (e.key === 'Escape' ? onClose() : e.key === 'Enter' && (e.ctrlKey || e.metaKey) ? void send() : undefined)}>
      <form onSubmit={(e) => void send(e)} onInput={scheduleDraft}>
        <header>
          <h2>{seed.inReplyTo ? t('compose.reply') : t('compose.new')}</h2>
          <button type="button" className="plain" onClick={onClose} aria-label={t('compose.close')}>
            ×
          </button>
        </header>
        <FromPicker value={from} onChange={setFrom} cameTo={seed.inReplyTo ? [...seed.inReplyTo.to, ...seed.inReplyTo.cc] : []} />
        <RecipientInput address={address} name="to" label={t('fields.to')} value={to} onChange={setTo} autoFocus={!seed.to} />
        <RecipientInput address={address} name="cc" label={t('fields.cc')} value={cc} onChange={setCc} />
        <RecipientInput address={address} name="bcc" label={t('fields.bcc')} value={bcc} onChange={setBcc} />
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
          <ImageButton editor={editor} images={images} />
          <EditorToolbar editor={editor} address={address} fresh={seed.body === undefined && !seed.html && !seed.draftId} onTemplate={(tpl) => (tpl.subject && !subject && setSubject(tpl.subject), editor.current && (editor.current.innerHTML = sanitizeMailHtml(tpl.html) + editor.current.innerHTML))} />
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
                <button type="button" className="plain" onClick={() => (setFiles(files.filter((_, j) => j !== i)), scheduleDraft())} aria-label={t('compose.remove', { name: f.name })}>
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
          <Schedule disabled={busy} onSchedule={(when) => void send(undefined, when)} />
          <button type="button" className="secondary" disabled={busy} onClick={() => setMerging(true)}>
            {t('composeTools.merge.open')}
          </button>
          <span className="draft-state" role="status">
            {draftState}
          </span>
          {busy && <SendProgress session={session.current} />}
        </footer>
      </form>
      {merging && <Merge address={address} displayName={displayName} template={{ subject, ...content() }} options={outside === 'standard' ? { allowStandard: true } : { links: { expiresIn: linkExpiry } }} onClose={(n) => (setMerging(false), n > 0 && (dropPendingDraft(), onSent(t('composeTools.merge.done', { count: n }))))} />}
    </section>
  );
}

/** How often the bar asks the key worker how far the attachments' upload got. */
const PROGRESS_MS = 150;

/** While a mail with attachments is sent: how much of their ciphertext the server has taken. */
function SendProgress({ session }: { session: string }) {
  const { t } = useTranslation();
  const [p, setP] = useState<{ sent: number; total: number } | null>(null);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout>;
    const poll = async () => {
      const now = await keys({ op: 'sendProgress', session }).catch(() => null);
      if (stopped) return;
      setP(now);
      timer = setTimeout(() => void poll(), PROGRESS_MS);
    };
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [session]);
  if (!p) return null;
  return (
    <label className="send-progress">
      {t('compose.uploading', { sent: formatSize(p.sent), total: formatSize(p.total) })}
      <progress max={p.total} value={p.sent} />
    </label>
  );
}
