/**
 * The address book in the key worker (docs/mail.md "Contacts"): contacts are sealed and opened
 * here; the UI gets plaintext contacts (it runs on the same device) and never key bytes.
 * Recently mailed addresses for autocomplete are derived here from the Sent folder's recipients
 * (routing metadata the server holds anyway, MISSION §2): no extra record is kept.
 */
import type { ApiClient } from '@sealmail/client';
import { ContactBook, type Contact, type ContactFields, type Identity } from '@sealmail/client/identity';

export type ContactsCall =
  | { kind: 'list' }
  | { kind: 'create'; fields: Partial<ContactFields> }
  | { kind: 'update'; contact: Contact }
  | { kind: 'delete'; id: string }
  | { kind: 'import'; text: string }
  | { kind: 'export'; format: 'vcard' | 'vcard3' | 'google-csv' }
  | { kind: 'recent' };

export interface ContactsAnswers {
  /** `imported`: contacts an administrator's import added on this open. */
  list: { contacts: Contact[]; unreadable: number; imported: number };
  create: Contact;
  update: Contact;
  delete: null;
  import: { format: 'vcard' | 'google-csv'; added: number; skipped: string[] };
  export: string;
  recent: string[];
}

const books = new Map<string, ContactBook>();
const pickedUp = new Set<string>();

export async function contactsOp(api: ApiClient, identity: Identity, address: string, call: ContactsCall): Promise<ContactsAnswers[ContactsCall['kind']]> {
  let book = books.get(address);
  if (!book) books.set(address, (book = new ContactBook(api, identity, address)));
  switch (call.kind) {
    case 'list': {
      // An administrator's import is sealed into the book on the first open, then deleted.
      let imported = 0;
      if (!pickedUp.has(address)) {
        // A failure here (the server unreachable, a device still waiting for approval) leaves
        // the import for the next open; the address book still opens.
        imported = await book.pickUpImports().then(
          (n) => (pickedUp.add(address), n),
          () => 0,
        );
      }
      return { ...(await book.list()), imported };
    }
    case 'create':
      return book.create(call.fields);
    case 'update':
      return book.update(call.contact);
    case 'delete':
      await book.delete(call.id);
      return null;
    case 'import':
      return book.importFile(call.text);
    case 'export':
      return book.export(call.format);
    case 'recent': {
      const { entries } = await api.listMail({ folder: 'sent', limit: 100 });
      const seen = new Set<string>();
      for (const e of entries) for (const a of e.to) seen.add(a.toLowerCase());
      seen.delete(address.toLowerCase());
      return [...seen];
    }
  }
}
