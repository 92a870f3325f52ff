import { useTranslation } from '@sealmail/ui';
import type { MoveTarget } from './organise';

const SYSTEM = ['inbox', 'archive', 'spam', 'trash'] as const;

/**
 * "Move to…": every folder a message can go to, system and custom (the keyboard way to do what
 * dragging a row onto a folder does). `current` is left out.
 */
export function MoveMenu({ folders, current, onMove, label }: { folders: { id: string; name: string }[]; current?: string | null; onMove: (to: MoveTarget, name: string) => void; label?: string }) {
  const { t } = useTranslation();
  return (
    <select
      aria-label={label ?? t('mail.moveTo')}
      value=""
      onChange={(e) => {
        const v = e.target.value;
        if (!v) return;
        const custom = folders.find((f) => `folder:${f.id}` === v);
        if (custom) onMove({ folderId: custom.id }, custom.name);
        else onMove({ folder: v as (typeof SYSTEM)[number] }, t(`mail.folders.${v}`));
      }}
    >
      <option value="">{t('mail.moveToPlaceholder')}</option>
      {SYSTEM.filter((f) => f !== current).map((f) => (
        <option key={f} value={f}>
          {t(`mail.folders.${f}`)}
        </option>
      ))}
      {folders
        .filter((f) => `folder:${f.id}` !== current)
        .map((f) => (
          <option key={f.id} value={`folder:${f.id}`}>
            {f.name}
          </option>
        ))}
    </select>
  );
}
