import { lazy, Suspense, useCallback, useEffect, useState, type ReactNode } from 'react';
import { Devices, formatDateTime, KeyGate, useTranslation } from '@sealmail/ui';
import { api, SignIn, type Session } from './SignIn';
import { Mailbox } from './mail/Mailbox';
import { BlockedSenders } from './mail/Blocked';
import { Sessions } from './account/Sessions';
import { PasswordForm } from './account/PasswordForm';
import { Authenticator } from './account/Authenticator';

/** The Calendar view, a chunk of its own: the mailbox's first paint does not load it. */
const Calendar = lazy(() => import('./calendar/Calendar').then((m) => ({ default: m.Calendar })));
/** `#calendar` shows the calendar; anything else the mailbox. */
function useHash(): string {
  const [hash, setHash] = useState(() => window.location.hash);
  useEffect(() => {
    const changed = () => setHash(window.location.hash);
    window.addEventListener('hashchange', changed);
    return () => window.removeEventListener('hashchange', changed);
  }, []);
  return hash;
}

/** Sign in; set up this device's keys (backup key, approval, escrow notice); then the mailbox. */
export function App() {
  const { t } = useTranslation();
  const [domains, setDomains] = useState<string[] | null>(null);
  const [session, setSession] = useState<Session | null>(null);
  const [loading, setLoading] = useState(true);
  const [notice, setNotice] = useState<string | null>(null);
  const hash = useHash();
  /**
   * The server refused this session: ended (device revoked, signed out elsewhere) — back to
   * sign-in with the reason — or still alive but now limited (the organisation began requiring
   * TOTP, or an admin reset the password) — then the enrolment or password screen.
   */
  const ended = useCallback((message: string) => {
    api.session().then(
      (s) => setSession(s.totpEnrollmentRequired || s.passwordChangeRequired ? s : null),
      () => setSession(null),
    );
    setNotice(message);
  }, []);

  useEffect(() => {
    api.info().then((i) => setDomains(i.domains ?? []), () => setDomains([]));
    api.session().then(setSession, () => undefined).finally(() => setLoading(false));
  }, []);

  if (!session) return loading ? <main className="signin">{t('app.loading')}</main> : <SignIn domains={domains} onSignedIn={setSession} notice={notice} />;
  const signOut = () => void api.signOut().finally(() => setSession(null));
  /** After a change to the password or second factor: what the session may do now. */
  const refresh = () => void api.session().then(setSession, () => setSession(null));
  // An administrator reset the password: a new one first, then everything else.
  if (session.passwordChangeRequired)
    return (
      <Account session={session} onSignOut={signOut}>
        <PasswordForm forced onChanged={refresh} />
      </Account>
    );
  // The organisation requires a second factor: set it up here, then carry on (never a lockout).
  if (session.totpEnrollmentRequired)
    return (
      <Account session={session} onSignOut={signOut}>
        <Authenticator enabled={false} onChanged={refresh} />
      </Account>
    );
  return (
    <KeyGate address={session.user.address} onEnded={ended}>
      {hash === '#calendar' ? (
        <Suspense fallback={<main className="signin">{t('app.loading')}</main>}>
          <Calendar onMail={() => (window.location.hash = '')} />
        </Suspense>
      ) : (
        <Mailbox
          address={session.user.address}
          displayName={session.user.displayName}
          onEnded={ended}
          settings={
            <Account session={session} onSignOut={signOut}>
              <Devices address={session.user.address} onEnded={ended} />
              <Sessions onSignedOut={() => setSession(null)} />
              <PasswordForm />
              <Authenticator enabled={session.totpEnabled} onChanged={refresh} />
              <BlockedSenders />
            </Account>
          }
        />
      )}
    </KeyGate>
  );
}

function Account({ session, onSignOut, children }: { session: Session; onSignOut: () => void; children?: ReactNode }) {
  const { t } = useTranslation();
  return (
    <main className="signin wide">
      <h1>{t('account.signedInAs', { name: session.user.displayName })}</h1>
      <p className="sub">{session.user.address}</p>
      {session.totpEnrollmentRequired && <p role="alert">{t('account.totpRequired')}</p>}
      <dl className="facts">
        <dt>{t('account.secondFactor')}</dt>
        <dd>{session.totpEnabled ? t('account.on') : t('account.off')}</dd>
        <dt>{t('account.sessionEnds')}</dt>
        <dd>{formatDateTime(session.expiresAt)}</dd>
      </dl>
      {children}
      <button type="button" onClick={onSignOut}>
        {t('common.signOut')}
      </button>
    </main>
  );
}
