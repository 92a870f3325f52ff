/**
 * Organising mail on the device (docs/mail.md "Organising mail"): custom folders and labels whose
 * names are sealed here to the user's own newest per-user key (self boxes v2 bound to the item id,
 * docs/crypto.md §5.12) so the server only ever holds ids; bulk moves with Undo; Restore and
 * Empty Trash; Report spam / Not spam.
 */
import { currentPuk, fromBase64Url, openSelfBox, sealSelfBox, toBase64Url, type PerUserKey, type SelfBoxKind } from '@sealmail/crypto';
import { folderCreate, folderDelete, folderList, folderRename, labelRename, mailBulk, mailRestore, spamReport, trashEmpty, senderVerdictList, senderVerdictRemove } from '@sealmail/contract';
import type { z } from 'zod';
import type { ApiClient } from '../api';
import type { Identity } from '../identity';
import { MailError } from './mailer';

export interface CustomFolder {
  id: string;
  name: string;
  total: number;
  unread: number;
}

/** Where an entry is (a system folder, and its custom folder when filed in one). */
export type Placement = z.infer<typeof mailBulk.response>['before'][number];

/** A move the user may undo: each entry's place before it. */
export interface UndoableMove {
  before: Placement[];
}

/** What a folder or label may be called: 1 to 100 characters, trimmed. */
export function cleanName(name: string, what: 'folder' | 'label'): string {
  const clean = name.trim();
  if (!clean || clean.length > 100) throw new MailError(what === 'folder' ? 'INVALID_FOLDER' : 'INVALID_LABEL', `A ${what} name is 1 to 100 characters.`);
  return clean;
}

export class Organiser {
  private pukCache: PerUserKey[] | null = null;

  constructor(
    private readonly api: ApiClient,
    private readonly identity: Identity,
    readonly address: string,
  ) {}

  private async seal(kind: SelfBoxKind, itemId: string, name: string): Promise<string> {
    const me = await this.identity.thisDevice(this.address);
    const newest = currentPuk(me.state).generation;
    let puk = (this.pukCache ?? []).find((p) => p.generation === newest);
    if (!puk) {
      this.pukCache = await this.identity.perUserKeys(this.address);
      puk = this.pukCache.find((p) => p.generation === newest);
    }
    if (!puk) throw new MailError('OPEN_FAILED', 'This device does not hold your newest key yet: approve it from another device first.');
    return toBase64Url(sealSelfBox({ kind, userId: me.userId, itemId, puk, plaintext: new TextEncoder().encode(name) }));
  }

  private async open(kind: SelfBoxKind, itemId: string, sealed: string): Promise<string | null> {
    const me = await this.identity.thisDevice(this.address);
    const record = fromBase64Url(sealed);
    for (const fresh of [false, true]) {
      if (fresh || !this.pukCache) this.pukCache = await this.identity.perUserKeys(this.address);
      try {
        return new TextDecoder().decode(openSelfBox({ kind, userId: me.userId, itemId, record, puks: this.pukCache }));
      } catch {
        // Sealed to a generation this device got since the cache was filled, or unreadable here.
      }
    }
    return null;
  }

  /** The custom folders, names opened here (one this device cannot open is named so). */
  async folders(): Promise<CustomFolder[]> {
    const { folders } = await this.api.request(folderList, {});
    const out: CustomFolder[] = [];
    for (const f of folders) out.push({ ...f, name: (await this.open('folder-name', f.id, f.name)) ?? '(folder this device cannot read)' });
    return out;
  }

  async createFolder(name: string): Promise<CustomFolder> {
    const clean = cleanName(name, 'folder');
    const id = crypto.randomUUID();
    const f = await this.api.request(folderCreate, { body: { id, name: await this.seal('folder-name', id, clean) } });
    return { ...f, name: clean };
  }

  async renameFolder(id: string, name: string): Promise<void> {
    const clean = cleanName(name, 'folder');
    await this.api.request(folderRename, { params: { folderId: id }, body: { name: await this.seal('folder-name', id, clean) } });
  }

  /** Deletes a folder; its mail goes to `moveTo` (the Inbox by default). Answers how many moved. */
  async deleteFolder(id: string, moveTo: 'inbox' | 'archive' | 'trash' = 'inbox'): Promise<number> {
    return (await this.api.request(folderDelete, { params: { folderId: id }, query: { moveTo } })).moved;
  }

  async renameLabel(id: string, name: string): Promise<void> {
    const clean = cleanName(name, 'label');
    await this.api.request(labelRename, { params: { labelId: id }, body: { name: await this.seal('label-name', id, clean) } });
  }

  /** Moves entries to a system folder or a custom one; answers what Undo needs. */
  async move(entryIds: readonly string[], to: { folder: 'inbox' | 'archive' | 'trash' | 'spam' } | { folderId: string }): Promise<UndoableMove> {
    const { before } = await this.api.request(mailBulk, { body: { entryIds: [...entryIds], ...to } });
    return { before };
  }

  /** Marks, stars or labels many entries at once. */
  async change(entryIds: readonly string[], change: { read?: boolean; starred?: boolean; addLabels?: string[]; removeLabels?: string[] }): Promise<void> {
    await this.api.request(mailBulk, { body: { entryIds: [...entryIds], ...change } });
  }

  /** Puts every entry back where it was before a move (grouped by place: one request each). */
  async undo(move: UndoableMove): Promise<void> {
    const groups = new Map<string, { ids: string[]; place: Placement }>();
    for (const p of move.before) {
      if (p.folder === 'drafts' || p.folder === 'outbox' || p.folder === 'sent') continue;
      const key = p.folderId ?? p.folder;
      const g = groups.get(key) ?? groups.set(key, { ids: [], place: p }).get(key)!;
      g.ids.push(p.id);
    }
    for (const { ids, place } of groups.values()) {
      if (place.folderId && place.folder === 'archive') await this.move(ids, { folderId: place.folderId });
      else if (place.folder === 'trash') await this.move(ids, { folder: 'trash' });
      else await this.move(ids, { folder: place.folder as 'inbox' | 'archive' | 'spam' });
    }
    // Sent copies moved elsewhere go back by restore-like moves are not offered (Sent is kept by the server).
  }

  /** Back from Trash to where each came from (its custom folder, the folder before, or the Inbox). */
  async restore(entryIds: readonly string[]): Promise<Placement[]> {
    return (await this.api.request(mailRestore, { body: { entryIds: [...entryIds] } })).restored;
  }

  /** Deletes everything in Trash for good. Answers how many went. */
  async emptyTrash(): Promise<number> {
    return (await this.api.request(trashEmpty, {})).deleted;
  }

  /** Report spam (later mail from these senders goes to Spam) or Not spam (to the Inbox). */
  async reportSpam(entryIds: readonly string[], verdict: 'spam' | 'not-spam'): Promise<string[]> {
    return (await this.api.request(spamReport, { body: { entryIds: [...entryIds], verdict } })).senders;
  }

  async senderVerdicts() {
    return (await this.api.request(senderVerdictList, {})).verdicts;
  }

  async forgetSenderVerdict(address: string): Promise<void> {
    await this.api.request(senderVerdictRemove, { params: { address } });
  }
}
