import { useModalDialog, useTranslation } from '@sealmail/ui';

/** The mailbox's keyboard shortcuts (catalogue keys of what they do), as the "?" overlay lists them (Mailbox.tsx binds them). */
export const SHORTCUTS: { keys: string[]; does: string }[] = [
  { keys: ['j'], does: 'shortcuts.next' },
  { keys: ['k'], does: 'shortcuts.previous' },
  { keys: ['o', 'Enter'], does: 'shortcuts.open' },
  { keys: ['c'], does: 'shortcuts.compose' },
  { keys: ['r'], does: 'shortcuts.reply' },
  { keys: ['a'], does: 'shortcuts.replyAll' },
  { keys: ['e'], does: 'shortcuts.archive' },
  { keys: ['#'], does: 'shortcuts.delete' },
  { keys: ['s'], does: 'shortcuts.star' },
  { keys: ['u'], does: 'shortcuts.unread' },
  { keys: ['x'], does: 'organise.shortcutSelect' },
  { keys: ['/'], does: 'shortcuts.search' },
  { keys: ['g', 'i'], does: 'shortcuts.inbox' },
  { keys: ['Esc'], does: 'shortcuts.escape' },
  { keys: ['?'], does: 'shortcuts.help' },
];

/** The "?" overlay: a modal dialog (focus stays inside; Escape or Close ends it). */
export function ShortcutsDialog({ onClose, list = SHORTCUTS }: { onClose: () => void; list?: { keys: string[]; does: string }[] }) {
  const { t } = useTranslation();
  const dialog = useModalDialog();
  return (
    // Closed only by Escape (cancel) or the Close button; the effect's clean-up closes it quietly.
    <dialog ref={dialog} className="shortcuts" aria-labelledby="shortcuts-title" onCancel={(e) => (e.preventDefault(), onClose())}>
      <header>
        <h2 id="shortcuts-title">{t('shortcuts.title')}</h2>
        <button type="button" className="plain" onClick={onClose} aria-label={t('shortcuts.close')} autoFocus>
          ×
        </button>
      </header>
      <p className="sub">{t('shortcuts.intro')}</p>
      <dl>
        {list.map((s) => (
          <div key={s.does}>
            <dt>
              {s.keys.map((k, i) => (
                <span key={k}>
                  {i > 0 && ` ${s.keys[0] === 'g' ? t('shortcuts.then') : t('shortcuts.or')} `}
                  <kbd>{k}</kbd>
                </span>
              ))}
            </dt>
            <dd>{t(s.does)}</dd>
          </div>
        ))}
      </dl>
    </dialog>
  );
}
