/**
 * Google Contacts CSV → typed contacts, held sealed for the user (docs/admin.md "Import").
 *
 * Both layouts Google Contacts exports are read (csv-parse does the CSV):
 *  - current: `First Name, Middle Name, Last Name, … Nickname, File As, Organization Name,
 *    Organization Title, Organization Department, Birthday, Notes, Photo, Labels,
 *    E-mail 1 - Label, E-mail 1 - Value, Phone 1 - …, Address 1 - Formatted/Street/City/…,
 *    Website 1 - …`;
 *  - older ("Google CSV"): `Name, Given Name, Additional Name, Family Name, …, Group Membership,
 *    E-mail 1 - Type, E-mail 1 - Value, …, Organization 1 - Name, Organization 1 - Title, …`.
 * One cell may hold several values separated by ` ::: ` (they share the row's label). Labels
 * lose Google's system mark (`* myContacts` is dropped, `* Starred` becomes `Starred`).
 *
 * There is no address book yet: the contacts are sealed (a box to the user's newest per-user key,
 * or to the server's mail key before the user has one) into `imported_contacts`, to be picked up
 * by the address book when it exists.
 */
import { randomUUID } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { ApiError, CONTACTS_IMPORT_BOX_PURPOSE, contactsImportBoxContext } from '@sealmail/contract';
import { sealBoxAsync } from '@sealmail/crypto';
import type { Db } from '@sealmail/db';
import { newestPerUserKey, type ServerMailKey } from '@sealmail/mailstore';

export interface Labelled {
  label?: string;
  value: string;
}

export interface PostalAddress {
  label?: string;
  formatted?: string;
  street?: string;
  city?: string;
  poBox?: string;
  region?: string;
  postalCode?: string;
  country?: string;
  extended?: string;
}

export interface ImportedContact {
  name: { display: string; given?: string; middle?: string; family?: string; prefix?: string; suffix?: string };
  nickname?: string;
  organization?: { name?: string; title?: string; department?: string };
  birthday?: string;
  notes?: string;
  labels: string[];
  emails: Labelled[];
  phones: Labelled[];
  addresses: PostalAddress[];
  websites: Labelled[];
}

export interface ParsedContacts {
  contacts: ImportedContact[];
  skipped: { row: number; reason: string }[];
}

const SEP = ' ::: ';
/** Columns read at most (Google's export has a few dozen to a few hundred). */
export const MAX_CSV_COLUMNS = 500;
const split = (v: string) => v.split(SEP).map((s) => s.trim()).filter(Boolean);
const cleanLabel = (l: string) => l.replace(/^\*\s*/, '').trim();

