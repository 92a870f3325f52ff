/**
 * Organising calls the main thread makes itself (no keys involved: ids and folders only). Names of
 * folders and labels are sealed in the key worker (ops createFolder, renameFolder, renameLabel).
 */
import { ApiClient } from '@sealmail/client';
import { folderDelete, mailBulk, mailRestore, spamReport, trashEmpty } from '@sealmail/contract';

const api = new ApiClient({ baseUrl: '' });

export type Place = Awaited<ReturnType<typeof bulk>>['before'][number];
export type MoveTarget = { folder: 'inbox' | 'archive' | 'trash' | 'spam' } | { folderId: string };

export const bulk = (entryIds: readonly string[], change: MoveTarget | { read?: boolean; starred?: boolean; addLabels?: string[]; removeLabels?: string[] }) => api.request(mailBulk, { body: { entryIds: [...entryIds], ...change } });

/** Puts entries back where they were before a move (one request per former place). */
export async function undoMove(before: readonly Place[]): Promise<void> {
  const groups = new Map<string, { ids: string[]; to: MoveTarget }>();
  for (const p of before) {
    const to: MoveTarget | null = p.folderId && p.folder === 'archive' ? { folderId: p.folderId } : p.folder === 'inbox' || p.folder === 'archive' || p.folder === 'trash' || p.folder === 'spam' ? { folder: p.folder } : null;
    if (!to) continue;
    const key = JSON.stringify(to);
    (groups.get(key) ?? groups.set(key, { ids: [], to }).get(key)!).ids.push(p.id);
  }
  for (const g of groups.values()) await bulk(g.ids, g.to);
}

export const restore = (entryIds: readonly string[]) => api.request(mailRestore, { body: { entryIds: [...entryIds] } });
export const emptyTrash = () => api.request(trashEmpty, {});
export const reportSpam = (entryIds: readonly string[], verdict: 'spam' | 'not-spam') => api.request(spamReport, { body: { entryIds: [...entryIds], verdict } });
export const deleteFolder = (id: string) => api.request(folderDelete, { params: { folderId: id }, query: { moveTo: 'inbox' } });

/** What a dragged row carries: the entry ids (the checked ones, or the dragged row alone). */
export const DRAG_TYPE = 'application/x-sealmail-entries';
