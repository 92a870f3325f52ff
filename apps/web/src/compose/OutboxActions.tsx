import { useEffect, useState } from 'react';
import { ApiClient } from '@sealmail/client';
import { scheduledCancel, scheduledList } from '@sealmail/contract';
import { describeError, formatDateTime, useTranslation, type MailView } from '@sealmail/ui';
import type { ComposeSeed } from '../mail/Compose';
import { reopenSeed } from './reopen';

const api = new ApiClient({ baseUrl: '' });

/** Cancels the scheduled mail held in the Outbox entry `entryId` (404/409 when it left meanwhile). */
export async function cancelScheduledEntry(entryId: string): Promise<void> {
  const held = (await api.request(scheduledList, {})).scheduled.find((s) => s.entryId === entryId);
  if (!held) throw Object.assign(new Error('This mail has already left.'), { code: 'SCHEDULED_ALREADY_SENT' });
  await api.request(scheduledCancel, { params: { id: held.id } });
}

/**
 * The reader's actions for a mail waiting in the Outbox: when it leaves, Edit (the held one is
 * cancelled and the mail reopens in the compose window, to be sent or scheduled anew) and Cancel
 * sending.
 */
export function OutboxActions({ address, mail, onEdit, onCancelled }: { address: string; mail: MailView; onEdit: (seed: ComposeSeed) => void; onCancelled: () => void }) {
  const { t } = useTranslation();
  const [held, setHeld] = useState<{ sendAt: string; status: string; error: string | null } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    void api.request(scheduledList, {}).then((r) => setHeld(r.scheduled.find((s) => s.entryId === mail.entryId) ?? null), () => setHeld(null));
  }, [mail.entryId]);

  const cancel = async (edit: boolean) => {
    setProblem(null);
    try {
      // Its attachments and inline images are opened before the held mail (and its pieces) go.
      const seed = edit ? await reopenSeed(address, mail) : null;
      await cancelScheduledEntry(mail.entryId);
      if (seed) onEdit(seed);
      else onCancelled();
    } catch (err) {
      setProblem(describeError(err));
    }
  };

  return (
    <>
      {held && <span className="outbox-when">{held.status === 'failed' ? (held.error ?? t('composeTools.failed')) : t('composeTools.leavesAt', { time: formatDateTime(new Date(held.sendAt)) })}</span>}
      <button type="button" onClick={() => void cancel(true)}>
        {t('composeTools.edit')}
      </button>
      <button type="button" onClick={() => void cancel(false)}>
        {t('composeTools.cancelSending')}
      </button>
      {problem && <span role="alert">{problem}</span>}
    </>
  );
}
