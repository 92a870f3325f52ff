/**
 * Out-of-office and send addresses from the CLI against a real API process over TLS: the reply
 * is set from standard input with its dates, read back, and turned off; `addresses` lists the
 * user's own address and aliases.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../src/cli';
import { startCliStack, type CliStack } from './support';

let stack: CliStack;
const BOB = 'bob@example.test';
beforeAll(async () => {
  stack = await startCliStack();
}, 60_000);
afterAll(() => stack?.stop());

const as = (profile: string, lines: string[], ...argv: string[]) => stack.cliAs(profile, lines, ...argv, '--ca', stack.caFile);

describe('sealmail out-of-office and addresses', () => {
  it('sets, shows and turns off the automatic reply; lists the addresses one may send from', async () => {
    expect((await as('desk', [stack.passwords[BOB]!], 'login', BOB, '--api', stack.url)).code).toBe(EXIT.ok);
    const on = await as('desk', ['Away until Monday.', 'Ask Carol meanwhile.'], 'out-of-office', 'on', '--from', '2026-12-24', '--to', '2027-01-02', '--subject', 'Holidays');
    expect(on.code, on.err).toBe(EXIT.ok);
    expect(on.out).toContain('out-of-office on from 2026-12-24T00:00:00.000Z until 2027-01-02T00:00:00.000Z');
    const shown = await as('desk', [], 'out-of-office');
    expect(shown.out).toContain('Subject: Holidays');
    expect(shown.out).toContain('Away until Monday.\nAsk Carol meanwhile.');
    expect((await as('desk', [], 'out-of-office', 'on', '--from', 'someday')).code).toBe(EXIT.usage);
    expect((await as('desk', [], 'out-of-office', 'off')).out).toContain('out-of-office off');
    expect((await as('desk', [], 'out-of-office')).out).toMatch(/^off/);

    const db = stack.tdb.prisma;
    const bob = await db.user.findFirstOrThrow({ where: { localPart: 'bob' } });
    await db.userAlias.create({ data: { userId: bob.id, domainId: bob.domainId, localPart: 'support' } });
    expect((await as('desk', [], 'addresses')).out).toBe('bob@example.test\t(your address)\nsupport@example.test\t(alias)');
  }, 60_000);
});
