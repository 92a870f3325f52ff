/** Messages between a UI and its key worker. Results carry no key bytes. */
import type { DeviceView, SafetyNumberView } from '@sealmail/client/identity';
import type { FolderName } from '@sealmail/contract';
import type { ContactsAnswers, ContactsCall } from './contacts-ops';
import type { ContentRule } from '@sealmail/client/identity';

export type { ContentRule };

export type Request =
  | { op: 'setUp'; address: string; name: string }
  | { op: 'confirmBackup'; address: string }
  | { op: 'confirmEscrowNotice'; address: string }
  | { op: 'safetyNumber'; address: string; of: string }
  | { op: 'markVerified'; address: string; of: string; number: string }
  | { op: 'escrowOpenings'; address: string }
  | { op: 'acceptReset'; address: string; of: string }
  | { op: 'startAfresh'; address: string; password: string; totp?: string; name: string }
  | { op: 'devices'; address: string }
  | { op: 'approve'; address: string; device: string }
  | { op: 'revoke'; address: string; device: string }
  | { op: 'recover'; address: string; name: string; backupKey: string }
  | { op: 'generations'; address: string }
  | { op: 'escrowOverview' }
  | { op: 'escrowEnable'; address: string }
  | { op: 'escrowDisable'; address: string }
  | { op: 'escrowUserDevices'; user: string }
  | { op: 'escrowRecover'; address: string; user: string; device: string }
  | { op: 'escrowDiscover'; address: string; user: string }
  | { op: 'escrowShareKey'; address: string }
  | { op: 'discoveryExport'; address: string; user: string; from: string; to: string; terms: string[]; caseRef: string }
  | { op: 'mailList'; address: string; folder: FolderName; label?: string; folderId?: string; cursor: string | null; limit?: number; starred?: boolean }
  | { op: 'search'; address: string; query: string }
  | { op: 'searchSync'; address: string }
  | { op: 'searchStatus'; address: string }
  | { op: 'labels'; address: string }
  | { op: 'createLabel'; address: string; name: string }
  | { op: 'folders'; address: string }
  | { op: 'createFolder'; address: string; name: string }
  | { op: 'renameFolder'; address: string; id: string; name: string }
  | { op: 'renameLabel'; address: string; id: string; name: string }
  | { op: 'mailOpen'; address: string; entryId: string }
  | { op: 'mailThread'; address: string; threadId: string }
  | { op: 'mailAttachment'; address: string; entryId: string; piece: number }
  /** The whole mail as an EML file (body piece with every attachment's bytes), opened here: forward as attachment. */
  | { op: 'mailEml'; address: string; entryId: string }
  | { op: 'mailSend'; address: string; displayName: string; mail: Compose; draft?: boolean; replacesDraft?: string; sendAt?: string; session?: string }
  /** How far the send of `session` got: attachment ciphertext the server took, of all to send (null: nothing being uploaded). */
  | { op: 'sendProgress'; session: string }
  /** Edit draft: `session` continues the draft `entryId`; each file put back at its place (`piece`) keeps its upload. */
  | { op: 'draftContinue'; address: string; entryId: string; session: string; files: { piece: number; fileId: string }[] }
  | { op: 'delegationOverview'; address: string }
  | { op: 'delegationGrant'; address: string; delegate: string; rights: 'read' | 'send' }
  | { op: 'delegationRevoke'; address: string; delegate: string }
  /** Which mailbox the mail operations of `address` work on: a delegated one, or (null) the user's own. */
  | { op: 'useMailbox'; address: string; mailbox: { userId: string; address: string } | null }
  /** Admin: a shared mailbox, its key history started on this device. */
  | { op: 'sharedMailboxCreate'; address: string; mailbox: string; displayName: string }
  /** Admin: adds a member with these rights, or (null) removes them (the mailbox's keys rotate). */
  | { op: 'sharedMailboxMember'; address: string; mailboxUserId: string; member: string; rights: 'read' | 'send' | null }
  | { op: 'mailExport'; address: string; folder?: FolderName; format: 'mbox' | 'eml-zip' }
  | { op: 'mailImport'; address: string; file: File; folder: Exclude<FolderName, 'drafts' | 'outbox'> }
  // Signatures and templates, sealed to the user here (docs/mail.md "Signatures and templates").
  | { op: 'signatures'; address: string }
  | { op: 'saveSignature'; address: string; signature: Omit<SignatureItem, 'id'> & { id?: string } }
  | { op: 'templates'; address: string }
  | { op: 'saveTemplate'; address: string; template: Omit<TemplateItem, 'id'> & { id?: string } }
  | { op: 'contacts'; address: string; call: ContactsCall }
  | { op: 'contentRules'; address: string }
  | { op: 'contentRulesSave'; address: string; rules: ContentRule[] }
  | { op: 'contentRulesApply'; address: string; entryIds?: string[] };

