/**
 * The encrypted address book on the device (MISSION §2, docs/mail.md "Contacts"). Each contact
 * is a self box (docs/crypto.md §5.12, kind "contact") sealed to the user's own newest per-user
 * key, signed by it, and bound to the contact's id: the server stores an opaque id, a version and
 * the sealed bytes. Plaintext is padded to a multiple of 256 bytes so a box's size says little.
 * Groups live inside the contacts; a group used as a recipient is expanded here, before sealing,
 * so the server never sees it.
 */
import { contactCreate, contactDelete, contactImportDelete, contactImportList, contactList, contactsImportBoxContext, contactUpdate, CONTACTS_IMPORT_BOX_PURPOSE } from '@sealmail/contract';
import { currentPuk, fromBase64Url, openBox, openSelfBox, sealSelfBox, toBase64Url, type PerUserKey } from '@sealmail/crypto';
import type { ApiClient } from './api';
import type { Identity } from './identity';
import { parseContactsFile, toGoogleCsv, toVcards, type ContactFields, type Labelled } from './contacts-formats';

export * from './contacts-formats';
export * from './contact-groups';

/** A contact as stored: its fields, its id and the version it was read at. */
export interface Contact extends ContactFields {
  id: string;
  version: number;
}

export type ContactErrorCode = 'INVALID_CONTACT' | 'NO_NEWEST_KEY';

export class ContactError extends Error {
  override readonly name = 'ContactError';
  constructor(
    readonly code: ContactErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const ADDRESS = /^[^\s@<>()[\]\\,;:"]{1,64}@[^\s@<>()[\]\\,;:"]{1,253}$/;
const PAD = 256;
const LIMIT = { name: 200, notes: 10_000, items: 50, value: 254, group: 100 };

const cleanList = (l: readonly Labelled[] | undefined, lower: boolean): Labelled[] => {
  const seen = new Set<string>();
  const out: Labelled[] = [];
  for (const x of l ?? []) {
    const value = (lower ? x.value.trim().toLowerCase() : x.value.trim()).slice(0, LIMIT.value);
    if (!value || seen.has(value)) continue;
    seen.add(value);
    const label = x.label?.trim().slice(0, 50);
    out.push(label ? { label, value } : { value });
  }
  return out.slice(0, LIMIT.items);
};

/**
 * Checks and tidies a contact before it is sealed: a name or an address is needed; addresses are
 * lower-cased and must look like addresses; duplicates go.
 * @throws ContactError INVALID_CONTACT naming what to fix.
 */
export function normalizeContact(input: Partial<ContactFields>): ContactFields {
  const emails = cleanList(input.emails, true);
  const bad = emails.find((e) => !ADDRESS.test(e.value));
  if (bad) throw new ContactError('INVALID_CONTACT', `“${bad.value}” is not an e-mail address (expected name@example.org).`);
  const name = (input.name ?? '').trim() || emails[0]?.value || '';
  if (!name) throw new ContactError('INVALID_CONTACT', 'Give the contact a name or an e-mail address.');
  if (name.length > LIMIT.name) throw new ContactError('INVALID_CONTACT', `A name is at most ${LIMIT.name} characters.`);
  const notes = (input.notes ?? '').trim();
  if (notes.length > LIMIT.notes) throw new ContactError('INVALID_CONTACT', `Notes are at most ${LIMIT.notes} characters.`);
  const groups = [...new Set((input.groups ?? []).map((g) => g.trim()).filter(Boolean))];
  const longGroup = groups.find((g) => g.length > LIMIT.group || g.includes('@'));
  if (longGroup) throw new ContactError('INVALID_CONTACT', `“${longGroup.slice(0, 40)}” cannot be a group name (at most ${LIMIT.group} characters, no @).`);
  const given = input.given?.trim();
  const family = input.family?.trim();
  const organization = input.organization?.trim();
  return { name, ...(given ? { given } : {}), ...(family ? { family } : {}), ...(organization ? { organization } : {}), emails, phones: cleanList(input.phones, false), notes, groups: groups.slice(0, LIMIT.items) };
}

/** The sealed plaintext: versioned JSON, padded with spaces to a multiple of 256 bytes. */
function encodeContact(c: ContactFields): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify({ v: 1, ...c }));
  const out = new Uint8Array(Math.ceil((json.length + 1) / PAD) * PAD).fill(0x20);
  out.set(json);
  return out;
}

