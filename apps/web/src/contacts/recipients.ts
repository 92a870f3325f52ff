/**
 * Personal distribution lists in compose: each field's text is split into recipients and every
 * contact group named there becomes its members' addresses, on the device, before the key worker
 * seals the mail (docs/mail.md "Contacts"). The server only ever sees the addresses.
 */
import { useTranslation } from '@sealmail/ui';
import { expandRecipients, RecipientError, splitRecipients } from '@sealmail/client/contact-groups';
import { useContacts } from './store';

type Fields = { to: string; cc: string; bcc: string };

export function useRecipientExpansion(address: string): (fields: Fields) => { to: string[]; cc: string[]; bcc: string[] } | { problem: string } {
  const { t } = useTranslation();
  const book = useContacts(address);
  return (fields) => {
    try {
      return {
        to: expandRecipients(splitRecipients(fields.to), book.contacts),
        cc: expandRecipients(splitRecipients(fields.cc), book.contacts),
        bcc: expandRecipients(splitRecipients(fields.bcc), book.contacts),
      };
    } catch (err) {
      if (err instanceof RecipientError) return { problem: err.code === 'EMPTY_GROUP' ? t('contacts.emptyGroup', { name: err.entry }) : t('contacts.unknownRecipient', { name: err.entry }) };
      throw err;
    }
  };
}
