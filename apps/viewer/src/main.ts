/**
 * The link viewer (MISSION §3, docs/mail.md §10): reads the secret from the URL fragment and
 * clears it from the address bar before anything else, fetches the public copy's ciphertext by
 * link id only, checks it against the digest from the fragment, and decrypts it here, in the
 * browser. Nothing from the fragment, and no plaintext, is ever sent anywhere. No framework, no
 * third-party code beyond the crypto package, the MIME parser and DOMPurify; strict CSP.
 */
import { linkIdFromPath, parseFragment, takeFragment } from './fragment';
import type { Manifest, ParsedMime } from './open';
import { formatDateTime, formatSize, language, t } from './i18n';
import { replyForm } from './reply';
import './styles.css';

const root = document.getElementById('viewer')!;
const state = document.getElementById('state')!;
document.documentElement.lang = language;
document.title = t('title');
root.querySelector('h1')!.textContent = t('heading');
state.textContent = t('opening');
const secret = parseFragment(takeFragment(window.location, window.history));
const id = linkIdFromPath(window.location.pathname);
// Decrypting (crypto, MIME parser) loads in parallel with the message; the sanitiser only for an
// HTML message. Neither is part of the first paint (README "Size budgets").
const opener = import('./open');
opener.catch(() => undefined); // awaited where needed; a failed load is reported there

interface LinkResponse {
  sender: string;
  /** The address the link was mailed to (a secure reply comes from it). */
  recipient?: string;
  expiresAt: string;
  envelope: string;
  manifest: string;
  passwordBox: string;
  body: string;
  attachments: { index: number; size: number }[];
  /** This visit: the pieces fetched with it are part of it (one visit opens everything). */
  visit?: string;
}

/** The visit this page opened (sent with each piece fetch; see LINK_VISIT_HEADER in the contract). */
let visit: string | undefined;

