import { useConsole } from '../console';
import { Discovery } from './escrow/Discovery';
import { EscrowKey } from './escrow/EscrowKey';
import { KeyHolders } from './escrow/KeyHolders';

/**
 * Escrow & discovery: the organisation's escrow key (on/off, device recovery), its escrow admins
 * (several; the key shared device to device), and the eDiscovery export (docs/admin.md).
 */
export function EscrowSection() {
  const { address, role } = useConsole();
  return (
    <>
      <EscrowKey address={address} />
      <KeyHolders address={address} isAdmin={role === 'admin'} />
      <Discovery address={address} />
    </>
  );
}
