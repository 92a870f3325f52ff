import { useId, useLayoutEffect, useRef, useState, type KeyboardEvent } from 'react';
import { useTranslation } from '@sealmail/ui';

/**
 * The account menu in the header (WAI-ARIA menu button): who is signed in, Settings, keyboard
 * shortcuts, Sign out. Enter, Space or ArrowDown open it on the first item, ArrowUp on the last;
 * arrows, Home and End move; Escape closes and returns to the button; Tab closes.
 */
export function AccountMenu({ displayName, address, onSettings, onShortcuts, onSignOut }: { displayName: string; address: string; onSettings: () => void; onShortcuts: () => void; onSignOut: () => void }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState<false | 'first' | 'last'>(false);
  const button = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLUListElement>(null);
  const id = useId();
  const items = () => [...(menu.current?.querySelectorAll<HTMLElement>('[role="menuitem"]') ?? [])];

  // A layout effect: the focus is in the menu before the next key press can arrive (Preact runs
  // plain effects after paint, so an Escape pressed at once would otherwise reach the page).
  useLayoutEffect(() => {
    if (!open) return;
    const all = items();
    (open === 'last' ? all.at(-1) : all[0])?.focus();
    // A click anywhere else closes it.
    const away = (e: PointerEvent) => {
      if (!(e.target as HTMLElement).closest('.account-menu')) setOpen(false);
    };
    document.addEventListener('pointerdown', away);
    return () => document.removeEventListener('pointerdown', away);
  }, [open]);

  const close = (focusButton = true) => {
    setOpen(false);
    if (focusButton) button.current?.focus();
  };
  const choose = (f: () => void) => () => {
    close(false);
    f();
  };

  function onButtonKey(e: KeyboardEvent) {
    if (e.key === 'Escape' && open) {
      e.preventDefault();
      e.stopPropagation();
      return close();
    }
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const at = e.key === 'ArrowUp' ? 'last' : 'first';
      // Already open: the effect will not run again, so move the focus here.
      if (open) (at === 'last' ? items().at(-1) : items()[0])?.focus();
      else setOpen(at);
    }
  }
  function onMenuKey(e: KeyboardEvent) {
    const all = items();
    const i = all.indexOf(document.activeElement as HTMLElement);
    const go = (j: number) => all[(j + all.length) % all.length]?.focus();
    if (e.key === 'ArrowDown') go(i + 1);
    else if (e.key === 'ArrowUp') go(i - 1);
    else if (e.key === 'Home') go(0);
    else if (e.key === 'End') go(all.length - 1);
    else if (e.key === 'Escape') close();
    else if (e.key === 'Tab') return setOpen(false);
    else return;
    e.preventDefault();
    e.stopPropagation();
  }

  const initials = (displayName.trim() || address)
    .split(/\s+/)
    .slice(0, 2)
    .map((w) => w[0]!.toUpperCase())
    .join('');
  return (
    <div className="account-menu">
      <button
        ref={button}
        type="button"
        className="account-button"
        aria-haspopup="menu"
        aria-expanded={!!open}
        aria-controls={`${id}-menu`}
        onClick={() => (open ? close() : setOpen('first'))}
        onKeyDown={onButtonKey}
      >
        <span className="avatar" aria-hidden="true">
          {initials}
        </span>
        <span className="visually-hidden">{t('menu.account')} </span>
        <span className="account-name">{displayName || address}</span>
      </button>
      <div className="account-popup" hidden={!open}>
        <p className="who">
          <span className="visually-hidden">{t('menu.signedInAs')} </span>
          <strong>{displayName}</strong>
          <span className="address">{address}</span>
        </p>
        <ul ref={menu} id={`${id}-menu`} role="menu" aria-label={t('menu.label')} onKeyDown={onMenuKey}>
          <li role="none">
            <button type="button" role="menuitem" tabIndex={-1} onClick={choose(onSettings)}>
              {t('menu.settings')}
            </button>
          </li>
          <li role="none">
            <button type="button" role="menuitem" tabIndex={-1} onClick={choose(onShortcuts)}>
              {t('menu.shortcuts')}
            </button>
          </li>
          <li role="none">
            <button type="button" role="menuitem" tabIndex={-1} onClick={choose(onSignOut)}>
              {t('common.signOut')}
            </button>
          </li>
        </ul>
      </div>
    </div>
  );
}
