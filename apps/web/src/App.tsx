import { useCallback, useEffect, useState } from 'react';
import { api, SignIn, type Session } from './SignIn';
import { Devices } from './Devices';
import { BackupKeyStep, deviceName, PendingStep } from './Setup';
import { keys } from './keys/client';
import type { SetUpResult } from './keys/protocol';

type Stage = { kind: 'loading' } | { kind: 'signed-out' } | { kind: 'setting-up' } | { kind: 'setup'; result: SetUpResult } | { kind: 'ready' } | { kind: 'error'; message: string };

/** Sign in; set up this device's keys (backup key or approval); then the account. */
export function App() {
  const [domains, setDomains] = useState<string[] | null>(null);
  const [session, setSession] = useState<Session | null>(null);
  const [stage, setStage] = useState<Stage>({ kind: 'loading' });
  const [notice, setNotice] = useState<string | null>(null);
  /** The server ended this session (device revoked, signed out elsewhere): back to sign-in. */
  const ended = useCallback((message: string) => {
    setNotice(message);
    setSession(null);
    setStage({ kind: 'signed-out' });
  }, []);

  useEffect(() => {
    api.info().then((i) => setDomains(i.domains), () => setDomains([]));
    api.session().then(
      (s) => setSession(s),
      () => setStage({ kind: 'signed-out' }),
    );
  }, []);

  useEffect(() => {
    if (!session || session.totpEnrollmentRequired) return;
    setStage({ kind: 'setting-up' });
    keys({ op: 'setUp', address: session.user.address, name: deviceName() }).then(
      (result) => setStage(result.outcome === 'existing' ? { kind: 'ready' } : { kind: 'setup', result }),
      (err: Error) => setStage({ kind: 'error', message: err.message }),
    );
  }, [session]);

  if (!session) return stage.kind === 'loading' ? <main className="signin">Loading…</main> : <SignIn domains={domains} onSignedIn={setSession} notice={notice} />;
  if (stage.kind === 'setup' && stage.result.outcome === 'first') return (
      <BackupKeyStep
        backupKey={stage.result.backupKey}
        onDone={() =>
          keys({ op: 'confirmBackup', address: session.user.address }).then(
            () => setStage({ kind: 'ready' }),
            (err: Error) => setStage({ kind: 'error', message: err.message }),
          )
        }
      />
    );
  if (stage.kind === 'setup' && stage.result.outcome === 'pending')
    return <PendingStep address={session.user.address} fingerprint={stage.result.fingerprint} onApproved={() => setStage({ kind: 'ready' })} />;
  return (
    <main className="signin wide">
      <h1>Signed in as {session.user.displayName}</h1>
      <p className="sub">{session.user.address}</p>
      {session.totpEnrollmentRequired && <p role="alert">Your organisation requires an authenticator app: set one up before using your mailbox.</p>}
      {stage.kind === 'error' && <p role="alert">Your keys could not be set up: {stage.message}</p>}
      {stage.kind === 'setting-up' && <p>Setting up this device’s keys…</p>}
      <dl className="facts">
        <dt>Second factor</dt>
        <dd>{session.totpEnabled ? 'on' : 'off'}</dd>
        <dt>Session ends</dt>
        <dd>{new Date(session.expiresAt).toLocaleString()}</dd>
      </dl>
      {stage.kind === 'ready' && <Devices address={session.user.address} onEnded={ended} />}
      <button type="button" onClick={() => api.signOut().finally(() => (setSession(null), setStage({ kind: 'signed-out' })))}>
        Sign out
      </button>
    </main>
  );
}