function decodeContact(bytes: Uint8Array): ContactFields {
  const raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as Record<string, unknown>;
  if (raw.v !== 1) throw new Error('unknown contact format');
  const list = (v: unknown): Labelled[] => (Array.isArray(v) ? v.filter((x): x is Labelled => typeof x?.value === 'string').map((x) => (typeof x.label === 'string' ? { label: x.label, value: x.value } : { value: x.value })) : []);
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    name: str(raw.name) ?? '',
    ...(str(raw.given) ? { given: str(raw.given)! } : {}),
    ...(str(raw.family) ? { family: str(raw.family)! } : {}),
    ...(str(raw.organization) ? { organization: str(raw.organization)! } : {}),
    emails: list(raw.emails),
    phones: list(raw.phones),
    notes: str(raw.notes) ?? '',
    groups: Array.isArray(raw.groups) ? raw.groups.filter((g): g is string => typeof g === 'string') : [],
  };
}

/** Seals one contact to the user's own per-user key, bound to its id. */
export function sealContact(opts: { userId: string; id: string; puk: PerUserKey; contact: ContactFields }): Uint8Array {
  return sealSelfBox({ kind: 'contact', userId: opts.userId, itemId: opts.id, puk: opts.puk, plaintext: encodeContact(opts.contact) });
}

/** Opens a sealed contact (its signature, its id and its user are checked first). @throws CryptoError */
export function openContact(opts: { userId: string; id: string; puks: readonly PerUserKey[]; record: Uint8Array }): ContactFields {
  return decodeContact(openSelfBox({ kind: 'contact', userId: opts.userId, itemId: opts.id, record: opts.record, puks: opts.puks }));
}

/** The user's address book, through the API; everything is sealed and opened on this device. */
export class ContactBook {
  constructor(
    private readonly api: ApiClient,
    private readonly identity: Identity,
    readonly address: string,
  ) {}

  private async keys(): Promise<{ userId: string; newest: PerUserKey; puks: PerUserKey[] }> {
    const me = await this.identity.thisDevice(this.address);
    const puks = await this.identity.perUserKeys(this.address);
    const generation = currentPuk(me.state).generation;
    const newest = puks.find((p) => p.generation === generation);
    if (!newest) throw new ContactError('NO_NEWEST_KEY', 'This device does not hold your newest key yet: approve it from another device first.');
    return { userId: me.userId, newest, puks };
  }

  /** Every contact, opened and sorted by name; `unreadable` counts boxes this device cannot open. */
  async list(): Promise<{ contacts: Contact[]; unreadable: number }> {
    const [{ contacts: rows }, { userId, puks }] = await Promise.all([this.api.call(contactList), this.keys()]);
    const contacts: Contact[] = [];
    let unreadable = 0;
    for (const r of rows) {
      try {
        contacts.push({ id: r.id, version: r.version, ...openContact({ userId, id: r.id, puks, record: fromBase64Url(r.box) }) });
      } catch {
        unreadable++;
      }
    }
    contacts.sort((a, b) => a.name.localeCompare(b.name));
    return { contacts, unreadable };
  }

  async create(fields: Partial<ContactFields>): Promise<Contact> {
    const clean = normalizeContact(fields);
    const { userId, newest } = await this.keys();
    const id = crypto.randomUUID();
    const r = await this.api.call(contactCreate, { id, box: toBase64Url(sealContact({ userId, id, puk: newest, contact: clean })) });
    return { id: r.id, version: r.version, ...clean };
  }

