/**
 * The mailbox sidebar's own part (docs/mail.md "Organising mail"): the Starred view, custom
 * folders (names sealed in the key worker; the server sees ids) with unread counts, a field to
 * make one, rename/delete for the open one, Empty Trash with a confirmation, and every folder
 * button as a drop target for dragged rows.
 */
import { useCallback, useEffect, useState, type DragEvent } from 'react';
import { keys, useTranslation } from '@sealmail/ui';
import { deleteFolder, DRAG_TYPE, emptyTrash, type MoveTarget } from './organise';

export interface CustomFolderView {
  id: string;
  name: string;
  total: number;
  unread: number;
}

/** The views the sidebar adds beside system folders and labels, kept in the mailbox's `label` slot. */
export const STARRED = 'view:starred';
export const folderView = (id: string) => `folder:${id}`;
export const customFolderOf = (label: string | null) => (label?.startsWith('folder:') ? label.slice('folder:'.length) : null);

/** Props that make an element a drop target for dragged rows. */
export function dropTarget(onDrop: (ids: string[]) => void) {
  return {
    onDragOver: (e: DragEvent) => {
      if (e.dataTransfer?.types.includes(DRAG_TYPE)) {
        e.preventDefault();
        e.dataTransfer.dropEffect = 'move';
        (e.currentTarget as HTMLElement).classList.add('drop-here');
      }
    },
    onDragLeave: (e: DragEvent) => (e.currentTarget as HTMLElement).classList.remove('drop-here'),
    onDrop: (e: DragEvent) => {
      (e.currentTarget as HTMLElement).classList.remove('drop-here');
      const raw = e.dataTransfer?.getData(DRAG_TYPE);
      if (!raw) return;
      e.preventDefault();
      const ids = (JSON.parse(raw) as unknown[]).filter((x): x is string => typeof x === 'string');
      if (ids.length) onDrop(ids);
    },
  };
}

/** The custom folders of a mailbox, refreshed on demand. */
export function useCustomFolders(address: string, failed: (err: unknown) => void) {
  const [folders, setFolders] = useState<CustomFolderView[]>([]);
  const reload = useCallback(() => void keys({ op: 'folders', address }).then(setFolders, failed), [address, failed]);
  useEffect(() => reload(), [reload]);
  return { folders, reload };
}

export function CustomFolders({
  address,
  folders,
  current,
  onOpen,
  onDropTo,
  reload,
  failed,
}: {
  address: string;
  folders: CustomFolderView[];
  /** The mailbox's view key (a label id, STARRED or folderView(id)), null for a system folder. */
  current: string | null;
  onOpen: (view: string) => void;
  onDropTo: (ids: string[], to: MoveTarget, name: string) => void;
  reload: () => void;
  failed: (err: unknown) => void;
}) {
  const { t } = useTranslation();
  const [name, setName] = useState('');
  async function create() {
    if (!name.trim()) return;
    try {
      await keys({ op: 'createFolder', address, name });
      setName('');
      reload();
    } catch (err) {
      failed(err);
    }
  }
  return (
    <>
      <ul aria-label={t('organise.views')}>
        <li>
          <button type="button" aria-current={current === STARRED ? 'page' : undefined} onClick={() => onOpen(STARRED)}>
            {t('organise.starred')}
          </button>
        </li>
      </ul>
      <h3 className="labels-title">{t('organise.folders')}</h3>
      <ul aria-label={t('organise.folders')}>
        {folders.map((f) => (
          <li key={f.id}>
            <button type="button" aria-current={current === folderView(f.id) ? 'page' : undefined} onClick={() => onOpen(folderView(f.id))} {...dropTarget((ids) => onDropTo(ids, { folderId: f.id }, f.name))}>
              {f.name}
              {!!f.unread && (
                <span className="count" aria-label={t('mail.countUnread', { count: f.unread })}>
                  {f.unread}
                </span>
              )}
            </button>
          </li>
        ))}
      </ul>
      <form className="new-label" onSubmit={(e) => (e.preventDefault(), void create())}>
        <input aria-label={t('organise.newFolder')} placeholder={t('organise.newFolder')} value={name} onChange={(e) => setName(e.target.value)} maxLength={100} />
      </form>
    </>
  );
}

/** Rename and delete for the custom folder that is open (its mail goes to the Inbox on delete). */
export function FolderTools({ address, folder, onChanged, onDeleted, failed }: { address: string; folder: CustomFolderView; onChanged: () => void; onDeleted: (moved: number) => void; failed: (err: unknown) => void }) {
  const { t } = useTranslation();
  const [renaming, setRenaming] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);
  if (renaming !== null) {
    return (
      <form
        className="folder-tools"
        onSubmit={(e) => {
          e.preventDefault();
          keys({ op: 'renameFolder', address, id: folder.id, name: renaming }).then(() => (setRenaming(null), onChanged()), failed);
        }}
      >
        <input aria-label={t('organise.folderName')} value={renaming} onChange={(e) => setRenaming(e.target.value)} maxLength={100} autoFocus />
        <button type="submit">{t('organise.save')}</button>
        <button type="button" onClick={() => setRenaming(null)}>
          {t('organise.cancel')}
        </button>
      </form>
    );
  }
  return (
    <div className="folder-tools">
      {confirming ? (
        <>
          <span>{t('organise.deleteFolderConfirm', { name: folder.name })}</span>
          <button type="button" onClick={() => deleteFolder(folder.id).then((r) => (setConfirming(false), onDeleted(r.moved)), failed)}>
            {t('organise.deleteFolder')}
          </button>
          <button type="button" onClick={() => setConfirming(false)}>
            {t('organise.cancel')}
          </button>
        </>
      ) : (
        <>
          <button type="button" onClick={() => setRenaming(folder.name)}>
            {t('organise.renameFolder')}
          </button>
          <button type="button" onClick={() => setConfirming(true)}>
            {t('organise.deleteFolder')}
          </button>
        </>
      )}
    </div>
  );
}

/** Empty Trash, after a confirmation naming how many messages go for good. */
export function EmptyTrash({ count, onEmptied, failed }: { count: number; onEmptied: (deleted: number) => void; failed: (err: unknown) => void }) {
  const { t } = useTranslation();
  const [confirming, setConfirming] = useState(false);
  if (!count) return null;
  return (
    <div className="folder-tools">
      {confirming ? (
        <>
          <span>{t('organise.emptyTrashConfirm', { count })}</span>
          <button type="button" className="danger" onClick={() => emptyTrash().then((r) => (setConfirming(false), onEmptied(r.deleted)), failed)}>
            {t('organise.deleteForGood')}
          </button>
          <button type="button" onClick={() => setConfirming(false)}>
            {t('organise.cancel')}
          </button>
        </>
      ) : (
        <button type="button" onClick={() => setConfirming(true)}>
          {t('organise.emptyTrash')}
        </button>
      )}
    </div>
  );
}

/** The list request for a view key: a label id, Starred, or a custom folder. */
export function listArgs(view: string | null): { label?: string; starred?: boolean; folderId?: string } {
  if (!view) return {};
  if (view === STARRED) return { starred: true };
  const folderId = customFolderOf(view);
  return folderId ? { folderId } : { label: view };
}
