import { useCallback, useEffect, useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { describeError, endedMessage } from './i18n';
import { keys } from './keys/client';
import type { SetUpResult } from './keys/protocol';
import { BackupKeyStep, deviceName, EscrowNotice, PendingStep } from './Setup';

/**
 * Opens the signed-in part of a front end only once this device's keys are in order: a new
 * first device shows the backup key (typed back to confirm), another device waits for approval
 * or recovers with the backup key, and the escrow notice is acknowledged when escrow is on.
 * `onEnded` gets a message for a person when the session ended (a revoked device is told why) or
 * may only change its password or enrol TOTP: the app shows it on the screen that comes next.
 */
export function KeyGate({ address, onEnded, children }: { address: string; onEnded: (message: string) => void; children: ReactNode }) {
  const { t } = useTranslation();
  const [result, setResult] = useState<SetUpResult | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  const run = useCallback(() => {
    keys({ op: 'setUp', address, name: deviceName() }).then(
      (r) => {
        setProblem(null);
        setResult(r);
      },
      (err: Error & { code?: string }) => (['DEVICE_REVOKED', 'UNAUTHENTICATED', 'TOTP_ENROLLMENT_REQUIRED', 'PASSWORD_CHANGE_REQUIRED'].includes(err.code ?? '') ? onEnded(endedMessage(err)) : setProblem(describeError(err))),
    );
  }, [address, onEnded]);
  useEffect(() => run(), [run]);

  if (problem)
    return (
      <main className="signin">
        <p role="alert">{t('setup.failed', { problem })}</p>
        <button type="button" onClick={run}>
          {t('setup.retry')}
        </button>
      </main>
    );
  if (!result) return <main className="signin">{t('setup.working')}</main>;
  if (result.backupKey) return <BackupKeyStep backupKey={result.backupKey} onDone={() => void keys({ op: 'confirmBackup', address }).then(run)} />;
  if (result.fingerprint) return <PendingStep address={address} fingerprint={result.fingerprint} onApproved={run} />;
  if (result.escrowNotice) return <EscrowNotice notice={result.escrowNotice} onDone={() => keys({ op: 'confirmEscrowNotice', address }).then(run)} />;
  return <>{children}</>;
}
