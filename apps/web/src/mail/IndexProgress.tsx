import { useEffect, useState } from 'react';
import { keys, useTranslation } from '@sealmail/ui';

/** How often the bar asks the key worker how far the indexing got. */
const POLL_MS = 600;
/** The first indexing starts a moment after the mailbox shows, so the inbox comes first. */
const START_AFTER_MS = 1500;

/**
 * The on-device search index is built in the key worker (a Web Worker), in the background: this
 * starts it after the mailbox has shown and, while it runs, shows how far it got (mails indexed
 * of those the server holds). Searching meanwhile answers from what is indexed so far.
 */
export function IndexProgress({ address }: { address: string }) {
  const { t } = useTranslation();
  const [status, setStatus] = useState<{ running: boolean; indexed: number; total: number | null } | null>(null);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout>;
    const poll = async () => {
      try {
        const s = await keys({ op: 'searchStatus', address });
        if (stopped) return;
        setStatus(s);
        if (s.running) timer = setTimeout(() => void poll(), POLL_MS);
      } catch {
        // The bar is a courtesy: a failure here changes nothing else.
      }
    };
    const start = setTimeout(() => {
      void keys({ op: 'searchSync', address }).then(() => void (!stopped && poll()), () => undefined);
      timer = setTimeout(() => void poll(), 200);
    }, START_AFTER_MS);
    return () => {
      stopped = true;
      clearTimeout(start);
      clearTimeout(timer);
    };
  }, [address]);
  if (!status?.running) return null;
  const total = status.total ?? undefined;
  return (
    <div className="index-progress" role="status">
      <label>
        {total ? t('mailboxClient.indexing', { indexed: status.indexed.toLocaleString(), total: total.toLocaleString() }) : t('mailboxClient.indexingStart')}
        <progress max={total ?? 1} value={total ? Math.min(status.indexed, total) : undefined} />
      </label>
    </div>
  );
}
