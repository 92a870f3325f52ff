/**
 * The secure reply form (docs/mail.md §11, docs/crypto.md §7.6): the outside recipient writes an
 * answer and may attach files; it is sealed here, in the browser, to the sender's key that the
 * opened (and digest-checked) mail itself names — never to a key the server hands out — and
 * posted through the link. The reply is not signed (the recipient has no key); the form says so.
 * No framework: plain DOM, labelled controls, one live status line.
 */
import type { ParsedMime } from './open';
import { formatSize, t } from './i18n';

/** What a link allows a reply to carry (contract `linkReplyLimits`, repeated here to keep the viewer small). */
const MAX_BYTES = 10 * 1024 * 1024;
const MAX_FILES = 10;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

function refusal(status: number, code: string | undefined): string {
  if (code === 'LINK_REVOKED') return t('replyRevoked');
  if (status === 404 || status === 410) return t('replyExpired');
  if (status === 429) return t('replyTooOften');
  if (status === 413) return t('replyTooLarge', { size: formatSize(MAX_BYTES) });
  if (status === 507) return t('replyMailboxFull');
  return t('replyFailed');
}

/** The reply section for an opened link mail; null when the mail carries no reply grant. */
export function replyForm(opts: { linkId: string; mime: ParsedMime; copyMessageId: string; recipient: string; sender: string }): HTMLElement | null {
  if (!opts.mime.sealmailHeaders?.['x-sealmail-link-reply'] || !opts.recipient) return null;
  const text = el('textarea', { id: 'reply-text', name: 'text', rows: 6, required: true });
  const files = el('input', { id: 'reply-files', name: 'files', type: 'file', multiple: true });
  const send = el('button', { type: 'submit', className: 'primary' }, t('replySend'));
  const status = el('p', { id: 'reply-status', className: 'note' });
  status.setAttribute('role', 'status');
  const form = el(
    'form',
    { className: 'reply', noValidate: true },
    el('h2', { id: 'reply-heading' }, t('replyHeading')),
    el('p', { className: 'note', id: 'reply-explain' }, t('replyExplain', { sender: opts.sender, recipient: opts.recipient })),
    el('label', { htmlFor: 'reply-text' }, t('replyText')),
    text,
    el('label', { htmlFor: 'reply-files' }, t('replyFiles', { size: formatSize(MAX_BYTES) })),
    files,
    send,
    status,
  );
  form.setAttribute('aria-labelledby', 'reply-heading');
  text.setAttribute('aria-describedby', 'reply-explain');
  const say = (msg: string, kind: 'error' | 'note' | 'ok') => {
    status.textContent = msg;
    status.className = kind;
    status.dataset['state'] = kind;
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    // Busy while sending, but not `disabled`: a disabled button loses the keyboard focus to the page.
    if (send.getAttribute('aria-disabled') === 'true') return;
    void (async () => {
      const chosen = [...(files.files ?? [])];
      if (!text.value.trim()) {
        say(t('replyEmpty'), 'error');
        text.setAttribute('aria-invalid', 'true');
        text.focus();
        return;
      }
      text.removeAttribute('aria-invalid');
      if (chosen.length > MAX_FILES || chosen.reduce((n, f) => n + f.size, 0) > MAX_BYTES) {
        say(t('replyTooLarge', { size: formatSize(MAX_BYTES) }), 'error');
        files.focus();
        return;
      }
      send.setAttribute('aria-disabled', 'true');
      say(t('replySealing'), 'note');
      try {
        const attachments = await Promise.all(chosen.map(async (f) => ({ filename: f.name, contentType: f.type || 'application/octet-stream', bytes: new Uint8Array(await f.arrayBuffer()) })));
        const { sealLinkReply } = await import('@sealmail/client/link-reply');
        const sealed = await sealLinkReply({ mime: opts.mime, copyMessageId: opts.copyMessageId, from: opts.recipient, text: text.value, attachments });
        for (const a of attachments) a.bytes.fill(0);
        const res = await fetch(`/api/v1/links/${encodeURIComponent(opts.linkId)}/replies`, {
          method: 'POST',
          credentials: 'omit',
          referrerPolicy: 'no-referrer',
          cache: 'no-store',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(sealed),
        });
        if (!res.ok) {
          const code = ((await res.json().catch(() => null)) as { error?: { code?: string } } | null)?.error?.code;
          say(refusal(res.status, code), 'error');
          return;
        }
        form.reset();
        say(t('replySent', { sender: opts.sender }), 'ok');
      } catch {
        say(t('replyFailed'), 'error');
      } finally {
        send.removeAttribute('aria-disabled');
      }
    })();
  });
  return form;
}