function show(text: string, kind: 'error' | 'info' = 'info') {
  state.textContent = text;
  state.className = kind;
  state.dataset['state'] = kind;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

async function fetchLink(path: string): Promise<Response> {
  return fetch(path, { credentials: 'omit', referrerPolicy: 'no-referrer', cache: 'no-store', ...(visit ? { headers: { 'x-sealmail-visit': visit } } : {}) });
}

/** The server refused a fetch (expired, withdrawn, too often): its message says what to do. */
class Refused extends Error {}

async function errorCode(res: Response): Promise<string | undefined> {
  return ((await res.json().catch(() => null)) as { error?: { code?: string } } | null)?.error?.code;
}

function refusal(res: Response, code?: string): string {
  if (code === 'LINK_REVOKED') return t('revoked');
  // 400: not a link id this server could have made.
  if (res.status === 400 || res.status === 404 || res.status === 410) return t('gone');
  if (res.status === 429) return t('tooOften');
  return t('unavailable');
}

function render(data: LinkResponse, mime: ParsedMime, manifest: Manifest, html: string | null, inPlace: ReadonlySet<number>) {
  const when = (s: string | null) => (s ? formatDateTime(s) : '');
  const header = el(
    'dl',
    { className: 'meta' },
    el('dt', {}, t('from')),
    el('dd', {}, mime.from ? `${mime.from.name ? `${mime.from.name} ` : ''}<${mime.from.address}>` : data.sender),
    el('dt', {}, t('subject')),
    el('dd', { id: 'subject' }, mime.subject || t('noSubject')),
    el('dt', {}, t('sent')),
    el('dd', {}, when(mime.date)),
    el('dt', {}, t('availableUntil')),
    el('dd', {}, formatDateTime(data.expiresAt)),
  );
  const body = html !== null
    ? el('iframe', { className: 'html-body', title: t('body'), srcdoc: html })
    : el('pre', { className: 'text-body' }, mime.text);
  if (body instanceof HTMLIFrameElement) {
    body.setAttribute('sandbox', '');
    body.setAttribute('referrerpolicy', 'no-referrer');
  }
  const files = el('ul', { className: 'attachments' });
  // What became of a download is said under the buttons, where the reader is (on a phone the
  // page's status line is screens above them).
  const filesStatus = el('p', { id: 'files-status', className: 'error' });
  filesStatus.setAttribute('role', 'alert');
  // Images shown in the text are not listed again as files.
  const listed = mime.attachments.filter((a) => !inPlace.has(a.piece));
  for (const a of listed) {
    const size = manifest.pieces[a.piece]?.size;
    const button = el('button', { type: 'button' }, size !== undefined ? t('download', { filename: a.filename, size: formatSize(Number(size)) }) : t('downloadNoSize', { filename: a.filename }));
    button.addEventListener('click', () => {
      // Busy, but not `disabled`: a disabled button loses the keyboard focus to the page.
      if (button.getAttribute('aria-disabled') === 'true') return;
      button.setAttribute('aria-disabled', 'true');
      filesStatus.textContent = '';
      void download(a.piece, a.filename, a.contentType, manifest)
        // A refusal (the link expired or was withdrawn meanwhile) says so; anything else is a failed download.
        .catch((err: unknown) => {
          filesStatus.textContent = err instanceof Refused ? err.message : t('downloadFailed', { filename: a.filename });
          filesStatus.scrollIntoView({ block: 'nearest' });
        })
        .finally(() => button.removeAttribute('aria-disabled'));
    });
    files.append(el('li', {}, button));
  }
  state.textContent = '';
  state.className = 'ok';
  state.dataset['state'] = 'open';
  root.append(header, body, ...(listed.length ? [el('h2', {}, t('attachments')), files, filesStatus] : []), el('p', { className: 'note' }, t('note')));
  const reply = replyForm({ linkId: id!, mime, copyMessageId: manifest.messageId, recipient: data.recipient ?? '', sender: mime.from?.address ?? data.sender });
  if (reply) root.append(reply);
}

/** Fetches one piece's ciphertext and decrypts it here (authenticated before anything is kept). */
async function openPiece(piece: number, manifest: Manifest): Promise<Uint8Array> {
  const res = await fetchLink(`/api/v1/links/${encodeURIComponent(id!)}/pieces/${piece}`);
  if (!res.ok) throw new Refused(refusal(res, await errorCode(res)));
  return (await opener).openPiece(manifest, piece, new Uint8Array(await res.arrayBuffer()));
}

/** Fetches one attachment, decrypts it here, saves it. */
async function download(piece: number, filename: string, type: string, manifest: Manifest) {
  const plain = await openPiece(piece, manifest);
  const url = URL.createObjectURL(new Blob([plain as Uint8Array<ArrayBuffer>], { type: type || 'application/octet-stream' }));
  const a = el('a', { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

async function open(): Promise<void> {
  if (!id || !secret) {
    show(t('incomplete'), 'error');
    return;
  }
  // Only the link id goes to the server; the password and digest stay in this page.
  const res = await fetchLink(`/api/v1/links/${encodeURIComponent(id)}`);
  if (!res.ok) return show(refusal(res, await errorCode(res)), 'error');
  const data = (await res.json()) as LinkResponse;
  visit = data.visit;
  let manifest: Manifest;
  let mime: ParsedMime;
  const { openLink } = await opener;
  try {
    ({ manifest, mime } = await openLink(data, secret));
  } catch {
    show(t('damaged'), 'error');
    return;
  }
  let html: string | null = null;
  const inPlace = new Set<number>();
  if (mime.html) {
    const { INLINE_IMAGE, namedInHtml, sanitizeMailHtml, withCidImages } = await import('@sealmail/client/html');
    // Images the text names as cid: parts are opened here and shown in place; one that does not
    // open stays a broken image and is listed as a file instead.
    const named = mime.attachments.filter((a) => INLINE_IMAGE.test(a.contentType) && namedInHtml(mime.html, a.contentId));
    const opened = await Promise.all(named.map((a) => openPiece(a.piece, manifest).then((bytes) => ({ cid: a.contentId!, contentType: a.contentType, bytes, piece: a.piece }), () => null)));
    const parts = opened.filter((p) => p !== null);
    for (const p of parts) inPlace.add(p.piece);
    html = sanitizeMailHtml(withCidImages(mime.html, parts));
  }
  render(data, mime, manifest, html, inPlace);
}

open().catch(() => show(t('unavailable'), 'error'));
