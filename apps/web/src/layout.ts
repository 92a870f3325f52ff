import { useEffect, useState, type RefObject } from 'react';

/** The phone layout (styles.css): one pane at a time, and compose covers the whole screen. */
export const PHONE = '(max-width: 700px)';

/** Whether a media query matches now, following changes (a rotated phone, a resized window). */
export function useMedia(query: string): boolean {
  const [matches, setMatches] = useState(() => typeof matchMedia === 'function' && matchMedia(query).matches);
  useEffect(() => {
    const m = matchMedia(query);
    const changed = () => setMatches(m.matches);
    changed();
    m.addEventListener('change', changed);
    return () => m.removeEventListener('change', changed);
  }, [query]);
  return matches;
}

/** What stays operable above a full-screen dialog: it floats over it (toasts with Undo, reminders). */
const ABOVE = '.toasts, .reminder-notices, script, style, link';

/**
 * While `active`, everything in the page except the element `ref` points at (and what floats above
 * it) is inert: Tab, a screen reader's cursor and clicks stay in the dialog, not on controls it
 * hides. Siblings added while it is open (a re-rendered pane) are made inert too; on close each
 * element this made inert is released.
 */
export function useInertBehind(ref: RefObject<HTMLElement | null>, active: boolean): void {
  useEffect(() => {
    const dialog = ref.current;
    if (!active || !dialog) return;
    const made = new Set<Element>();
    const ancestors: Element[] = [];
    for (let node: Element = dialog; node.parentElement && node !== document.body; node = node.parentElement) ancestors.push(node);
    const cover = () => {
      for (const node of ancestors)
        for (const sibling of Array.from(node.parentElement?.children ?? [])) {
          if (sibling === node || made.has(sibling) || sibling.hasAttribute('inert') || sibling.matches(ABOVE)) continue;
          sibling.setAttribute('inert', '');
          made.add(sibling);
        }
    };
    cover();
    const watch = new MutationObserver(cover);
    for (const node of ancestors) if (node.parentElement) watch.observe(node.parentElement, { childList: true });
    return () => {
      watch.disconnect();
      for (const el of made) el.removeAttribute('inert');
    };
  }, [ref, active]);
}
