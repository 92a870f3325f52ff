import { useState, type FormEvent } from 'react';
import QRCode from 'qrcode';
import { ApiClientError } from '@sealmail/client';
import { describeError, useTranslation } from '@sealmail/ui';
import { api } from '../SignIn';

type Stage = { kind: 'idle' } | { kind: 'enrolling'; secret: string; qr: string } | { kind: 'codes'; codes: string[] };

const message = (err: unknown) => describeError(err instanceof ApiClientError ? err : { code: 'NETWORK' });
const grouped = (secret: string) => secret.match(/.{1,4}/g)!.join(' ');

/**
 * The TOTP second factor: set up (QR code and the secret as text, confirmed with a code; then ten
 * one-time recovery codes), remove (with a code or the password), new recovery codes.
 */
export function Authenticator({ enabled, onChanged }: { enabled: boolean; onChanged: () => void }) {
  const { t } = useTranslation();
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
    if (!/^\d{6}$/.test(code)) return setProblem(t('account.totp.digits'));
    try {
      const { recoveryCodes } = await api.totpConfirm(code);
      setStage({ kind: 'codes', codes: recoveryCodes });
    } catch (err) {
      setProblem(err instanceof ApiClientError && err.code === 'TOTP_INVALID' ? t('account.totp.wrong') : message(err));
    }
  }

  async function remove(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const data = new FormData(e.currentTarget);
    const code = String(data.get('code') ?? '').replace(/\s/g, '');
    const password = String(data.get('password') ?? '');
    setProblem(null);
    if (!code && !password) return setProblem(t('account.totp.codeOrPassword'));
    if (code && !/^\d{6}$/.test(code)) return setProblem(t('account.totp.sixDigits'));
    try {
      await api.totpRemove(code ? { code } : { password });
      setStatus(t('account.totp.removed'));
      onChanged();
    } catch (err) {
      setProblem(message(err));
    }
  }

  async function renew(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const code = String(new FormData(e.currentTarget).get('code')).replace(/\s/g, '');
    setProblem(null);
    if (!/^\d{6}$/.test(code)) return setProblem(t('account.totp.digits'));
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
        <h2 id="totp-title">{t('account.totp.codesTitle')}</h2>
        <p className="sub">{t('account.totp.codesIntro')}</p>
        <ol className="recovery-codes" aria-label={t('account.totp.codes')}>
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
          {t('account.totp.codesSaved')}
        </button>
      </section>
    );

  if (stage.kind === 'enrolling')
    return (
      <section aria-labelledby="totp-title" className="account-section">
        <h2 id="totp-title">{t('account.totp.setupTitle')}</h2>
        <ol className="steps">
          <li>
            {t('account.totp.scan')}
            <img className="qr" src={stage.qr} width={200} height={200} alt={t('account.totp.qrAlt')} />
          </li>
          <li>
            {t('account.totp.typeSecret')}
            <code className="secret" aria-label={t('account.totp.secret')}>
              {grouped(stage.secret)}
            </code>
          </li>
          <li>
            <form onSubmit={confirm} aria-label={t('account.totp.confirmForm')} className="stack">
              <label>
                {t('account.totp.sixDigitCode')}
                <input name="code" inputMode="numeric" autoComplete="one-time-code" pattern="\s*\d{3}\s*\d{3}\s*" maxLength={8} required autoFocus />
              </label>
              <button type="submit">{t('account.totp.confirm')}</button>
            </form>
          </li>
        </ol>
        {alerts}
      </section>
    );

  return (
    <section aria-labelledby="totp-title" className="account-section">
      <h2 id="totp-title">{t('account.totp.title')}</h2>
      {enabled ? (
        <>
          <p className="sub">{t('account.totp.onIntro')}</p>
          <form onSubmit={renew} aria-label={t('account.totp.renewForm')} className="inline">
            <label>
              {t('account.totp.code')}
              <input name="code" inputMode="numeric" autoComplete="one-time-code" maxLength={8} required />
            </label>
            <button type="submit" className="secondary">
              {t('account.totp.renew')}
            </button>
          </form>
          <form onSubmit={remove} aria-label={t('account.totp.removeForm')} className="stack">
            <p className="sub">{t('account.totp.removeIntro')}</p>
            <label>
              {t('account.totp.code')}
              <input name="code" inputMode="numeric" autoComplete="one-time-code" maxLength={8} />
            </label>
            <label>
              {t('account.totp.orPassword')}
              <input name="password" type="password" autoComplete="current-password" />
            </label>
            <button type="submit" className="danger">
              {t('account.totp.remove')}
            </button>
          </form>
        </>
      ) : (
        <>
          <p className="sub">{t('account.totp.offIntro')}</p>
          <button type="button" onClick={() => void start()}>
            {t('account.totp.setUp')}
          </button>
        </>
      )}
      {alerts}
    </section>
  );
}
