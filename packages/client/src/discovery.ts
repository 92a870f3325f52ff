/**
 * eDiscovery on the escrow admin's device (MISSION §6, docs/admin.md "Escrow & discovery"): a
 * user's mail received in a date range is fetched as ciphertext under a stated case reference
 * (the server records the opening in the change history and in the user's openings list), opened
 * here with the user's per-user keys taken through escrow, filtered by search terms here, and
 * written out as an mbox (mboxrd) plus a JSON manifest with the SHA-256 of every message and of
 * the mbox. Nothing decrypted goes back to the server.
 */
import { adminDiscoveryMessages, type EntryView } from '@sealmail/contract';
import { decodeRecipientBox, fromBase64Url, openManifest, openMailPiece, openRecipientBox, toHex, type PerUserKey } from '@sealmail/crypto';
import type { ApiClient } from './api';
import type { EscrowAdmin } from './escrow-admin';
import { parseMime } from './mail/mime';
import { Mailer, type OpenedMail } from './mail/mailer';

export interface DiscoveryRequest {
  /** The escrow admin signed in on this device. */
  adminAddress: string;
  /** Whose mail. */
  userAddress: string;
  /** Received at or after `from`, before `to`. */
  from: Date;
  to: Date;
  /** Kept when any term occurs (case-insensitive) in subject, text, sender, recipients or attachment names; none: every message. */
  terms: readonly string[];
  /** The case reference, recorded with the opening. */
  caseRef: string;
}

export interface DiscoveryMessage {
  /** Message-ID header (or the sealed message id when it has none). */
  messageId: string;
  /** Date header (ISO), or the time it was received. */
  date: string;
  receivedAt: string;
  /** The folder the server filed it in (its word, not verified). */
  folder: string;
  /**
   * The sender as the admin's device verified it (as the mail reader shows it): for mail signed by
   * a user's device, the address whose pinned key history holds the signing device, never the
   * sealed From alone; for mail from outside, the From the ingress checked.
   */
  from: string;
  /** The sealed From header, when it names someone else than `from` (a claim, not a fact). */
  claimedFrom?: string;
  /** The reader's label: E2E Encrypted, Server Encrypted (the server could have written it), Unverified, Link reply, Imported. */
  protection: string;
  /** Why it cannot be taken at its word (a forged From, an unsigned mail naming a user's device, …), as the reader would warn. */
  warning?: string;
  subject: string;
  attachments: { filename: string; size: number }[];
  /** SHA-256 (hex) of this message's bytes as written in the mbox (between its From_ line and the blank line after it). */
  sha256: string;
}

export interface DiscoveryManifest {
  format: 'sealmail-discovery/1';
  caseRef: string;
  user: string;
  exportedBy: string;
  exportedAt: string;
  range: { from: string; to: string };
  terms: string[];
  escrowId: string;
  /** Messages in the range the escrow key could open, before filtering by terms. */
  scanned: number;
  messages: DiscoveryMessage[];
  /** Messages in the range escrow cannot open (sealed to a key generation escrow never received). */
  unopened: { entryId: string; receivedAt: string; reason: string }[];
  mbox: { file: string; bytes: number; sha256: string };
}

const latin1 = (b: Uint8Array) => {
  let s = '';
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return s;
};
const fromLatin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** SHA-256 in hex (WebCrypto: browsers, workers and Node). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)));
}

function base64Lines(bytes: Uint8Array): string {
  const b64 = btoa(latin1(bytes));
  return b64.replace(/.{1,76}/g, '$&\n').replace(/\n$/, '');
}

