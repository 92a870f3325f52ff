import { useId, useMemo, useState, type KeyboardEvent } from 'react';
import { useTranslation } from '@sealmail/ui';
import { groupsOf } from '@sealmail/client/contact-groups';
import { useContacts } from './store';
import './contacts.css';

interface Option {
  /** What goes into the field: an address, or a group's name (expanded when the mail is sealed). */
  insert: string;
  label: string;
  detail: string;
}

/** The part being typed: after the last comma or semicolon. */
const currentToken = (value: string) => {
  const at = Math.max(value.lastIndexOf(','), value.lastIndexOf(';'));
  return { head: value.slice(0, at + 1), token: value.slice(at + 1).trim() };
};

/**
 * A recipient field (To, Cc, Bcc) with suggestions from the user's contacts, their groups
 * (personal distribution lists) and addresses mailed before. The ARIA combobox pattern: arrow
 * keys move through the suggestions, Enter takes one, Escape closes them (a second Escape closes
 * the compose window as before). Everything is matched on the device.
 */
export function RecipientInput({ address, name, label, value, onChange, autoFocus }: { address: string; name: 'to' | 'cc' | 'bcc'; label: string; value: string; onChange: (v: string) => void; autoFocus?: boolean }) {
  const { t } = useTranslation();
  const book = useContacts(address);
  const id = useId();
  const listId = `${id}-suggestions`;
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const { head, token } = currentToken(value);

  const options = useMemo<Option[]>(() => {
    const q = token.toLowerCase();
    if (!q) return [];
    const taken = new Set(value.split(/[,;]/).map((s) => s.trim().toLowerCase()));
    const out: Option[] = [];
    const known = new Set<string>();
    for (const c of book.contacts) {
      for (const e of c.emails) {
        known.add(e.value);
        if (e.value === q || taken.has(e.value)) continue;
        if (c.name.toLowerCase().includes(q) || e.value.includes(q)) out.push({ insert: e.value, label: c.name, detail: e.value });
      }
    }
    for (const g of groupsOf(book.contacts).values()) {
      if (g.addresses.length && g.name.toLowerCase().includes(q) && g.name.toLowerCase() !== q) out.push({ insert: g.name, label: g.name, detail: t('contacts.groupOption', { count: g.addresses.length }) });
    }
    for (const a of book.recent) if (!known.has(a) && a !== q && !taken.has(a) && a.includes(q)) out.push({ insert: a, label: a, detail: t('contacts.mailedBefore') });
    return out.slice(0, 8);
  }, [token, value, book.contacts, book.recent, t]);

  const shown = open && options.length > 0;

  function pick(o: Option) {
    onChange(`${head ? `${head.trimEnd()} ` : ''}${o.insert}, `);
    setOpen(false);
    setActive(-1);
  }

  function onKeyDown(e: KeyboardEvent<HTMLInputElement>) {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      if (!options.length) return;
      e.preventDefault();
      setOpen(true);
      const step = e.key === 'ArrowDown' ? 1 : -1;
      setActive((a) => (a + step + options.length) % options.length);
    } else if (e.key === 'Enter' && shown && active >= 0 && options[active]) {
      e.preventDefault();
      e.stopPropagation();
      pick(options[active]);
    } else if (e.key === 'Escape' && shown) {
      // Closes the suggestions only; the compose window stays.
      e.stopPropagation();
      setOpen(false);
      setActive(-1);
    }
  }

  return (
    <div className="recipient">
      <label htmlFor={id}>{label}</label>
      <div className="combo">
        <input
          id={id}
          name={name}
          value={value}
          role="combobox"
          aria-autocomplete="list"
          aria-expanded={shown}
          aria-controls={listId}
          aria-activedescendant={shown && active >= 0 ? `${listId}-${active}` : undefined}
          autoComplete="off"
          autoFocus={autoFocus}
          onChange={(e) => (onChange(e.target.value), setOpen(true), setActive(-1))}
          onKeyDown={onKeyDown}
          onBlur={() => setOpen(false)}
        />
        <ul id={listId} role="listbox" aria-label={t('contacts.suggestions', { field: label })} hidden={!shown}>
          {shown &&
            options.map((o, i) => (
              <li key={`${o.insert}-${i}`} id={`${listId}-${i}`} role="option" aria-selected={i === active} onMouseDown={(e) => e.preventDefault()} onClick={() => pick(o)}>
                <span className="suggestion-name">{o.label}</span> <span className="suggestion-detail">{o.detail}</span>
              </li>
            ))}
        </ul>
      </div>
    </div>
  );
}
