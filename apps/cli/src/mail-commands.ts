/**
 * The CLI's mail commands: send, list, read, attachments, search. Everything is sealed and opened
 * here with the shared Mailer (packages/client); the search index lives next to the device key
 * file, sealed with a key derived from this device's secret (a local box), so it is useless
 * without the key file.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ApiClientError, type ApiClient } from '@sealmail/client';
import { Mailer, MailError, SearchIndex, syncSearchIndex, type AttachmentSource, type Identity, type OpenedMail } from '@sealmail/client/identity';
import { folders, type EntryView, type FolderName } from '@sealmail/contract';
import { openLocalBox, sealLocalBox } from '@sealmail/crypto';
import type { Io } from './cli';

/** A file on disk as an attachment, streamed (never read whole). */
export async function fileSource(path: string): Promise<AttachmentSource> {
  const { size } = await stat(path);
  const type = /\.(txt|md)$/i.test(path) ? 'text/plain' : /\.pdf$/i.test(path) ? 'application/pdf' : /\.png$/i.test(path) ? 'image/png' : /\.jpe?g$/i.test(path) ? 'image/jpeg' : 'application/octet-stream';
  return { name: basename(path), type, size, stream: () => streamOf(path) };
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
  });
}

const list = (v: string | undefined) =>
  (v ?? '')
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
const when = (iso: string) => iso.replace('T', ' ').slice(0, 16);
const sizeOf = (n: number) => (n >= 1048576 ? `${(n / 1048576).toFixed(1)} MiB` : n >= 1024 ? `${Math.round(n / 1024)} KiB` : `${n} B`);
/** A file name safe to write inside a folder: no separators, no leading dots, no control characters. */
export const safeName = (name: string) =>
  [...name]
    .map((c) => (c === '/' || c === '\\' || c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f ? '_' : c))
    .join('')
    .replace(/^\.+/, '_')
    .slice(0, 200) || 'attachment';

export interface MailContext {
  api: ApiClient;
  identity: Identity;
  address: string;
  profile: string;
  io: Io;
  /** Reads the message body (standard input). */
  readBody: () => Promise<string>;
  /** This device's secret seed, for the sealed search index. */
  deviceSecret: () => Promise<Uint8Array>;
}

/** Resolves an entry id or a unique prefix of one among recent mail. */
async function resolveEntry(ctx: MailContext, idOrPrefix: string): Promise<string> {
  if (/^[0-9a-f-]{36}$/.test(idOrPrefix)) return idOrPrefix;
  if (!/^[0-9a-f-]{4,35}$/.test(idOrPrefix)) throw new MailError('NO_SUCH_ATTACHMENT', `"${idOrPrefix}" is not a mail id (give at least 4 characters of one).`);
  const matches = new Set<string>();
  for (const folder of folders) {
    const page = await ctx.api.listMail({ folder, limit: 100 });
    for (const e of page.entries) if (e.id.startsWith(idOrPrefix)) matches.add(e.id);
  }
  if (matches.size !== 1) throw new MailError('NO_SUCH_ATTACHMENT', matches.size ? `"${idOrPrefix}" matches ${matches.size} mails; give more of the id.` : `No recent mail with id ${idOrPrefix}.`);
  return [...matches][0]!;
}

function row(io: Io, e: EntryView, subject: string, from: string, protection: string) {
  const flags = `${e.read ? ' ' : '*'}${e.starred ? '★' : ' '}`;
  io.out(`${e.id.slice(0, 8)} ${flags} ${when(e.sentAt)}  ${from.padEnd(28).slice(0, 28)}  ${protection.padEnd(16)}  ${subject}${e.attachments.length ? `  [${e.attachments.length} att]` : ''}`);
}

export async function sendCommand(ctx: MailContext, v: { to?: string; cc?: string; bcc?: string; subject?: string; attach?: string[] }): Promise<void> {
  const files = await Promise.all((v.attach ?? []).map(fileSource));
  const text = await ctx.readBody();
  const r = await new Mailer(ctx.api, ctx.identity, ctx.address).send({ to: list(v.to), cc: list(v.cc), bcc: list(v.bcc), subject: v.subject ?? '', text, attachments: files });
  ctx.io.out(`sent ${r.entryId} (E2E Encrypted) to ${r.delivered.join(', ') || 'nobody'}`);
  for (const x of r.refused) ctx.io.out(`not delivered to ${x.address}: ${x.code === 'MAILBOX_FULL' ? 'mailbox full' : x.code}`);
}

