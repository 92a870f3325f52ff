import { useEffect, useRef, useState } from 'react';
import { sanitizeMailHtml } from '@sealmail/client/html';

/**
 * HTML mail in a sandboxed frame, sanitised (see @sealmail/client/html for the defences), as tall
 * as its content and in the UI's font. The sandbox allows same-origin access so this page can
 * measure the content and set the font through the CSSOM; it still allows no scripts (nor does
 * the inherited Content-Security-Policy, and DOMPurify removed them), forms, popups or navigation.
 */
export function HtmlBody({ html, title }: { html: string; title: string }) {
  const frame = useRef<HTMLIFrameElement>(null);
  const [height, setHeight] = useState<number | null>(null);
  const observer = useRef<ResizeObserver | null>(null);
  useEffect(() => () => observer.current?.disconnect(), []);

  function fit() {
    const doc = frame.current?.contentDocument;
    if (!doc?.body) return;
    const body = doc.body.style;
    body.fontFamily = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
    body.fontSize = '15px';
    body.lineHeight = '1.45';
    body.margin = '0';
    body.padding = '0.6rem 0.8rem';
    body.color = '#1c2430';
    body.background = '#fff';
    body.overflowWrap = 'anywhere';
    const measure = () => setHeight(doc.documentElement.scrollHeight);
    measure();
    observer.current?.disconnect();
    observer.current = new ResizeObserver(measure);
    observer.current.observe(doc.body);
  }

  return <iframe ref={frame} className="html-body" title={title} sandbox="allow-same-origin" referrerPolicy="no-referrer" srcDoc={sanitizeMailHtml(html)} onLoad={fit} style={height === null ? undefined : { height: `${height + 2}px` }} />;
}
