import { lazy, useCallback, useEffect, useState, type ReactNode } from 'react';
import { formatDateTime, KeyGate, useTranslation } from '@sealmail/ui';
import { api, SignIn, type Session } from './SignIn';
import { Welcome } from './account/Welcome';
// The first screen is sign-in: everything behind it loads on demand (Suspense in main.tsx), so
// the first paint stays within its budget (README "Size budgets").
const loadMailbox = () => import('./mail/Mailbox');
const Mailbox = lazy(() => loadMailbox().then((m) => ({ default: m.Mailbox })));
const Settings = lazy(() => import('./settings/Settings').then((m) => ({ default: m.Settings })));
const PasswordForm = lazy(() => import('./account/PasswordForm').then((m) => ({ default: m.PasswordForm })));
const Authenticator = lazy(() => import('./account/Authenticator').then((m) => ({ default: m.Authenticator })));
import { ReminderNotices } from './calendar/ReminderNotices';
/** The Calendar view (#calendar), a chunk of its own. */
const Calendar = lazy(() => import('./calendar/Calendar').then((m) => ({ default: m.Calendar })));
/** The address book (#contacts), a chunk of its own. */
const Contacts = lazy(() => import('./contacts/Contacts').then((m) => ({ default: m.Contacts })));

/** Where the user is: the mailbox, #settings (optionally #settings/<section>) or #calendar. */
function useHash() {
  const [hash, setHash] = useState(() => location.hash);
  useEffect(() => {
    // Links (#settings/devices) fire hashchange; the browser's Back and Forward fire popstate.
    const changed = () => setHash(location.hash);
    window.addEventListener('hashchange', changed);
    window.addEventListener('popstate', changed);
    return () => {
      window.removeEventListener('hashchange', changed);
      window.removeEventListener('popstate', changed);
    };
  }, []);
  const navigate = useCallback((to: string) => {
    if (to === location.hash || (to === '' && !location.hash)) return;
    // Back to the mailbox drops the hash from the address (no "#" left behind).
    if (to === '') history.pushState(null, '', location.pathname + location.search);
    else history.pushState(null, '', to);
    setHash(to);
  }, []);
  return { hash, navigate };
}

/** Sign in; set up this device's keys (backup key, approval, escrow notice); then the mailbox or settings. */
export function App() {
  const { t } = useTranslation();
  const [domains, setDomains] = useState<string[] | null>(null);
  const [session, setSession] = useState<Session | null>(null);
  const [loading, setLoading] = useState(true);
  const [notice, setNotice] = useState<string | null>(null);
  const { hash, navigate } = useHash();
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

  // Signed in: fetch the mailbox's code while the key worker sets up this device's keys (KeyGate),
  // rather than after (the first inbox view waits for both).
  useEffect(() => {
    if (session) void loadMailbox().catch(() => undefined);
  }, [session]);
  useEffect(() => {
    api.info().then((i) => setDomains(i.domains ?? []), () => setDomains([]));
    api.session().then(setSession, () => undefined).finally(() => setLoading(false));
  }, []);

  // An administrator's set-up link: choose a password, then this device's keys (KeyGate below).
  if (!session && window.location.pathname === '/welcome') return <Welcome onSignedIn={setSession} />;
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
  const inSettings = hash.startsWith('#settings');
  if (hash === '#calendar')
    return (
      <KeyGate address={session.user.address} onEnded={ended}>
        <Calendar onMail={() => navigate('')} />
        <ReminderNotices />
      </KeyGate>
    );
  if (hash === '#contacts')
    return (
      <KeyGate address={session.user.address} onEnded={ended}>
        <Contacts address={session.user.address} onMail={() => navigate('')} />
      </KeyGate>
    );
  return (
    <KeyGate address={session.user.address} onEnded={ended}>
      <Mailbox
        address={session.user.address}
        displayName={session.user.displayName}
        onEnded={ended}
        view={inSettings ? 'settings' : 'mail'}
        onNavigate={navigate}
        onSignOut={signOut}
        settings={<Settings session={session} section={/^#settings\/(\w+)/.exec(hash)?.[1] ?? null} onEnded={ended} onSignOut={signOut} onSignedOut={() => setSession(null)} onSessionChanged={refresh} onBack={() => navigate('')} />}
      />
      <ReminderNotices />
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
