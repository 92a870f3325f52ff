import { useEffect, useRef } from 'react';

/** The mailbox's keyboard shortcuts, as the "?" overlay lists them (Mailbox.tsx binds them). */
export const SHORTCUTS: { keys: string[]; does: string }[] = [
  { keys: ['j'], does: 'Next message' },
  { keys: ['k'], does: 'Previous message' },
  { keys: ['o', 'Enter'], does: 'Open the selected message' },
  { keys: ['c'], does: 'Compose a new message' },
  { keys: ['r'], does: 'Reply' },
  { keys: ['a'], does: 'Reply to all' },
  { keys: ['e'], does: 'Archive' },
  { keys: ['#'], does: 'Delete' },
  { keys: ['s'], does: 'Star or unstar' },
  { keys: ['u'], does: 'Mark as unread' },
  { keys: ['/'], does: 'Search' },
  { keys: ['g', 'i'], does: 'Go to the Inbox' },
  { keys: ['Esc'], does: 'Close the message or window; back' },
  { keys: ['?'], does: 'Show this list' },
];

/** The "?" overlay: a modal dialog (focus stays inside; Escape or Close ends it). */
export function ShortcutsDialog({ onClose }: { onClose: () => void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = dialog.current;
    const before = document.activeElement as HTMLElement | null;
    d?.showModal();
    return () => {
      d?.close();
      before?.focus();
    };
  }, []);
  return (
    // Closed only by Escape (cancel) or the Close button; the effect's clean-up closes it quietly.
    <dialog ref={dialog} className="shortcuts" aria-labelledby="shortcuts-title" onCancel={(e) => (e.preventDefault(), onClose())}>
      <header>
        <h2 id="shortcuts-title">Keyboard shortcuts</h2>
        <button type="button" className="plain" onClick={onClose} aria-label="Close" autoFocus>
          ×
        </button>
      </header>
      <p className="sub">They work in the mailbox when you are not typing in a field.</p>
      <dl>
        {SHORTCUTS.map((s) => (
          <div key={s.does}>
            <dt>
              {s.keys.map((k, i) => (
                <span key={k}>
                  {i > 0 && (s.keys[0] === 'g' ? ' then ' : ' or ')}
                  <kbd>{k}</kbd>
                </span>
              ))}
            </dt>
            <dd>{s.does}</dd>
          </div>
        ))}
      </dl>
    </dialog>
  );
}
