import { Escrow } from '../Escrow';
import { useConsole } from '../console';

/** Escrow & discovery: the organisation's escrow key and device recovery. */
export function EscrowSection() {
  const { address } = useConsole();
  return <Escrow address={address} />;
}
