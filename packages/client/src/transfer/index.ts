/**
 * Export and import by the user, on the device (MISSION §4, docs/mail.md §10). Shared by the web
 * client's key worker and the CLI.
 *
 * Export: each mail of a folder (or of every folder) is opened here — box, manifest, body and
 * attachments authenticated — and written as EML into an mboxrd file or a zip of `.eml` files,
 * one message at a time through `write`, so a large mailbox is never held whole (at most one
 * message, ≤ 25 MiB of attachments, plus the zip writer's buffer).
 *
 * Import: an mbox (mboxo or mboxrd), one EML, or a zip of EML files is read as a stream and split
 * here; each message is parsed here, its attachments encrypted here while they upload, and the
 * message sealed to the user's own newest per-user key and signed by this device — like a draft,
 * nothing of it in plaintext to the server but what MISSION §2 allows (sender, recipients, the
 * date). Threads survive: a message whose In-Reply-To or References names a Message-ID imported
 * earlier in the same run joins that message's thread.
 */
import { Unzip, UnzipInflate, Zip, ZipDeflate } from 'fflate';
import { currentPuk, fromBase64Url, openMailPiece, sealMail, toBase64Url } from '@sealmail/crypto';
import { folders, mailImportMessage, mailLimits, type EntryView, type FolderName } from '@sealmail/contract';
import type { ApiClient } from '../api';
import type { Identity } from '../identity';
import { MailError, withHeader, type Mailer } from '../mail/mailer';
import { emlOf, parseForImport } from './eml';
import { concatBytes, mboxrdRecord, splitMbox } from './mbox';

export { emlOf, parseForImport, type ImportedMessage } from './eml';
export { asctime, mboxrdRecord, splitMbox, type MboxMessage } from './mbox';

export type ExportFormat = 'mbox' | 'eml-zip';
/** Folders an import may file into (Drafts and Outbox hold the user's own unsent mail). */
export type ImportFolder = Exclude<FolderName, 'drafts' | 'outbox'>;

export interface TransferProgress {
  done: number;
  failed: number;
  /** Why messages failed, by position in the file (at most the first 20). */
  failures: { index: number; reason: string }[];
}

/** Largest single message an import reads (body and attachments of one mail, encoded). */
const MAX_MESSAGE_BYTES = 40 * 1024 * 1024;

async function* chunksOf(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    yield value;
  }
}

/** Splits a zip stream into its `.eml` files as they complete (fflate's streaming reader). */
async function* unzipEml(source: AsyncIterable<Uint8Array>): AsyncGenerator<{ name: string; bytes: Uint8Array | null }> {
  const ready: { name: string; bytes: Uint8Array | null }[] = [];
  let error: unknown = null;
  const unzip = new Unzip((file) => {
    if (!/\.eml$/i.test(file.name) || /(^|\/)__MACOSX\//.test(file.name)) return;
    const chunks: Uint8Array[] = [];
    let size = 0;
    file.ondata = (err, data, final) => {
      if (err) {
        error = err;
        return;
      }
      size += data.length;
      if (size <= MAX_MESSAGE_BYTES) chunks.push(data);
      if (final) ready.push({ name: file.name, bytes: size <= MAX_MESSAGE_BYTES ? concatBytes(chunks) : null });
    };
    file.start();
  });
  unzip.register(UnzipInflate);
  for await (const chunk of source) {
    unzip.push(chunk);
    if (error) throw new MailError('OPEN_FAILED', 'The zip file is damaged.');
    while (ready.length) yield ready.shift()!;
  }
  unzip.push(new Uint8Array(0), true);
  if (error) throw new MailError('OPEN_FAILED', 'The zip file is damaged.');
  while (ready.length) yield ready.shift()!;
}

/** Messages of a file, whatever its kind: zip (PK\x03\x04), mbox ("From "), else one EML. */
async function* messagesOf(stream: ReadableStream<Uint8Array>): AsyncGenerator<{ index: number; bytes: Uint8Array | null; envelopeDate: Date | null }> {
  const it = chunksOf(stream);
  const first: Uint8Array[] = [];
  let seen = 0;
  while (seen < 5) {
    const n = await it.next();
    if (n.done) break;
    first.push(n.value);
    seen += n.value.length;
  }
  const head = concatBytes(first);
  async function* all(): AsyncGenerator<Uint8Array> {
    if (head.length) yield head;
    yield* it;
  }
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) {
    let index = 0;
    for await (const f of unzipEml(all())) yield { index: index++, bytes: f.bytes, envelopeDate: null };
    return;
  }
  if (new TextDecoder().decode(head.subarray(0, 5)) === 'From ') {
    yield* splitMbox(all(), { maxMessageBytes: MAX_MESSAGE_BYTES });
    return;
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const c of all()) {
    size += c.length;
    if (size > MAX_MESSAGE_BYTES) return yield { index: 0, bytes: null, envelopeDate: null };
    chunks.push(c);
  }
  yield { index: 0, bytes: concatBytes(chunks), envelopeDate: null };
}

