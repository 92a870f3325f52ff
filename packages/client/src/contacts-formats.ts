/**
 * Address-book files, read and written on the device (docs/mail.md "Contacts"):
 *  - vCard 3.0 (RFC 2426) and 4.0 (RFC 6350), several contacts per file; ical.js parses and
 *    writes them (escaping, folding, parameters);
 *  - Google Contacts CSV, both layouts Google exports (current "First Name, …, Labels, E-mail 1 -
 *    Label, E-mail 1 - Value" and the older "Name, Given Name, …, Group Membership, E-mail 1 -
 *    Type"); csv-parse reads it. One cell may hold several values separated by " ::: "; Google's
 *    labels become groups (`* myContacts` is dropped, `* Starred` becomes `Starred`).
 */
import ICAL from 'ical.js';
import { parse as parseCsv } from 'csv-parse/browser/esm/sync';

export interface Labelled {
  label?: string;
  value: string;
}

/** A contact as the user sees and edits it (what is sealed). */
export interface ContactFields {
  /** The name shown (vCard FN). */
  name: string;
  given?: string;
  family?: string;
  organization?: string;
  emails: Labelled[];
  phones: Labelled[];
  notes: string;
  /** Group names (vCard CATEGORIES, Google labels); a group is also a personal distribution list. */
  groups: string[];
}

export class ContactFormatError extends Error {
  override readonly name = 'ContactFormatError';
  readonly code = 'CONTACTS_FILE_INVALID';
}

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1).toLowerCase();
const IGNORED_TYPES = new Set(['internet', 'pref', 'voice', 'x400']);

function labelOf(type: unknown): string | undefined {
  const types = (Array.isArray(type) ? type : typeof type === 'string' ? type.split(',') : []).map((t) => String(t).trim()).filter((t) => t && !IGNORED_TYPES.has(t.toLowerCase()));
  return types.length ? cap(types[0]!) : undefined;
}

// ical.js leaves vCard 3.0's escaped semicolon (`\;`, RFC 2426 §4) in text values.
const text = (v: unknown): string => (Array.isArray(v) ? v.join(' ') : v == null ? '' : String(v)).replace(/\\;/g, ';').trim();

