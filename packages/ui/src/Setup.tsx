import { useEffect, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { clientName } from './clientName';
import { keys } from './keys/client';
import { describeError, formatNumber, i18n } from './i18n';

/** First device: the user must save the backup key, and prove it by typing two groups back. */
export function BackupKeyStep({ backupKey, onDone }: { backupKey: string; onDone: () => void }) {
  const { t } = useTranslation();
  const groups = backupKey.split('-');
  const [problem, setProblem] = useState<string | null>(null);
  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const norm = (v: FormDataEntryValue | null) => String(v ?? '').trim().toUpperCase();
    if (norm(f.get('g3')) === groups[2] && norm(f.get('g7')) === groups[6]) onDone();
    else setProblem(t('setup.mismatch'));
  }
  return (
    <main className="signin">
      <h1>{t('setup.backupTitle')}</h1>
      <p className="sub">{t('setup.backupIntro')}</p>
      <p className="backup-key" aria-label={t('setup.backupKey')}>
        {backupKey}
      </p>
      <form onSubmit={submit} aria-label={t('setup.confirmForm')}>
        <label>
          {t('setup.group3')}
          <input name="g3" autoComplete="off" required />
        </label>
        <label>
          {t('setup.group7')}
          <input name="g7" autoComplete="off" required />
        </label>
        <button type="submit">{t('setup.saved')}</button>
      </form>
      {problem && <p role="alert">{problem}</p>}
    </main>
  );
}

/**
 * A typed backup key checked for its shape before the worker parses it, so a person reads what a
 * key looks like instead of a parser's message: 32 letters and digits of Crockford's base 32
 * (I, L, O read as 1, 1, 0; U never used), in any grouping.
 */
export function backupKeyProblem(text: string): string | null {
  const clean = text.toUpperCase().replace(/[\s-]/g, '');
  const bad = [...clean].find((c) => !/[0-9A-HJ-NP-TV-Z]/.test(c) && !'IOL'.includes(c));
  if (bad) return i18n.t('pending.backupKeyCharacter', { character: bad });
  if (clean.length !== 32) return i18n.t('pending.backupKeyLength', { count: clean.length });
  return null;
}

/**
 * Another device: wait for approval (fingerprint to compare), or recover with the backup key.
 * While it waits, the server refuses this device every mail route (DEVICE_NOT_APPROVED), so the
 * way into the mailbox is "I approved it — open my mailbox", which goes in once another device
 * approved it, and otherwise says how to approve it.
 */
export function PendingStep({ address, fingerprint, onApproved }: { address: string; fingerprint: string; onApproved: () => void }) {
  const { t } = useTranslation();
  const [problem, setProblem] = useState<string | null>(null);
  const [generations, setGenerations] = useState<number[] | null>(null);
  useEffect(() => {
    keys({ op: 'generations', address }).then(setGenerations, () => setGenerations(null));
  }, [address]);
  async function check() {
    setProblem(null);
    try {
      const devices = await keys({ op: 'devices', address });
      if (devices.find((d) => d.thisDevice)?.status === 'approved') onApproved();
      else setProblem(t('pending.notYet'));
    } catch (err) {
      setProblem(describeError(err));
    }
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
      setProblem(describeError(err));
    }
  }
  async function recover(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setProblem(null);
    const backupKey = String(new FormData(e.currentTarget).get('backupKey') ?? '');
    const shape = backupKeyProblem(backupKey);
    if (shape) return setProblem(shape);
    try {
      await keys({ op: 'recover', address, name: deviceName(), backupKey });
      onApproved();
    } catch (err) {
      setProblem(describeError(err));
    }
  }
  return (
    <main className="signin">
      <h1>{t('pending.title')}</h1>
      <p className="sub">{t('pending.intro')}</p>
      <p className="backup-key" aria-label={t('pending.fingerprint')}>
        {fingerprint}
      </p>
      <p className="sub" aria-label={t('pending.generationsLabel')}>
        {t('pending.generations', { list: generations === null ? '…' : generations.length ? generations.map(formatNumber).join(', ') : t('pending.none') })}
      </p>
      <p className="sub">{t('pending.howTo')}</p>
      <button type="button" className="primary" onClick={() => void check()}>
        {t('pending.open')}
      </button>
      {problem && <p role="alert">{problem}</p>}
      <form onSubmit={recover} aria-label={t('pending.recoverForm')} noValidate>
        <label>
          {t('pending.backupKey')}
          <input name="backupKey" autoComplete="off" spellCheck={false} aria-describedby="backup-key-hint" required />
        </label>
        <span id="backup-key-hint" className="hint">
          {t('pending.backupKeyHint')}
        </span>
        <button type="submit">{t('pending.recover')}</button>
      </form>
      <details className="afresh">
        <summary>{t('pending.afreshSummary')}</summary>
        <form onSubmit={startAfresh} aria-label={t('pending.afreshForm')}>
          <p className="sub">{t('pending.afreshIntro')}</p>
          <label>
            {t('pending.password')}
            <input name="password" type="password" autoComplete="current-password" required />
          </label>
          <label>
            {t('pending.totp')}
            <input name="totp" inputMode="numeric" autoComplete="one-time-code" pattern="[0-9]{6}" />
          </label>
          <label className="check">
            <input name="sure" type="checkbox" required /> {t('pending.sure')}
          </label>
          <button type="submit">{t('pending.afresh')}</button>
        </form>
      </details>
    </main>
  );
}

/** Escrow is on for the account: the user is told, with the escrow key's fingerprint. */
export function EscrowNotice({ notice, onDone }: { notice: { fingerprint: string; endorsedBy: string; changed: boolean }; onDone: () => Promise<void> }) {
  const { t } = useTranslation();
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  return (
    <main className="signin">
      <h1>{t('escrow.title')}</h1>
      <p className="sub">
        {notice.changed ? t('escrow.changed') : ''}
        {t('escrow.body', { endorsedBy: notice.endorsedBy })}
      </p>
      <p className="backup-key" aria-label={t('escrow.fingerprint')}>
        {notice.fingerprint}
      </p>
      <p className="sub">{t('escrow.compare', { endorsedBy: notice.endorsedBy })}</p>
      {problem && <p role="alert">{problem}</p>}
      <button
        type="button"
        disabled={busy}
        onClick={() => {
          setBusy(true);
          onDone().catch((err: Error) => {
            setProblem(t('escrow.failed', { problem: describeError(err) }));
            setBusy(false);
          });
        }}
      >
        {t('escrow.accept')}
      </button>
    </main>
  );
}

/** This browser's default device name, from its User-Agent ("Chrome on Linux"); the user may rename it in Settings. */
export function deviceName(): string {
  return clientName(navigator.userAgent);
}
