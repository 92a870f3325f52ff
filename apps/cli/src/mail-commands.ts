/**
 * The CLI's mail commands: send, list, read, attachments, search. Everything is sealed and opened
 * here with the shared Mailer (packages/client). Attachments are streamed from disk when sent and
 * to a temporary file when saved, which is given its name only once the whole piece verified.
 * The search index lives next to the device key file, sealed with a key derived from this
 * device's secret (src/search-store.ts), so it is useless without the key file.
 */
import { createWriteStream } from 'node:fs';
import { link, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ApiClientError, type ApiClient } from '@sealmail/client';
import { Mailer, MailError, refreshHits, SearchIndex, syncSearchIndex, type AttachmentSource, type Identity, type OpenedMail, type SearchHit } from '@sealmail/client/identity';
import { folderList, folders, mailLimits, type EntryRow, type FolderName } from '@sealmail/contract';
import type { Io } from './cli';
import { fileSearchStore } from './search-store';
import { expandGroupRecipients } from './contacts-commands';

/** A refusal by the command line itself: a usage mistake (exit 64) or something not found (exit 1). */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly exit: 'usage' | 'failure' = 'usage',
  ) {
    super(message);
  }
}

const FILE_REASONS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a part of the path is not a directory',
  EACCES: 'permission denied',
  EPERM: 'not permitted',
  EEXIST: 'it exists already',
  EISDIR: 'it is a directory',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
};

/** A file system error (Node's, with a code), else null. */
export const fsErrorCode = (err: unknown): string | null =>
  err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && typeof (err as NodeJS.ErrnoException).syscall === 'string' ? (err as NodeJS.ErrnoException).code! : null;

/** A file the command could not read or write: one line naming it and why (exit 1), for what is not a file error, the error itself. */
export function fileError(err: unknown, verb: 'read' | 'write' | 'use', path: string): unknown {
  const code = fsErrorCode(err);
  if (!code) return err;
  return new CommandError(`cannot ${verb} ${path}: ${FILE_REASONS[code] ?? (err as Error).message} [${code}]`, 'failure');
}

/** A file on disk as an attachment, streamed (never read whole). */
export async function fileSource(path: string): Promise<AttachmentSource> {
  const info = await stat(path).catch(() => null);
  if (!info?.isFile()) throw new CommandError(`Cannot attach ${path}: not a readable file.`, 'failure');
  const type = /\.(txt|md)$/i.test(path) ? 'text/plain' : /\.pdf$/i.test(path) ? 'application/pdf' : /\.png$/i.test(path) ? 'image/png' : /\.jpe?g$/i.test(path) ? 'image/jpeg' : 'application/octet-stream';
  return { name: basename(path), type, size: info.size, stream: () => streamOf(path) };
}

/** Streams a file lazily: the descriptor is opened when the stream is first read. */
function streamOf(path: string): ReadableStream<Uint8Array> {
  let reader: AsyncIterator<Buffer> | null = null;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      reader ??= (await open(path)).createReadStream({ highWaterMark: 256 * 1024 })[Symbol.asyncIterator]();
      const { done, value } = await reader.next();
      if (done) controller.close();
      else controller.enqueue(new Uint8Array(value.buffer, value.byteOffset, value.length));
    },
    async cancel() {
      await reader?.return?.();
    },
  });
}

const list = (v: string | undefined) =>
  (v ?? '')
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
const when = (iso: string) => iso.replace('T', ' ').slice(0, 16);
const sizeOf = (n: number) => (n >= 1048576 ? `${(n / 1048576).toFixed(1)} MiB` : n >= 1024 ? `${Math.round(n / 1024)} KiB` : `${n} B`);
/** A whole number in [min, max] from an option, or its default. */
function count(value: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw new CommandError(`--${name} takes a whole number from ${min} to ${max}.`);
  return n;
}

/**
 * A file name safe to write inside a folder: no separators, control or format characters (such as
 * right-to-left overrides that disguise an extension), no leading dots or spaces, at most 200
 * characters.
 */
export const safeName = (name: string) =>
  [...name.normalize('NFC').replace(/[/\\\p{Cc}\p{Cf}]/gu, '_').replace(/^[.\s]+/, '_')].slice(0, 200).join('') || 'attachment';

