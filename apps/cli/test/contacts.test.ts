/**
 * `sealmail contacts` against a real API over TLS: add, list, import a Google Contacts CSV and a
 * vCard, export both formats (read back), and a group named as a recipient of `send` reaches its
 * members (expanded on the device). The database holds no contact name in plaintext.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGoogleCsv, parseVcards } from '@sealmail/client/identity';
import { EXIT } from '../src/cli';
import { startCliStack, type CliStack } from './support';

let s: CliStack;
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const ADMIN = 'admin@example.test';
const as = (who: 'alice' | 'bob' | 'admin', lines: string[], ...argv: string[]) => s.cliAs(who, lines, ...argv, '--api', s.url, '--ca', s.caFile);
const fixtures = new URL('../../../packages/client/test/fixtures/', import.meta.url).pathname;

beforeAll(async () => {
  s = await startCliStack();
  for (const [who, address] of [['alice', ALICE], ['bob', BOB], ['admin', ADMIN]] as const) expect((await as(who, [s.passwords[address]!], 'login', address)).code).toBe(EXIT.ok);
}, 90_000);
afterAll(() => s?.stop());

describe('contacts on the command line', () => {
  it('add, list, import, export', async () => {
    const added = await as('alice', [], 'contacts', 'add', '--name', 'Roberto Ünal', '--email', `${BOB}, bob@home.example`, '--phone', '+49 170 1', '--groups', 'Climbing');
    expect(added.code, added.err).toBe(EXIT.ok);
    expect(added.out).toMatch(/^added Roberto Ünal \([0-9a-f-]{36}\)$/);
    expect((await as('alice', [], 'contacts', 'add', '--email', 'not an address')).code).toBe(EXIT.failure);

    const csv = await as('alice', [], 'contacts', 'import', join(fixtures, 'google-contacts.csv'));
    expect(csv.out).toBe('imported 3 contacts (Google Contacts CSV)');
    const vcf = await as('alice', [], 'contacts', 'import', join(fixtures, 'contacts-4.0.vcf'));
    expect(vcf.out).toBe('imported 2 contacts (vCard)');

    const list = await as('alice', [], 'contacts', 'list');
    expect(list.code).toBe(EXIT.ok);
    expect(list.out).toMatch(/^[0-9a-f]{8} {2}Roberto Ünal {2}<bob@example\.test, bob@home\.example> {2}\+49 170 1 {2}\[Climbing\]$/m);
    expect(list.out).toContain('李 小龙');
    expect(list.out.split('\n')).toHaveLength(6);

    const out = join(s.dir, 'alice.vcf');
    expect((await as('alice', [], 'contacts', 'export', out)).out).toBe(`wrote ${out}`);
    const cards = parseVcards(await readFile(out, 'utf8'));
    expect(cards.map((c) => c.name).sort()).toEqual(['Dr. José Núñez-O\'Brien', 'Roberto Ünal', 'Zoë Müller', 'Zoë Müller', '李 小龙', 'Ōtsuka Ren'].sort());
    expect((await as('alice', [], 'contacts', 'export', out)).code).toBe(EXIT.failure); // never overwrites
    const google = await as('alice', [], 'contacts', 'export', '--format', 'csv');
    expect(parseGoogleCsv(google.out).find((c) => c.name === 'Roberto Ünal')).toMatchObject({ emails: [{ value: BOB }, { value: 'bob@home.example' }], groups: ['Climbing'] });

    // Nothing of it is in the database in plaintext.
    const rows = await s.tdb.prisma.$queryRawUnsafe<{ t: string }[]>('SELECT t::text AS t FROM contacts t');
    expect(rows).toHaveLength(6);
    expect(rows.some((r) => r.t.includes('Roberto') || r.t.includes(Buffer.from('Roberto').toString('hex')))).toBe(false);
  }, 120_000);

  it('a contact group given to send --to reaches its members', async () => {
    // (The imported Zoë is in "Climbing" too, outside this server: a group of its own here.)
    expect((await as('alice', [], 'contacts', 'add', '--name', 'Demo Admin', '--email', ADMIN, '--groups', 'Rope team')).code).toBe(EXIT.ok);
    expect((await as('alice', [], 'contacts', 'add', '--name', 'Bob at work', '--email', BOB, '--groups', 'Rope team')).code).toBe(EXIT.ok);
    const sent = await as('alice', ['Rope check at 9.'], 'send', '--to', 'Rope team', '--subject', 'To the group');
    expect(sent.code, sent.err).toBe(EXIT.ok);
    expect(sent.out).toMatch(/^sent [0-9a-f-]{36} \(E2E Encrypted\) to (bob@example\.test, admin@example\.test|admin@example\.test, bob@example\.test)$/);
    expect((await as('bob', [], 'list')).out).toContain('To the group');
    const unknown = await as('alice', ['x'], 'send', '--to', 'Climbers', '--subject', 'Nope');
    expect(unknown.code).toBe(EXIT.failure);
    expect(unknown.err).toContain('“Climbers” is neither an e-mail address nor one of your contact groups');
  }, 120_000);
});