export async function listCommand(ctx: MailContext, v: { folder?: string; limit?: string; cursor?: string; unread?: boolean; starred?: boolean }): Promise<void> {
  const folder = (v.folder ?? 'inbox') as FolderName;
  if (!folders.includes(folder)) throw new MailError('NO_SUCH_ATTACHMENT', `Unknown folder "${v.folder}" (one of ${folders.join(', ')}).`);
  const page = await new Mailer(ctx.api, ctx.identity, ctx.address).list({ folder, limit: Number(v.limit ?? 25), cursor: v.cursor ?? null, ...(v.unread ? { unread: true } : {}), ...(v.starred ? { starred: true } : {}) });
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
  io.out(`From:     ${m.mime.from ? (m.mime.from.name ? `${m.mime.from.name} <${m.mime.from.address}>` : m.mime.from.address) : m.entry.from}`);
  io.out(`To:       ${m.mime.to.join(', ')}`);
  if (m.mime.cc.length) io.out(`Cc:       ${m.mime.cc.join(', ')}`);
  if (m.bcc.length) io.out(`Bcc:      ${m.bcc.length} recipient(s)`);
  io.out(`Date:     ${m.mime.date ?? m.entry.sentAt}`);
  io.out(`Subject:  ${m.mime.subject}`);
  io.out(`Security: ${m.protection}; ${m.signature === 'signed-valid' ? "signed by one of the sender's devices" : m.signature === 'signed-invalid' ? 'SIGNATURE INVALID' : 'not signed'}`);
  for (const r of m.mime.authenticationResults) io.out(`Auth:     ${r.replace(/\s+/g, ' ')}`);
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
 * Lists or saves attachments. Each is streamed to a temporary file in the folder and renamed only
 * once the whole piece authenticated, so a tampered attachment leaves nothing behind.
 */
export async function attachmentsCommand(ctx: MailContext, id: string, v: { save?: string; piece?: string }): Promise<void> {
  const mailer = new Mailer(ctx.api, ctx.identity, ctx.address);
  const m: OpenedMail = await mailer.open(await resolveEntry(ctx, id));
  const wanted = m.attachments.filter((a) => !v.piece || a.piece === Number(v.piece));
  if (v.piece && !wanted.length) throw new MailError('NO_SUCH_ATTACHMENT', `No attachment ${v.piece} (this mail has ${m.attachments.length}).`);
  if (!v.save) {
    for (const a of wanted) ctx.io.out(`[${a.piece}] ${a.filename}  ${a.contentType}  ${sizeOf(a.size)}`);
    return;
  }
  const dir = resolve(v.save);
  await mkdir(dir, { recursive: true });
  for (const a of wanted) {
    const final = join(dir, safeName(a.filename));
    const tmp = join(dir, `.${safeName(a.filename)}.${process.pid}.partial`);
    try {
      await pipeline(Readable.fromWeb((await mailer.attachment(m, a.piece)) as never), createWriteStream(tmp, { mode: 0o600 }));
      await rename(tmp, final);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    ctx.io.out(`saved ${final} (${sizeOf(a.size)})`);
  }
}

/** Syncs the sealed on-device index, then searches it. */
export async function searchCommand(ctx: MailContext, query: string, v: { limit?: string }): Promise<void> {
  const file = join(ctx.profile, 'search-index.bin');
  const secret = await ctx.deviceSecret();
  let index = new SearchIndex();
  try {
    index = SearchIndex.deserialize(openLocalBox({ secret, purpose: 'search-index', record: new Uint8Array(await readFile(file)) }));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') ctx.io.err('sealmail: the search index could not be read; building it again');
  }
  const mailer = new Mailer(ctx.api, ctx.identity, ctx.address);
  const { added } = await syncSearchIndex(mailer, index);
  await writeFile(file + '.tmp', sealLocalBox({ secret, purpose: 'search-index', plaintext: index.serialize() }), { mode: 0o600 });
  await rename(file + '.tmp', file);
  if (added) ctx.io.err(`(indexed ${added} new mail)`);
  const hits = index.search(query, { limit: Number(v.limit ?? 20) });
  if (!hits.length) ctx.io.out('(no matches)');
  for (const h of hits) ctx.io.out(`${h.entryId.slice(0, 8)}  ${when(h.date)}  ${h.folder.padEnd(7)}  ${h.from.padEnd(28).slice(0, 28)}  ${h.subject}`);
}

/** Clear one-line messages for what mail commands refuse. */
export function mailErrorLine(err: unknown): string | null {
  if (err instanceof MailError) return `${err.message} [${err.code}]`;
  if (err instanceof ApiClientError && ['MESSAGE_TOO_LARGE', 'QUOTA_EXCEEDED', 'E2EE_UNAVAILABLE', 'RECIPIENT_UNKNOWN', 'MAIL_INVALID'].includes(err.code)) return `${err.message} [${err.code}]`;
  return null;
}