/** Delegation as the worker verified it: grants from the user's own key history; mailboxes delegated to them. */
export interface DelegationOverview {
  grants: { address: string; rights: 'read' | 'send' }[];
  mailboxes: { userId: string; address: string; displayName: string; rights: 'read' | 'send'; shared: boolean }[];
}

export interface SignatureItem {
  id: string;
  name: string;
  html: string;
  text: string;
  address: string | null;
  isDefault: boolean;
}

export interface TemplateItem {
  id: string;
  name: string;
  subject: string;
  html: string;
  text: string;
}

/** What the compose window hands over (files are browser File objects, read in the worker). */
export interface Compose {
  to: string[];
  cc: string[];
  bcc: string[];
  subject: string;
  text: string;
  html?: string;
  files: File[];
  /**
   * The composer's id for each of `files` (with `session` on the request): a draft's next save
   * keeps the pieces of files it uploaded already instead of sealing and sending them again.
   */
  fileIds?: string[];
  /** Inline images the HTML names as `cid:<cid>` (pieces after the files). */
  inline?: { file: File; cid: string; id?: string }[];
  /** The entry this answers. */
  inReplyTo?: string;
  /** Recipients outside this server get standard mail (the server relays it and can read it). */
  allowStandard?: boolean;
  /** Recipients outside this server get an expiring password link instead (MISSION §3). */
  links?: { expiresIn: '1d' | '7d' | '30d' };
  /** Send as one of the user's own addresses (an alias, a +tag form). */
  from?: string;
}

/** How a mail was protected, as the worker verified it (packages/client ProtectionLabel). */
export type Protection = 'E2E Encrypted' | 'Server Encrypted' | 'Unverified' | 'Link reply' | 'Imported';

/** A list row, decrypted in the worker. */
export interface MailRow {
  entryId: string;
  threadId: string;
  folder: FolderName;
  date: string;
  read: boolean;
  starred: boolean;
  labelIds: string[];
  protection: Protection | null;
  /** Why the row's sender or protection is not verified. */
  warning: string | null;
  /** A delegate sent it on behalf of `from` (verified, see MailView.sentBy). */
  sentBy?: string | null;
  subject: string;
  from: string;
  fromName: string;
  to: string[];
  snippet: string;
  attachmentCount: number;
  /** Set when the mail could not be decrypted (nothing else of it is shown). */
  error: string | null;
}

/** An opened mail, decrypted and verified in the worker. HTML is raw: the UI sanitises it. */
export interface MailView {
  entryId: string;
  threadId: string;
  folder: FolderName;
  read: boolean;
  starred: boolean;
  labelIds: string[];
  protection: Protection;
  signature: 'not-signed' | 'signed-valid' | 'signed-invalid';
  warning: string | null;
  /** The verified sender's safety number (null unless the sender and signature verified). */
  senderSafety: SafetyNumberView | null;
  /** The sender started their key history afresh; the reader offers to accept it after comparing. */
  senderReset: string | null;
  /** A delegate sent it on behalf of `from` (the grant was verified in `from`'s key history): the delegate's address. */
  sentBy: string | null;
  /** Sent from an alias of a verified user: that user's own address. */
  senderVia: string | null;
  subject: string;
  from: string;
  fromName: string;
  to: string[];
  cc: string[];
  bcc: string[];
  date: string;
  text: string;
  html: string | null;
  attachments: { piece: number; filename: string; contentType: string; size: number; contentId?: string }[];
  /** A draft one of this user's devices saved (verified, whatever the folder): only such a mail offers Edit draft. */
  ownDraft: boolean;
}

