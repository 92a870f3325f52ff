/**
 * `sealmail folders [create NAME | rename ID NAME | delete ID]`, `sealmail move <id> <folder>` for
 * a custom folder, `sealmail restore <id>` and `sealmail empty-trash` (docs/mail.md "Organising
 * mail"). Folder names are sealed and opened on this device; the server sees ids.
 */
import { Organiser } from '@sealmail/client/identity';
import { CommandError, resolveEntry, type MailContext } from './mail-commands';

const organiser = (ctx: MailContext) => new Organiser(ctx.api, ctx.identity, ctx.address);

/** A custom folder by its id, the id's first characters, or its exact name. */
async function findFolder(ctx: MailContext, which: string) {
  const folders = await organiser(ctx).folders();
  const hits = folders.filter((f) => f.id === which.toLowerCase() || f.name === which || (which.length >= 4 && f.id.startsWith(which.toLowerCase())));
  if (hits.length !== 1) throw new CommandError(hits.length ? `"${which}" names more than one folder; give more of its id` : `no folder "${which}" (see \`sealmail folders\`)`, 'failure');
  return hits[0]!;
}

export async function foldersCommand(ctx: MailContext, args: string[]): Promise<void> {
  const org = organiser(ctx);
  const [sub, a, b] = args;
  if (sub === undefined) {
    const folders = await org.folders();
    if (!folders.length) ctx.io.out('no folders yet (sealmail folders create NAME)');
    for (const f of folders) ctx.io.out(`${f.id.slice(0, 8)}  ${f.name}  (${f.total} mail, ${f.unread} unread)`);
  } else if (sub === 'create' && a && args.length === 2) {
    const f = await org.createFolder(a);
    ctx.io.out(`created folder ${f.id.slice(0, 8)} ${f.name}`);
  } else if (sub === 'rename' && a && b && args.length === 3) {
    const f = await findFolder(ctx, a);
    await org.renameFolder(f.id, b);
    ctx.io.out(`renamed folder ${f.id.slice(0, 8)} to ${b.trim()}`);
  } else if (sub === 'delete' && a && args.length === 2) {
    const f = await findFolder(ctx, a);
    const moved = await org.deleteFolder(f.id);
    ctx.io.out(`deleted folder ${f.name}; ${moved} mail moved to inbox`);
  } else throw new CommandError('usage: sealmail folders [create NAME | rename FOLDER NAME | delete FOLDER]', 'usage');
}

/** Moves a mail into a custom folder (system folders go through moveCommand). */
export async function moveToFolderCommand(ctx: MailContext, idOrPrefix: string, folder: string): Promise<void> {
  const id = await resolveEntry(ctx, idOrPrefix);
  const f = await findFolder(ctx, folder);
  await organiser(ctx).move([id], { folderId: f.id });
  ctx.io.out(`moved ${id.slice(0, 8)} to ${f.name}`);
}

export async function restoreCommand(ctx: MailContext, idOrPrefix: string): Promise<void> {
  const id = await resolveEntry(ctx, idOrPrefix);
  const [r] = await organiser(ctx).restore([id]);
  ctx.io.out(`restored ${id.slice(0, 8)} to ${r?.folderId ? 'its folder' : r?.folder}`);
}

export async function emptyTrashCommand(ctx: MailContext): Promise<void> {
  const n = await organiser(ctx).emptyTrash();
  ctx.io.out(`deleted ${n} mail in trash for good`);
}
