/**
 * The admin's Google Contacts import (POST /api/v1/admin/imports/contacts) parses the CSV on the
 * API's event loop. One within the contract's 4 MiB — the numbered E-mail/Phone/Website/Address
 * columns 1–99 and thousands of filler columns, rows of empty cells — took ~350 s of CPU: per row,
 * per number and per kind, every column was scanned again, and every request of that API process
 * waited. Now the numbered groups are worked out once from the header, and more than
 * MAX_CSV_COLUMNS columns are refused. The parse runs in a child process killed at a deadline
 * (a guard against a hang of minutes, not a measure of speed).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiError } from '@sealmail/contract';
import { childEnvironment } from '@sealmail/server';
import { MAX_CSV_COLUMNS, parseGoogleContactsCsv } from '../src/imports/contacts';

function inChild(deadlineMs: number): Promise<{ rows: number; contacts: number } | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'support', 'contacts-csv-child.ts')], { cwd: join(import.meta.dirname, '..'), env: childEnvironment({}), stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
    child.on('error', reject);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve(out.trim() ? (JSON.parse(out.trim()) as { rows: number; contacts: number }) : null);
    });
  });
}

describe('a hostile Google Contacts CSV', () => {
  it(`a 4 MiB CSV with ${MAX_CSV_COLUMNS} columns, 396 of them numbered, is parsed (it held the event loop for minutes)`, async () => {
    const r = await inChild(60_000);
    expect(r, 'no answer before the deadline: the parse blocked the process for more than a minute').not.toBeNull();
    expect(r!.rows).toBeGreaterThan(1000);
    expect(r!.contacts).toBe(r!.rows);
  }, 90_000);

  it('more columns than that are refused, naming the count', () => {
    const cols = ['First Name', ...Array.from({ length: MAX_CSV_COLUMNS }, (_, i) => `c${i}`)];
    let err: unknown;
    try {
      parseGoogleContactsCsv(`${cols.join(',')}\nAda${','.repeat(cols.length - 1)}`);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining(`${MAX_CSV_COLUMNS + 1} columns`) });
  });
});
