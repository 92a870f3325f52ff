import { useEffect, useState, type FormEvent } from 'react';
import { clientName } from './clientName';
import { keys } from './keys/client';

/** First device: the user must save the backup key, and prove it by typing two groups back. */
export function BackupKeyStep({ backupKey, onDone }: { backupKey: string; onDone: () => void }) {
  const groups = backupKey.split('-');
  const [problem, setProblem] = useState<string | null>(null);
  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const norm = (v: FormDataEntryValue | null) => String(v ?? '').trim().toUpperCase();
    if (norm(f.get('g3')) === groups[2] && norm(f.get('g7')) === groups[6]) onDone();
    else setProblem('That does not match your backup key. Check what you wrote down.');
  }
  return (
    <main className="signin">
      <h1>Save your backup key</h1>
      <p className="sub">Your keys live on your devices. If you lose them all, this key is the only way back to your mail. Write it down and keep it safe.</p>
      <p className="backup-key" aria-label="Backup key">
        {backupKey}
      </p>
      <form onSubmit={submit} aria-label="Confirm backup key">
        <label>
          Group 3 of your backup key
          <input name="g3" autoComplete="off" required />
        </label>
        <label>
          Group 7 of your backup key
          <input name="g7" autoComplete="off" required />
        </label>
        <button type="submit">I have saved it</button>
      </form>
      {problem && <p role="alert">{problem}</p>}
    </main>
  );
}

/** Another device: wait for approval (fingerprint to compare), or recover with the backup key. */
export function PendingStep({ address, fingerprint, onApproved }: { address: string; fingerprint: string; onApproved: () => void }) {
  const [problem, setProblem] = useState<string | null>(null);
  const [generations, setGenerations] = useState<number[] | null>(null);
  useEffect(() => {
    keys({ op: 'generations', address }).then(setGenerations, () => setGenerations(null));
  }, [address]);
  async function check() {
    const devices = await keys({ op: 'devices', address });
    if (devices.find((d) => d.thisDevice)?.status === 'approved') onApproved();
    else setProblem('Not approved yet.');
  }
  async function startAfresh(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setProblem(null);
    try {
      const form = new FormData(e.currentTarget);
      const totp = String(form.get('totp') ?? '').trim();
      await keys({ op: 'startAfresh', address, password: String(form.get('password')), ...(totp ? { totp } : {}), name: deviceName() });
      onApproved();
    } catch (err) {
      setProblem((err as Error).message);
    }
  }
  async function recover(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setProblem(null);
    try {
      await keys({ op: 'recover', address, name: deviceName(), backupKey: String(new FormData(e.currentTarget).get('backupKey')) });
      onApproved();
    } catch (err) {
      setProblem((err as Error).message);
    }
  }
  return (
    <main className="signin">
      <h1>Approve this device</h1>
      <p className="sub">
        Until one of your other devices approves it, this device holds no keys: it cannot read any mail, old or new, and nothing is encrypted to it. Your other devices show a request
        now; approve it there only if the fingerprint reads:
      </p>
      <p className="backup-key" aria-label="This device's fingerprint">
        {fingerprint}
      </p>
      <p className="sub" aria-label="Key generations on this device">
        Key generations on this device: {generations === null ? '…' : generations.length ? generations.join(', ') : 'none'}
      </p>
      <button type="button" onClick={() => void check()}>
        I approved it
      </button>
      <form onSubmit={recover} aria-label="Recover with backup key">
        <label>
          No other device? Your backup key
          <input name="backupKey" autoComplete="off" required />
        </label>
        <button type="submit">Recover</button>
      </form>
      <details className="afresh">
        <summary>No other device, no backup key and no escrow?</summary>
        <form onSubmit={startAfresh} aria-label="Start your key history afresh">
          <p className="sub">
            You can start your keys afresh. Mail sent to your old keys can then never be read again, by anyone; your correspondents are shown that you started afresh and
            should compare your new safety number with you.
          </p>
          <label>
            Your password, to confirm
            <input name="password" type="password" autoComplete="current-password" required />
          </label>
          <label>
            Authenticator code (if you use one)
            <input name="totp" inputMode="numeric" autoComplete="one-time-code" pattern="[0-9]{6}" />
          </label>
          <label className="check">
            <input name="sure" type="checkbox" required /> I understand that my old mail stays unreadable
          </label>
          <button type="submit">Start afresh</button>
        </form>
      </details>
      {problem && <p role="alert">{problem}</p>}
    </main>
  );
}

/** Escrow is on for the account: the user is told, with the escrow key's fingerprint. */
export function EscrowNotice({ notice, onDone }: { notice: { fingerprint: string; endorsedBy: string; changed: boolean }; onDone: () => Promise<void> }) {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  return (
    <main className="signin">
      <h1>Your organisation can recover your mail</h1>
      <p className="sub">
        {notice.changed ? 'Your organisation has a new escrow key. ' : ''}Your administrators turned on escrow (device-managed encryption); {notice.endorsedBy} vouched for its key from their
        device, and your device checked that against their key history. When you continue, your device adds the organisation’s escrow key to your key history: escrow administrators can then
        restore your mail on a new device if you lose yours, and decrypt it when the law requires. Every such use is recorded and listed under Devices &amp; keys. You cannot remove it while
        escrow is on.
      </p>
      <p className="backup-key" aria-label="Escrow key fingerprint">
        {notice.fingerprint}
      </p>
      <p className="sub">Ask {notice.endorsedBy} to show you the same fingerprint.</p>
      {problem && <p role="alert">{problem}</p>}
      <button
        type="button"
        disabled={busy}
        onClick={() => {
          setBusy(true);
          onDone().catch((err: Error) => {
            setProblem(`The escrow key could not be added: ${err.message}`);
            setBusy(false);
          });
        }}
      >
        I understand — add it
      </button>
    </main>
  );
}

/** This browser's default device name, from its User-Agent ("Chrome on Linux"); the user may rename it in Settings. */
export function deviceName(): string {
  return clientName(navigator.userAgent);
}
