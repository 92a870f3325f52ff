import { useEffect, useState } from 'react';
import { keys, useTranslation, type DelegationOverview } from '@sealmail/ui';
import { delegationError } from './errors';
import './delegation.css';

export type DelegatedMailbox = DelegationOverview['mailboxes'][number];

/**
 * Switches between the user's own mailbox and mailboxes delegated to them (docs/mail.md
 * "Delegation"). Shown only when there is one to switch to. The key worker checks the grant in the
 * mailbox's verified key history and opens its keys before the switch takes effect; mail sent from
 * a delegated mailbox goes out as it, marked as sent by this user.
 */
export function MailboxSwitcher({ address, current, onSwitch }: { address: string; current: DelegatedMailbox | null; onSwitch: (mailbox: DelegatedMailbox | null) => void }) {
  const { t } = useTranslation();
  const [mailboxes, setMailboxes] = useState<DelegatedMailbox[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    void keys({ op: 'delegationOverview', address }).then(
      (o) => setMailboxes(o.mailboxes),
      () => setMailboxes([]),
    );
  }, [address]);
  if (!mailboxes.length && !current) return null;

  async function choose(userId: string) {
    const next = mailboxes.find((m) => m.userId === userId) ?? null;
    setBusy(true);
    setProblem(null);
    try {
      await keys({ op: 'useMailbox', address, mailbox: next ? { userId: next.userId, address: next.address } : null });
      onSwitch(next);
    } catch (err) {
      setProblem(delegationError(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="mailbox-switcher">
      <label htmlFor="mailbox-switcher">{t('delegation.switcher')}</label>
      <select id="mailbox-switcher" value={current?.userId ?? ''} disabled={busy} onChange={(e) => void choose(e.currentTarget.value)}>
        <option value="">{t('delegation.ownMailbox', { address })}</option>
        {mailboxes.map((m) => (
          <option key={m.userId} value={m.userId}>
            {m.shared ? t('delegation.sharedOption', { address: m.address }) : m.address}
          </option>
        ))}
      </select>
      {current && <p className="mailbox-note">{current.rights === 'send' ? t('delegation.noteSend', { mailbox: current.address }) : t('delegation.noteRead', { mailbox: current.address })}</p>}
      {problem && (
        <p role="alert" className="warning">
          {problem}
        </p>
      )}
    </div>
  );
}

/** The actions on a mail in a delegated mailbox: answering (as the mailbox, where send-as was granted); its folders and flags stay its owner's. */
export function DelegatedActions({ onReply }: { onReply: (all: boolean) => void }) {
  const { t } = useTranslation();
  return (
    <div className="actions" role="toolbar" aria-label={t('mail.actions')}>
      <button type="button" onClick={() => onReply(false)} title={t('mail.replyShortcut')}>
        {t('mail.reply')}
      </button>
      <button type="button" onClick={() => onReply(true)} title={t('mail.replyAllShortcut')}>
        {t('mail.replyAll')}
      </button>
    </div>
  );
}
