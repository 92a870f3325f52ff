/**
 * The clock a process runs on. Production: the real one. End-to-end tests (only) name a file with
 * `SEALMAIL_CLOCK_FILE` holding how many milliseconds the clock runs ahead of real time, and move
 * it by rewriting the file (e2e/compose.test.ts releases a scheduled mail that way). The file is
 * read again at most once every 200 ms; a missing or unreadable file means no offset.
 */
import { readFileSync } from 'node:fs';

export type Clock = () => Date;

export const systemClock: Clock = () => new Date();

/** A clock `offset` file milliseconds ahead of real time (tests only). */
export function fileOffsetClock(file: string): Clock {
  let offset = 0;
  let readAt = 0;
  return () => {
    const real = Date.now();
    if (real - readAt >= 200) {
      readAt = real;
      try {
        const n = Number(readFileSync(file, 'utf8').trim());
        offset = Number.isFinite(n) ? n : 0;
      } catch {
        offset = 0;
      }
    }
    return new Date(real + offset);
  };
}

/** The clock a process uses: the test file's when `SEALMAIL_CLOCK_FILE` is set, otherwise the real one. */
export const clockFromConfig = (config: { clockFile: string | undefined }): Clock => (config.clockFile ? fileOffsetClock(config.clockFile) : systemClock);
