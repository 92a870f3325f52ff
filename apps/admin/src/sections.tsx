/**
 * The console's sections, in sidebar order: one entry each, one URL each (no dots in a path: the
 * web host serves index.html only for paths without a file extension). Each section's component
 * lives in its own file under ./sections/. `roles`: who sees it (default: admins only).
 */
import type { ReactNode } from 'react';
import type { ConsoleRole } from './console';
import { Overview } from './sections/Overview';
import { Users } from './sections/Users';
import { DomainsSection } from './sections/Domains';
import { MailFlow } from './sections/MailFlow';
import { Security } from './sections/Security';
import { EscrowSection } from './sections/Escrow';
import { LegalHold } from './sections/LegalHold';
import { History } from './sections/History';
import { Reports } from './sections/Reports';
import { MailActivity } from './sections/MailActivity';
import { Import } from './sections/Import';
import { SharedMailboxes } from './sections/SharedMailboxes';
import { Resources } from './sections/Resources';

export interface Section {
  id: string;
  path: string;
  label: string;
  element: ReactNode;
  roles?: readonly ConsoleRole[];
}

export const sections: readonly Section[] = [
  { id: 'overview', path: '/', label: 'Overview', element: <Overview /> },
  { id: 'users', path: '/users', label: 'Users', element: <Users /> },
  { id: 'domains', path: '/domains', label: 'Domains', element: <DomainsSection /> },
  { id: 'mail-flow', path: '/mail-flow', label: 'Mail flow', element: <MailFlow /> },
  { id: 'shared-mailboxes', path: '/shared-mailboxes', label: 'Shared mailboxes', element: <SharedMailboxes /> },
  { id: 'security', path: '/security', label: 'Security', element: <Security /> },
  { id: 'escrow', path: '/escrow', label: 'Escrow & discovery', element: <EscrowSection />, roles: ['admin', 'escrow_admin'] },
  { id: 'legal-hold', path: '/legal-hold', label: 'Legal hold', element: <LegalHold /> },
  { id: 'mail-activity', path: '/mail-activity', label: 'Mail activity', element: <MailActivity /> },
  { id: 'history', path: '/history', label: 'Change history', element: <History /> },
  { id: 'reports', path: '/reports', label: 'Reports', element: <Reports /> },
  { id: 'import', path: '/import', label: 'Import', element: <Import /> },
  { id: 'resources', path: '/resources', label: 'Resources', element: <Resources /> },
];

/** The sections a role sees (admins: those without `roles`, and those naming admin). */
export function sectionsFor(role: ConsoleRole): readonly Section[] {
  return sections.filter((s) => (s.roles ?? ['admin']).includes(role));
}
