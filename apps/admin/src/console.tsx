/** What every console section may read: who is signed in, and the console's alert line. */
import { createContext, useContext } from 'react';

export type ConsoleRole = 'admin' | 'escrow_admin' | 'user';

export interface ConsoleContextValue {
  /** The signed-in administrator's address. */
  address: string;
  role: ConsoleRole;
  /** Shows (or, with null, clears) the console-wide alert under the section. */
  setProblem: (message: string | null) => void;
}

export const ConsoleContext = createContext<ConsoleContextValue | null>(null);

/** The signed-in console's context; only inside the signed-in shell. */
export function useConsole(): ConsoleContextValue {
  const c = useContext(ConsoleContext);
  if (!c) throw new Error('useConsole outside the signed-in console');
  return c;
}
