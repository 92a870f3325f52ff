import { useCallback, useEffect, useState } from 'react';
import { ApiClientError } from '@sealmail/client';
import { describeError, i18n } from './i18n';

/** One blocked sender as the block-list routes answer it (a user's own, or the account's). */
export interface BlockedEntry {
  id: string;
  pattern: string;
  kind: 'address' | 'domain';
  createdAt: string;
}

/**
 * The state behind a blocked-senders list (the user's in the web client, the account's in the
 * admin console): loads it, adds and removes, and turns refusals into one clear line.
 */
export function useBlockList(calls: { list: () => Promise<BlockedEntry[]>; add: (pattern: string) => Promise<unknown>; remove: (id: string) => Promise<unknown> }) {
  const [entries, setEntries] = useState<BlockedEntry[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const failed = (err: unknown) => setProblem(describeError(err instanceof ApiClientError ? err : { code: 'NETWORK' }));
  const { list, add: addCall, remove: removeCall } = calls;
  const reload = useCallback(() => void list().then(setEntries, failed), [list]);
  useEffect(reload, [reload]);

  async function add(pattern: string): Promise<boolean> {
    setProblem(null);
    try {
      await addCall(pattern);
      reload();
      return true;
    } catch (err) {
      if (err instanceof ApiClientError && err.code === 'VALIDATION_FAILED') setProblem(i18n.t('blocked.invalid'));
      else failed(err);
      return false;
    }
  }
  async function remove(id: string) {
    setProblem(null);
    await removeCall(id).then(reload, failed);
  }
  return { entries, problem, add, remove };
}
