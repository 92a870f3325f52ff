import './compose.css';
import { useEffect, useLayoutEffect, useRef, useState, type RefObject } from 'react';
import { keys, useTranslation, type SignatureItem, type TemplateItem } from '@sealmail/ui';
import { safeLink } from './html';

/** The signature to insert for a sending address: its default, else the default for any address. */
export const defaultSignature = (signatures: readonly SignatureItem[], address: string) =>
  signatures.find((s) => s.isDefault && s.address === address.toLowerCase()) ?? signatures.find((s) => s.isDefault && s.address === null) ?? null;

const SIGNATURE_CLASS = 'sealmail-signature';

/** Puts a signature at the end of the editor, replacing one inserted before. */
export function placeSignature(editor: HTMLElement, s: SignatureItem) {
  editor.querySelector(`.${SIGNATURE_CLASS}`)?.remove();
  const div = document.createElement('div');
  div.className = SIGNATURE_CLASS;
  div.innerHTML = `<br>-- <br>${s.html}`;
  editor.appendChild(div);
}

/**
 * More of the compose toolbar: insert or edit a link (Ctrl+K), insert a signature or a template.
 * Signatures and templates come from the key worker, opened on this device.
 */
export function EditorToolbar({
  editor,
  address,
  fresh,
  onTemplate,
}: {
  editor: RefObject<HTMLDivElement | null>;
  address: string;
  /** A new mail (not a draft or reply being edited): the default signature goes in at once. */
  fresh: boolean;
  onTemplate: (t: TemplateItem) => void;
}) {
  const { t } = useTranslation();
  const [signatures, setSignatures] = useState<SignatureItem[]>([]);
  const [templates, setTemplates] = useState<TemplateItem[]>([]);
  const [link, setLink] = useState<{ url: string; text: string; anchor: HTMLAnchorElement | null; range: Range | null } | null>(null);
  const [linkProblem, setLinkProblem] = useState<string | null>(null);
  const urlInput = useRef<HTMLInputElement>(null);

  useEffect(() => {
    void keys({ op: 'signatures', address })
      .then((all) => {
        const readable = all.filter((s): s is SignatureItem => !('unreadable' in s));
        setSignatures(readable);
        const d = defaultSignature(readable, address);
        // Only into an untouched new mail: text typed meanwhile is not pushed around.
        if (fresh && d && editor.current && !editor.current.innerText.trim()) placeSignature(editor.current, d);
      })
      .catch(() => setSignatures([]));
    void keys({ op: 'templates', address })
      .then((all) => setTemplates(all.filter((s): s is TemplateItem => !('unreadable' in s))))
      .catch(() => setTemplates([]));
  }, [address]);

  /** Opens the link form for the selection (or the link the caret is in). */
  const openLink = () => {
    const sel = window.getSelection();
    const range = sel && sel.rangeCount && editor.current?.contains(sel.anchorNode) ? sel.getRangeAt(0).cloneRange() : null;
    const anchor = (sel?.anchorNode instanceof Element ? sel.anchorNode : sel?.anchorNode?.parentElement)?.closest('a') ?? null;
    setLinkProblem(null);
    setLink({ url: anchor?.getAttribute('href') ?? '', text: anchor?.textContent ?? range?.toString() ?? '', anchor: anchor && editor.current?.contains(anchor) ? anchor : null, range });
  };

  useLayoutEffect(() => {
    if (link) urlInput.current?.focus();
  }, [link !== null]);

  // Ctrl+K (⌘K) in the editor opens the link form.
  useEffect(() => {
    const el = editor.current;
    if (!el) return;
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'k') {
        e.preventDefault();
        openLink();
      }
    };
    el.addEventListener('keydown', onKey);
    return () => el.removeEventListener('keydown', onKey);
  });

  function applyLink() {
    if (!link || !editor.current) return;
    const href = safeLink(link.url);
    if (!href) return setLinkProblem(t('composeTools.linkBad'));
    const text = link.text.trim() || href;
    if (link.anchor) {
      link.anchor.setAttribute('href', href);
      link.anchor.textContent = text;
    } else {
      const a = document.createElement('a');
      a.href = href;
      a.textContent = text;
      const range = link.range;
      if (range && editor.current.contains(range.commonAncestorContainer)) {
        range.deleteContents();
        range.insertNode(a);
      } else editor.current.appendChild(a);
    }
    setLink(null);
    editor.current.focus();
    editor.current.dispatchEvent(new Event('input', { bubbles: true }));
  }

  return (
    <>
      <button type="button" onClick={openLink} aria-label={t('composeTools.link')} title={t('composeTools.linkShortcut')}>
        {t('composeTools.linkButton')}
      </button>
      {signatures.length > 0 && (
        <select
          aria-label={t('composeTools.insertSignature')}
          value=""
          onChange={(e) => {
            const s = signatures.find((x) => x.id === e.target.value);
            if (s && editor.current) placeSignature(editor.current, s);
          }}
        >
          <option value="">{t('composeTools.insertSignature')}</option>
          {signatures.map((s) => (
            <option key={s.id} value={s.id}>
              {s.name}
            </option>
          ))}
        </select>
      )}
      {templates.length > 0 && (
        <select
          aria-label={t('composeTools.insertTemplate')}
          value=""
          onChange={(e) => {
            const tpl = templates.find((x) => x.id === e.target.value);
            if (tpl) onTemplate(tpl);
          }}
        >
          <option value="">{t('composeTools.insertTemplate')}</option>
          {templates.map((tpl) => (
            <option key={tpl.id} value={tpl.id}>
              {tpl.name}
            </option>
          ))}
        </select>
      )}
      {link && (
        <div className="link-form" role="group" aria-label={t('composeTools.linkForm')} onKeyDown={(e) => (e.key === 'Enter' ? (e.preventDefault(), applyLink()) : e.key === 'Escape' ? (e.stopPropagation(), setLink(null)) : undefined)}>
          <label>
            {t('composeTools.linkUrl')} <input ref={urlInput} value={link.url} onInput={(e) => setLink({ ...link, url: e.currentTarget.value })} placeholder="https://" />
          </label>
          <label>
            {t('composeTools.linkText')} <input value={link.text} onInput={(e) => setLink({ ...link, text: e.currentTarget.value })} />
          </label>
          <button type="button" onClick={applyLink}>
            {link.anchor ? t('composeTools.linkUpdate') : t('composeTools.linkInsert')}
          </button>
          <button type="button" onClick={() => setLink(null)}>
            {t('composeTools.cancel')}
          </button>
          {linkProblem && <p role="alert">{linkProblem}</p>}
        </div>
      )}
    </>
  );
}
