/**
 * Folders from the command line against a real API over TLS (docs/mail.md "Organising mail"):
 * bob makes a folder (its name sealed on his device: not in the database), moves a mail into it
 * by the folder's name, deletes it to trash, restores it into the folder, renames and deletes
 * the folder (the mail goes to inbox), and empties trash.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli';
import { startCliStack, type CliStack } from './support';

let s: CliStack;
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const CANARY = 'canary-cli-folder-5d1e';
const as = (who: 'alice' | 'bob', lines: string[], ...argv: string[]) => s.cliAs(who, lines, ...argv, '--api', s.url, '--ca', s.caFile);

beforeAll(async () => {
  s = await startCliStack();
  expect((await as('alice', [s.passwords[ALICE]!], 'login', ALICE)).code).toBe(EXIT.ok);
  expect((await as('bob', [s.passwords[BOB]!], 'login', BOB)).code).toBe(EXIT.ok);
}, 120_000);
afterAll(() => s?.stop());

describe('folders on the command line', () => {
  it('create, move into, trash and restore, rename, delete, empty trash', async () => {
    expect((await as('alice', ['the receipt'], 'send', '--to', BOB, '--subject', 'Receipt 7')).code).toBe(EXIT.ok);
    const id = (await as('bob', [], 'list')).out.split(' ')[0]!;
    expect((await as('bob', [], 'folders')).out).toBe('no folders yet (sealmail folders create NAME)');
    expect((await as('bob', [], 'folders', 'create', CANARY)).out).toMatch(new RegExp(`^created folder [0-9a-f]{8} ${CANARY}$`));
    expect((await as('bob', [], 'move', id, CANARY)).out).toBe(`moved ${id} to ${CANARY}`);
    expect((await as('bob', [], 'folders')).out).toMatch(new RegExp(`^[0-9a-f]{8}  ${CANARY}  \\(1 mail, 1 unread\\)$`));
    expect((await as('bob', [], 'move', id, 'nowhere')).code).toBe(EXIT.failure);
    expect((await as('bob', [], 'delete', id)).out).toBe(`moved ${id} to trash`);
    expect((await as('bob', [], 'restore', id)).out).toBe(`restored ${id} to its folder`);
    expect((await as('bob', [], 'folders', 'rename', CANARY, 'Receipts')).code).toBe(EXIT.ok);
    expect((await as('bob', [], 'folders', 'delete', 'Receipts')).out).toBe('deleted folder Receipts; 1 mail moved to inbox');
    expect((await as('bob', [], 'list')).out).toContain('Receipt 7');
    expect((await as('bob', [], 'delete', id)).code).toBe(EXIT.ok);
    expect((await as('bob', [], 'empty-trash')).out).toBe('deleted 1 mail in trash for good');
    const stored = await s.tdb.prisma.mailFolder.count();
    expect(stored).toBe(0);
    const labels = await s.tdb.prisma.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM mail_folders WHERE position(convert_to($1, 'UTF8') in name) > 0`, CANARY);
    expect(Number(labels[0]!.n)).toBe(0);
  }, 180_000);
});
