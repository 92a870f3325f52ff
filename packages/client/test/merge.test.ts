/**
 * Mail merge on the device (docs/mail.md "Mail merge"): CSV edge cases (csv-parse underneath),
 * placeholder filling, the per-row preview's flags, and that sending makes one individual mail
 * per good row and reports the rest. The sender here records calls (the sealing itself is the
 * Mailer's, tested against the real API in apps/api and in Chromium in e2e/compose.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { fillTemplate, MergeError, parseMergeCsv, placeholdersOf, previewMerge, sendMerge, MERGE_MAX_ROWS } from '../src/mail/merge';

describe('parseMergeCsv', () => {
  it('reads quoted fields with commas, quotes and line breaks, CRLF, a BOM and blank lines', () => {
    const csv = '\uFEFFEmail,Name,Note\r\nann@example.test,"Smith, Ann","She said ""hi"""\r\n\r\nbob@example.test,Bob,"two\nlines"\r\n';
    const r = parseMergeCsv(csv);
    expect(r.columns).toEqual(['Email', 'Name', 'Note']);
    expect(r.addressColumn).toBe('Email');
    expect(r.rows).toEqual([
      { Email: 'ann@example.test', Name: 'Smith, Ann', Note: 'She said "hi"' },
      { Email: 'bob@example.test', Name: 'Bob', Note: 'two\nlines' },
    ]);
  });

  it('takes ; as the separator when the header uses it (spreadsheets in German locales), and trims', () => {
    const r = parseMergeCsv('E-Mail; Vorname\n jan@example.test ; Jan \n');
    expect(r.addressColumn).toBe('E-Mail');
    expect(r.rows).toEqual([{ 'E-Mail': 'jan@example.test', Vorname: 'Jan' }]);
  });

  it('gives short rows empty fields and refuses long rows, an unclosed quote, no address column, no rows, too many rows', () => {
    expect(parseMergeCsv('email,name,city\na@example.test,A\n').rows).toEqual([{ email: 'a@example.test', name: 'A', city: '' }]);
    expect(() => parseMergeCsv('email,name\na@example.test,A,extra\n')).toThrow(MergeError);
    expect(() => parseMergeCsv('email,name\n"a@example.test,A\n')).toThrow(/could not be read/);
    expect(() => parseMergeCsv('name,city\nA,B\n')).toThrow(expect.objectContaining({ code: 'NO_ADDRESS_COLUMN' }));
    expect(() => parseMergeCsv('email\n')).toThrow(expect.objectContaining({ code: 'EMPTY' }));
    expect(() => parseMergeCsv('')).toThrow(expect.objectContaining({ code: 'EMPTY' }));
    const big = `email\n${Array.from({ length: MERGE_MAX_ROWS + 1 }, (_, i) => `u${i}@example.test`).join('\n')}\n`;
    expect(() => parseMergeCsv(big)).toThrow(expect.objectContaining({ code: 'TOO_MANY_ROWS' }));
  });
});

describe('placeholders', () => {
  const tpl = { subject: 'Invoice {{ Number }} for {{name}}', text: 'Dear {{name}},\nyou owe {{amount}}.', html: '<p>Dear {{name}}</p>' };

  it('lists the names a template uses, once each', () => {
    expect(placeholdersOf(tpl)).toEqual(['Number', 'name', 'amount']);
  });

  it('fills by column name, case-insensitively, escaping values in HTML only', () => {
    const { mail, missing } = fillTemplate(tpl, { email: 'x@example.test', Name: 'Tom & <Jerry>', number: '42', Amount: '€ 10' });
    expect(missing).toEqual([]);
    expect(mail.subject).toBe('Invoice 42 for Tom & <Jerry>');
    expect(mail.text).toBe('Dear Tom & <Jerry>,\nyou owe € 10.');
    expect(mail.html).toBe('<p>Dear Tom &#38; &#60;Jerry&#62;</p>');
  });

  it('names missing and empty fields; text without placeholders and unclosed braces stay as they are', () => {
    const { mail, missing } = fillTemplate({ subject: 'Hi {{name}}', text: 'Plain {text} and {{unclosed' }, { name: '' });
    expect(missing).toEqual(['name']);
    expect(mail.subject).toBe('Hi ');
    expect(mail.text).toBe('Plain {text} and {{unclosed');
  });
});

describe('preview and send', () => {
  const csv = parseMergeCsv('email,name\nann@example.test,Ann\nnot-an-address,Bob\ncid@example.test,\nANN@example.test,Ann again\ndee@example.test,Dee\n');
  const previews = previewMerge({ subject: 'Hello {{name}}', text: 'Hi {{name}}' }, csv);

  it('flags bad addresses, missing fields and repeated addresses per row', () => {
    expect(previews.map((p) => [p.row, p.to, p.problems.map((x) => x.code)])).toEqual([
      [1, 'ann@example.test', []],
      [2, 'not-an-address', ['BAD_ADDRESS']],
      [3, 'cid@example.test', ['MISSING_FIELD']],
      [4, 'ann@example.test', ['DUPLICATE_ADDRESS']],
      [5, 'dee@example.test', []],
    ]);
    expect(previews[0]!.mail).toEqual({ subject: 'Hello Ann', text: 'Hi Ann' });
  });

  it('sends one mail per good row, each to one recipient, reports failures without stopping, and reports progress', async () => {
    const sent: { to: readonly string[]; subject: string; links?: unknown }[] = [];
    const mailer = {
      async send(m: { to: readonly string[]; subject: string; links?: unknown }) {
        if (m.to[0] === 'dee@example.test') throw new Error('Dee cannot be reached');
        sent.push(m);
        return { entryId: `e-${sent.length}` } as never;
      },
    };
    const progress: number[] = [];
    const report = await sendMerge(mailer as never, previews, { links: { expiresIn: '7d' } }, (done) => progress.push(done));
    expect(sent).toEqual([expect.objectContaining({ to: ['ann@example.test'], subject: 'Hello Ann', links: { expiresIn: '7d' } })]);
    expect(report.map((r) => [r.row, r.status])).toEqual([
      [1, 'sent'],
      [2, 'skipped'],
      [3, 'skipped'],
      [4, 'skipped'],
      [5, 'failed'],
    ]);
    expect(report[4]!.reason).toBe('Dee cannot be reached');
    expect(progress).toEqual([1, 2, 3, 4, 5]);
  });
});
