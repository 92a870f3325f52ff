import { useTranslation } from '@sealmail/ui';
import { MoveMenu } from './MoveMenu';
import type { MoveTarget } from './organise';

/**
 * Actions on the checked rows (x or a checkbox selects; Shift-click a checkbox for a range):
 * archive, delete, move, label, mark read or unread, report spam or not spam, clear.
 */
export function BulkBar({
  count,
  folder,
  folders,
  labels,
  onMove,
  onMark,
  onLabel,
  onSpam,
  onClear,
}: {
  count: number;
  folder: string;
  folders: { id: string; name: string }[];
  labels: { id: string; name: string }[];
  onMove: (to: MoveTarget, name: string) => void;
  onMark: (read: boolean) => void;
  onLabel: (labelId: string) => void;
  onSpam: (verdict: 'spam' | 'not-spam') => void;
  onClear: () => void;
}) {
  const { t } = useTranslation();
  return (
    <div className="bulk-bar" role="toolbar" aria-label={t('organise.bulkActions', { count })}>
      <span className="bulk-count">{t('organise.selected', { count })}</span>
      {folder !== 'archive' && (
        <button type="button" onClick={() => onMove({ folder: 'archive' }, t('mail.folders.archive'))}>
          {t('mail.archive')}
        </button>
      )}
      {folder !== 'trash' && (
        <button type="button" onClick={() => onMove({ folder: 'trash' }, t('mail.folders.trash'))}>
          {t('mail.delete')}
        </button>
      )}
      <MoveMenu folders={folders} current={folder} onMove={onMove} label={t('organise.moveSelected')} />
      {labels.length > 0 && (
        <select aria-label={t('organise.labelSelected')} value="" onChange={(e) => e.target.value && onLabel(e.target.value)}>
          <option value="">{t('mail.labelPlaceholder')}</option>
          {labels.map((l) => (
            <option key={l.id} value={l.id}>
              {l.name}
            </option>
          ))}
        </select>
      )}
      <button type="button" onClick={() => onMark(true)}>
        {t('organise.markRead')}
      </button>
      <button type="button" onClick={() => onMark(false)}>
        {t('organise.markUnread')}
      </button>
      {folder === 'spam' ? (
        <button type="button" onClick={() => onSpam('not-spam')}>
          {t('organise.notSpam')}
        </button>
      ) : (
        <button type="button" onClick={() => onSpam('spam')}>
          {t('organise.reportSpam')}
        </button>
      )}
      <button type="button" onClick={onClear}>
        {t('organise.clearSelection')}
      </button>
    </div>
  );
}
