import { NotYet } from './NotYet';

/** Legal hold: users whose mail cannot be deleted for good. */
export function LegalHold() {
  return <NotYet label="Legal hold" />;
}
