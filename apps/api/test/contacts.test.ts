/**
 * The address book (docs/mail.md "Contacts") against the real API and Postgres, through the real
 * client (packages/client ContactBook): sealed on the device, stored opaque; another user's
 * contact is not found; concurrent edits are refused; an administrator's Google Contacts import
 * is picked up into the book (sealed again to the user's key when the server had to hold it);
 * and a canary in a contact reaches neither a request body nor any database row.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { ApiClient } from '@sealmail/client';
import { ContactBook, Identity, memoryKeyStore } from '@sealmail/client/identity';
import { hashPassword } from '@sealmail/server';
import { bearer, harness, injectFetch, userIdOf, type Harness } from './helpers';

let h: Harness;
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
let alice: Awaited<ReturnType<Harness['deviceSignIn']>>;
let bob: Awaited<ReturnType<Harness['deviceSignIn']>>;
/** Every request body the client sent (for the canary check). */
const sent: string[] = [];
let book: ContactBook;

const CANARY_NAME = 'canary-name-3f9a1c';
const CANARY_NOTE = 'canary-note-b7d20e';
const CANARY_PHONE = '+49 30 canary-7755';
const CANARY_GROUP = 'canary-group-4e1b';

beforeAll(async () => {
  h = await harness();
  alice = await h.deviceSignIn(ALICE);
  bob = await h.deviceSignIn(BOB);
  const inject = injectFetch(h.app);
  const recording: typeof fetch = async (input, init) => {
    if (init?.body !== undefined) sent.push(init.body instanceof Uint8Array ? Buffer.from(init.body).toString('latin1') : String(init.body));
    return inject(input, init);
  };
  book = new ContactBook(new ApiClient({ baseUrl: 'http://api.invalid', fetch: recording, token: alice.token }), alice.identity, ALICE);
}, 120_000);
afterAll(() => h?.close());

