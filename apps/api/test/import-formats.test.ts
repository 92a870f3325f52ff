/**
 * The import parsers on their own: the streaming mbox splitter (From_ lines, >From quoting in
 * mboxo and mboxrd, CRLF and LF, chunk boundaries, oversized messages), Gmail labels → folders,
 * and the Google Groups and Google Contacts CSV layouts. No database.
 */
import { describe, expect, it, vi } from 'vitest';
import { splitMbox, type MboxMessage } from '../src/imports/mbox';
import { placeByLabels } from '../src/imports/importer';
import { parseGroupsCsv } from '../src/imports/groups';
import { parseGoogleContactsCsv } from '../src/imports/contacts';

async function split(text: string | Buffer, chunk = 7, max = 1 << 20): Promise<MboxMessage[]> {
  const buf = Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8');
  async function* chunks() {
    for (let at = 0; at < buf.length; at += chunk) yield buf.subarray(at, at + chunk);
  }
  const out: MboxMessage[] = [];
  for await (const m of splitMbox(chunks(), { maxMessageBytes: max })) out.push(m);
  return out;
}

const MBOX = [
  'From 1650000000000000001@xxx Thu Feb 19 10:03:21 +0000 2026',
  'Subject: one',
  '',
  'First body',
  '>From the start (mboxo/mboxrd quoted)',
  '>>From deeper (mboxrd)',
  '> From not a From_ line',
  '',
  'From sender@example.org Fri Feb 20 11:00:00 2026',
  'Subject: two',
  '',
  'Some text',
  'From here on an unquoted line after text is body', // not after an empty line, no asctime date
  '',
  '',
].join('\n');

describe('mbox splitter', () => {
  it('splits on From_ lines, unquotes >From, keeps the envelope date, in small chunks', async () => {
    const ms = await split(MBOX, 5);
    expect(ms).toHaveLength(2);
    expect(ms[0]!.bytes!.toString()).toBe('Subject: one\n\nFirst body\nFrom the start (mboxo/mboxrd quoted)\n>From deeper (mboxrd)\n> From not a From_ line\n');
    expect(ms[0]!.envelopeDate?.toISOString()).toBe('2026-02-19T10:03:21.000Z');
    expect(ms[1]!.bytes!.toString()).toBe('Subject: two\n\nSome text\nFrom here on an unquoted line after text is body\n');
    expect(ms[1]!.envelopeDate?.toISOString()).toBe('2026-02-20T11:00:00.000Z');
    expect(ms[1]!.offset).toBe(MBOX.indexOf('From sender@'));
  });

  it('reads CRLF files to the same messages as LF files', async () => {
    const lf = await split(MBOX, 64);
    const crlf = await split(MBOX.replace(/\n/g, '\r\n'), 3);
    expect(crlf.map((m) => m.bytes!.toString())).toEqual(lf.map((m) => m.bytes!.toString()));
  });

  it('a From_ line with an asctime date starts a message even without an empty line before it', async () => {
    const ms = await split('From a@b Mon Jan  1 00:00:00 2024\nSubject: a\n\nbody\nFrom b@c Tue Jan  2 00:00:00 2024\nSubject: b\n\nx\n');
    expect(ms.map((m) => m.bytes!.toString())).toEqual(['Subject: a\n\nbody\n', 'Subject: b\n\nx\n']);
  });

  it('a message over the limit is skipped (bytes null) and the next one still comes; one long line too', async () => {
    const big = 'x'.repeat(300);
    const ms = await split(`From a@b Mon Jan  1 00:00:00 2024\nSubject: big\n\n${big}\n${big}\n\nFrom b@c Tue Jan  2 00:00:00 2024\nSubject: small\n\nok\n\nFrom c@d Tue Jan  2 00:00:00 2024\n${'y'.repeat(2000)}`, 50, 512);
    expect(ms).toHaveLength(3);
    expect(ms[0]!.bytes).toBeNull();
    expect(ms[1]!.bytes!.toString()).toBe('Subject: small\n\nok\n');
    expect(ms[2]!.bytes).toBeNull();
  });

  it('a long line arriving in many chunks is joined once, not again with every chunk (bytes copied stay linear)', async () => {
    // A 4 MiB line (within the limit) in 16 KiB chunks, followed by a short message.
    const line = 'z'.repeat(4 << 20);
    const text = `From a@b Mon Jan  1 00:00:00 2024\nSubject: long\n\n${line}\n\nFrom b@c Tue Jan  2 00:00:00 2024\nSubject: after\n\nok\n`;
    const concat = vi.spyOn(Buffer, 'concat');
    try {
      const ms = await split(text, 16 << 10, 8 << 20);
      expect(ms.map((m) => m.bytes!.length)).toEqual([`Subject: long\n\n${line}\n`.length, 'Subject: after\n\nok\n'.length]);
      expect(ms[1]!.offset).toBe(text.indexOf('From b@c'));
      // Every byte is joined a small number of times (the line, then the message): the code before
      // joined the unfinished line again with each of its 256 chunks, ~500 MiB of copies.
      const copied = concat.mock.calls.reduce((n, [list]) => n + (list as Buffer[]).reduce((m, b) => m + b.length, 0), 0);
      expect(copied).toBeLessThan(4 * text.length);
    } finally {
      concat.mockRestore();
    }
  });

  it('text without From_ lines holds no message', async () => {
    expect(await split('just some text\nand more\n')).toHaveLength(0);
  });
});

