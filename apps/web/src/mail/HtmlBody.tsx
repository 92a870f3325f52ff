import DOMPurify from 'dompurify';

/**
 * HTML mail, defanged (EFAIL-class defences): sanitised with DOMPurify (no scripts, forms,
 * frames, event handlers or remote-loading elements' sources), then shown in a sandboxed frame
 * (no scripts, no same-origin access, no navigation of this page). The page's Content Security
 * Policy, which the frame inherits, allows images only from this origin, `blob:` and `data:`, so
 * remote content — tracking pixels included — is never fetched.
 */
export function sanitizeMailHtml(html: string): string {
  const clean = DOMPurify.sanitize(html, {
    FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select', 'iframe', 'frame', 'object', 'embed', 'link', 'meta', 'base', 'video', 'audio', 'source', 'track'],
    FORBID_ATTR: ['srcset', 'background', 'ping', 'action', 'formaction'],
    ALLOW_DATA_ATTR: false,
  });
  // Remote URLs in src/href stay inert: links open nothing inside the sandbox, images are refused by CSP.
  return `<!doctype html><html><head><meta charset="utf-8"><base target="_blank"></head><body>${clean}</body></html>`;
}

export function HtmlBody({ html, title }: { html: string; title: string }) {
  return <iframe className="html-body" title={title} sandbox="" referrerPolicy="no-referrer" srcDoc={sanitizeMailHtml(html)} />;
}
