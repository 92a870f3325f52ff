import { useState, type FormEvent } from 'react';
import QRCode from 'qrcode';
import { ApiClientError } from '@sealmail/client';
import { api } from '../SignIn';

type Stage = { kind: 'idle' } | { kind: 'enrolling'; secret: string; qr: string } | { kind: 'codes'; codes: string[] };

const message = (err: unknown) => (err instanceof ApiClientError ? err.message : 'The server cannot be reached.');
const grouped = (secret: string) => secret.match(/.{1,4}/g)!.join(' ');

/**
 * The TOTP second factor: set up (QR code and the secret as text, confirmed with a code; then ten
 * one-time recovery codes), remove (with a code or the password), new recovery codes.
 */
export function Authenticator({ enabled, onChanged }: { enabled: boolean; onChanged: () => void }) {
  const [stage, setStage] = useState<Stage>({ kind: 'idle' });
  const [problem, setProblem] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);

  async function start() {
    setProblem(null);
    setStatus(null);
    try {
      const { secret, otpauthUrl } = await api.totpEnroll();
      setStage({ kind: 'enrolling', secret, qr: await QRCode.toDataURL(otpauthUrl, { margin: 1, width: 200, errorCorrectionLevel: 'M' }) });
    } catch (err) {
      setProblem(message(err));
    }
  }

  async function confirm(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const code = String(new FormData(e.currentTarget).get('code')).replace(/\s/g, '');
    setProblem(null);
    if (!/^\d{6}$/.test(code)) return setProblem('Type the 6 digits your app shows now.');
    try {
      const { recoveryCodes } = await api.totpConfirm(code);
      setStage({ kind: 'codes', codes: recoveryCodes });
    } catch (err) {
      setProblem(err instanceof ApiClientError && err.code === 'TOTP_INVALID' ? 'That code is not right: check the app and the time on this device, then type the current code.' : message(err));
    }
  }

  async function remove(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const data = new FormData(e.currentTarget);
    const code = String(data.get('code') ?? '').replace(/\s/g, '');
    const password = String(data.get('password') ?? '');
    setProblem(null);
    if (!code && !password) return setProblem('Type a code from your app, or your password, to remove it.');
    if (code && !/^\d{6}$/.test(code)) return setProblem('A code from the app has 6 digits.');
    try {
      await api.totpRemove(code ? { code } : { password });
      setStatus('The authenticator app was removed. Sign-in now needs only your password.');
      onChanged();
    } catch (err) {
      setProblem(message(err));
    }
  }

  async function renew(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const code = String(new FormData(e.currentTarget).get('code')).replace(/\s/g, '');
    setProblem(null);
    if (!/^\d{6}$/.test(code)) return setProblem('Type the 6 digits your app shows now.');
    try {
      setStage({ kind: 'codes', codes: (await api.totpRecoveryCodes(code)).recoveryCodes });
    } catch (err) {
      setProblem(message(err));
    }
  }

  const alerts = (
    <>
      {status && <p role="status">{status}</p>}
      {problem && <p role="alert">{problem}</p>}
    </>
  );

  if (stage.kind === 'codes')
    return (
      <section aria-labelledby="totp-title" className="account-section">
        <h2 id="totp-title">Save your recovery codes</h2>
        <p className="sub">Each code signs you in once in place of a code from the app, if you lose it. They are shown only now: print them or keep them in a password manager.</p>
        <ol className="recovery-codes" aria-label="Recovery codes">
          {stage.codes.map((c) => (
            <li key={c}>{c}</li>
          ))}
        </ol>
        <button
          type="button"
          onClick={() => {
            setStage({ kind: 'idle' });
            onChanged();
          }}
        >
          I have saved them
        </button>
      </section>
    );

  if (stage.kind === 'enrolling')
    return (
      <section aria-labelledby="totp-title" className="account-section">
        <h2 id="totp-title">Set up an authenticator app</h2>
        <ol className="steps">
          <li>
            Scan this QR code with your authenticator app:
            <img className="qr" src={stage.qr} width={200} height={200} alt="QR code of your authenticator secret" />
          </li>
          <li>
            Or type this secret into the app (time-based, 6 digits, 30 seconds):
            <code className="secret" aria-label="Authenticator secret">
              {grouped(stage.secret)}
            </code>
          </li>
          <li>
            <form onSubmit={confirm} aria-label="Confirm authenticator" className="stack">
              <label>
                6-digit code from the app
                <input name="code" inputMode="numeric" autoComplete="one-time-code" pattern="\s*\d{3}\s*\d{3}\s*" maxLength={8} required autoFocus />
              </label>
              <button type="submit">Confirm</button>
            </form>
          </li>
        </ol>
        {alerts}
      </section>
    );

  return (
    <section aria-labelledby="totp-title" className="account-section">
      <h2 id="totp-title">Authenticator app</h2>
      {enabled ? (
        <>
          <p className="sub">On: signing in needs a code from your app (or a recovery code).</p>
          <form onSubmit={renew} aria-label="New recovery codes" className="inline">
            <label>
              Code from the app
              <input name="code" inputMode="numeric" autoComplete="one-time-code" maxLength={8} required />
            </label>
            <button type="submit" className="secondary">
              Make new recovery codes
            </button>
          </form>
          <form onSubmit={remove} aria-label="Remove authenticator" className="stack">
            <p className="sub">To remove it, type a code from the app or your password.</p>
            <label>
              Code from the app
              <input name="code" inputMode="numeric" autoComplete="one-time-code" maxLength={8} />
            </label>
            <label>
              or your password
              <input name="password" type="password" autoComplete="current-password" />
            </label>
            <button type="submit" className="danger">
              Remove authenticator app
            </button>
          </form>
        </>
      ) : (
        <>
          <p className="sub">Off. With an app such as FreeOTP, Aegis or Google Authenticator, a stolen password alone no longer signs anyone in.</p>
          <button type="button" onClick={() => void start()}>
            Set up an authenticator app
          </button>
        </>
      )}
      {alerts}
    </section>
  );
}
