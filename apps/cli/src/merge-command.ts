/**
 * `sealmail merge <template> <csv>` (docs/mail.md "Mail merge"): the template file is a mail whose
 * first line may be `Subject: …`, then a blank line, then the text; `{{column}}` placeholders are
 * filled from each CSV row. Prints the preview (rows with problems flagged), then — unless
 * `--preview` — seals and sends one mail per good row (E2EE; `--link`/`--standard` for recipients
 * outside this server) and reports each row. Exits 1 if any row was not sent.
 */
import { readFile } from 'node:fs/promises';
import { Mailer } from '@sealmail/client/identity';
import { parseMergeCsv, previewMerge, sendMerge, MergeError } from '@sealmail/client/merge';
import { CommandError, fileError, type MailContext } from './mail-commands';

/** A template file: an optional `Subject:` line and a blank line, then the text. */
export function parseTemplateFile(raw: string): { subject: string; text: string } {
  const m = /^Subject:[ \t]*(.*)\r?\n(?:\r?\n)?/i.exec(raw);
  return m ? { subject: m[1]!.trim(), text: raw.slice(m[0].length) } : { subject: '', text: raw };
}

export async function mergeCommand(ctx: MailContext, templatePath: string, csvPath: string, v: { standard?: boolean; link?: string; preview?: boolean }): Promise<boolean> {
  if (v.standard && v.link !== undefined) throw new CommandError('Choose --standard or --link for recipients outside this server, not both.');
  if (v.link !== undefined && !['1d', '7d', '30d'].includes(v.link)) throw new CommandError('--link takes how long the link works: 1d, 7d or 30d.');
  const read = (path: string) =>
    readFile(path, 'utf8').catch((err: unknown) => {
      throw fileError(err, 'read', path);
    });
  const template = parseTemplateFile(await read(templatePath));
  const csv = await read(csvPath);
  let previews;
  try {
    previews = previewMerge(template, parseMergeCsv(csv));
  } catch (err) {
    if (err instanceof MergeError) throw new CommandError(err.message, 'failure');
    throw err;
  }
  for (const p of previews) ctx.io.out(`row ${p.row}\t${p.to || '(no address)'}\t${p.problems.length ? `NOT SENT: ${p.problems.map((x) => x.detail).join('; ')}` : p.mail.subject}`);
  const good = previews.filter((p) => !p.problems.length).length;
  if (v.preview) {
    ctx.io.out(`${good} of ${previews.length} rows ready (preview only: nothing sent)`);
    return good === previews.length;
  }
  const mailer = new Mailer(ctx.api, ctx.identity, ctx.address, await ctx.displayName());
  const report = await sendMerge(mailer, previews, { ...(v.standard ? { allowStandard: true } : {}), ...(v.link !== undefined ? { links: { expiresIn: v.link as '1d' | '7d' | '30d' } } : {}) }, (done, total, r) =>
    ctx.io.out(`[${done}/${total}] row ${r.row} ${r.to}: ${r.status}${r.reason ? ` (${r.reason})` : ''}`),
  );
  const count = (s: string) => report.filter((r) => r.status === s).length;
  ctx.io.out(`merge: ${count('sent')} sent, ${count('failed')} failed, ${count('skipped')} not sent`);
  return count('sent') === report.length;
}
