/// <reference lib="webworker" />
/**
 * The key worker: the only place in a Sealmail front end that holds key material. It runs the
 * shared flows (packages/client: Identity, EscrowAdmin) with the IndexedDB key store and talks to
 * the API itself (same origin, session cookie); the UI sends requests and gets results without
 * key bytes.
 */
import { ApiClient } from '@sealmail/client';
import { ComposeBook, ContentRules, Delegation, DraftSession, EscrowAdmin, Organiser, SharedMailboxes, exportDiscovery, Identity, indexedDbKeyStore, Mailer, noteSummaryCache, refreshHits, SearchIndex, syncSearchIndex, type OpenedMail } from '@sealmail/client/identity';
import type { MailRow, MailView, Request, Response, Results, SetUpResult } from './protocol';
import { MailTransfer } from '@sealmail/client/transfer';
import { contactsOp } from './contacts-ops';

const api = new ApiClient({ baseUrl: self.location.origin });
const store = indexedDbKeyStore();
const identity = store.then((s) => new Identity(api, s));
const escrowAdmin = identity.then((id) => new EscrowAdmin(api, id));
/** One Mailer per signed-in address, and the mails opened lately (for attachments and replies). */
const mailers = new Map<string, Promise<Mailer>>();
/** Sends under way with a session (`mailSend`): attachment bytes the server took, of all to send. */
const sendProgress = new Map<string, { sent: number; total: number }>();
/** Open composers' draft saves (`mailSend` with `session`), the most recent few: ids and pieces already uploaded. */
const drafts = new Map<string, DraftSession>();
function draftSession(id: string): DraftSession {
  const had = drafts.get(id);
  if (had) return had;
  for (const [old, s] of drafts) {
    if (drafts.size < 16) break;
    s.reset();
    drafts.delete(old);
  }
  return drafts.set(id, new DraftSession()).get(id)!;
}
const opened = new Map<string, OpenedMail>();
/** A delegated mailbox the user switched to (packages/client/src/delegation.ts), per signed-in address. */
const active = new Map<string, Promise<Mailer>>();
/** The Mailer the mail operations use: the mailbox switched to, or the user's own. */
function mailer(address: string, displayName = ''): Promise<Mailer> {
  return active.get(address) ?? ownMailer(address, displayName);
}
function ownMailer(address: string, displayName = ''): Promise<Mailer> {
  let m = mailers.get(address);
  if (!m) {
    m = Promise.all([identity, store]).then(([id, s]) => {
      const mailer = new Mailer(api, id, address, displayName);
      // Verified list rows, kept in the encrypted store so a warm list needs no decryption.
      mailer.summaryCache = noteSummaryCache(s, address.toLowerCase());
      return mailer;
    });
    mailers.set(address, m);
  }
  return m;
}
/** Folder and label names are sealed and opened here (packages/client/src/mail/organise.ts). */
const organisers = new Map<string, Promise<Organiser>>();
function organiser(address: string): Promise<Organiser> {
  let o = organisers.get(address);
  if (!o) {
    o = identity.then((id) => new Organiser(api, id, address));
    organisers.set(address, o);
  }
  return o;
}
function remember(o: OpenedMail) {
  opened.set(o.entryId, o);
  if (opened.size > 200) opened.delete(opened.keys().next().value!);
}
async function openedMail(address: string, entryId: string) {
  const hit = opened.get(entryId);
  if (hit) return hit;
  const o = await (await mailer(address)).open(entryId);
  remember(o);
  return o;
}
const view = (o: OpenedMail): MailView => ({
  entryId: o.entryId,
  threadId: o.entry.threadId,
  folder: o.entry.folder,
  read: o.entry.read,
  starred: o.entry.starred,
  labelIds: o.entry.labelIds,
  protection: o.protection,
  signature: o.signature,
  warning: o.warning,
  subject: o.mime.subject,
  from: o.sender.address,
  fromName: o.sender.name,
  senderSafety: o.senderSafety,
  senderReset: o.senderReset,
  sentBy: o.sentBy,
  senderVia: o.senderVia ?? null,
  to: o.mime.to,
  cc: o.mime.cc,
  bcc: [...o.bcc],
  date: o.mime.date ?? o.entry.sentAt,
  text: o.mime.text,
  html: o.mime.html,
  attachments: o.attachments,
  ownDraft: o.ownDraft,
});

/**
 * The on-device search index, one per address: kept in memory, stored in IndexedDB as an
 * encrypted note (under the key store's non-extractable key), brought up to date before each
 * search and whenever the mailbox says new mail arrived. Syncs never run two at a time.
 */