describe('contacts API', () => {
  it('needs a session', async () => {
    expect((await h.app.inject({ method: 'GET', url: '/api/v1/contacts' })).statusCode).toBe(401);
    expect((await h.app.inject({ method: 'POST', url: '/api/v1/contacts', payload: { id: randomUUID(), box: 'AAAA' } })).statusCode).toBe(401);
  });

  it("creates, lists, updates and deletes through the client; the server holds only the box", async () => {
    const created = await book.create({ name: 'Zoë Müller', emails: [{ label: 'Work', value: 'Zoe@Example.org' }, { value: 'zoe@home.example' }], phones: [{ label: 'Mobile', value: '+49 170 1234567' }], notes: 'Met at the climbing gym', groups: ['Friends', 'Climbing'] });
    expect(created).toMatchObject({ version: 1, name: 'Zoë Müller', emails: [{ label: 'Work', value: 'zoe@example.org' }, { value: 'zoe@home.example' }] });
    const row = await h.db.prisma.contact.findUniqueOrThrow({ where: { id: created.id } });
    expect(Buffer.from(row.box).includes('Zo')).toBe(false);

    const updated = await book.update({ ...created, notes: 'Belays well', groups: ['Friends'] });
    expect(updated.version).toBe(2);
    const { contacts, unreadable } = await book.list();
    expect(unreadable).toBe(0);
    expect(contacts.find((c) => c.id === created.id)).toMatchObject({ version: 2, notes: 'Belays well', groups: ['Friends'] });

    // A second device still holding version 1 cannot overwrite the edit.
    await expect(book.update({ ...created, notes: 'stale' })).rejects.toMatchObject({ code: 'CONTACT_VERSION_CONFLICT', status: 409 });

    await book.delete(created.id);
    expect((await book.list()).contacts.some((c) => c.id === created.id)).toBe(false);
    await expect(book.delete(created.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  }, 60_000);

  it("another user's contact is not found: not listed, not updated, not deleted", async () => {
    const mine = await book.create({ name: 'Private Person', emails: [{ value: 'private@example.org' }] });
    const bobBook = new ContactBook(bob.api, bob.identity, BOB);
    expect((await bobBook.list()).contacts).toEqual([]);
    const put = await h.app.inject({ method: 'PUT', url: `/api/v1/contacts/${mine.id}`, headers: bearer(bob.token), payload: { version: 1, box: 'AAAA' } });
    expect(put.statusCode).toBe(404);
    expect(put.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
    const del = await h.app.inject({ method: 'DELETE', url: `/api/v1/contacts/${mine.id}`, headers: bearer(bob.token) });
    expect(del.statusCode).toBe(404);
    // Bob cannot take the id either (it is refused without saying whose it is).
    const take = await h.app.inject({ method: 'POST', url: '/api/v1/contacts', headers: bearer(bob.token), payload: { id: mine.id, box: 'AAAA' } });
    expect(take.statusCode).toBe(409);
    // A box moved into Bob's book does not open as his (bound to Alice's user id and key).
    const row = await h.db.prisma.contact.findUniqueOrThrow({ where: { id: mine.id } });
    const bobId = await userIdOf(h, BOB);
    await h.db.prisma.contact.create({ data: { id: randomUUID(), userId: bobId, box: row.box } });
    expect(await bobBook.list()).toMatchObject({ contacts: [], unreadable: 1 });
    expect((await book.list()).contacts.find((c) => c.id === mine.id)?.name).toBe('Private Person');
  }, 60_000);

  it('refuses bad input with registry codes, never a 500', async () => {
    const post = (payload: unknown) => h.app.inject({ method: 'POST', url: '/api/v1/contacts', headers: bearer(alice.token), payload: payload as Record<string, unknown> });
    expect((await post({ id: 'not-a-uuid', box: 'AAAA' })).json()).toMatchObject({ error: { code: 'VALIDATION_FAILED', field: 'body.id' } });
    expect((await post({ id: randomUUID(), box: 'not base64!' })).json()).toMatchObject({ error: { code: 'VALIDATION_FAILED', field: 'body.box' } });
    expect((await post({ id: randomUUID(), box: 'A'.repeat(90_000) })).json()).toMatchObject({ error: { code: 'VALIDATION_FAILED', field: 'body.box' } });
    expect((await post({ id: randomUUID(), box: 'AAAA', name: 'plaintext' })).statusCode).toBe(400);
    const put = await h.app.inject({ method: 'PUT', url: `/api/v1/contacts/${randomUUID()}`, headers: bearer(alice.token), payload: { version: 0, box: 'AAAA' } });
    expect(put.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED', field: 'body.version' } });
    await expect(book.create({ name: 'X', emails: [{ value: 'not an address' }] })).rejects.toMatchObject({ code: 'INVALID_CONTACT' });
  });

  it('a canary in name, notes, phone and group reaches no request body and no database row', async () => {
    const c = await book.create({ name: CANARY_NAME, emails: [{ value: 'canary@example.org' }], phones: [{ value: CANARY_PHONE }], notes: CANARY_NOTE, groups: [CANARY_GROUP] });
    await book.update({ ...c, notes: `${CANARY_NOTE} again` });
    expect((await book.list()).contacts.find((x) => x.id === c.id)).toMatchObject({ name: CANARY_NAME, notes: `${CANARY_NOTE} again` });
    const canaries = [CANARY_NAME, CANARY_NOTE, CANARY_PHONE, CANARY_GROUP];
    expect(sent.length).toBeGreaterThan(1);
    for (const body of sent) for (const canary of canaries) expect(body.includes(canary), `${canary} in a request body`).toBe(false);
    const hex = (s: string) => Buffer.from(s).toString('hex');
    const tables = await h.db.prisma.$queryRaw<{ tablename: string }[]>`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`;
    expect(tables.map((t) => t.tablename)).toContain('contacts');
    for (const { tablename } of tables) {
      const rows = await h.db.prisma.$queryRawUnsafe<{ t: string }[]>(`SELECT t::text AS t FROM "${tablename}" t`);
      const dump = rows.map((r) => r.t).join('\n');
      for (const canary of canaries) {
        expect(dump.includes(canary), `${canary} in ${tablename}`).toBe(false);
        expect(dump.includes(hex(canary)), `${canary} (hex) in ${tablename}`).toBe(false);
      }
    }
    // Not vacuous: the sealed contact is there.
    expect(await h.db.prisma.contact.count({ where: { id: c.id } })).toBe(1);
  }, 60_000);
});

describe("an administrator's Google Contacts import", () => {
  const csv = 'First Name,Last Name,Labels,E-mail 1 - Label,E-mail 1 - Value,Phone 1 - Label,Phone 1 - Value\nAda,Lovelace,* myContacts ::: Analysts,* Work,ada@example.org ::: ada@home.example,Mobile,+44 20 1234\nÉmile,Zola,Authors,,emile@example.fr,,\n';

  it('is picked up into the address book on first open and then deleted from the server', async () => {
    const admin = await h.deviceSignIn('admin@example.test');
    const bobId = await userIdOf(h, BOB);
    const res = await h.app.inject({ method: 'POST', url: '/api/v1/admin/imports/contacts', headers: bearer(admin.token), payload: { userId: bobId, csv } });
    expect(res.json()).toMatchObject({ contacts: 2, sealedTo: 'user' });
    const bobBook = new ContactBook(bob.api, bob.identity, BOB);
    expect(await bobBook.pickUpImports()).toBe(2);
    expect(await h.db.prisma.importedContacts.count({ where: { userId: bobId } })).toBe(0);
    const { contacts } = await bobBook.list();
    expect(contacts.find((c) => c.name === 'Ada Lovelace')).toMatchObject({ emails: [{ label: 'Work', value: 'ada@example.org' }, { label: 'Work', value: 'ada@home.example' }], phones: [{ label: 'Mobile', value: '+44 20 1234' }], groups: ['Analysts'] });
    expect(contacts.find((c) => c.name === 'Émile Zola')).toMatchObject({ groups: ['Authors'] });
    expect(await bobBook.pickUpImports()).toBe(0);
  }, 60_000);

  it("held under the server's key before the user had one: sealed again to their key when they open the book", async () => {
    const domain = await h.db.prisma.domain.findUniqueOrThrow({ where: { name: 'example.test' } });
    await h.db.prisma.user.create({ data: { accountId: domain.accountId, domainId: domain.id, localPart: 'newcomer', displayName: 'Newcomer', passwordHash: await hashPassword('pw-newcomer') } });
    const admin = await h.deviceSignIn('admin@example.test');
    const res = await h.app.inject({ method: 'POST', url: '/api/v1/admin/imports/contacts', headers: bearer(admin.token), payload: { address: 'newcomer@example.test', csv } });
    expect(res.json()).toMatchObject({ contacts: 2, sealedTo: 'server' });
    const signIn = await h.app.inject({ method: 'POST', url: '/api/v1/auth/sign-in', payload: { address: 'newcomer@example.test', password: 'pw-newcomer' } });
    const token = (signIn.json() as { token: string }).token;
    // Without a device there is no address book yet; the import waits under the server's key.
    expect((await h.app.inject({ method: 'GET', url: '/api/v1/contacts/imports', headers: bearer(token) })).json()).toMatchObject({ error: { code: 'DEVICE_REQUIRED' } });
    const newcomerId = await userIdOf(h, 'newcomer@example.test');
    expect((await h.db.prisma.importedContacts.findFirstOrThrow({ where: { userId: newcomerId } })).sealedTo).toMatch(/^server:/);
    const api = new ApiClient({ baseUrl: 'http://api.invalid', fetch: injectFetch(h.app), token });
    const identity = new Identity(api, memoryKeyStore());
    await identity.setUpThisDevice({ address: 'newcomer@example.test', name: 'Laptop', kind: 'cli' });
    const nb = new ContactBook(api, identity, 'newcomer@example.test');
    expect(await nb.pickUpImports()).toBe(2);
    expect((await nb.list()).contacts.map((c) => c.name)).toEqual(['Ada Lovelace', 'Émile Zola']);
    expect(await h.db.prisma.importedContacts.count({ where: { userId: newcomerId } })).toBe(0);
    // Another user cannot delete someone's import.
    const other = await h.app.inject({ method: 'DELETE', url: `/api/v1/contacts/imports/${randomUUID()}`, headers: bearer(alice.token) });
    expect(other.statusCode).toBe(404);
  }, 90_000);
});
