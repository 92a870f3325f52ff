import { useState } from 'react';
import { contactsCall, describeError, useTranslation, type Protection } from '@sealmail/ui';
import { namesOf, senderName, useContacts } from './store';
import './contacts.css';

type Sender = { from: string; fromName: string; protection: Protection | null };

/** A sender as a list or a collapsed message shows it: the name (see senderName) and the address. */
export function SenderText({ address, mail }: { address: string; mail: Sender }) {
  const book = useContacts(address);
  const name = senderName(mail, namesOf(book.contacts));
  if (!name) return <>{mail.from}</>;
  return (
    <>
      {name} <span className="sender-address">{mail.from}</span>
    </>
  );
}

/**
 * The reader's From: name and address, and "Add to contacts" when the sender is not in the
 * address book yet (the contact is sealed on this device like any other).
 */
export function SenderName({ address, mail }: { address: string; mail: Sender }) {
  const { t } = useTranslation();
  const book = useContacts(address);
  const names = namesOf(book.contacts);
  const [state, setState] = useState<'idle' | 'busy' | 'added' | string>('idle');
  const name = senderName(mail, names);
  const known = names.has(mail.from.toLowerCase());
  const mine = mail.from.toLowerCase() === address.toLowerCase();
  async function add() {
    setState('busy');
    try {
      // Only a name this device verified (or none) goes in; the user can edit it in Contacts.
      await contactsCall(address, { kind: 'create', fields: { name: name ?? '', emails: [{ value: mail.from }] } });
      await book.reload();
      setState('added');
    } catch (err) {
      setState(describeError(err));
    }
  }
  return (
    <>
      {name ? (
        <>
          {name} <span className="sender-address">&lt;{mail.from}&gt;</span>
        </>
      ) : (
        mail.from
      )}
      {book.loaded && !known && !mine && mail.from.includes('@') && state !== 'added' && (
        <button type="button" className="add-contact" onClick={() => void add()} disabled={state === 'busy'}>
          {t('contacts.addToContacts')}
        </button>
      )}
      {state === 'added' && (
        <span role="status" className="sender-address">
          {' '}
          {t('contacts.added')}
        </span>
      )}
      {state !== 'idle' && state !== 'busy' && state !== 'added' && <span role="alert"> {state}</span>}
    </>
  );
}