const indexes = new Map<string, Promise<SearchIndex>>();
const syncing = new Map<string, Promise<{ added: number; indexed: number; stale: boolean }>>();
function searchIndex(address: string): Promise<SearchIndex> {
  let ix = indexes.get(address);
  if (!ix) {
    ix = store.then(async (s) => {
      const saved = await s.loadNote(`search-index:${address}`);
      try {
        return saved ? SearchIndex.deserialize(new TextEncoder().encode(saved)) : new SearchIndex();
      } catch {
        return new SearchIndex();
      }
    });
    indexes.set(address, ix);
  }
  return ix;
}
/** The background indexing per address (the mailbox shows it as a progress bar), and which indexes synced once. */
const progress = new Map<string, { running: boolean; indexed: number; total: number | null }>();
const warm = new Set<string>();
function syncSearch(address: string): Promise<{ added: number; indexed: number; stale: boolean }> {
  const running = syncing.get(address);
  if (running) return running;
  const run = (async () => {
    const [ix, m, s] = await Promise.all([searchIndex(address), ownMailer(address), store]);
    const p = { running: true, indexed: ix.size, total: null as number | null };
    progress.set(address, p);
    void m.folderTotals().then((t) => void (p.total = Object.values(t).reduce((a, n) => a + (n ?? 0), 0)), () => undefined);
    let savedAt = 0;
    const { added, changed, stale } = await syncSearchIndex(m, ix, {
      onProgress: (n) => {
        p.indexed = ix.size;
        // A long first indexing is saved as it goes, so a reload does not start it over.
        if (n - savedAt >= 500) {
          savedAt = n;
          void saveIndex(address, ix, s).catch(() => undefined);
        }
      },
    });
    if (added || changed) await saveIndex(address, ix, s);
    warm.add(address);
    return { added, indexed: ix.size, stale };
  })().finally(() => {
    syncing.delete(address);
    const p = progress.get(address);
    if (p) p.running = false;
  });
  syncing.set(address, run);
  return run;
}

const saveIndex = (address: string, ix: SearchIndex, s: Awaited<typeof store>) => s.saveNote(`search-index:${address}`, new TextDecoder().decode(ix.serialize()));

async function mailList(req: Extract<Request, { op: 'mailList' }>): Promise<Results['mailList']> {
  const m = await mailer(req.address);
  // The keys that open the page's boxes (the chain, then the key boxes: two round trips) are
  // fetched beside the page, not after it (cached after the first page; the first inbox view).
  void m.puks().catch(() => undefined);
  const page = await m.page({ ...(req.starred || req.folderId ? {} : { folder: req.folder }), cursor: req.cursor, limit: req.limit ?? 50, ...(req.starred ? { starred: true } : {}), ...(req.label ? { label: req.label } : {}), ...(req.folderId ? { folderId: req.folderId } : {}) });
  const rows: MailRow[] = page.items.map((i) => {
    const e = i.entry;
    const base = { entryId: e.id, threadId: e.threadId, folder: e.folder, date: e.sentAt, read: e.read, starred: e.starred, labelIds: e.labelIds, to: e.to };
    if ('error' in i) return { ...base, protection: null, warning: null, subject: '', from: e.from, fromName: '', snippet: '', attachmentCount: e.attachments.length, error: i.error };
    // A draft's recipients are only in its sealed body (the server's entry names none).
    const to = e.to.length ? e.to : (i.to ?? []);
    return { ...base, to, protection: i.protection, warning: i.warning, sentBy: i.sentBy, subject: i.subject, from: i.from.address, fromName: i.from.name, snippet: i.snippet, attachmentCount: i.attachmentCount, error: null };
  });
  return { rows, cursor: page.cursor };
}

const settingUp = new Map<string, Promise<SetUpResult>>();
const note = (kind: 'backup-unconfirmed', address: string) => `${kind}:${address.toLowerCase()}`;

/**
 * Sets this device up, or finds where it stands. A backup key the user has not confirmed is kept
 * (encrypted, like the device keys) and shown again until confirmed; a device waiting for
 * approval shows its fingerprint again; when the account has escrow on and the (checked) escrow
 * key is not in the user's chain yet, the user is told first and it is added when they continue.
 */
