/**
 * The address book's on-device parts: sealing and opening a contact (bound to its user, id and
 * key), vCard 3.0/4.0 and Google Contacts CSV read and written (fixtures written like real
 * exports: several addresses, labels as groups, UTF-8 names, quoted notes), group expansion.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generatePerUserKey } from '@sealmail/crypto';
import { ContactError, expandRecipients, splitRecipients, normalizeContact, openContact, parseContactsFile, parseGoogleCsv, parseVcards, sealContact, toGoogleCsv, toVcards, type ContactFields } from '../src/contacts';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const ID = '0b7c3c1e-8c8a-4d55-9a39-3c1f0f1d2a10';

const zoe: ContactFields = {
  name: 'Zoë Müller',
  given: 'Zoë',
  family: 'Müller',
  organization: 'Kletterhalle Nord GmbH',
  emails: [
    { label: 'Home', value: 'zoe@example.org' },
    { label: 'Work', value: 'zoe.mueller@kletterhalle.example' },
  ],
  phones: [{ label: 'Mobile', value: '+49 170 1234567' }],
  notes: 'Met at the gym.\nBelays well, climbs 7a; "quoted".',
  groups: ['Climbing', 'Friends'],
};

describe('sealing a contact', () => {
  const g1 = generatePerUserKey(1);
  const g2 = generatePerUserKey(2);

  it('opens with the user’s keys and gives back every field', () => {
    const record = sealContact({ userId: 'alice', id: ID, puk: g2, contact: zoe });
    expect(openContact({ userId: 'alice', id: ID, puks: [g1, g2], record })).toEqual(zoe);
  });

  it('pads the plaintext, so the size says little about the contact', () => {
    const small = sealContact({ userId: 'alice', id: ID, puk: g2, contact: normalizeContact({ name: 'A' }) });
    const larger = sealContact({ userId: 'alice', id: ID, puk: g2, contact: normalizeContact({ name: 'A much longer name', emails: [{ value: 'a@example.org' }] }) });
    expect(larger.length).toBe(small.length);
  });

  it('does not open under another id, another user, a generation this device lacks, or with a flipped byte', () => {
    const record = sealContact({ userId: 'alice', id: ID, puk: g2, contact: zoe });
    expect(() => openContact({ userId: 'alice', id: crypto.randomUUID(), puks: [g2], record })).toThrow();
    expect(() => openContact({ userId: 'mallory', id: ID, puks: [g2], record })).toThrow();
    expect(() => openContact({ userId: 'alice', id: ID, puks: [g1], record })).toThrow();
    const tampered = record.slice();
    tampered[tampered.length - 70]! ^= 1;
    expect(() => openContact({ userId: 'alice', id: ID, puks: [g2], record: tampered })).toThrow();
  });

  it('one sealed by anyone but the user (no per-user signing key) does not open', () => {
    const other = generatePerUserKey(2);
    const forged = sealContact({ userId: 'alice', id: ID, puk: { ...other, encryption: g2.encryption }, contact: zoe });
    expect(() => openContact({ userId: 'alice', id: ID, puks: [g2], record: forged })).toThrow();
  });

  it('tidies and checks before sealing', () => {
    expect(normalizeContact({ emails: [{ value: ' Bob@Example.ORG ' }, { value: 'bob@example.org' }] })).toMatchObject({ name: 'bob@example.org', emails: [{ value: 'bob@example.org' }] });
    expect(() => normalizeContact({ name: 'X', emails: [{ value: 'bob at example' }] })).toThrow(ContactError);
    expect(() => normalizeContact({})).toThrow(/name or an e-mail address/);
    expect(() => normalizeContact({ name: 'X', groups: ['a@b'] })).toThrow(/group name/);
  });
});

describe('Google Contacts CSV', () => {
  it('reads an export with several addresses per cell and per column, labels as groups, UTF-8 names', () => {
    const contacts = parseGoogleCsv(fixture('google-contacts.csv'));
    expect(contacts).toHaveLength(3); // the empty row is skipped
    expect(contacts[0]).toEqual({
      name: 'Zoë Müller',
      given: 'Zoë',
      family: 'Müller',
      organization: 'Kletterhalle Nord GmbH',
      emails: [
        { label: 'Home', value: 'zoe@example.org' },
        { label: 'Home', value: 'zoe.mueller@mail.example' },
        { label: 'Work', value: 'zoe.mueller@kletterhalle.example' },
      ],
      phones: [
        { label: 'Mobile', value: '+49 170 1234567' },
        { label: 'Work', value: '+49 30 555 0100' },
      ],
      notes: 'Met at the gym.\nBelays well, climbs 7a.',
      groups: ['Climbing', 'Friends'],
    });
    expect(contacts[1]).toMatchObject({ name: '李 小龙', emails: [{ value: 'li@example.cn' }], groups: ['Starred'] });
    expect(contacts[2]).toMatchObject({ name: "Dr. José Núñez-O'Brien", notes: 'Notes with "quotes", commas; semicolons', groups: ['Friends'] });
  });

  it('reads the older "Google CSV" layout', () => {
    const older = 'Name,Given Name,Family Name,Group Membership,E-mail 1 - Type,E-mail 1 - Value\nÅsa Öberg,Åsa,Öberg,* myContacts ::: Team,* Work,asa@example.se\n';
    expect(parseGoogleCsv(older)).toEqual([{ name: 'Åsa Öberg', given: 'Åsa', family: 'Öberg', emails: [{ label: 'Work', value: 'asa@example.se' }], phones: [], notes: '', groups: ['Team'] }]);
  });

  it('writes what it reads back unchanged (round trip), and Google’s own columns', () => {
    const contacts = parseGoogleCsv(fixture('google-contacts.csv')).map((c) => normalizeContact(c));
    const csv = toGoogleCsv(contacts);
    expect(csv.split('\r\n')[0]).toMatch(/^First Name,Middle Name,Last Name,File As,Organization Name,Notes,Labels,E-mail 1 - Label,E-mail 1 - Value,/);
    expect(csv).toContain('* myContacts ::: Climbing ::: Friends');
    expect(parseGoogleCsv(csv).map((c) => normalizeContact(c))).toEqual(contacts);
  });

  it('refuses a CSV that is not a contacts export', () => {
    expect(() => parseGoogleCsv('Email,Phone\na@b.example,1\n')).toThrow(/not a Google Contacts export/);
  });
});

describe('vCard', () => {
  it('reads 4.0 (types, PREF, tel: URIs, escaped notes, categories)', () => {
    const [a, b] = parseVcards(fixture('contacts-4.0.vcf'));
    expect(a).toEqual({ ...zoe, emails: [{ label: 'Home', value: 'zoe@example.org' }, { label: 'Work', value: 'zoe.mueller@kletterhalle.example' }], phones: [{ label: 'Cell', value: '+49-170-1234567' }], notes: 'Met at the gym.\nBelays well, climbs 7a.' });
    expect(b).toMatchObject({ name: 'Ōtsuka Ren', emails: [{ value: 'ren@example.jp' }], groups: ['Colleagues'] });
  });

  it('reads 3.0 as Apple writes it (repeated TYPE parameters), and a card with only an address', () => {
    const [jose, bare] = parseVcards(fixture('contacts-3.0.vcf'));
    expect(jose).toEqual({ name: 'Dr. José Núñez', given: 'José', family: 'Núñez', emails: [{ label: 'Work', value: 'jose@example.es' }, { label: 'Home', value: 'jose.home@example.es' }], phones: [{ label: 'Cell', value: '+34 600 000 000' }], notes: 'Prefers Spanish; call after 18:00', groups: ['Friends'] });
    expect(bare).toMatchObject({ name: 'only.address@example.net', emails: [{ value: 'only.address@example.net' }] });
  });

  it.each(['3.0', '4.0'] as const)('round-trips every field through vCard %s, several contacts per file', (version) => {
    const jose = normalizeContact({ name: 'José, “the” Núñez; Jr.', emails: [{ value: 'jose@example.es' }], phones: [], notes: 'Line one\nLine two, with; specials\\', groups: ['Friends, old', 'Climbing'] });
    const text = toVcards([{ ...zoe, id: ID }, jose], version);
    expect(text.match(/BEGIN:VCARD\r\n/g)).toHaveLength(2);
    expect(text).toContain(`VERSION:${version}\r\n`);
    expect(text).toContain(`UID:urn:uuid:${ID}`);
    const back = parseVcards(text);
    expect(back[0]).toEqual(zoe);
    expect(back[1]).toEqual(jose);
  });

  it('tells the formats apart, and refuses a broken file', () => {
    expect(parseContactsFile(fixture('contacts-3.0.vcf')).format).toBe('vcard');
    expect(parseContactsFile(fixture('google-contacts.csv')).format).toBe('google-csv');
    expect(() => parseVcards('BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Broken\r\n')).toThrow(/not a readable vCard/);
  });
});

describe('personal distribution lists', () => {
  const book = [zoe, normalizeContact({ name: 'Bob', emails: [{ value: 'bob@example.test' }, { value: 'bob@home.example' }], groups: ['climbing'] }), normalizeContact({ name: 'Phone only', phones: [{ value: '1' }], groups: ['Callers'] })];

  it('expands a group into its members’ first addresses, on the device; addresses pass through', () => {
    expect(expandRecipients(['Climbing', 'carol@example.org', 'Bob <BOB@example.test>'], book)).toEqual(['zoe@example.org', 'bob@example.test', 'carol@example.org']);
  });

  it('refuses a word that is neither an address nor a group, and a group without addresses', () => {
    expect(() => expandRecipients(['Climbers'], book)).toThrow(/neither an e-mail address nor one of your contact groups/);
    expect(() => expandRecipients(['Callers'], book)).toThrow(/no member with an e-mail address/);
  });

  it('splits typed recipients so a group name may have spaces', () => {
    expect(splitRecipients('Climbing Club, a@x.example b@y.example; Zoë Müller <zoe@example.org>')).toEqual(['Climbing Club', 'a@x.example', 'b@y.example', 'Zoë Müller <zoe@example.org>']);
  });
});
