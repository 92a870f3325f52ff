/**
 * Test helper (not a test): parses a Google Contacts CSV of at most the contract's 4 MiB — the
 * numbered columns ("E-mail 1 - Value" … "Address 99 - Value") and filler up to MAX_CSV_COLUMNS,
 * rows of empty cells — with the admin import's parser, and prints what it found. The parent
 * kills it at a deadline, so a parse that blocks the event loop fails the test instead of hanging
 * the run.
 */
import { importLimits } from '@sealmail/contract';
import { MAX_CSV_COLUMNS, parseGoogleContactsCsv } from '../../src/imports/contacts';

const cols = ['First Name'];
for (const k of ['E-mail', 'Phone', 'Website', 'Address']) for (let n = 1; n < 100; n++) cols.push(`${k} ${n} - Value`);
for (let i = 0; cols.length < MAX_CSV_COLUMNS; i++) cols.push(`c${i}`);
const header = cols.join(',');
const row = 'x' + ','.repeat(cols.length - 1);
const rows = Math.floor((importLimits.csvChars - header.length - 1) / (row.length + 1));
const csv = header + '\n' + Array.from({ length: rows }, () => row).join('\n');
const r = parseGoogleContactsCsv(csv);
process.stdout.write(JSON.stringify({ chars: csv.length, rows, contacts: r.contacts.length }) + '\n');
process.exit(0);