/** Reads every contact of a .vcf (3.0 or 4.0). */
export function parseVcards(input: string): ContactFields[] {
  let parsed: unknown;
  try {
    parsed = ICAL.parse(input.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new ContactFormatError(`This is not a readable vCard file (${(err as Error).message.split('\n')[0]}).`);
  }
  const list = (Array.isArray(parsed) && Array.isArray(parsed[0]) ? parsed : [parsed]) as unknown[];
  const out: ContactFields[] = [];
  for (const jcard of list) {
    const c = new ICAL.Component(jcard as [string, unknown[], unknown[]]);
    if (c.name !== 'vcard') continue;
    const n = c.getFirstPropertyValue('n') as unknown;
    const nParts = Array.isArray(n) ? n.map((p) => text(p)) : [];
    const family = nParts[0] || undefined;
    const given = nParts[1] || undefined;
    const org = c.getFirstPropertyValue('org') as unknown;
    const organization = text(Array.isArray(org) ? org[0] : org) || undefined;
    const emails = c.getAllProperties('email').map((p) => ({ ...(labelOf(p.getParameter('type')) ? { label: labelOf(p.getParameter('type')) } : {}), value: text(p.getFirstValue()).toLowerCase() })).filter((e) => e.value);
    const phones = c.getAllProperties('tel').map((p) => ({ ...(labelOf(p.getParameter('type')) ? { label: labelOf(p.getParameter('type')) } : {}), value: text(p.getFirstValue()).replace(/^tel:/i, '') })).filter((e) => e.value);
    const groups = c.getAllProperties('categories').flatMap((p) => p.getValues().map((v) => text(v))).filter(Boolean);
    const notes = c.getAllProperties('note').map((p) => text(p.getFirstValue())).filter(Boolean).join('\n');
    const name = text(c.getFirstPropertyValue('fn')) || [given, family].filter(Boolean).join(' ') || organization || emails[0]?.value || phones[0]?.value || '';
    if (!name) continue;
    out.push({ name, ...(given ? { given } : {}), ...(family ? { family } : {}), ...(organization ? { organization } : {}), emails, phones, notes, groups: [...new Set(groups)] });
  }
  return out;
}

/** Writes contacts as one .vcf, vCard 4.0 (default) or 3.0. Lines end in CRLF as the RFCs ask. */
export function toVcards(contacts: readonly (ContactFields & { id?: string })[], version: '3.0' | '4.0' = '4.0'): string {
  const type = (l: string | undefined) => (l ? (version === '3.0' ? l.toUpperCase() : l.toLowerCase()) : undefined);
  return contacts
    .map((ct) => {
      const c = new ICAL.Component(['vcard', [], []]);
      c.addPropertyWithValue('version', version);
      if (ct.id) c.addPropertyWithValue('uid', `urn:uuid:${ct.id}`);
      c.addPropertyWithValue('fn', ct.name);
      const n = new ICAL.Property('n');
      n.setValue([ct.family ?? '', ct.given ?? '', '', '', ''] as unknown as string);
      c.addProperty(n);
      if (ct.organization) c.addPropertyWithValue('org', ct.organization);
      for (const e of ct.emails) {
        const p = c.addPropertyWithValue('email', e.value);
        const t = type(e.label);
        if (t) p.setParameter('type', t);
      }
      for (const ph of ct.phones) {
        const p = c.addPropertyWithValue('tel', ph.value);
        const t = type(ph.label);
        if (t) p.setParameter('type', t);
      }
      if (ct.notes) c.addPropertyWithValue('note', ct.notes);
      if (ct.groups.length) {
        const p = new ICAL.Property('categories');
        p.setValues(ct.groups);
        c.addProperty(p);
      }
      return c.toString().replace(/\r?\n/g, '\r\n') + '\r\n';
    })
    .join('');
}

const SEP = ' ::: ';
const split = (v: string) => v.split(SEP).map((s) => s.trim()).filter(Boolean);
const cleanLabel = (l: string) => l.replace(/^\*\s*/, '').trim();

/** Reads a Google Contacts CSV export (either layout). */
export function parseGoogleCsv(input: string): ContactFields[] {
  let rows: Record<string, string>[];
  try {
    rows = parseCsv(input, { bom: true, columns: (h: string[]) => h.map((c) => c.trim()), relax_column_count: true, skip_empty_lines: true }) as Record<string, string>[];
  } catch (err) {
    throw new ContactFormatError(`This is not a readable CSV file (${(err as Error).message.split('\n')[0]}).`);
  }
  const columns = rows.length ? Object.keys(rows[0]!) : [];
  const current = columns.includes('First Name') || columns.includes('Last Name');
  const older = columns.includes('Given Name') || columns.includes('Family Name') || columns.includes('Name');
  if (rows.length && !current && !older) throw new ContactFormatError('This CSV is not a Google Contacts export (it has no "First Name"/"Last Name" or "Name"/"Given Name" columns).');
  const out: ContactFields[] = [];
  for (const r of rows) {
    const get = (k: string) => (r[k] ?? '').trim();
    const values = (kind: string): Labelled[] => {
      const list: Labelled[] = [];
      for (let n = 1; n < 100; n++) {
        if (!Object.keys(r).some((k) => k.startsWith(`${kind} ${n} - `))) break;
        const label = cleanLabel(get(`${kind} ${n} - Label`) || get(`${kind} ${n} - Type`)) || undefined;
        for (const value of split(get(`${kind} ${n} - Value`))) list.push(label ? { label, value } : { value });
      }
      return list;
    };
    const given = (current ? get('First Name') : get('Given Name')) || undefined;
    const middle = current ? get('Middle Name') : get('Additional Name');
    const family = (current ? get('Last Name') : get('Family Name')) || undefined;
    const organization = (current ? get('Organization Name') : get('Organization 1 - Name')) || undefined;
    const emails = values('E-mail').map((e) => ({ ...e, value: e.value.toLowerCase() }));
    const phones = values('Phone');
    // "File As" is the name Google shows when the user set one (our export writes it too).
    const name = (current ? get('File As') : get('Name')) || [get('Name Prefix'), given, middle, family, get('Name Suffix')].filter(Boolean).join(' ') || get('Nickname') || organization || emails[0]?.value || phones[0]?.value || '';
    if (!name) continue;
    const groups = split(current ? get('Labels') : get('Group Membership'))
      .filter((l) => !/^\*\s*mycontacts$/i.test(l))
      .map(cleanLabel)
      .filter(Boolean);
    out.push({ name, ...(given ? { given } : {}), ...(family ? { family } : {}), ...(organization ? { organization } : {}), emails, phones, notes: (r['Notes'] ?? '').trim(), groups: [...new Set(groups)] });
  }
  return out;
}

const csvCell = (v: string) => (/[",\r\n]/.test(v) || /^\s|\s$/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/** Writes contacts as a Google Contacts CSV (the current layout, which Google imports). */
export function toGoogleCsv(contacts: readonly ContactFields[]): string {
  const emailCols = Math.max(1, ...contacts.map((c) => c.emails.length));
  const phoneCols = Math.max(1, ...contacts.map((c) => c.phones.length));
  const header = ['First Name', 'Middle Name', 'Last Name', 'File As', 'Organization Name', 'Notes', 'Labels'];
  for (let i = 1; i <= emailCols; i++) header.push(`E-mail ${i} - Label`, `E-mail ${i} - Value`);
  for (let i = 1; i <= phoneCols; i++) header.push(`Phone ${i} - Label`, `Phone ${i} - Value`);
  const lines = [header.map(csvCell).join(',')];
  for (const c of contacts) {
    // A name not split into given and family goes whole into First Name (Google shows it so).
    const given = c.given ?? (c.family ? '' : c.name);
    const row = [given, '', c.family ?? '', c.name, c.organization ?? '', c.notes, ['* myContacts', ...c.groups].join(SEP)];
    for (let i = 0; i < emailCols; i++) row.push(c.emails[i]?.label ?? '', c.emails[i]?.value ?? '');
    for (let i = 0; i < phoneCols; i++) row.push(c.phones[i]?.label ?? '', c.phones[i]?.value ?? '');
    lines.push(row.map(csvCell).join(','));
  }
  return lines.join('\r\n') + '\r\n';
}

/** Reads a file of either kind: vCard when it starts with BEGIN:VCARD, else Google CSV. */
export function parseContactsFile(input: string): { format: 'vcard' | 'google-csv'; contacts: ContactFields[] } {
  const head = input.replace(/^\uFEFF/, '').trimStart();
  if (/^BEGIN:VCARD/i.test(head)) return { format: 'vcard', contacts: parseVcards(input) };
  return { format: 'google-csv', contacts: parseGoogleCsv(input) };
}