export interface MailContext {
  api: ApiClient;
  identity: Identity;
  address: string;
  /** The signed-in user's display name (the From name of mail sent from here). */
  displayName: () => Promise<string>;
  profile: string;
  io: Io;
  /** Reads the message body (standard input). */
  readBody: () => Promise<string>;
  /** This device's secret seed (unlocks the key file: a protected one asks for its passphrase). */
  deviceSecret: () => Promise<Uint8Array>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Resolves an entry id, or a unique prefix of one among the latest mail of each folder. */
export async function resolveEntry(ctx: MailContext, idOrPrefix: string): Promise<string> {
  if (UUID.test(idOrPrefix)) return idOrPrefix.toLowerCase();
  const prefix = idOrPrefix.toLowerCase();
  if (!/^[0-9a-f-]{4,35}$/.test(prefix)) throw new CommandError(`"${idOrPrefix}" is not a mail id (give the id from \`sealmail list\`, at least 4 characters of it).`);
  const matches = new Set<string>();
  for (const folder of folders) {
    const page = await ctx.api.listMailRows({ folder, limit: mailLimits.pageSize });
    for (const e of page.rows) if (e.id.startsWith(prefix)) matches.add(e.id);
  }
  // Mail filed in a custom folder is listed there, not in Archive (organise-commands.ts).
  if (!matches.size) {
    for (const f of (await ctx.api.request(folderList, {})).folders) {
      const page = await ctx.api.listMailRows({ folderId: f.id, limit: mailLimits.pageSize });
      for (const e of page.rows) if (e.id.startsWith(prefix)) matches.add(e.id);
    }
  }
  if (matches.size > 1) throw new CommandError(`"${idOrPrefix}" matches ${matches.size} mails; give more of the id.`);
  if (!matches.size) throw new CommandError(`No mail with an id starting "${idOrPrefix}" among the latest ${mailLimits.pageSize} of each folder (give the whole id).`, 'failure');
  return [...matches][0]!;
}

function row(io: Io, e: EntryRow, subject: string, from: string, protection: string) {
  const flags = `${e.read ? ' ' : '*'}${e.starred ? '★' : ' '}`;
  io.out(`${e.id.slice(0, 8)} ${flags} ${when(e.sentAt)}  ${from.padEnd(28).slice(0, 28)}  ${protection.padEnd(16)}  ${subject}${e.attachments.length ? `  [${e.attachments.length} att]` : ''}`);
}

const REFUSALS: Record<string, string> = { MAILBOX_FULL: 'their mailbox is full' };
const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

/** Seals and sends; the body comes from standard input. @returns whether every recipient got it. */
/** `extra`: what a forward adds (label-commands.ts): files opened from the original, the quoted original after the body. */
export async function sendCommand(ctx: MailContext, v: { to?: string; cc?: string; bcc?: string; subject?: string; attach?: string[]; standard?: boolean; link?: string }, extra?: { attachments: AttachmentSource[]; quote?: string }): Promise<boolean> {
  // A contact group named as a recipient becomes its members' addresses (contacts-commands.ts).
  const [to, cc, bcc] = (await expandGroupRecipients(ctx, [list(v.to), list(v.cc), list(v.bcc)])) as [string[], string[], string[]];
  if (!to.length && !cc.length && !bcc.length) throw new CommandError('Name at least one recipient with --to, --cc or --bcc.');
  if (v.standard && v.link !== undefined) throw new CommandError('Choose --standard or --link for recipients outside this server, not both.');
  if (v.link !== undefined && !['1d', '7d', '30d'].includes(v.link)) throw new CommandError('--link takes how long the link works: 1d, 7d or 30d.');
  const files = [];
  for (const path of v.attach ?? []) files.push(await fileSource(path));
  await ctx.deviceSecret(); // unlocked before the body is read (run() does so already)
  const body = await ctx.readBody();
  const text = extra?.quote ? `${body}\n\n${extra.quote}` : body;
  const r = await new Mailer(ctx.api, ctx.identity, ctx.address, await ctx.displayName()).send({
    to,
    cc,
    bcc,
    subject: v.subject ?? '',
    text,
    attachments: [...files, ...(extra?.attachments ?? [])],
    ...(v.standard ? { allowStandard: true } : {}),
    ...(v.link !== undefined ? { links: { expiresIn: v.link as '1d' | '7d' | '30d' } } : {}),
  }, ctx.io.progress ? { onProgress: (sent, total) => ctx.io.progress!(`uploading attachments: ${mib(sent)} of ${mib(total)}`) } : {}).finally(() => ctx.io.progress?.(null));
  const outside = [...to, ...cc, ...bcc].filter((a) => !r.delivered.includes(a) && !r.refused.some((x) => x.address === a));
  ctx.io.out(`sent ${r.entryId} (E2E Encrypted) to ${r.delivered.join(', ') || 'nobody'}`);
  if (outside.length) ctx.io.out(`${v.link !== undefined ? `expiring link (${v.link})` : 'standard mail'} queued for ${outside.join(', ')}`);
  for (const x of r.refused) ctx.io.err(`sealmail: not delivered to ${x.address}: ${REFUSALS[x.code] ?? x.code} [${x.code}]`);
  return r.refused.length === 0;
}

export async function listCommand(ctx: MailContext, v: { folder?: string; limit?: string; cursor?: string; unread?: boolean; starred?: boolean }): Promise<void> {
  const folder = (v.folder ?? 'inbox') as FolderName;
  if (!folders.includes(folder)) throw new CommandError(`Unknown folder "${v.folder}" (one of ${folders.join(', ')}).`);
  const limit = count(v.limit, 'limit', 25, 1, mailLimits.pageSize);
  // Rows without ciphertexts and one batch of sealed parts, shown from the sealed summaries (Mailer.page).
  const page = await new Mailer(ctx.api, ctx.identity, ctx.address).page({ folder, limit, cursor: v.cursor ?? null, ...(v.unread ? { unread: true } : {}), ...(v.starred ? { starred: true } : {}) });
  if (!page.items.length) ctx.io.out(`(no mail in ${folder})`);
  for (const item of page.items) {
    if ('error' in item) row(ctx.io, item.entry, '(could not be decrypted)', item.entry.from, '');
    else row(ctx.io, item.entry, item.subject || '(no subject)', folder === 'sent' || folder === 'drafts' ? `to ${item.entry.to.join(', ')}` : item.from.address, item.protection);
  }
  if (page.cursor) ctx.io.out(`more: sealmail list --folder ${folder} --cursor ${page.cursor}`);
}

export async function readCommand(ctx: MailContext, id: string): Promise<void> {
  const mailer = new Mailer(ctx.api, ctx.identity, ctx.address);
  const m = await mailer.open(await resolveEntry(ctx, id));
  const io = ctx.io;
  // The sender the client verified (Mailer.open: the address whose pinned history holds the
  // signing device), never the sealed From alone: a colleague can write anyone's address there.
  const from = m.sender.name ? `${m.sender.name} <${m.sender.address}>` : m.sender.address;
  io.out(`From:     ${from}${m.senderVia ? ` (via ${m.senderVia})` : ''}`);
  if (m.sentBy) io.out(`Sent by:  ${m.sentBy}, on behalf of ${m.sender.address}`);
  io.out(`To:       ${m.mime.to.join(', ')}`);
  if (m.mime.cc.length) io.out(`Cc:       ${m.mime.cc.join(', ')}`);
  // Only the sender's own copy knows its Bcc recipients, as user ids sealed in its box (their
  // addresses are in no sealed part of the mail): how many.
  if (m.bcc.length) io.out(`Bcc:      ${m.bcc.length} recipient${m.bcc.length > 1 ? 's' : ''}, hidden from the others`);
  io.out(`Date:     ${m.mime.date ?? m.entry.sentAt}`);
  io.out(`Subject:  ${m.mime.subject}`);
  io.out(`Security: ${m.protection}; ${m.signature === 'signed-valid' ? "signed by one of the sender's devices" : m.signature === 'signed-invalid' ? 'SIGNATURE INVALID' : 'not signed'}`);
  // What the ingress found checking SPF/DKIM/DMARC, only in a body the server sealed on arrival
  // (not signed): in a colleague's own mail (or an imported file) the same header is the writer's word.
  if (m.protection === 'Server Encrypted' && m.signature === 'not-signed') for (const r of m.mime.authenticationResults) io.out(`Auth:     ${r.replace(/\s+/g, ' ')}`);
  if (m.warning) io.out(`WARNING:  ${m.warning}`);
  io.out('');
  io.out(m.mime.text || (m.mime.html ? '(HTML only; not shown in the terminal)' : ''));
  if (m.attachments.length) {
    io.out('');
    for (const a of m.attachments) io.out(`[${a.piece}] ${a.filename}  ${a.contentType}  ${sizeOf(a.size)}`);
  }
  if (!m.entry.read) await ctx.api.updateMail(m.entryId, { read: true });
}

/**
 * Gives a finished temporary file its name without replacing anything: `name`, else
 * `name (1)`, `name (2)`… (a hard link fails if the name exists, so there is no race).
 */
async function claimName(dir: string, tmp: string, name: string): Promise<string> {
  const dot = name.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  for (let i = 0; i < 1000; i++) {
    const final = join(dir, i ? `${stem} (${i})${ext}` : name);
    try {
      await link(tmp, final);
      await rm(tmp, { force: true });
      return final;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV') throw err;
      // A file system without hard links: check, then rename.
      if (await stat(final).then(() => true, () => false)) continue;
      await rename(tmp, final);
      return final;
    }
  }
  throw new CommandError(`Too many files named like ${name} in ${dir}.`, 'failure');
}

/**
 * Lists or saves attachments. Each is streamed to a temporary file in the folder and named only
 * once the whole piece authenticated, so a tampered attachment leaves nothing behind; existing
 * files are never replaced, and nothing is written outside the folder.
 */
export async function attachmentsCommand(ctx: MailContext, id: string, v: { save?: string; piece?: string }): Promise<void> {
  const mailer = new Mailer(ctx.api, ctx.identity, ctx.address);
  const m: OpenedMail = await mailer.open(await resolveEntry(ctx, id));
  const piece = v.piece === undefined ? undefined : count(v.piece, 'piece', 1, 1, 1000);
  const wanted = m.attachments.filter((a) => piece === undefined || a.piece === piece);
  if (piece !== undefined && !wanted.length) throw new CommandError(`No attachment ${piece} (this mail has ${m.attachments.length}).`, 'failure');
  if (!v.save) {
    if (!wanted.length) ctx.io.out('(no attachments)');
    for (const a of wanted) ctx.io.out(`[${a.piece}] ${a.filename}  ${a.contentType}  ${sizeOf(a.size)}`);
    return;
  }
  const dir = resolve(v.save);
  await mkdir(dir, { recursive: true }).catch((err: unknown) => {
    throw fileError(err, 'write', dir);
  });
  for (const a of wanted) {
    const tmp = join(dir, `.sealmail-${randomBytes(6).toString('hex')}.partial`);
    let final: string;
    try {
      await pipeline(Readable.fromWeb((await mailer.attachment(m, a.piece)) as never), createWriteStream(tmp, { mode: 0o600, flags: 'wx' }));
      final = await claimName(dir, tmp, safeName(a.filename));
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    ctx.io.out(`saved ${final} (${sizeOf(a.size)})`);
  }
}

/**
 * Brings the sealed on-device index up to date, then searches it. When the server's folder
 * counts say mail was moved or deleted since, the hits are checked before they are shown.
 */
export async function searchCommand(ctx: MailContext, query: string, v: { limit?: string }): Promise<void> {
  const limit = count(v.limit, 'limit', 20, 1, 1000);
  const store = fileSearchStore(ctx.profile, ctx.address, await ctx.deviceSecret(), () => ctx.io.err('sealmail: the search index here could not be opened; building it again'));
  const saved = await store.load();
  let index = new SearchIndex();
  if (saved) {
    try {
      index = SearchIndex.deserialize(saved);
    } catch {
      ctx.io.err('sealmail: the search index here is of an older format or damaged; building it again');
    }
  }
  const mailer = new Mailer(ctx.api, ctx.identity, ctx.address);
  const sync = await syncSearchIndex(mailer, index);
  let changed = sync.changed || !saved;
  if (sync.added) ctx.io.err(`(indexed ${sync.added} new mail)`);
  let hits: SearchHit[] = index.search(query, { limit });
  for (let round = 0; sync.stale && round < 3; round++) {
    const checked = await refreshHits(mailer, index, hits);
    changed ||= checked.changed;
    const removed = checked.hits.length < hits.length;
    hits = checked.hits;
    if (!removed || round === 2) break;
    hits = index.search(query, { limit }); // some were deleted: fill the page again, check again
  }
  if (changed) await store.save(index.serialize());
  if (!hits.length) ctx.io.out('(no matches)');
  for (const h of hits) ctx.io.out(`${h.entryId.slice(0, 8)}  ${when(h.date)}  ${h.folder.padEnd(7)}  ${h.from.padEnd(28).slice(0, 28)}  ${h.subject || '(no subject)'}`);
}

/** Clear one-line messages for what mail commands refuse. */
export function mailErrorLine(err: unknown): string | null {
  if (err instanceof MailError) return `${err.message} [${err.code}]`;
  if (err instanceof ApiClientError && ['MESSAGE_TOO_LARGE', 'QUOTA_EXCEEDED', 'E2EE_UNAVAILABLE', 'RECIPIENT_UNKNOWN', 'MAIL_INVALID'].includes(err.code)) return `${err.message} [${err.code}]`;
  return null;
}

/** Moves a mail to another folder (trash, archive, inbox, spam…). */
export async function moveCommand(ctx: MailContext, idOrPrefix: string, folder: string): Promise<void> {
  const targets = ['inbox', 'archive', 'trash', 'spam'] as const;
  if (!targets.includes(folder as (typeof targets)[number])) throw new CommandError(`Cannot move mail to "${folder}" (one of ${targets.join(', ')}).`);
  const id = await resolveEntry(ctx, idOrPrefix);
  await ctx.api.updateMail(id, { folder: folder as (typeof targets)[number] });
  ctx.io.out(`moved ${id.slice(0, 8)} to ${folder}`);
}

/** Deletes a mail: into Trash, or for good when it is in Trash already. */
export async function deleteCommand(ctx: MailContext, idOrPrefix: string): Promise<void> {
  const id = await resolveEntry(ctx, idOrPrefix);
  const r = await ctx.api.deleteMail(id);
  ctx.io.out(r.deleted === 'permanently' ? `deleted ${id.slice(0, 8)} for good` : `moved ${id.slice(0, 8)} to trash`);
}
