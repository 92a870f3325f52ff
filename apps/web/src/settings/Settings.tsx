import { useEffect, useRef } from 'react';
import { Devices, useTranslation } from '@sealmail/ui';
import type { Session } from '../SignIn';
import { Sessions } from '../account/Sessions';
import { PasswordForm } from '../account/PasswordForm';
import { Authenticator } from '../account/Authenticator';
import { BlockedSenders } from '../mail/Blocked';
import { DelegationSettings } from '../delegation/DelegationSettings';
import { Profile } from './Profile';
import { Appearance } from './Appearance';
import { Notifications } from './Notifications';
import { Language } from './Language';
import { Transfer } from '../transfer/Transfer';
import { ComposeSettings } from '../compose/ComposeSettings';
import { CalendarSharing } from './CalendarSharing';
import { Filters } from '../rules/Filters';
import { OutOfOffice } from '../rules/OutOfOffice';
import { LabelSettings } from './LabelSettings';
import { SenderVerdicts } from './SenderVerdicts';

/** The sections, in page order; each is reached at #settings/<id>. */
export const SECTIONS = ['profile', 'devices', 'sessions', 'security', 'delegation', 'blocked', 'spamSenders', 'labels', 'filters', 'outOfOffice', 'calendarSharing', 'compose', 'transfer', 'notifications', 'language', 'appearance'] as const;

/**
 * The settings page (#settings): one page of sections with a table of contents; on a phone it
 * fills the screen. Going to #settings/<section> scrolls to that section.
 */
export function Settings({ session, section, onEnded, onSignOut, onSignedOut, onSessionChanged, onBack }: { session: Session; section: string | null; onEnded: (message: string) => void; onSignOut: () => void; onSignedOut: () => void; onSessionChanged: () => void; onBack: () => void }) {
  const { t } = useTranslation();
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (section) document.getElementById(`settings-${section}`)?.scrollIntoView({ block: 'start' });
    else heading.current?.focus();
  }, [section]);
  return (
    <div className="settings-page">
      <nav className="settings-nav" aria-label={t('settings.sections')}>
        <button type="button" className="back-to-mail" onClick={onBack}>
          {t('settings.back')}
        </button>
        <ul>
          {SECTIONS.map((s) => (
            <li key={s}>
              <a href={`#settings/${s}`} aria-current={section === s ? 'location' : undefined}>
                {t(`settings.${s}`)}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main className="settings-main">
        <h1 ref={heading} tabIndex={-1}>
          {t('settings.title')}
        </h1>
        <Profile session={session} onChanged={onSessionChanged} onSignOut={onSignOut} />
        <div id="settings-devices" className="account-section">
          <Devices address={session.user.address} onEnded={onEnded} />
        </div>
        <div id="settings-sessions">
          <Sessions onSignedOut={onSignedOut} />
        </div>
        <div id="settings-security">
          <PasswordForm />
          <Authenticator enabled={session.totpEnabled} onChanged={onSessionChanged} />
        </div>
        <div id="settings-delegation">
          <DelegationSettings address={session.user.address} />
        </div>
        <div id="settings-blocked" className="account-section">
          <BlockedSenders />
        </div>
        <SenderVerdicts />
        <LabelSettings address={session.user.address} />
        <Filters address={session.user.address} />
        <OutOfOffice />
        <CalendarSharing />
        <ComposeSettings address={session.user.address} />
        <Transfer address={session.user.address} />
        <Notifications />
        <Language />
        <Appearance />
      </main>
    </div>
  );
}