async function setUp(req: Extract<Request, { op: 'setUp' }>): Promise<SetUpResult> {
  const [id, s] = await Promise.all([identity, store]);
  const r = await id.setUpThisDevice({ address: req.address, name: req.name, kind: 'browser' });
  if (r.outcome === 'first') await s.saveNote(note('backup-unconfirmed', req.address), r.backupKey);
  // The escrow check (read-only) runs beside the device lookup rather than after it: one round
  // trip less before the mailbox shows. Its answer is used only for an approved device.
  const escrowCheck = id.escrowStatus(req.address);
  escrowCheck.catch(() => undefined); // not awaited for a pending device
  const me = (await id.devices(req.address)).find((d) => d.thisDevice);
  const escrow = me?.status === 'approved' ? await escrowCheck : null;
  return {
    outcome: r.outcome,
    backupKey: await s.loadNote(note('backup-unconfirmed', req.address)),
    fingerprint: me?.status === 'pending' ? me.fingerprint : null,
    escrowNotice: escrow?.state === 'needs-consent' ? { fingerprint: escrow.fingerprint, endorsedBy: escrow.endorsedBy, changed: escrow.changed } : null,
  };
}

async function handle(req: Request): Promise<Results[Request['op']]> {
  const id = await identity;
  switch (req.op) {
    case 'setUp': {
      // One at a time per user: a second request while one runs (a re-rendered page asks again)
      // gets the same answer instead of racing it to append the same key-history link.
      const key = req.address.toLowerCase();
      let running = settingUp.get(key);
      if (!running) {
        running = setUp(req).finally(() => settingUp.delete(key));
        settingUp.set(key, running);
      }
      return running;
    }
    case 'confirmBackup':
      await (await store).deleteNote(note('backup-unconfirmed', req.address));
      return null;
    case 'confirmEscrowNotice':
      await id.acceptEscrow(req.address);
      return null;
    case 'safetyNumber':
      return id.safetyNumber(req.of);
    case 'markVerified':
      return id.markVerified(req.of, req.number);
    case 'acceptReset':
      await id.acceptReset(req.of);
      for (const m of mailers.values()) (await m).forgetSender(req.of);
      opened.clear();
      return null;
    case 'startAfresh':
      await id.startAfresh({ address: req.address, password: req.password, ...(req.totp ? { totp: req.totp } : {}), name: req.name, kind: 'browser' });
      return null;
    case 'escrowOpenings':
      return (await api.escrowOpenings()).openings;
    case 'devices':
      return id.devices(req.address);
    case 'approve':
      return id.approve(req.address, req.device);
    case 'revoke':
      await id.revoke(req.address, req.device);
      return null;
    case 'recover':
      await id.recover({ address: req.address, name: req.name, kind: 'browser', backupKey: req.backupKey });
      return null;
    case 'generations':
      return (await id.perUserKeys(req.address)).map((p) => p.generation);
    case 'escrowOverview':
      return (await escrowAdmin).overview();
    case 'escrowEnable':
      return { fingerprint: (await (await escrowAdmin).enable(req.address)).fingerprint };
    case 'escrowDisable':
      return { cleaned: await (await escrowAdmin).disable(req.address) };
    case 'escrowUserDevices':
      return (await escrowAdmin).userDevices(req.user);
    case 'escrowRecover':
      return (await escrowAdmin).recover(req.address, req.user, req.device);
    case 'escrowDiscover':
      return { generations: (await (await escrowAdmin).discover(req.address, req.user)).map((p) => p.generation) };
    case 'escrowShareKey':
      return (await escrowAdmin).shareKey(req.address);
    case 'discoveryExport': {
      const { mbox, manifest } = await exportDiscovery(api, await escrowAdmin, { adminAddress: req.address, userAddress: req.user, from: new Date(req.from), to: new Date(req.to), terms: req.terms, caseRef: req.caseRef });
      return { mbox, manifest: JSON.stringify(manifest, null, 2) + '\n', messages: manifest.messages.length, scanned: manifest.scanned };
    }
    case 'mailList':
      return mailList(req);
    case 'search': {
      // Once the index has been brought up to date in this session, a search answers from memory at
      // once and the sync runs behind it (the mailbox searches again if it added mail); before
      // that, a search waits for the sync a short while, then answers with what is indexed so far.
      const sync = syncSearch(req.address);
      const done = warm.has(req.address) ? null : await Promise.race([sync, new Promise<null>((r) => setTimeout(() => r(null), 2500))]);
      const stale = done?.stale ?? false;
      const ix = await searchIndex(req.address);
      const indexed = ix.size;
      let hits = ix.search(req.query, { limit: 100 });
      // The server's folder counts differ from the index's: check the hits about to be shown.
      if (stale) {
        const r = await refreshHits(await ownMailer(req.address), ix, hits);
        hits = r.hits;
        if (r.changed) await saveIndex(req.address, ix, await store);
      }
      return { hits: hits.map((h) => ({ entryId: h.entryId, folder: h.folder, date: h.date, subject: h.subject, from: h.from })), indexed, syncing: syncing.has(req.address) };
    }
    case 'searchStatus':
      return progress.get(req.address) ?? { running: syncing.has(req.address), indexed: 0, total: null };
    case 'searchSync': {
      const { added, indexed } = await syncSearch(req.address);
      return { added, indexed };
    }
    case 'labels':
      // Labels are the user's own (sealed to their keys); a delegated mailbox shows none.
      return active.has(req.address) ? [] : (await ownMailer(req.address)).labels();
    case 'createLabel':
      return (await ownMailer(req.address)).createLabel(req.name);
    case 'folders':
      return (await organiser(req.address)).folders();
    case 'createFolder':
      return (await organiser(req.address)).createFolder(req.name);
    case 'renameFolder':
      return (await organiser(req.address)).renameFolder(req.id, req.name).then(() => null);
    case 'renameLabel':
      return (await organiser(req.address)).renameLabel(req.id, req.name).then(() => null);
    case 'mailOpen':
      opened.delete(req.entryId); // flags may have changed; the mail is re-verified
      return view(await openedMail(req.address, req.entryId));
    case 'mailThread':
      // Threads are read from the user's own mailbox; in a delegated one each mail opens alone.
      if (active.has(req.address)) return [];
      return (await (await mailer(req.address)).thread(req.threadId)).map((o) => ('error' in o ? o : (remember(o), view(o))));
    case 'mailAttachment': {
      const o = await openedMail(req.address, req.entryId);
      const bytes = await (await mailer(req.address)).attachmentBytes(o, req.piece);
      const a = o.attachments.find((x) => x.piece === req.piece)!;
      return new Blob([bytes as Uint8Array<ArrayBuffer>], { type: a.contentType });
    }
    case 'mailEml': {
      const o = await openedMail(req.address, req.entryId);
      const { eml } = await new MailTransfer(api, await identity, await mailer(req.address)).emlOfEntry(o.entry);
      return new Blob([eml as Uint8Array<ArrayBuffer>], { type: 'message/rfc822' });
    }
    case 'contacts':
      return contactsOp(api, id, req.address, req.call);
    case 'mailSend': {
      // Drafts stay in the user's own mailbox; sending from a delegated mailbox sends as it.
      const m = await (req.draft ? ownMailer(req.address, req.displayName) : mailer(req.address, req.displayName));
      // The Mailer may have been made by a read (no name) or before the user renamed themselves.
      m.displayName = req.displayName;
      const parent = req.mail.inReplyTo ? await openedMail(req.address, req.mail.inReplyTo) : undefined;
      const ids = req.mail.fileIds;
      const files = req.mail.files.map((f, i) => ({ name: f.name, type: f.type, size: f.size, stream: () => f.stream(), ...(ids?.[i] ? { id: ids[i] } : {}) }));
      const session = req.session ? draftSession(req.session) : undefined;
      const progress = req.session && !req.draft ? req.session : null;
      const sent = await m.send(
        { to: req.mail.to, cc: req.mail.cc, bcc: req.mail.bcc, subject: req.mail.subject, text: req.mail.text, ...(req.mail.html ? { html: req.mail.html } : {}), attachments: [...files, ...(req.mail.inline ?? []).map((i) => ({ name: i.file.name, type: i.file.type, size: i.file.size, stream: () => i.file.stream(), contentId: i.cid, ...(i.id ? { id: i.id } : {}) }))], ...(parent ? { inReplyTo: parent } : {}), ...(req.mail.allowStandard ? { allowStandard: true } : {}), ...(req.mail.links ? { links: req.mail.links } : {}), ...(req.mail.from ? { from: req.mail.from } : {}) },
        { draft: !!req.draft, ...(req.replacesDraft ? { replacesDraft: req.replacesDraft } : {}), ...(req.sendAt ? { sendAt: new Date(req.sendAt) } : {}), ...(session ? { session } : {}), ...(progress ? { onProgress: (done: number, total: number) => void sendProgress.set(progress, { sent: done, total }) } : {}) },
      ).finally(() => progress && sendProgress.delete(progress));
      // Sent: the draft is gone, and with it what its saves shared.
      if (session && !req.draft) {
        session.reset();
        drafts.delete(req.session!);
      }
      return sent;
    }
    case 'sendProgress':
      return sendProgress.get(req.session) ?? null;
    case 'draftContinue':
      await (await ownMailer(req.address)).continueDraft(await openedMail(req.address, req.entryId), draftSession(req.session), req.files);
      return null;
    case 'delegationOverview': {
      const d = new Delegation(api, id, req.address);
      // Keys of this mailbox that rotated since a grant (a device came or went) are shared now.
      await d.shareNewKeys().catch(() => 0);
      const [grants, mailboxes] = await Promise.all([d.grants(), d.mailboxes()]);
      return { grants: grants.map((g) => ({ address: g.address, rights: g.rights })), mailboxes };
    }
    case 'delegationGrant':
      await new Delegation(api, id, req.address).grant(req.delegate, req.rights);
      return null;
    case 'delegationRevoke':
      await new Delegation(api, id, req.address).revoke(req.delegate);
      return null;
    case 'useMailbox': {
      opened.clear();
      if (!req.mailbox) {
        active.delete(req.address);
        return null;
      }
      const m = new Delegation(api, id, req.address).mailer(req.mailbox);
      // Checked now (the grant in the mailbox's verified history, its keys): a refusal is the switch's error.
      await m.mailbox!.keys();
      active.set(req.address, Promise.resolve(m));
      return null;
    }
    case 'sharedMailboxCreate':
      return new SharedMailboxes(api, id, req.address).create(req.mailbox, req.displayName);
    case 'sharedMailboxMember': {
      const shared = new SharedMailboxes(api, id, req.address);
      if (req.rights) await shared.addMember({ userId: req.mailboxUserId }, req.member, req.rights);
      else await shared.removeMember({ userId: req.mailboxUserId }, req.member);
      return null;
    }
    case 'mailExport': {
      // Each chunk becomes its own Blob as it is written: no one buffer holds the whole mailbox.
      const parts: Blob[] = [];
      const t = new MailTransfer(api, await identity, await mailer(req.address));
      const p = await t.exportMail({ ...(req.folder ? { folder: req.folder } : {}), format: req.format, write: (c) => void parts.push(new Blob([c as Uint8Array<ArrayBuffer>])) });
      return { file: new Blob(parts, { type: req.format === 'mbox' ? 'application/mbox' : 'application/zip' }), done: p.done, failed: p.failed };
    }
    case 'mailImport': {
      const t = new MailTransfer(api, await identity, await mailer(req.address));
      return t.importMail({ file: req.file, folder: req.folder });
    }
    case 'signatures':
      return new ComposeBook(api, await identity, req.address).signatures();
    case 'saveSignature':
      return new ComposeBook(api, await identity, req.address).saveSignature(req.signature);
    case 'templates':
      return new ComposeBook(api, await identity, req.address).templates();
    case 'saveTemplate':
      return new ComposeBook(api, await identity, req.address).saveTemplate(req.template);
    case 'contentRules':
      return new ContentRules(api, await identity, req.address).load();
    case 'contentRulesSave':
      await new ContentRules(api, await identity, req.address).save(req.rules);
      return null;
    case 'contentRulesApply': {
      // On this device, after decryption: new mail as it arrives, or the whole Inbox, a page of
      // 100 at a time (only one page of opened mail is held at once).
      const rules = new ContentRules(api, await identity, req.address);
      const list = await rules.load();
      if (!list.length) return { changed: 0 };
      const m = await mailer(req.address);
      const openAll = async (ids: string[]) => (await Promise.all(ids.map((id) => m.open(id).catch(() => null)))).filter((o): o is OpenedMail => !!o);
      if (req.entryIds) return { changed: await rules.apply(await openAll(req.entryIds), list) };
      let changed = 0;
      let cursor: string | null = null;
      do {
        const page: { entries: { id: string }[]; cursor: string | null } = await api.listMail({ folder: 'inbox', limit: 100, cursor });
        changed += await rules.apply(await openAll(page.entries.map((e) => e.id)), list);
        cursor = page.cursor;
      } while (cursor);
      return { changed };
    }
  }
}

self.onmessage = (e: MessageEvent<{ id: number; req: Request }>) => {
  handle(e.data.req).then(
    (result) => self.postMessage({ id: e.data.id, ok: true, result } satisfies Response),
    (err: unknown) => {
      const error = err as { code?: string; message?: string };
      self.postMessage({ id: e.data.id, ok: false, error: { code: String(error.code ?? 'ERROR'), message: String(error.message ?? err) } } satisfies Response);
    },
  );
};