/** Parses a Google Contacts CSV; throws VALIDATION_FAILED when it is not one. */
export function parseGoogleContactsCsv(csv: string): ParsedContacts {
  let records: Record<string, string>[];
  try {
    records = parse(csv, { bom: true, columns: (h: string[]) => h.map((c) => c.trim()), relax_column_count: true, skip_empty_lines: true, trim: false }) as Record<string, string>[];
  } catch (err) {
    throw new ApiError('VALIDATION_FAILED', 'body.csv', `body.csv: not readable as CSV (${(err as Error).message.split('\n')[0]}).`);
  }
  const columns = records.length ? Object.keys(records[0]!) : (parse(csv, { bom: true, to_line: 1 }) as string[][])[0] ?? [];
  const current = columns.includes('First Name') || columns.includes('Last Name');
  const older = columns.includes('Given Name') || columns.includes('Family Name') || columns.includes('Name');
  if (!current && !older) throw new ApiError('VALIDATION_FAILED', 'body.csv', 'body.csv: not a Google Contacts export (expected "First Name"/"Last Name" or "Name"/"Given Name" columns).');

  if (columns.length > MAX_CSV_COLUMNS) throw new ApiError('VALIDATION_FAILED', 'body.csv', `body.csv: ${columns.length} columns; a Google Contacts export has far fewer (at most ${MAX_CSV_COLUMNS} are read).`);
  // Which numbered groups ("E-mail 1 - …", "E-mail 2 - …") the header has, worked out once: per row
  // and per number it scanned every column again — a 4 MiB file with 4,000 columns held the
  // process's event loop for minutes.
  const numbers = new Map<string, number[]>();
  const numbersOf = (kind: string) => {
    let ns = numbers.get(kind);
    if (!ns) {
      ns = [];
      for (let n = 1; n < 100 && columns.some((k) => k.startsWith(`${kind} ${n} - `)); n++) ns.push(n);
      numbers.set(kind, ns);
    }
    return ns;
  };

  const contacts: ImportedContact[] = [];
  const skipped: ParsedContacts['skipped'] = [];
  records.forEach((r, i) => {
    const get = (k: string) => (r[k] ?? '').trim();
    const opt = (k: string) => get(k) || undefined;
    const numbered = (kind: string, labelKeys: string[], each: (n: number, label: string | undefined) => void) => {
      for (const n of numbersOf(kind)) {
        const labelKey = labelKeys.map((l) => `${kind} ${n} - ${l}`).find((k) => k in r);
        const label = labelKey ? cleanLabel(get(labelKey)) || undefined : undefined;
        each(n, label);
      }
    };
    const values = (kind: string) => {
      const out: Labelled[] = [];
      numbered(kind, ['Label', 'Type'], (n, label) => {
        for (const value of split(get(`${kind} ${n} - Value`))) out.push(label ? { label, value } : { value });
      });
      return out;
    };
    const given = current ? opt('First Name') : opt('Given Name');
    const middle = current ? opt('Middle Name') : opt('Additional Name');
    const family = current ? opt('Last Name') : opt('Family Name');
    const prefix = opt('Name Prefix');
    const suffix = opt('Name Suffix');
    const display = (current ? '' : get('Name')) || [prefix, given, middle, family, suffix].filter(Boolean).join(' ') || get('File As') || get('Nickname');
    const emails = values('E-mail').map((e) => ({ ...e, value: e.value.toLowerCase() }));
    const phones = values('Phone');
    const websites = values('Website');
    const addresses: PostalAddress[] = [];
    numbered('Address', ['Label', 'Type'], (n, label) => {
      const f = (k: string) => opt(`Address ${n} - ${k}`);
      const a: PostalAddress = { label, formatted: f('Formatted'), street: f('Street'), city: f('City'), poBox: f('PO Box'), region: f('Region'), postalCode: f('Postal Code'), country: f('Country'), extended: f('Extended Address') };
      const kept = Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined)) as PostalAddress;
      if (Object.keys(kept).some((k) => k !== 'label')) addresses.push(kept);
    });
    const orgName = current ? opt('Organization Name') : opt('Organization 1 - Name');
    const orgTitle = current ? opt('Organization Title') : opt('Organization 1 - Title');
    const orgDept = current ? opt('Organization Department') : opt('Organization 1 - Department');
    const labels = split(current ? get('Labels') : get('Group Membership'))
      .filter((l) => !/^\*\s*mycontacts$/i.test(l))
      .map(cleanLabel);
    if (!display && !emails.length && !phones.length && !orgName) {
      skipped.push({ row: i + 2, reason: 'no name, e-mail address, phone number or organisation' });
      return;
    }
    const c: ImportedContact = { name: { display: display || orgName || emails[0]?.value || phones[0]!.value }, labels, emails, phones, addresses, websites };
    if (given) c.name.given = given;
    if (middle) c.name.middle = middle;
    if (family) c.name.family = family;
    if (prefix) c.name.prefix = prefix;
    if (suffix) c.name.suffix = suffix;
    const nickname = opt('Nickname');
    if (nickname) c.nickname = nickname;
    if (orgName || orgTitle || orgDept) c.organization = { ...(orgName ? { name: orgName } : {}), ...(orgTitle ? { title: orgTitle } : {}), ...(orgDept ? { department: orgDept } : {}) };
    const birthday = opt('Birthday');
    if (birthday) c.birthday = birthday;
    const notes = (r['Notes'] ?? '').trim();
    if (notes) c.notes = notes;
    contacts.push(c);
  });
  return { contacts, skipped };
}

const utf8 = (s: string) => new TextEncoder().encode(s);

/** Box purpose and context of a sealed contacts import (the address book opens it with these; packages/contract). */
export const CONTACTS_BOX_PURPOSE = CONTACTS_IMPORT_BOX_PURPOSE;
export const contactsBoxContext = contactsImportBoxContext;

/** Parses the CSV and stores it sealed for the user. */
export async function importContacts(db: Db, serverKey: ServerMailKey, userId: string, csv: string, now: Date): Promise<{ contacts: number; sealedTo: 'user' | 'server'; skipped: { row: number; reason: string }[] }> {
  const parsed = parseGoogleContactsCsv(csv);
  if (!parsed.contacts.length) throw new ApiError('VALIDATION_FAILED', 'body.csv', 'body.csv: the file holds no contacts.');
  const puk = await newestPerUserKey(db, userId);
  const id = randomUUID();
  const plaintext = utf8(JSON.stringify({ version: 1, source: 'google-contacts-csv', importedAt: now.toISOString(), contacts: parsed.contacts }));
  const box = await sealBoxAsync({
    recipientPublicKey: puk ? puk.publicKeys.encryptionPublicKey : serverKey.publicKey,
    purpose: CONTACTS_BOX_PURPOSE,
    context: contactsBoxContext(userId, id),
    plaintext,
  });
  plaintext.fill(0);
  await db.importedContacts.create({ data: { id, userId, sealedTo: puk ? `puk:${puk.generation}` : `server:${serverKey.keyId}`, box: box as Uint8Array<ArrayBuffer>, count: parsed.contacts.length, createdAt: now } });
  return { contacts: parsed.contacts.length, sealedTo: puk ? 'user' : 'server', skipped: parsed.skipped.slice(0, 500) };
}