describe('Gmail labels', () => {
  it('map to folders and read state', () => {
    expect(placeByLabels([], 'inbox')).toEqual({ folder: 'inbox' });
    expect(placeByLabels(['Inbox', 'Important', 'Unread'], 'archive')).toEqual({ folder: 'inbox', read: false });
    expect(placeByLabels(['Archived', 'Opened', 'Work'], 'inbox')).toEqual({ folder: 'archive', read: true });
    expect(placeByLabels(['Sent', 'Opened'], 'inbox')).toEqual({ folder: 'sent', read: true });
    expect(placeByLabels(['Spam', 'Inbox'], 'inbox')).toEqual({ folder: 'spam', read: true });
    expect(placeByLabels(['Trash'], 'inbox')).toEqual({ folder: 'trash', read: true });
  });
});

describe('Google Groups CSV', () => {
  it('reads a group export (with a line naming the group above the header) and skips invited and banned people', () => {
    const csv = [
      'Members for group team@example.test',
      'Email address,Nickname,Group status,Email status,Join year,Join month,Join day,Join hour,Join minute,Join second,Time zone',
      'Carol@Outside.example,Carol,member,email,2021,3,4,10,0,0,Europe/London',
      'dave@outside.example,,manager,digest,2020,1,1,0,0,0,Europe/London',
      'eve@outside.example,,invited,email,2022,1,1,0,0,0,Europe/London',
      'not-an-address,,member,email,2022,1,1,0,0,0,Europe/London',
    ].join('\r\n');
    const g = parseGroupsCsv(csv);
    expect(g.preambleGroup).toBe('team@example.test');
    expect(g.members).toEqual([
      { row: 3, group: null, member: 'carol@outside.example' },
      { row: 4, group: null, member: 'dave@outside.example' },
    ]);
    expect(g.skipped.map((s) => s.row)).toEqual([5, 6]);
  });

  it('reads the Admin console layout with several groups', () => {
    const g = parseGroupsCsv('Group Email [Required],Member Email,Member Type,Member Role,Member Status\nsales@example.test,a@x.example,USER,MEMBER,ACTIVE\nops@example.test,b@x.example,USER,OWNER,SUSPENDED\nops@example.test,c@x.example,USER,MANAGER,ACTIVE\n');
    expect(g.members).toEqual([
      { row: 2, group: 'sales@example.test', member: 'a@x.example' },
      { row: 4, group: 'ops@example.test', member: 'c@x.example' },
    ]);
    expect(g.skipped).toEqual([{ row: 3, reason: 'b@x.example is suspended, not a member' }]);
  });

  it('refuses a file without a member column, naming what it expected', () => {
    expect(() => parseGroupsCsv('Name,Phone\nA,1\n')).toThrow(/Email address/);
  });
});

