/**
 * Inline images in the compose editor (docs/mail.md "Inline images"): an image chosen with the
 * Image button or pasted into the editor shows at once (a blob: URL of this page); on sending,
 * each becomes a `cid:` reference and the file goes along as an inline part, sealed on this device
 * as a piece like any attachment (the key worker builds the multipart/related).
 */
import { useEffect, useRef, type RefObject } from 'react';
import { useTranslation } from '@sealmail/ui';

/** Raster images only (the recipient's reader shows these kinds inline). */
export const INLINE_IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];

export interface InlineImages {
  /** The editor's HTML with our images as `cid:` references, and the files they name. */
  collect: (html: string) => { html: string; inline: { file: File; cid: string }[] };
  /** Bytes of the images still in the editor. */
  size: () => number;
  insert: (file: File, at?: Range | null) => void;
  /** HTML of a reopened mail with its `cid:` images shown from these files (collect makes them parts again). */
  adopt: (html: string, inline: readonly { cid: string; file: File }[]) => string;
}

export function useInlineImages(editor: RefObject<HTMLDivElement | null>): InlineImages {
  const images = useRef(new Map<string, File>());
  useEffect(() => () => images.current.forEach((_, url) => URL.revokeObjectURL(url)), []);

  function insert(file: File, at?: Range | null) {
    const el = editor.current;
    if (!el || !INLINE_IMAGE_TYPES.includes(file.type)) return;
    const url = URL.createObjectURL(file);
    images.current.set(url, file);
    const img = document.createElement('img');
    img.src = url;
    img.alt = file.name;
    img.style.maxWidth = '100%';
    if (at && el.contains(at.commonAncestorContainer)) {
      at.deleteContents();
      at.insertNode(img);
    } else el.appendChild(img);
    el.dispatchEvent(new Event('input', { bubbles: true }));
  }

  // Pasted image files go in as inline images (pasted text and HTML as the browser does).
  useEffect(() => {
    const el = editor.current;
    if (!el) return;
    const onPaste = (e: ClipboardEvent) => {
      const files = Array.from(e.clipboardData?.files ?? []).filter((f) => INLINE_IMAGE_TYPES.includes(f.type));
      if (!files.length) return;
      e.preventDefault();
      const sel = window.getSelection();
      const range = sel && sel.rangeCount && el.contains(sel.anchorNode) ? sel.getRangeAt(0) : null;
      for (const f of files) insert(f, range);
    };
    el.addEventListener('paste', onPaste);
    return () => el.removeEventListener('paste', onPaste);
  });

  const inEditor = () => Array.from(editor.current?.querySelectorAll('img') ?? []).filter((img) => images.current.has(img.getAttribute('src') ?? ''));

  return {
    insert,
    adopt(html, inline) {
      let out = html;
      for (const { cid, file } of inline) {
        if (!INLINE_IMAGE_TYPES.includes(file.type)) continue;
        const url = URL.createObjectURL(file);
        images.current.set(url, file);
        out = out.split(`cid:${cid}`).join(url);
      }
      return out;
    },
    size: () => [...new Set(inEditor().map((img) => img.getAttribute('src')!))].reduce((n, url) => n + images.current.get(url)!.size, 0),
    collect(html) {
      const box = document.createElement('div');
      box.innerHTML = html;
      const cids = new Map<string, string>();
      const inline: { file: File; cid: string }[] = [];
      for (const img of Array.from(box.querySelectorAll('img'))) {
        const src = img.getAttribute('src') ?? '';
        const file = images.current.get(src);
        if (!file) {
          // A blob: URL of this page means nothing to anyone else.
          if (src.startsWith('blob:')) img.remove();
          continue;
        }
        let cid = cids.get(src);
        if (!cid) {
          cid = `${crypto.randomUUID()}@sealmail.invalid`;
          cids.set(src, cid);
          inline.push({ file, cid });
        }
        img.setAttribute('src', `cid:${cid}`);
      }
      return { html: box.innerHTML, inline };
    },
  };
}

/** The toolbar's Image button: a file picker for images to show in the text. */
export function ImageButton({ editor, images }: { editor: RefObject<HTMLDivElement | null>; images: InlineImages }) {
  const { t } = useTranslation();
  const input = useRef<HTMLInputElement>(null);
  const at = useRef<Range | null>(null);
  return (
    <>
      <button
        type="button"
        aria-label={t('extras.insertImage')}
        onClick={() => {
          const sel = window.getSelection();
          at.current = sel && sel.rangeCount && editor.current?.contains(sel.anchorNode) ? sel.getRangeAt(0).cloneRange() : null;
          input.current?.click();
        }}
      >
        {t('extras.image')}
      </button>
      <input
        ref={input}
        type="file"
        hidden
        multiple
        accept={INLINE_IMAGE_TYPES.join(',')}
        aria-label={t('extras.insertImage')}
        onChange={(e) => {
          for (const f of Array.from(e.currentTarget.files ?? [])) images.insert(f, at.current);
          e.currentTarget.value = '';
          editor.current?.focus();
        }}
      />
    </>
  );
}
