/**
 * `sealmail export` and `sealmail import` (docs/mail.md §10): mail decrypted into an mboxrd file
 * or a zip of EML files, and mbox/EML/zip files sealed into a folder — both here, on this device,
 * with the shared MailTransfer (packages/client). Export writes the file as it goes, under a
 * temporary name (0600: it holds plaintext) synced and renamed into place only when complete;
 * import streams the file from disk.
 */
import { createReadStream } from 'node:fs';
import { access, constants, open, rename, rm, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { Mailer } from '@sealmail/client/identity';
import { MailTransfer, type ExportFormat, type ImportFolder } from '@sealmail/client/transfer';
import { folders, type FolderName } from '@sealmail/contract';
import { CommandError, fileError, type MailContext } from './mail-commands';

const transferOf = (ctx: MailContext) => new MailTransfer(ctx.api, ctx.identity, new Mailer(ctx.api, ctx.identity, ctx.address));

export async function exportCommand(ctx: MailContext, file: string, v: { folder?: string; format?: string }): Promise<void> {
  const format = (v.format ?? 'mbox') as ExportFormat;
  if (format !== 'mbox' && format !== 'eml-zip') throw new CommandError('--format is mbox or eml-zip');
  if (v.folder && !folders.includes(v.folder as FolderName)) throw new CommandError(`--folder is one of ${folders.join(', ')}`);
  const tmp = `${file}.partial-${process.pid}`;
  // Plaintext mail: the owner's alone (0600 whatever the umask), and on disk before it is named.
  const out = await open(tmp, 'wx', 0o600).catch((err: unknown) => {
    throw fileError(err, 'write', file);
  });
  try {
    await out.chmod(0o600);
    const p = await transferOf(ctx).exportMail({ ...(v.folder ? { folder: v.folder as FolderName } : {}), format, write: async (chunk) => void (await out.write(chunk)) });
    await out.sync();
    await out.close();
    await rename(tmp, file).catch((err: unknown) => {
      throw fileError(err, 'write', file);
    });
    ctx.io.out(`exported ${p.done} message${p.done === 1 ? '' : 's'} to ${file}${p.failed ? `; ${p.failed} could not be decrypted here and were left out` : ''}`);
  } catch (err) {
    await out.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
}

export async function importCommand(ctx: MailContext, file: string, v: { folder?: string }): Promise<boolean> {
  const name = v.folder ?? 'archive';
  if (!folders.includes(name as FolderName) || name === 'drafts' || name === 'outbox') throw new CommandError('--folder is one of inbox, sent, archive, trash, spam');
  const folder = name as ImportFolder;
  // Checked before anything is sent: a missing or unreadable file is one line naming it.
  const info = await stat(file).catch((err: unknown) => {
    throw fileError(err, 'read', file);
  });
  if (!info.isFile()) throw new CommandError(`cannot read ${file}: not a file`, 'failure');
  await access(file, constants.R_OK).catch((err: unknown) => {
    throw fileError(err, 'read', file);
  });
  const p = await transferOf(ctx).importMail({ file: { stream: () => Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array> }, folder });
  ctx.io.out(`imported ${p.done} message${p.done === 1 ? '' : 's'} into ${folder}`);
  for (const f of p.failures) ctx.io.err(`sealmail: message ${f.index + 1} not imported: ${f.reason}`);
  return p.failed === 0;
}
