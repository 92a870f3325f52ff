import { useEffect, useState } from 'react';
import type { SafetyNumberView } from '@sealmail/client/identity';
import { keys } from './keys/client';

/**
 * A person's safety number (docs/sigchain.md §7) as this device verified it, with "Mark as
 * verified" once the user compared it with them (in person, by phone); a change after that is
 * flagged. `initial` is what the worker already computed (the reader has it); otherwise it is asked for.
 */
export function SafetyNumber({ address, of, initial = null, own = false }: { address: string; of: string; initial?: SafetyNumberView | null; own?: boolean }) {
  const [view, setView] = useState<SafetyNumberView | null>(initial);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    if (initial) return setView(initial);
    keys({ op: 'safetyNumber', address, of }).then(setView, (err: Error) => setProblem(err.message));
  }, [address, of, initial]);

  async function markVerified() {
    if (!view) return;
    try {
      setView(await keys({ op: 'markVerified', address, of, number: view.number }));
    } catch (err) {
      setProblem((err as Error).message);
    }
  }

  if (problem) return <p className="safety problem">Safety number unavailable: {problem}</p>;
  if (!view) return null;
  return (
    <div className="safety" aria-label={own ? 'Your safety number' : `Safety number of ${of}`}>
      <span>{own ? 'Your safety number' : `Safety number of ${of}`}: </span>
      <span className="fp">{view.number}</span>{' '}
      {own ? (
        <span className="sub">— people who write to you can compare it with the one they see.</span>
      ) : view.verified ? (
        <span className="safety-verified">✓ verified by you</span>
      ) : (
        <>
          {view.changedSinceVerified && <strong className="safety-changed">Changed since you verified it. </strong>}
          <button type="button" className="link-button" onClick={() => void markVerified()}>
            {view.changedSinceVerified ? 'I compared it again — mark as verified' : 'I compared it with them — mark as verified'}
          </button>
        </>
      )}
    </div>
  );
}
