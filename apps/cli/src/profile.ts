/**
 * Where the CLI keeps its session: `<profile dir>/session.json`, readable only by its owner
 * (0600 in a 0700 directory). Default profile dir: ~/.config/sealmail.
 */
import { readFile, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writePrivate } from './keystore';

export interface StoredSession {
  api: string;
  address: string;
  /** Shown as the sender's name on mail sent from here (absent in sessions saved before it was kept). */
  displayName?: string;
  token: string;
  expiresAt: string;
}

export const defaultProfileDir = () => join(homedir(), '.config', 'sealmail');

/** Written as the key files are (keystore.ts writePrivate): atomically, 0600, never through a symlink. */
export async function saveSession(dir: string, s: StoredSession): Promise<void> {
  await writePrivate(dir, 'session.json', s);
}

export async function loadSession(dir: string): Promise<StoredSession | null> {
  try {
    return JSON.parse(await readFile(join(dir, 'session.json'), 'utf8')) as StoredSession;
  } catch {
    return null;
  }
}

export async function clearSession(dir: string): Promise<void> {
  await rm(join(dir, 'session.json'), { force: true });
}
