/**
 * `sealmail contacts`: the encrypted address book from the command line (docs/mail.md
 * "Contacts"). Contacts are sealed and opened here with the shared ContactBook
 * (packages/client); files are read and written here, never sent to the server.
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { ApiClient } from '@sealmail/client';
import { ContactBook, ContactError, ContactFormatError, expandRecipients, RecipientError, type Identity } from '@sealmail/client/identity';
import type { Io } from './cli';
import { CommandError } from './mail-commands';

export interface ContactsContext {
  api: ApiClient;
  identity: Identity;
  address: string;
  io: Io;
}

export interface ContactsOptions {
  name?: string;
  email?: string;
  phone?: string;
  groups?: string;
  notes?: string;
  format?: string;
}

const csv = (v: string | undefined) => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const FORMATS = { vcard: 'vcard', vcard4: 'vcard', vcard3: 'vcard3', csv: 'google-csv', 'google-csv': 'google-csv' } as const;

export async function contactsCommand(ctx: ContactsContext, args: string[], o: ContactsOptions): Promise<void> {
  const book = new ContactBook(ctx.api, ctx.identity, ctx.address);
  const [sub, ...rest] = args;
  try {
    switch (sub) {
      case 'list': {
        if (rest.length) throw new CommandError('sealmail contacts list takes no arguments.');
        const picked = await book.pickUpImports();
        if (picked) ctx.io.out(`(${picked} contacts your administrator imported were added)`);
        const { contacts, unreadable } = await book.list();
        if (!contacts.length) ctx.io.out('(no contacts)');
        for (const c of contacts) ctx.io.out(`${c.id.slice(0, 8)}  ${c.name}${c.emails.length ? `  <${c.emails.map((e) => e.value).join(', ')}>` : ''}${c.phones.length ? `  ${c.phones.map((p) => p.value).join(', ')}` : ''}${c.groups.length ? `  [${c.groups.join(', ')}]` : ''}`);
        if (unreadable) ctx.io.err(`sealmail: ${unreadable} contacts cannot be opened on this device (sealed to a key it does not hold)`);
        return;
      }
      case 'add': {
        if (rest.length) throw new CommandError('sealmail contacts add: give the contact with --name, --email a,b, --phone, --groups g1,g2 and --notes.');
        const c = await book.create({ name: o.name ?? '', emails: csv(o.email).map((value) => ({ value })), phones: csv(o.phone).map((value) => ({ value })), groups: csv(o.groups), notes: o.notes ?? '' });
        ctx.io.out(`added ${c.name} (${c.id})`);
        return;
      }
      case 'import': {
        if (rest.length !== 1) throw new CommandError('sealmail contacts import: name one .vcf or Google Contacts .csv file.');
        let text: string;
        try {
          text = await readFile(rest[0]!, 'utf8');
        } catch {
          throw new CommandError(`cannot read ${rest[0]}`, 'failure');
        }
        const r = await book.importFile(text);
        ctx.io.out(`imported ${r.added} contacts (${r.format === 'vcard' ? 'vCard' : 'Google Contacts CSV'})`);
        for (const s of r.skipped) ctx.io.err(`sealmail: skipped ${s}`);
        return;
      }
      case 'export': {
        if (rest.length > 1) throw new CommandError('sealmail contacts export: name at most one file (standard output otherwise).');
        const format = FORMATS[(o.format ?? (rest[0]?.toLowerCase().endsWith('.csv') ? 'csv' : 'vcard')) as keyof typeof FORMATS];
        if (!format) throw new CommandError('--format is vcard (4.0), vcard3 or csv (Google Contacts).');
        const text = await book.export(format);
        if (rest[0]) {
          await writeFile(rest[0], text, { flag: 'wx', mode: 0o600 }).catch((err: NodeJS.ErrnoException) => {
            throw new CommandError(err.code === 'EEXIST' ? `${rest[0]} exists; choose another file name.` : `cannot write ${rest[0]}`, 'failure');
          });
          ctx.io.out(`wrote ${rest[0]}`);
        } else {
          ctx.io.out(text.replace(/\r?\n$/, ''));
        }
        return;
      }
      default:
        throw new CommandError('sealmail contacts: list, add, import <file> or export [file].');
    }
  } catch (err) {
    if (err instanceof ContactError || err instanceof ContactFormatError) throw new CommandError(err.message, 'failure');
    throw err;
  }
}

/**
 * For `sealmail send`: contact groups named as recipients become their members' addresses, here
 * on the device (the server never sees the group). Lists without a group are returned as given.
 */
export async function expandGroupRecipients(ctx: Pick<ContactsContext, 'api' | 'identity' | 'address'>, lists: string[][]): Promise<string[][]> {
  if (lists.every((l) => l.every((a) => a.includes('@')))) return lists;
  const { contacts } = await new ContactBook(ctx.api, ctx.identity, ctx.address).list();
  try {
    return lists.map((l) => expandRecipients(l, contacts));
  } catch (err) {
    if (err instanceof RecipientError) throw new CommandError(err.message, 'failure');
    throw err;
  }
}
