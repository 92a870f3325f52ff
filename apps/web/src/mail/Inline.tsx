/**
 * Inline images and attached messages in the reader (docs/mail.md "Inline images", "Organising
 * mail"). An HTML mail names its inline images as `cid:` parts; each is a sealed piece of the mail,
 * opened in the key worker (every byte authenticated) and put into the HTML as a `data:` URL
 * before the HTML is sanitised. Nothing else is ever loaded: remote sources are still dropped by
 * the sanitiser and refused by the page's Content Security Policy. A forwarded `message/rfc822`
 * part opens inline: its headers, its text or sanitised HTML (its own inline images from its own
 * parts) and its attachments to download.
 */
import './extras.css';
import { useEffect, useState } from 'react';
import { describeError, formatDateTime, formatSize, keys, useTranslation, type MailView } from '@sealmail/ui';
import { parseAttachedMessage, type AttachedMessage } from '@sealmail/client/attached';
import { INLINE_IMAGE, namedInHtml, withCidImages } from '@sealmail/client/html';
import { HtmlBody } from './HtmlBody';

/** An inline part the HTML names: its cid, its type and how to get its bytes. */
export interface CidPart {
  cid: string;
  contentType: string;
  load: () => Promise<Blob>;
}

/** The HTML with each named raster `cid:` part replaced by its bytes as a data: URL (when opened). */
export function useCidImages(html: string | null, parts: readonly CidPart[]): string | null {
  const [done, setDone] = useState<string | null>(null);
  const key = parts.map((p) => p.cid).join(' ');
  useEffect(() => {
    setDone(null);
    const named = parts.filter((p) => INLINE_IMAGE.test(p.contentType) && namedInHtml(html, p.cid));
    if (!html || !named.length) return;
    let live = true;
    void Promise.all(named.map(async (p) => ({ cid: p.cid, contentType: p.contentType, bytes: new Uint8Array(await (await p.load()).arrayBuffer()) }))).then(
      // The sanitiser runs on the result.
      (opened) => live && setDone(withCidImages(html, opened)),
      () => undefined, // an image that does not open stays a broken image; the rest shows
    );
    return () => {
      live = false;
    };
  }, [html, key]);
  return done ?? html;
}

/** The body of a mail: its HTML with inline images from its own sealed parts, else its text. */
export function MailBody({ address, mail, title }: { address: string; mail: MailView; title: string }) {
  const parts = mail.attachments.flatMap((a) => (a.contentId ? [{ cid: a.contentId, contentType: a.contentType, load: () => keys({ op: 'mailAttachment', address, entryId: mail.entryId, piece: a.piece }) }] : []));
  const html = useCidImages(mail.html, parts);
  return html ? <HtmlBody html={html} title={title} /> : <pre className="text-body">{mail.text}</pre>;
}

function saveFile(blob: Blob, filename: string) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function AttachedBody({ message }: { message: AttachedMessage }) {
  const { t } = useTranslation();
  const parts = message.attachments.flatMap((a) => (a.contentId && a.inline ? [{ cid: a.contentId, contentType: a.contentType, load: async () => new Blob([a.bytes as Uint8Array<ArrayBuffer>], { type: a.contentType }) }] : []));
  const html = useCidImages(message.html, parts);
  const files = message.attachments.filter((a) => !(a.inline && namedInHtml(message.html, a.contentId)));
  return (
    <div className="attached-message-body">
      <dl>
        <dt>{t('extras.attachedFrom')}</dt>
        <dd>{message.from}</dd>
        {message.date && (
          <>
            <dt>{t('extras.attachedDate')}</dt>
            <dd>{formatDateTime(message.date)}</dd>
          </>
        )}
        <dt>{t('extras.attachedSubject')}</dt>
        <dd>{message.subject}</dd>
      </dl>
      {html ? <HtmlBody html={html} title={t('reader.body', { subject: message.subject })} /> : <pre className="text-body">{message.text}</pre>}
      {files.length > 0 && (
        <ul className="attachments" aria-label={t('extras.attachedFiles', { subject: message.subject })}>
          {files.map((a, i) => (
            <li key={`${a.filename}-${i}`}>
              <span className="name">{a.filename}</span> <span className="size">{formatSize(a.bytes.length)}</span>{' '}
              <button type="button" onClick={() => saveFile(new Blob([a.bytes as Uint8Array<ArrayBuffer>], { type: a.contentType }), a.filename)} aria-label={t('reader.downloadName', { name: a.filename })}>
                {t('reader.download')}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** A forwarded message (message/rfc822 attachment): Open shows it here, opened on this device. */
export function AttachedMessageButton({ filename, load }: { filename: string; load: () => Promise<Blob | null> }) {
  const { t } = useTranslation();
  const [message, setMessage] = useState<AttachedMessage | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function open() {
    setBusy(true);
    setProblem(null);
    try {
      const blob = await load();
      if (blob) setMessage(await parseAttachedMessage(await blob.arrayBuffer()));
    } catch (err) {
      setProblem(describeError(err));
    } finally {
      setBusy(false);
    }
  }
  return (
    <>
      {message ? (
        <button type="button" onClick={() => setMessage(null)} aria-expanded="true" aria-label={t('extras.closeAttachedName', { name: filename })}>
          {t('extras.closeAttached')}
        </button>
      ) : (
        <button type="button" onClick={() => void open()} disabled={busy} aria-expanded="false" aria-label={t('extras.openAttachedName', { name: filename })}>
          {t('extras.openAttached')}
        </button>
      )}
      {problem && <span role="alert">{problem}</span>}
      {message && <AttachedBody message={message} />}
    </>
  );
}

export const isAttachedMessage = (contentType: string, filename: string) => contentType === 'message/rfc822' || /\.eml$/i.test(filename);