  /** Saves an edit of `contact` (read at `contact.version`). @throws ApiClientError CONTACT_VERSION_CONFLICT */
  async update(contact: Pick<Contact, 'id' | 'version'> & Partial<ContactFields>): Promise<Contact> {
    const clean = normalizeContact(contact);
    const { userId, newest } = await this.keys();
    const box = toBase64Url(sealContact({ userId, id: contact.id, puk: newest, contact: clean }));
    const r = await this.api.request(contactUpdate, { params: { id: contact.id }, body: { version: contact.version, box } });
    return { id: r.id, version: r.version, ...clean };
  }

  async delete(id: string): Promise<void> {
    await this.api.request(contactDelete, { params: { id } });
  }

  /** Reads a .vcf or Google CSV and adds every contact in it. */
  async importFile(text: string): Promise<{ format: 'vcard' | 'google-csv'; added: number; skipped: string[] }> {
    const { format, contacts } = parseContactsFile(text);
    const { added, skipped } = await this.addAll(contacts);
    return { format, added, skipped };
  }

  private async addAll(contacts: readonly ContactFields[]): Promise<{ added: number; skipped: string[] }> {
    let added = 0;
    const skipped: string[] = [];
    for (const c of contacts) {
      try {
        await this.create(c);
        added++;
      } catch (err) {
        if (!(err instanceof ContactError)) throw err;
        skipped.push(`${c.name}: ${err.message}`);
      }
    }
    return { added, skipped };
  }

  /** The whole address book as a file. */
  async export(format: 'vcard' | 'vcard3' | 'google-csv'): Promise<string> {
    const { contacts } = await this.list();
    return format === 'google-csv' ? toGoogleCsv(contacts) : toVcards(contacts, format === 'vcard3' ? '3.0' : '4.0');
  }

  /**
   * Picks up contacts an administrator imported for this user (sealed to the user's key, never
   * readable by the server once the user has a key), seals each into the address book and
   * deletes the import. Answers how many contacts were added.
   *
   * An import is a box to the user's public key that nobody signs: the server could make one up.
   * So it only ever adds contacts, and never into a group the user already has — a distribution
   * list is expanded on the device just before sealing, and an address slipped into "Board" would
   * receive the next mail to it. A label that names an existing group becomes "<label> (imported)".
   */
  async pickUpImports(): Promise<number> {
    const { imports } = await this.api.call(contactImportList);
    if (!imports.length) return 0;
    const { userId, puks } = await this.keys();
    const own = new Set((await this.list()).contacts.flatMap((c) => c.groups.map((g) => g.toLowerCase())));
    const imported = (label: string) => (own.has(label.trim().toLowerCase()) ? `${label.trim()} (imported)` : label);
    let added = 0;
    for (const imp of imports) {
      const puk = puks.find((p) => p.generation === imp.generation);
      if (!puk) continue;
      let plaintext: Uint8Array;
      try {
        plaintext = openBox({ box: fromBase64Url(imp.box), recipientSecretKey: puk.encryption.secretKey, purpose: CONTACTS_IMPORT_BOX_PURPOSE, context: contactsImportBoxContext(userId, imp.id) });
      } catch {
        continue; // not openable here (kept on the server for a device that can)
      }
      const data = JSON.parse(new TextDecoder().decode(plaintext)) as { contacts: { name: { display: string; given?: string; family?: string }; organization?: { name?: string }; notes?: string; labels: string[]; emails: Labelled[]; phones: Labelled[] }[] };
      plaintext.fill(0);
      const fields = data.contacts.map((c) => ({
        name: c.name.display,
        ...(c.name.given ? { given: c.name.given } : {}),
        ...(c.name.family ? { family: c.name.family } : {}),
        ...(c.organization?.name ? { organization: c.organization.name } : {}),
        emails: c.emails,
        phones: c.phones,
        notes: c.notes ?? '',
        groups: c.labels.map(imported),
      }));
      added += (await this.addAll(fields)).added;
      await this.api.request(contactImportDelete, { params: { id: imp.id } });
    }
    return added;
  }
}