describe('Google Contacts CSV', () => {
  it('reads the current layout: names, several values per cell, labels, addresses, organisation, multi-line notes', () => {
    const csv = [
      'First Name,Middle Name,Last Name,Phonetic First Name,Phonetic Middle Name,Phonetic Last Name,Name Prefix,Name Suffix,Nickname,File As,Organization Name,Organization Title,Organization Department,Birthday,Notes,Photo,Labels,E-mail 1 - Label,E-mail 1 - Value,E-mail 2 - Label,E-mail 2 - Value,Phone 1 - Label,Phone 1 - Value,Address 1 - Label,Address 1 - Formatted,Address 1 - Street,Address 1 - City,Address 1 - PO Box,Address 1 - Region,Address 1 - Postal Code,Address 1 - Country,Address 1 - Extended Address,Website 1 - Label,Website 1 - Value',
      'Ada,,Lovelace,,,,Countess,,Ada,,Analytical Engines,Programmer,R&D,1815-12-10,"Met at\nthe conference, 1843",,* myContacts ::: * Starred ::: Friends,* Work,ADA@Example.org ::: ada@home.example,Home,ada@private.example,Mobile,+44 20 1234,Home,"12 St James\'s Square\nLondon",12 St James\'s Square,London,,,SW1Y 4JH,United Kingdom,,Profile,https://ada.example',
      ',,,,,,,,,,,,,,,,* myContacts,,,,,,,,,,,,,,,,,',
      ',,,,,,,,,,,,,,,,,,,,,Mobile,+1 555 0100,,,,,,,,,,,',
    ].join('\n');
    const { contacts, skipped } = parseGoogleContactsCsv(csv);
    expect(skipped).toEqual([{ row: 3, reason: 'no name, e-mail address, phone number or organisation' }]);
    expect(contacts).toHaveLength(2);
    expect(contacts[0]).toEqual({
      name: { display: 'Countess Ada Lovelace', given: 'Ada', family: 'Lovelace', prefix: 'Countess' },
      nickname: 'Ada',
      organization: { name: 'Analytical Engines', title: 'Programmer', department: 'R&D' },
      birthday: '1815-12-10',
      notes: 'Met at\nthe conference, 1843',
      labels: ['Starred', 'Friends'],
      emails: [
        { label: 'Work', value: 'ada@example.org' },
        { label: 'Work', value: 'ada@home.example' },
        { label: 'Home', value: 'ada@private.example' },
      ],
      phones: [{ label: 'Mobile', value: '+44 20 1234' }],
      addresses: [{ label: 'Home', formatted: "12 St James's Square\nLondon", street: "12 St James's Square", city: 'London', postalCode: 'SW1Y 4JH', country: 'United Kingdom' }],
      websites: [{ label: 'Profile', value: 'https://ada.example' }],
    });
    expect(contacts[1]!.name.display).toBe('+1 555 0100');
  });

  it('reads the older "Google CSV" layout', () => {
    const csv = 'Name,Given Name,Additional Name,Family Name,Group Membership,E-mail 1 - Type,E-mail 1 - Value,Phone 1 - Type,Phone 1 - Value,Organization 1 - Type,Organization 1 - Name,Organization 1 - Title\nGrace Hopper,Grace,,Hopper,* My Contacts ::: Navy,* Work,grace@navy.example,Work,555-1234,,US Navy,Rear Admiral\n';
    const { contacts } = parseGoogleContactsCsv(csv);
    expect(contacts).toEqual([
      {
        name: { display: 'Grace Hopper', given: 'Grace', family: 'Hopper' },
        organization: { name: 'US Navy', title: 'Rear Admiral' },
        labels: ['My Contacts', 'Navy'],
        emails: [{ label: 'Work', value: 'grace@navy.example' }],
        phones: [{ label: 'Work', value: '555-1234' }],
        addresses: [],
        websites: [],
      },
    ]);
  });

  it('refuses a CSV that is not a Google Contacts export', () => {
    expect(() => parseGoogleContactsCsv('Email,Phone\na@b.example,1\n')).toThrow(/Google Contacts/);
  });
});
