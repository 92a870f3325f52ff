/**
 * HTML mail, defanged (EFAIL-class defences), for the browser apps that show mail (web client,
 * link viewer): sanitised with DOMPurify (no scripts, forms, frames, event handlers or
 * remote-loading elements' sources), for a sandboxed frame (`sandbox=""`: no scripts, no
 * same-origin access, no navigation of the page). The pages' Content Security Policy, which the
 * frame inherits, allows images only from the page's origin, `blob:` and `data:`, so remote
 * content — tracking pixels included — is never fetched. Browser only (DOMPurify needs a DOM).
 */
import DOMPurify from 'dompurify';

export function sanitizeMailHtml(html: string): string {
  const clean = DOMPurify.sanitize(html, {
    FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select', 'iframe', 'frame', 'object', 'embed', 'link', 'meta', 'base', 'video', 'audio', 'source', 'track'],
    FORBID_ATTR: ['srcset', 'background', 'ping', 'action', 'formaction'],
    ALLOW_DATA_ATTR: false,
  });
  // Remote URLs in src/href stay inert: links open nothing inside the sandbox, images are refused by CSP.
  return `<!doctype html><html><head><meta charset="utf-8"><base target="_blank"></head><body>${clean}</body></html>`;
}
