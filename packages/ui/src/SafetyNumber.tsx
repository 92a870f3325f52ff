import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { SafetyNumberView } from '@sealmail/client/identity';
import { keys } from './keys/client';
import { describeError } from './i18n';

/**
 * A person's safety number (docs/sigchain.md §7) as this device verified it, with "Mark as
 * verified" once the user compared it with them (in person, by phone); a change after that is
 * flagged. `initial` is what the worker already computed (the reader has it); otherwise it is asked for.
 */
export function SafetyNumber({ address, of, initial = null, own = false }: { address: string; of: string; initial?: SafetyNumberView | null; own?: boolean }) {
  const { t } = useTranslation();
  const [view, setView] = useState<SafetyNumberView | null>(initial);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    if (initial) return setView(initial);
    keys({ op: 'safetyNumber', address, of }).then(setView, (err: Error) => setProblem(describeError(err)));
  }, [address, of, initial]);

  async function markVerified() {
    if (!view) return;
    try {
      setView(await keys({ op: 'markVerified', address, of, number: view.number }));
    } catch (err) {
      setProblem(describeError(err));
    }
  }

  if (problem) return <p className="safety problem">{t('safety.unavailable', { problem })}</p>;
  if (!view) return null;
  const title = own ? t('safety.own') : t('safety.of', { address: of });
  return (
    <div className="safety" aria-label={title}>
      <span>{title}: </span>
      <span className="fp">{view.number}</span>{' '}
      {own ? (
        <span className="sub">{t('safety.ownHint')}</span>
      ) : view.verified ? (
        <span className="safety-verified">{t('safety.verified')}</span>
      ) : (
        <>
          {view.changedSinceVerified && <strong className="safety-changed">{t('safety.changed')}</strong>}
          <button type="button" className="link-button" onClick={() => void markVerified()}>
            {view.changedSinceVerified ? t('safety.markAgain') : t('safety.mark')}
          </button>
        </>
      )}
    </div>
  );
}
