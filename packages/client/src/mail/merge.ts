/**
 * Mail merge on the device (docs/mail.md "Mail merge"): a CSV of recipients and fields (parsed
 * with csv-parse), a template with `{{placeholders}}`, a preview per row that flags missing fields
 * and bad addresses, then one individually sealed mail per row — each row is its own
 * `Mailer.send`, so each recipient gets E2EE, a link or standard mail exactly as a single mail.
 */
import { parse } from 'csv-parse/browser/esm/sync';
import { address as addressSchema } from '@sealmail/contract';
import type { Mailer, OutgoingMail } from './mailer';

/** Most rows one merge sends (a larger list is a mailing list, not a merge). */
export const MERGE_MAX_ROWS = 1000;

export interface MergeTemplate {
  subject: string;
  text: string;
  html?: string;
}

export interface MergeCsv {
  /** Column names as written in the header row (trimmed). */
  columns: string[];
  /** The column holding the address (`email`, `e-mail`, `address` or `to`, any case). */
  addressColumn: string;
  rows: Record<string, string>[];
}

export class MergeError extends Error {
  override readonly name = 'MergeError';
  constructor(
    readonly code: 'CSV_INVALID' | 'NO_ADDRESS_COLUMN' | 'TOO_MANY_ROWS' | 'EMPTY',
    message: string,
  ) {
    super(message);
  }
}

const ADDRESS_COLUMNS = ['email', 'e-mail', 'mail', 'address', 'email address', 'to'];

/**
 * Parses a merge CSV: a header row, then one row per recipient. Accepts a UTF-8 byte-order mark,
 * `,` or `;` as the separator (whichever the header uses), quoted fields with commas, quotes and
 * line breaks, CRLF or LF, and blank lines (skipped). Rows shorter than the header get empty
 * fields; longer ones are refused.
 * @throws MergeError
 */
export function parseMergeCsv(text: string): MergeCsv {
  const clean = text.replace(/^\uFEFF/, '');
  const firstLine = clean.split(/\r?\n/, 1)[0] ?? '';
  const delimiter = (firstLine.match(/;/g)?.length ?? 0) > (firstLine.match(/,/g)?.length ?? 0) ? ';' : ',';
  let records: string[][];
  try {
    records = parse(clean, { delimiter, skip_empty_lines: true, relax_column_count_less: true, trim: true }) as string[][];
  } catch (err) {
    throw new MergeError('CSV_INVALID', `The CSV could not be read: ${(err as Error).message}`);
  }
  const [header, ...body] = records;
  if (!header || !body.length) throw new MergeError('EMPTY', 'The CSV needs a header row and at least one recipient row.');
  const columns = header.map((c) => c.trim());
  const addressColumn = columns.find((c) => ADDRESS_COLUMNS.includes(c.toLowerCase()));
  if (!addressColumn) throw new MergeError('NO_ADDRESS_COLUMN', `No address column: name one of the columns ${ADDRESS_COLUMNS.map((c) => `"${c}"`).join(', ')}.`);
  if (body.length > MERGE_MAX_ROWS) throw new MergeError('TOO_MANY_ROWS', `At most ${MERGE_MAX_ROWS} rows per merge (this CSV has ${body.length}).`);
  const rows = body.map((r) => Object.fromEntries(columns.map((c, i) => [c, (r[i] ?? '').trim()])));
  return { columns, addressColumn, rows };
}

/** The placeholder names a template uses (`{{ First name }}` → `First name`), in order of first use. */
export function placeholdersOf(template: MergeTemplate): string[] {
  const names = new Set<string>();
  for (const part of [template.subject, template.text, template.html ?? '']) for (const m of part.matchAll(/\{\{\s*([^{}]+?)\s*\}\}/g)) names.add(m[1]!);
  return [...names];
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * Fills `{{name}}` placeholders from a row (column names match case-insensitively, spaces
 * around the name ignored). Values go into HTML escaped. Answers the names that had no value.
 */
export function fillTemplate(template: MergeTemplate, row: Record<string, string>): { mail: MergeTemplate; missing: string[] } {
  const byName = new Map(Object.entries(row).map(([k, v]) => [k.trim().toLowerCase(), v]));
  const missing = new Set<string>();
  const fill = (s: string, html: boolean) =>
    s.replace(/\{\{\s*([^{}]+?)\s*\}\}/g, (_, name: string) => {
      const v = byName.get(name.toLowerCase());
      if (v === undefined || v === '') {
        missing.add(name);
        return '';
      }
      return html ? escapeHtml(v) : v;
    });
  const mail: MergeTemplate = { subject: fill(template.subject, false), text: fill(template.text, false), ...(template.html !== undefined ? { html: fill(template.html, true) } : {}) };
  return { mail, missing: [...missing] };
}

export interface MergeRowPreview {
  /** 1-based row number in the CSV's body (the header is row 0). */
  row: number;
  to: string;
  mail: MergeTemplate;
  /** What is wrong with this row; a row with problems is not sent. */
  problems: { code: 'BAD_ADDRESS' | 'MISSING_FIELD' | 'DUPLICATE_ADDRESS'; detail: string }[];
}

/** One preview per row: the filled mail and what is wrong with the row. */
export function previewMerge(template: MergeTemplate, csv: MergeCsv): MergeRowPreview[] {
  const seen = new Set<string>();
  return csv.rows.map((r, i) => {
    const to = (r[csv.addressColumn] ?? '').trim().toLowerCase();
    const { mail, missing } = fillTemplate(template, r);
    const problems: MergeRowPreview['problems'] = [];
    if (!addressSchema.safeParse(to).success) problems.push({ code: 'BAD_ADDRESS', detail: to ? `"${to}" is not an e-mail address` : 'the address is empty' });
    else if (seen.has(to)) problems.push({ code: 'DUPLICATE_ADDRESS', detail: `${to} is on an earlier row too` });
    seen.add(to);
    for (const m of missing) problems.push({ code: 'MISSING_FIELD', detail: `no value for {{${m}}}` });
    return { row: i + 1, to, mail, problems };
  });
}

export interface MergeResult {
  row: number;
  to: string;
  status: 'sent' | 'failed' | 'skipped';
  /** Why it failed or was skipped. */
  reason?: string;
  entryId?: string;
}

/**
 * Sends one individually sealed mail per row without problems (rows with problems are skipped
 * and reported). `options` carries what applies to every row (links or standard mail for
 * recipients outside, attachments). Answers a report row per CSV row; one failure does not stop
 * the rest.
 */
export async function sendMerge(
  mailer: Pick<Mailer, 'send'>,
  previews: readonly MergeRowPreview[],
  options: Omit<OutgoingMail, 'to' | 'cc' | 'bcc' | 'subject' | 'text' | 'html'> = {},
  progress?: (done: number, total: number, last: MergeResult) => void,
): Promise<MergeResult[]> {
  const out: MergeResult[] = [];
  for (const p of previews) {
    let r: MergeResult;
    if (p.problems.length) r = { row: p.row, to: p.to, status: 'skipped', reason: p.problems.map((x) => x.detail).join('; ') };
    else {
      try {
        const sent = await mailer.send({ ...options, to: [p.to], subject: p.mail.subject, text: p.mail.text, ...(p.mail.html !== undefined ? { html: p.mail.html } : {}) });
        r = { row: p.row, to: p.to, status: 'sent', entryId: sent.entryId };
      } catch (err) {
        r = { row: p.row, to: p.to, status: 'failed', reason: (err as Error).message };
      }
    }
    out.push(r);
    progress?.(out.length, previews.length, r);
  }
  return out;
}