const fileName = (i: number, subject: string) => `${String(i + 1).padStart(5, '0')}-${subject.replace(/[^\p{L}\p{N} ._-]+/gu, '').trim().replace(/\s+/g, '-').slice(0, 60) || 'message'}.eml`;

export class MailTransfer {
  constructor(
    private readonly api: ApiClient,
    private readonly identity: Identity,
    private readonly mailer: Mailer,
  ) {}

  /** The entries of a folder, oldest first (ids and metadata only; bodies are fetched one by one). */
  private async entriesOf(folder: FolderName): Promise<EntryView[]> {
    const out: EntryView[] = [];
    let cursor: string | null = null;
    do {
      const page = await this.api.listMail({ folder, cursor, limit: mailLimits.pageSize });
      out.push(...page.entries.map((e) => ({ ...e, body: null })));
      cursor = page.cursor;
    } while (cursor);
    return out.reverse();
  }

  /** One mail as EML: opened here, every piece authenticated. */
  async emlOfEntry(entry: EntryView): Promise<{ eml: Uint8Array; subject: string; sender: string; date: Date }> {
    const full = entry.body ? entry : await this.api.getMail(entry.id);
    const header = await this.mailer.openHeader(full);
    const body = await openMailPiece({ manifest: header.manifest, index: 0, ciphertext: fromBase64Url(full.body!) });
    const opened = await this.mailer.open(full);
    const sealed = await emlOf(body, (n) => this.mailer.attachmentBytes(opened, n));
    body.fill(0);
    // What the reader was shown goes with the mail: its headers are the sender's own words (a
    // colleague can seal any From), so the label, the verified sender and any warning lead it, and
    // the mbox From line names the verified sender.
    const clean = (v: string) => v.replace(/[\r\n"\\]+/g, ' ');
    const verification = [opened.protection, `from=${opened.sender.address}`, ...(opened.sentBy ? [`sent-by=${opened.sentBy}`] : []), `signature=${opened.signature}`, ...(opened.warning ? [`warning="${clean(opened.warning)}"`] : [])].join('; ');
    const eml = withHeader(sealed, 'X-Sealmail-Verification', verification);
    const date = opened.mime.date ? new Date(opened.mime.date) : new Date(full.receivedAt);
    return { eml, subject: opened.mime.subject, sender: opened.sender.address, date: Number.isNaN(date.getTime()) ? new Date(full.receivedAt) : date };
  }

  /**
   * Exports a folder (or every folder) as mboxrd or a zip of EML files, written chunk by chunk
   * through `write`. Answers how many messages went out and which could not be opened.
   */
  async exportMail(opts: { folder?: FolderName; format: ExportFormat; write: (chunk: Uint8Array) => Promise<void> | void; onProgress?: (p: TransferProgress) => void }): Promise<TransferProgress> {
    const progress: TransferProgress = { done: 0, failed: 0, failures: [] };
    const list = opts.folder ? [opts.folder] : [...folders];
    let pending: Promise<void> = Promise.resolve();
    const zip = opts.format === 'eml-zip'
      ? new Zip((err, data) => {
          if (err) throw err;
          pending = pending.then(() => opts.write(data));
        })
      : null;
    let n = 0;
    for (const folder of list) {
      for (const entry of await this.entriesOf(folder)) {
        try {
          const m = await this.emlOfEntry(entry);
          if (zip) {
            const f = new ZipDeflate(`${opts.folder ? '' : `${folder}/`}${fileName(n, m.subject)}`, { level: 6 });
            zip.add(f);
            f.push(m.eml, true);
            await pending;
          } else {
            await opts.write(mboxrdRecord(m.eml, m.sender, m.date));
          }
          m.eml.fill(0);
          n++;
          progress.done++;
        } catch (err) {
          progress.failed++;
          if (progress.failures.length < 20) progress.failures.push({ index: n + progress.failed - 1, reason: (err as Error).message });
        }
        opts.onProgress?.(progress);
      }
    }
    if (zip) {
      zip.end();
      await pending;
    }
    return progress;
  }

  /**
   * Imports an mbox, an EML file or a zip of EML files into a folder, sealed here to the user.
   * @throws MailError OPEN_FAILED when the file cannot be read at all.
   */
  async importMail(opts: { file: { stream(): ReadableStream<Uint8Array> }; folder: ImportFolder; onProgress?: (p: TransferProgress) => void; now?: () => Date }): Promise<TransferProgress> {
    const now = opts.now ?? (() => new Date());
    const progress: TransferProgress = { done: 0, failed: 0, failures: [] };
    const fail = (index: number, reason: string) => {
      progress.failed++;
      if (progress.failures.length < 20) progress.failures.push({ index, reason });
    };
    const domain = this.mailer.address.split('@')[1]!;
    /** Message-ID → the entry it became (threads within this import). */
    const entryOf = new Map<string, { entryId: string }>();
    for await (const m of messagesOf(opts.file.stream())) {
      if (!m.bytes) {
        fail(m.index, 'larger than a message may be');
        opts.onProgress?.(progress);
        continue;
      }
      try {
        const parsed = await parseForImport(m.bytes, { fallbackDate: m.envelopeDate, now: now(), domain });
        m.bytes.fill(0);
        if (parsed.attachments.reduce((a, x) => a + x.bytes.length, 0) > mailLimits.attachmentBytes) throw new MailError('TOO_LARGE', 'its attachments are larger than 25 MiB');
        const me = await this.identity.thisDevice(this.mailer.address);
        const puk = currentPuk(me.state);
        const sealedId = `${crypto.randomUUID()}@${domain}`;
        const uploaded = [];
        for (const [i, a] of parsed.attachments.entries()) {
          uploaded.push(await this.mailer.upload(sealedId, i + 1, { name: a.filename, type: a.contentType, size: a.bytes.length, stream: () => new Blob([a.bytes as Uint8Array<ArrayBuffer>]).stream() }));
          a.bytes.fill(0);
        }
        const sealed = await sealMail({
          messageId: sealedId,
          sender: this.mailer.sealSender(me),
          pieces: [{ kind: 'body', plaintext: parsed.body }, ...uploaded.map((u) => ({ kind: 'attachment' as const, encrypted: u.piece }))],
          to: [],
          senderCopy: { userId: me.userId, generation: puk.generation, publicKeys: puk.keys },
        });
        sealed.messageKey.fill(0);
        parsed.body.fill(0);
        const parent = [parsed.inReplyTo, ...[...parsed.references].reverse()].map((id) => (id ? entryOf.get(id) : undefined)).find(Boolean);
        const res = await this.api.call(mailImportMessage, {
          folder: opts.folder,
          envelope: toBase64Url(sealed.envelope),
          manifest: toBase64Url(sealed.manifest),
          body: toBase64Url(sealed.pieces[0]!),
          box: toBase64Url(sealed.boxes[0]!.record),
          attachments: uploaded.map((u) => u.blobId),
          from: parsed.from.address.slice(0, 254),
          to: parsed.to.slice(0, mailLimits.recipients),
          cc: parsed.cc.slice(0, mailLimits.recipients),
          receivedAt: parsed.date.toISOString(),
          read: true,
          ...(parent ? { inReplyTo: parent.entryId } : {}),
        });
        entryOf.set(parsed.messageId, { entryId: res.entryId });
        progress.done++;
      } catch (err) {
        fail(m.index, (err as Error).message);
      }
      opts.onProgress?.(progress);
    }
    return progress;
  }
}
