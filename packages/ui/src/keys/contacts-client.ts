/** The UI's typed handle on the key worker's address book (./contacts-ops.ts). */
import { keys } from './client';
import type { ContactsAnswers, ContactsCall } from './contacts-ops';

export type { ContactsAnswers, ContactsCall };

export function contactsCall<K extends ContactsCall['kind']>(address: string, call: Extract<ContactsCall, { kind: K }>): Promise<ContactsAnswers[K]> {
  return keys({ op: 'contacts', address, call }) as Promise<ContactsAnswers[K]>;
}
