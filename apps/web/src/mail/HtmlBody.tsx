import { sanitizeMailHtml } from '@sealmail/client/html';

/** HTML mail in a sandboxed frame, sanitised (see @sealmail/client/html for the defences). */
export function HtmlBody({ html, title }: { html: string; title: string }) {
  return <iframe className="html-body" title={title} sandbox="" referrerPolicy="no-referrer" srcDoc={sanitizeMailHtml(html)} />;
}