/** The body piece with each attachment placeholder (`Content-Description: sealmail-piece:N`) filled with its bytes. */
function fillPieces(body: string, pieces: Map<number, Uint8Array>): string {
  return body.replace(/(Content-Description: sealmail-piece:(\d+)\r?\nContent-Transfer-Encoding: base64\r?\n\r?\n)(\r?\n)/g, (all, head: string, n: string) => {
    const bytes = pieces.get(Number(n));
    return bytes ? `${head}${base64Lines(bytes)}\r\n` : all;
  });
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** asctime() of a date in UTC, for the mbox From_ line: `Sun Nov 29 06:43:38 2026`. */
const asctime = (d: Date) => `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${d.toISOString().slice(11, 19)} ${d.getUTCFullYear()}`;

/** One message in mboxrd form: LF line ends, `>`-quoted From lines. */
function mboxMessage(raw: string): string {
  const lf = raw.replace(/\r\n/g, '\n').replace(/\n*$/, '\n');
  return lf.replace(/^(>*From )/gm, '>$1');
}

function matches(terms: readonly string[], hay: string): boolean {
  if (!terms.length) return true;
  const h = hay.toLowerCase();
  return terms.some((t) => h.includes(t.toLowerCase()));
}

/**
 * Runs a discovery export on this device.
 * @throws ApiClientError (not an escrow admin's device holding the key: FORBIDDEN; unknown user: NOT_FOUND), IdentityError.
 */
export async function exportDiscovery(api: ApiClient, escrowAdmin: EscrowAdmin, req: DiscoveryRequest, now: () => Date = () => new Date()): Promise<{ mbox: Uint8Array; manifest: DiscoveryManifest }> {
  const terms = req.terms.map((t) => t.trim()).filter(Boolean);
  const entries: EntryView[] = [];
  let escrowId: string | undefined;
  let cursor: string | undefined;
  // The first page records the opening with its case reference.
  do {
    const page = await api.request(adminDiscoveryMessages, { params: { address: req.userAddress }, body: { from: req.from.toISOString(), to: req.to.toISOString(), caseRef: req.caseRef, ...(cursor ? { cursor } : {}) } });
    escrowId = page.escrowId;
    entries.push(...page.entries);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  const { userId, puks } = await escrowAdmin.discoveryKeys(req.adminAddress, req.userAddress);
  const byGeneration = new Map<number, PerUserKey>(puks.map((p) => [p.generation, p]));
  // Who sent each mail and how it was protected, checked as the user's own reader checks it
  // (signatures against pinned key histories, the admin's pins): the sealed From and the folder
  // are claims — a colleague can seal any From, and the server can seal mail to the user's public
  // key and file it anywhere.
  const reader = new Mailer(api, escrowAdmin.identity, req.userAddress, '', {
    userId,
    address: req.userAddress,
    keys: async () => puks,
    chain: async () => (await escrowAdmin.identity.verifiedChain(req.userAddress)).state!,
    listEntries: async () => ({ entries: [], cursor: null }),
    getEntry: async (id) => {
      const e = entries.find((x) => x.id === id);
      if (!e) throw new Error(`entry ${id} is not in this discovery`);
      return e;
    },
  });

  const chunks: string[] = [];
  const messages: DiscoveryMessage[] = [];
  const unopened: DiscoveryManifest['unopened'] = [];
  let scanned = 0;
  for (const e of entries) {
    const record = fromBase64Url(e.box);
    const puk = byGeneration.get(decodeRecipientBox(record).generation);
    if (!puk || !e.body) {
      unopened.push({ entryId: e.id, receivedAt: e.receivedAt, reason: puk ? 'body missing' : 'sealed to a key generation escrow does not hold' });
      continue;
    }
    let raw: string;
    let mime;
    let verified: OpenedMail;
    try {
      const envelope = fromBase64Url(e.envelope);
      const box = openRecipientBox({ envelope, record, userId, puk });
      const manifest = await openManifest({ envelope: box.envelope, manifest: fromBase64Url(e.manifest), messageKey: box.messageKey });
      box.messageKey.fill(0);
      const body = await openMailPiece({ manifest, index: 0, ciphertext: fromBase64Url(e.body) });
      mime = await parseMime(body);
      scanned++;
      const hay = [mime.subject, mime.text, mime.from?.address ?? e.from, mime.from?.name ?? '', ...mime.to, ...mime.cc, ...mime.attachments.map((a) => a.filename)].join('\n');
      if (!matches(terms, hay)) continue;
      const pieces = new Map<number, Uint8Array>();
      for (const [i, blobId] of e.attachments.entries()) pieces.set(i + 1, await openMailPiece({ manifest, index: i + 1, ciphertext: await api.discoveryBlob(req.userAddress, blobId) }));
      raw = fillPieces(latin1(body), pieces);
      verified = await reader.open(e);
    } catch (err) {
      unopened.push({ entryId: e.id, receivedAt: e.receivedAt, reason: `does not open: ${(err as Error).message}` });
      continue;
    }
    const msg = mboxMessage(raw);
    const date = mime.date && !Number.isNaN(Date.parse(mime.date)) ? new Date(mime.date) : new Date(e.receivedAt);
    const from = verified.sender.address;
    const claimed = mime.from?.address.toLowerCase();
    // Sent mail is the user's own copy, signed by one of their devices; anything else in Sent is
    // the server's filing (it can seal mail to the user's public key), or an import.
    const sentByUser = verified.senderSafety !== null && from === req.userAddress.toLowerCase();
    const filing = e.folder === 'sent' && !sentByUser ? `Filed under Sent, but not signed as sent by a device of ${req.userAddress}: the server (or an import) could have put it there.` : null;
    const warning = [verified.warning, filing].filter(Boolean).join(' ');
    chunks.push(`From ${from || 'MAILER-DAEMON'} ${asctime(new Date(e.receivedAt))}\n${msg}\n`);
    messages.push({
      messageId: mime.messageId ?? e.mailId,
      date: date.toISOString(),
      receivedAt: e.receivedAt,
      folder: e.folder,
      from,
      ...(claimed && claimed !== from ? { claimedFrom: claimed } : {}),
      protection: verified.protection,
      ...(warning ? { warning } : {}),
      subject: mime.subject,
      attachments: mime.attachments.map((a) => ({ filename: a.filename, size: e.attachmentSizes[a.piece - 1] ?? 0 })),
      sha256: await sha256Hex(fromLatin1(msg)),
    });
  }
  const mbox = fromLatin1(chunks.join(''));
  return {
    mbox,
    manifest: {
      format: 'sealmail-discovery/1',
      caseRef: req.caseRef,
      user: req.userAddress,
      exportedBy: req.adminAddress,
      exportedAt: now().toISOString(),
      range: { from: req.from.toISOString(), to: req.to.toISOString() },
      terms,
      escrowId: escrowId ?? '',
      scanned,
      messages,
      unopened,
      mbox: { file: 'messages.mbox', bytes: mbox.length, sha256: await sha256Hex(mbox) },
    },
  };
}

/** Splits an mbox written by {@link exportDiscovery} into its messages' bytes (as hashed in the manifest). */
export function splitMbox(mbox: Uint8Array): Uint8Array[] {
  const text = latin1(mbox);
  return text
    .split(/^From [^\n]*\n/m)
    .slice(1)
    .map((m) => fromLatin1(m.replace(/\n$/, '')));
}
