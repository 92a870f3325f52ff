/**
 * The address book as the web client holds it (docs/mail.md "Contacts"): loaded once per address
 * from the key worker (which opens the sealed contacts), shared by the mailbox, compose and the
 * Contacts view, reloaded after each change.
 */
import { useEffect, useReducer } from 'react';
import { contactsCall, type ContactsAnswers, type Protection } from '@sealmail/ui';

export type Contact = ContactsAnswers['create'];

export interface BookState {
  contacts: Contact[];
  /** Addresses mailed before (from Sent), for autocomplete. */
  recent: string[];
  loaded: boolean;
  error: unknown;
  /** Contacts an administrator's import added on this open. */
  imported: number;
  unreadable: number;
}

interface Store {
  state: BookState;
  listeners: Set<() => void>;
  loading: Promise<void> | null;
}

const stores = new Map<string, Store>();
const empty = (): BookState => ({ contacts: [], recent: [], loaded: false, error: null, imported: 0, unreadable: 0 });

function storeOf(address: string): Store {
  let s = stores.get(address);
  if (!s) stores.set(address, (s = { state: empty(), listeners: new Set(), loading: null }));
  return s;
}

function set(s: Store, patch: Partial<BookState>) {
  s.state = { ...s.state, ...patch };
  for (const l of s.listeners) l();
}

/** (Re)loads the address book and the recent recipients. */
export function reloadContacts(address: string): Promise<void> {
  const s = storeOf(address);
  s.loading = (async () => {
    try {
      const [list, recent] = await Promise.all([contactsCall(address, { kind: 'list' }), contactsCall(address, { kind: 'recent' }).catch(() => s.state.recent)]);
      set(s, { contacts: list.contacts, unreadable: list.unreadable, imported: s.state.imported + list.imported, recent, loaded: true, error: null });
    } catch (error) {
      set(s, { loaded: true, error });
    }
  })();
  return s.loading;
}

/** The address book, loading it on first use. */
export function useContacts(address: string): BookState & { reload: () => Promise<void> } {
  const s = storeOf(address);
  const [, bump] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    s.listeners.add(bump);
    if (!s.loading) void reloadContacts(address);
    return () => void s.listeners.delete(bump);
  }, [s, address]);
  return { ...s.state, reload: () => reloadContacts(address) };
}

/** Each address in the book → the contact's name. */
export function namesOf(contacts: readonly Contact[]): Map<string, string> {
  const names = new Map<string, string>();
  for (const c of contacts) for (const e of c.emails) if (!names.has(e.value)) names.set(e.value, c.name);
  return names;
}

/**
 * The name to show beside a sender's address: the user's own contact name, else the name in the
 * sealed From of mail whose signature verified (E2E Encrypted). A name from mail the device did
 * not verify (from outside, or unverified) is not shown: anyone can write any name there. The
 * address is always shown too.
 */
export function senderName(m: { from: string; fromName: string; protection: Protection | null }, names: Map<string, string>): string | null {
  return names.get(m.from.toLowerCase()) ?? (m.protection === 'E2E Encrypted' && m.fromName ? m.fromName : null);
}
