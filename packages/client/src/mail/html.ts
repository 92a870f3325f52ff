/**
 * HTML mail, defanged (EFAIL-class defences), for the browser apps that show mail (web client,
 * link viewer): sanitised with DOMPurify (no scripts, forms, frames, event handlers or
 * remote-loading elements' sources), for a sandboxed frame (no scripts, forms, popups or
 * navigation of the page; the web client adds only `allow-same-origin`, to size the frame to its
 * content). The pages' Content Security Policy, which the
 * frame inherits, allows images only from the page's origin, `blob:` and `data:`, so remote
 * content — tracking pixels included — is never fetched. Browser only (DOMPurify needs a DOM).
 */
import DOMPurify from 'dompurify';
import { base64 } from '../base64';

/** Inline images shown in place: raster types only (no SVG, a document format of its own). */
export const INLINE_IMAGE = /^image\/(png|jpeg|gif|webp)$/;

/** Whether the HTML names this part as `cid:` (so it is shown in place, not listed as a file). */
export const namedInHtml = (html: string | null, cid: string | undefined | null): boolean => !!html && !!cid && html.includes(`cid:${cid}`);

/**
 * The HTML with each raster part it names as `cid:` replaced by its bytes as a `data:` URL —
 * literal replacement (no pattern from the mail), before sanitising, so the sanitiser sees the
 * result. The bytes are an opened, authenticated piece of the mail.
 */
export function withCidImages(html: string, parts: readonly { cid: string; contentType: string; bytes: Uint8Array }[]): string {
  let out = html;
  for (const p of parts) if (INLINE_IMAGE.test(p.contentType) && namedInHtml(out, p.cid)) out = out.split(`cid:${p.cid}`).join(`data:${p.contentType};base64,${base64(p.bytes)}`);
  return out;
}

/** Sources a mail may load: its own inline parts only. Anything else (http:, //host…) is dropped. */
const LOCAL_SOURCE = /^(data:|blob:|cid:)/i;
let hooked = false;

export function sanitizeMailHtml(html: string): string {
  if (!hooked) {
    // Remote images and media lose their source before they reach the frame, so the browser
    // never even tries the remote host (no tracking pixel, no DNS lookup); CSP stays as the backstop.
    DOMPurify.addHook('afterSanitizeAttributes', (node) => {
      const src = node.getAttribute('src');
      if (src !== null && !LOCAL_SOURCE.test(src.trim())) {
        node.removeAttribute('src');
        if (node.tagName === 'IMG' && !node.getAttribute('alt')) node.setAttribute('alt', '[remote image not loaded]');
      }
    });
    hooked = true;
  }
  const clean = DOMPurify.sanitize(html, {
    FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select', 'iframe', 'frame', 'object', 'embed', 'link', 'meta', 'base', 'video', 'audio', 'source', 'track'],
    FORBID_ATTR: ['srcset', 'background', 'ping', 'action', 'formaction'],
    ALLOW_DATA_ATTR: false,
  });
  // Remote URLs in src/href stay inert: links open nothing inside the sandbox, images are refused by CSP.
  return `<!doctype html><html><head><meta charset="utf-8"><base target="_blank"></head><body>${clean}</body></html>`;
}