export interface SetUpResult {
  outcome: 'existing' | 'first' | 'pending';
  /** A backup key the user has not confirmed yet (first device). */
  backupKey: string | null;
  /** This device's fingerprint while it waits for approval. */
  fingerprint: string | null;
  /** Escrow is on and its (checked) key waits for the user: shown before it is added. */
  escrowNotice: { fingerprint: string; endorsedBy: string; changed: boolean } | null;
}

export interface EscrowOverview {
  escrow: { id: string; status: 'active' | 'disabled'; enabledAt: string; enabledBy: string | null } | null;
  fingerprint: string | null;
  holders: { address: string; deviceId: string }[];
  users: { address: string; displayName: string; hasKeys: boolean; escrowInChain: boolean }[];
}

export interface Results {
  setUp: SetUpResult;
  confirmBackup: null;
  confirmEscrowNotice: null;
  safetyNumber: SafetyNumberView;
  markVerified: SafetyNumberView;
  escrowOpenings: { at: string; purpose: string; by: string | null; caseRef?: string; range?: { from: string; to: string } }[];
  acceptReset: null;
  startAfresh: null;
  devices: DeviceView[];
  approve: DeviceView;
  revoke: null;
  recover: null;
  generations: number[];
  escrowOverview: EscrowOverview;
  escrowEnable: { fingerprint: string };
  escrowDisable: { cleaned: string[] };
  escrowUserDevices: Omit<DeviceView, 'thisDevice'>[];
  escrowRecover: { generations: number[] };
  escrowDiscover: { generations: number[] };
  /** The devices the escrow key was boxed to. */
  escrowShareKey: { address: string; deviceId: string }[];
  /** The mbox (decrypted, on this device) and its manifest as JSON text. */
  discoveryExport: { mbox: Uint8Array; manifest: string; messages: number; scanned: number };
  mailList: { rows: MailRow[]; cursor: string | null };
  /** `syncing`: the index is being brought up to date in the background (search again when `searchSync` answers). */
  search: { hits: { entryId: string; folder: string; date: string; subject: string; from: string }[]; indexed: number; syncing?: boolean };
  searchSync: { added: number; indexed: number };
  /** The on-device index's background work: mails indexed, mails the server holds (null: not known yet). */
  searchStatus: { running: boolean; indexed: number; total: number | null };
  labels: { id: string; name: string }[];
  createLabel: { id: string; name: string };
  /** Custom folders, names opened on this device. */
  folders: { id: string; name: string; total: number; unread: number }[];
  createFolder: { id: string; name: string; total: number; unread: number };
  renameFolder: null;
  renameLabel: null;
  mailOpen: MailView;
  mailThread: (MailView | { entryId: string; error: string })[];
  /** Only once every byte authenticated. */
  mailAttachment: Blob;
  mailEml: Blob;
  mailSend: { entryId: string; scheduledId?: string; delivered: string[]; refused: { address: string; code: string }[] };
  draftContinue: null;
  sendProgress: { sent: number; total: number } | null;
  delegationOverview: DelegationOverview;
  delegationGrant: null;
  delegationRevoke: null;
  useMailbox: null;
  sharedMailboxCreate: { userId: string; address: string };
  sharedMailboxMember: null;
  /** Decrypted on this device, built in parts (the browser may keep large ones on disk). */
  mailExport: { file: Blob; done: number; failed: number };
  mailImport: { done: number; failed: number; failures: { index: number; reason: string }[] };
  /** Items this device cannot open come as `{ id, unreadable: true }`. */
  signatures: (SignatureItem | { id: string; unreadable: true })[];
  saveSignature: SignatureItem;
  templates: (TemplateItem | { id: string; unreadable: true })[];
  saveTemplate: TemplateItem;
  contacts: ContactsAnswers[keyof ContactsAnswers];
  contentRules: ContentRule[];
  contentRulesSave: null;
  contentRulesApply: { changed: number };
}

export type Response = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: { code: string; message: string } };
