/**
 * Hostile input (issue 12, finding 6): a table of malformed requests, kept here, each answered
 * 4xx in the registry format and never 500. The review found NUL bytes in addresses, block
 * patterns, list names and path parameters, and a cursor of 36 dashes reaching a UUID cast,
 * answered 500; and look-alike addresses (zero-width, bidi-override, lone-surrogate characters)
 * accepted. The caller is an admin with an approved device, so no route stops a probe early for
 * want of a role or a device: what answers is the edge's validation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorRegistry, isErrorBody, type ErrorCode } from '@sealmail/contract';
import { ApiClient } from '@sealmail/client';
import { Identity, memoryKeyStore } from '@sealmail/client/identity';
import { harness, injectFetch, type Harness } from './helpers';

let h: Harness;
let token: string;

beforeAll(async () => {
  h = await harness();
  const admin = 'admin@example.test';
  token = (await h.signIn(admin)).token;
  const api = new ApiClient({ baseUrl: 'http://api.invalid', fetch: injectFetch(h.app), token });
  await new Identity(api, memoryKeyStore()).setUpThisDevice({ address: admin, name: 'Probe', kind: 'cli' });
}, 60_000);
afterAll(async () => h?.close());

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
interface Case {
  name: string;
  method: Method;
  url: string;
  /** A JSON value, or a string sent as it is (with content-type application/json). */
  body?: unknown;
  raw?: string;
  /** The registry code expected (default VALIDATION_FAILED). */
  code?: ErrorCode;
}

const DASHES = '-'.repeat(36);
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const enc = encodeURIComponent;
/** 255 characters: one more than an address may have. */
const TOO_LONG = `${'a'.repeat(64)}@${'b'.repeat(61)}.${'c'.repeat(61)}.${'d'.repeat(61)}.test`;

/** Characters that make an address or a name look like something else, or cannot be stored. */
const hostileChars: [string, string][] = [
  ['NUL', '\u0000'],
  ['BEL', '\u0007'],
  ['ESC', '\u001b'],
  ['DEL', '\u007f'],
  ['C1 NEL', '\u0085'],
  ['soft hyphen', '\u00ad'],
  ['zero-width space', '\u200b'],
  ['zero-width non-joiner', '\u200c'],
  ['zero-width joiner', '\u200d'],
  ['left-to-right mark', '\u200e'],
  ['right-to-left mark', '\u200f'],
  ['line separator', '\u2028'],
  ['right-to-left override', '\u202e'],
  ['left-to-right embedding', '\u202a'],
  ['right-to-left isolate', '\u2067'],
  ['pop directional isolate', '\u2069'],
  ['word joiner', '\u2060'],
  ['Arabic letter mark', '\u061c'],
  ['byte order mark', '\ufeff'],
  ['variation selector', '\ufe0f'],
  ['tag character', '\u{E0041}'],
  ['lone high surrogate', '\ud800'],
  ['lone low surrogate', '\udc00'],
  ['Hangul filler', '\u3164'],
];

const cases: Case[] = [
  // Addresses in a body (directory lookup): every hostile character, in the local part.
  ...hostileChars.map(([what, c]): Case => ({ name: `lookup: address with ${what}`, method: 'POST', url: '/api/v1/directory/lookup', body: { addresses: [`ali${c}ce@example.test`] } })),
  // … and malformed addresses.
  ...[
    '',
    'no-at-sign',
    '@example.test',
    'alice@',
    'alice@@example.test',
    'alice@-example.test',
    'alice@example',
    'alice example@example.test',
    '<alice@example.test>',
    'alice@example.test\r\nBcc: eve@evil.example',
    `${'a'.repeat(65)}@example.test`,
    TOO_LONG,
    'alice@exa\u0000mple.test',
    'alice@еxample.test', // Cyrillic е in the domain
  ].map((a, i): Case => ({ name: `lookup: malformed address #${i} ${JSON.stringify(a).slice(0, 40)}`, method: 'POST', url: '/api/v1/directory/lookup', body: { addresses: [a] } })),
  ...[123, null, {}, [], true].map((a): Case => ({ name: `lookup: address of type ${JSON.stringify(a)}`, method: 'POST', url: '/api/v1/directory/lookup', body: { addresses: [a] } })),
  { name: 'lookup: NUL in a key of the body', method: 'POST', url: '/api/v1/directory/lookup', raw: '{"addresses":["alice@example.test"],"x\\u0000":1}' },
  { name: 'lookup: lone surrogate as a JSON escape', method: 'POST', url: '/api/v1/directory/lookup', raw: '{"addresses":["\\ud800@example.test"]}' },
  { name: 'lookup: body is an array', method: 'POST', url: '/api/v1/directory/lookup', body: [] },
  { name: 'lookup: body is a string', method: 'POST', url: '/api/v1/directory/lookup', raw: '"alice@example.test"' },
  { name: 'lookup: 101 addresses', method: 'POST', url: '/api/v1/directory/lookup', body: { addresses: Array.from({ length: 101 }, (_, i) => `u${i}@example.test`) } },
  { name: 'lookup: deeply nested body', method: 'POST', url: '/api/v1/directory/lookup', raw: `{"addresses":${'['.repeat(5000)}${']'.repeat(5000)}}` },

  // Sign-in.
  { name: 'sign-in: address with NUL', method: 'POST', url: '/api/v1/auth/sign-in', body: { address: 'alice\u0000@example.test', password: 'x' } },
  { name: 'sign-in: address with RLO', method: 'POST', url: '/api/v1/auth/sign-in', body: { address: 'ali\u202ece@example.test', password: 'x' } },
  { name: 'sign-in: password with NUL', method: 'POST', url: '/api/v1/auth/sign-in', body: { address: 'alice@example.test', password: 'pass\u0000word' } },
  { name: 'sign-in: password with a lone surrogate', method: 'POST', url: '/api/v1/auth/sign-in', body: { address: 'alice@example.test', password: '\udfff' } },
  { name: 'sign-in: empty password', method: 'POST', url: '/api/v1/auth/sign-in', body: { address: 'alice@example.test', password: '' } },
  { name: 'sign-in: 1025-character password', method: 'POST', url: '/api/v1/auth/sign-in', body: { address: 'alice@example.test', password: 'p'.repeat(1025) } },
  { name: 'sign-in: TOTP with letters', method: 'POST', url: '/api/v1/auth/sign-in', body: { address: 'alice@example.test', password: 'x', totp: '12a456' } },
  { name: 'sign-in: TOTP with NUL', method: 'POST', url: '/api/v1/auth/sign-in', body: { address: 'alice@example.test', password: 'x', totp: '12345\u0000' } },
  { name: 'sign-in: unknown field', method: 'POST', url: '/api/v1/auth/sign-in', body: { address: 'alice@example.test', password: 'x', admin: true } },
  { name: 'sign-in: prototype pollution', method: 'POST', url: '/api/v1/auth/sign-in', raw: '{"address":"alice@example.test","password":"x","__proto__":{"role":"admin"}}', code: 'MALFORMED_JSON' },
  { name: 'sign-in: truncated JSON', method: 'POST', url: '/api/v1/auth/sign-in', raw: '{"address":', code: 'MALFORMED_JSON' },

  // Addresses in path parameters.
  { name: 'sigchain: NUL in the address', method: 'GET', url: `/api/v1/keys/${enc('a\u0000b@example.test')}/sigchain` },
  { name: 'sigchain: NUL at the end', method: 'GET', url: `/api/v1/keys/${enc('alice@example.test\u0000')}/sigchain` },
  { name: 'sigchain: zero-width space', method: 'GET', url: `/api/v1/keys/${enc('ali\u200bce@example.test')}/sigchain` },
  { name: 'sigchain: right-to-left override', method: 'GET', url: `/api/v1/keys/${enc('ali\u202ece@example.test')}/sigchain` },
  { name: 'sigchain: byte order mark', method: 'GET', url: `/api/v1/keys/${enc('\ufeffalice@example.test')}/sigchain` },
  { name: 'sigchain: a UTF-8-encoded lone surrogate', method: 'GET', url: '/api/v1/keys/%ED%A0%80@example.test/sigchain', code: 'MALFORMED_REQUEST' },
  { name: 'sigchain: broken percent-encoding', method: 'GET', url: '/api/v1/keys/%E0%A4%A/sigchain', code: 'MALFORMED_REQUEST' },
  { name: 'sigchain: lone percent sign', method: 'GET', url: '/api/v1/keys/alice%@example.test/sigchain', code: 'MALFORMED_REQUEST' },
  { name: 'sigchain: dot-dot', method: 'GET', url: '/api/v1/keys/..%2F..%2Fetc%2Fpasswd/sigchain' },
  { name: 'sigchain: 1100-character address', method: 'GET', url: `/api/v1/keys/${'a'.repeat(1100)}@example.test/sigchain`, code: 'URI_TOO_LONG' },
  { name: 'sigchain: 255-character address', method: 'GET', url: `/api/v1/keys/${TOO_LONG}/sigchain` },
  { name: 'escrow puk-boxes: NUL in the address', method: 'POST', url: `/api/v1/admin/escrow/users/${enc('bob\u0000@example.test')}/puk-boxes`, body: { purpose: 'recovery' } },
  { name: 'escrow sigchain: RLO in the address', method: 'POST', url: `/api/v1/admin/escrow/users/${enc('b\u202eob@example.test')}/sigchain`, body: { link: 'AAAA' } },

  // Block patterns (own and account-wide).
  ...[
    'spam\u0000.example',
    'spam.example\u0000',
    'sp\u200bam.example',
    '\u202espam.example',
    'spam\ud800.example',
    'carol\u0000@spam.example',
    'car\u200dol@spam.example',
    '',
    '*',
    '*.spam.example',
    'a'.repeat(300),
    'spam..example',
  ].flatMap((pattern): Case[] => [
    { name: `block: pattern ${JSON.stringify(pattern).slice(0, 30)}`, method: 'POST', url: '/api/v1/blocked-senders', body: { pattern } },
    { name: `admin block: pattern ${JSON.stringify(pattern).slice(0, 30)}`, method: 'POST', url: '/api/v1/admin/blocked-senders', body: { pattern } },
  ]),
  { name: 'block: pattern of type number', method: 'POST', url: '/api/v1/blocked-senders', body: { pattern: 42 } },
  { name: 'block: unknown field', method: 'POST', url: '/api/v1/blocked-senders', body: { pattern: 'spam.example', everyone: true } },

  // Mailing lists.
  { name: 'list: NUL in the address', method: 'POST', url: '/api/v1/admin/lists', body: { address: 'team\u0000@example.test', name: 'Team', members: [] } },
  { name: 'list: zero-width in the address', method: 'POST', url: '/api/v1/admin/lists', body: { address: 'te\u200bam@example.test', name: 'Team', members: [] } },
  ...hostileChars.slice(0, 12).map(([what, c]): Case => ({ name: `list: name with ${what}`, method: 'POST', url: '/api/v1/admin/lists', body: { address: 'team@example.test', name: `Te${c}am`, members: [] } })),
  { name: 'list: name with a lone surrogate', method: 'POST', url: '/api/v1/admin/lists', body: { address: 'team@example.test', name: 'Team \ud83d', members: [] } },
  { name: 'list: name with a line break', method: 'POST', url: '/api/v1/admin/lists', body: { address: 'team@example.test', name: 'Team\r\nBcc: x', members: [] } },
  { name: 'list: empty name', method: 'POST', url: '/api/v1/admin/lists', body: { address: 'team@example.test', name: '', members: [] } },
  { name: 'list: 101-character name', method: 'POST', url: '/api/v1/admin/lists', body: { address: 'team@example.test', name: 'n'.repeat(101), members: [] } },
  { name: 'list: NUL in a member', method: 'POST', url: '/api/v1/admin/lists', body: { address: 'team@example.test', name: 'Team', members: ['bob\u0000@example.test'] } },
  { name: 'list: bidi in a member', method: 'POST', url: '/api/v1/admin/lists', body: { address: 'team@example.test', name: 'Team', members: ['b\u2067ob@example.test'] } },
  { name: 'list: 1001 members', method: 'POST', url: '/api/v1/admin/lists', body: { address: 'team@example.test', name: 'Team', members: Array.from({ length: 1001 }, (_, i) => `m${i}@example.org`) } },
  { name: 'list update: id of 36 dashes', method: 'PATCH', url: `/api/v1/admin/lists/${DASHES}`, body: { name: 'x' } },
  { name: 'list update: id not a UUID', method: 'PATCH', url: '/api/v1/admin/lists/not-a-uuid', body: { name: 'x' } },
  { name: 'list update: NUL in the name', method: 'PATCH', url: '/api/v1/admin/lists/00000000-0000-4000-8000-000000000000', body: { name: 'a\u0000' } },
  { name: 'list delete: NUL id', method: 'DELETE', url: '/api/v1/admin/lists/%00' },
  { name: 'list delete: UUID with a g', method: 'DELETE', url: '/api/v1/admin/lists/00000000-0000-0000-0000-00000000000g' },

  // Strict UUIDs in path parameters.
  { name: 'unblock: id of 36 dashes', method: 'DELETE', url: `/api/v1/blocked-senders/${DASHES}` },
  { name: 'unblock: id of 36 z', method: 'DELETE', url: '/api/v1/blocked-senders/zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz' },
  { name: 'unblock: UUID and more', method: 'DELETE', url: '/api/v1/blocked-senders/00000000-0000-4000-8000-000000000000x' },
  { name: 'admin unblock: NUL id', method: 'DELETE', url: '/api/v1/admin/blocked-senders/%00' },
  { name: 'blob complete: id of 36 dashes', method: 'POST', url: `/api/v1/blobs/${DASHES}/complete` },
  { name: 'blob part: index -1', method: 'PUT', url: '/api/v1/blobs/00000000-0000-4000-8000-000000000000/parts/-1' },
  { name: 'blob part: index abc', method: 'PUT', url: '/api/v1/blobs/00000000-0000-4000-8000-000000000000/parts/abc' },
  { name: 'mail entry: id of 36 dashes', method: 'GET', url: `/api/v1/mail/messages/${DASHES}` },
  { name: 'mail entry: NUL id', method: 'GET', url: '/api/v1/mail/messages/%00' },
  { name: 'mail thread: id of 36 dashes', method: 'GET', url: `/api/v1/mail/threads/${DASHES}` },
  { name: 'mail update: id of 36 dashes', method: 'PATCH', url: `/api/v1/mail/messages/${DASHES}`, body: { read: true } },
  { name: 'mail update: a label id of dashes', method: 'PATCH', url: '/api/v1/mail/messages/00000000-0000-4000-8000-000000000000', body: { labelIds: [DASHES] } },
  { name: 'mail delete: id of 36 dashes', method: 'DELETE', url: `/api/v1/mail/messages/${DASHES}` },
  { name: 'label delete: id of 36 dashes', method: 'DELETE', url: `/api/v1/mail/labels/${DASHES}` },
  { name: 'deliveries: id of 36 dashes', method: 'GET', url: `/api/v1/mail/messages/${DASHES}/deliveries` },
  { name: 'outbound retry: id of 36 dashes', method: 'POST', url: `/api/v1/admin/outbound/${DASHES}/retry` },
  { name: 'outbound cancel: NUL id', method: 'POST', url: '/api/v1/admin/outbound/%00/cancel' },

  // Cursors and queries.
  { name: 'cursor: 36 dashes', method: 'GET', url: `/api/v1/mail/messages?cursor=${DASHES}` },
  { name: 'cursor: a date and 36 dashes', method: 'GET', url: `/api/v1/mail/messages?cursor=${b64(['2026-01-01T00:00:00.000Z', DASHES])}` },
  { name: 'cursor: a date before any calendar Postgres keeps', method: 'GET', url: `/api/v1/mail/messages?cursor=${b64(['-271821-04-20T00:00:00.000Z', '00000000-0000-4000-8000-000000000000'])}` },
  { name: 'cursor: not a date', method: 'GET', url: `/api/v1/mail/messages?cursor=${b64(['yesterday', '00000000-0000-4000-8000-000000000000'])}` },
  { name: 'cursor: NUL', method: 'GET', url: '/api/v1/mail/messages?cursor=%00' },
  { name: 'cursor: JSON text', method: 'GET', url: `/api/v1/mail/messages?cursor=${enc('{"x":1}')}` },
  { name: 'cursor: 201 characters', method: 'GET', url: `/api/v1/mail/messages?cursor=${'A'.repeat(201)}` },
  { name: 'mail list: label of dashes', method: 'GET', url: `/api/v1/mail/messages?label=${DASHES}` },
  { name: 'mail list: limit -1', method: 'GET', url: '/api/v1/mail/messages?limit=-1' },
  { name: 'mail list: limit abc', method: 'GET', url: '/api/v1/mail/messages?limit=abc' },
  { name: 'mail list: limit 1e9', method: 'GET', url: '/api/v1/mail/messages?limit=1e9' },
  { name: 'mail list: unknown folder', method: 'GET', url: '/api/v1/mail/messages?folder=secret' },
  { name: 'mail list: unknown parameter', method: 'GET', url: '/api/v1/mail/messages?admin=true' },
  { name: 'outbound: status with NUL', method: 'GET', url: '/api/v1/admin/outbound?status=%00' },

  // Domains.
  { name: 'domain: NUL in the name', method: 'PATCH', url: `/api/v1/admin/domains/${enc('exa\u0000mple.test')}`, body: { crossDomainE2ee: true } },
  { name: 'domain: RLO in the name', method: 'PATCH', url: `/api/v1/admin/domains/${enc('example.test\u202e')}`, body: { crossDomainE2ee: true } },
  { name: 'domain: zero-width in the name', method: 'PATCH', url: `/api/v1/admin/domains/${enc('exam\u200bple.test')}`, body: { crossDomainE2ee: true } },
  { name: 'domain: 300 characters', method: 'PATCH', url: `/api/v1/admin/domains/${'a'.repeat(300)}.test`, body: { crossDomainE2ee: true } },
  { name: 'domain: empty body', method: 'PATCH', url: '/api/v1/admin/domains/example.test', body: {} },

  // Sending mail.
  { name: 'send: NUL in a recipient', method: 'POST', url: '/api/v1/mail/messages', body: { envelope: 'AAAA', manifest: 'AAAA', body: 'AAAA', to: ['bob\u0000@example.test'], boxes: [{ address: 'bob@example.test', record: 'AAAA' }] } },
  { name: 'send: zero-width in a recipient', method: 'POST', url: '/api/v1/mail/messages', body: { envelope: 'AAAA', manifest: 'AAAA', body: 'AAAA', to: ['b\u200bob@example.test'], boxes: [{ address: 'bob@example.test', record: 'AAAA' }] } },
  { name: 'send: an attachment id of dashes', method: 'POST', url: '/api/v1/mail/messages', body: { envelope: 'AAAA', manifest: 'AAAA', body: 'AAAA', to: ['bob@example.test'], attachments: [DASHES], boxes: [{ address: 'bob@example.test', record: 'AAAA' }] } },
  { name: 'send: envelope not base64url', method: 'POST', url: '/api/v1/mail/messages', body: { envelope: 'AA==', manifest: 'AAAA', body: 'AAAA', to: ['bob@example.test'], boxes: [{ address: 'bob@example.test', record: 'AAAA' }] } },
  { name: 'send: a box for an address with NUL', method: 'POST', url: '/api/v1/mail/messages', body: { envelope: 'AAAA', manifest: 'AAAA', body: 'AAAA', to: ['bob@example.test'], boxes: [{ address: 'bob\u0000@example.test', record: 'AAAA' }] } },
  { name: 'new upload: size 0', method: 'POST', url: '/api/v1/blobs', body: { size: 0 } },
  { name: 'new upload: size as a string', method: 'POST', url: '/api/v1/blobs', body: { size: '10' } },
  { name: 'new label: name not base64url', method: 'POST', url: '/api/v1/mail/labels', body: { name: 'Work\u0000' } },

  // Expiring links (public).
  { name: 'link: NUL id', method: 'GET', url: '/api/v1/links/%00' },
  { name: 'link: id of 22 dashes with a NUL', method: 'GET', url: `/api/v1/links/${'-'.repeat(21)}%00` },
  { name: 'link: id with a plus', method: 'GET', url: `/api/v1/links/${'A'.repeat(21)}+` },
  { name: 'link piece: index 0', method: 'GET', url: `/api/v1/links/${'A'.repeat(22)}/pieces/0` },
  { name: 'link piece: index abc', method: 'GET', url: `/api/v1/links/${'A'.repeat(22)}/pieces/abc` },
  { name: 'link piece: index 99999', method: 'GET', url: `/api/v1/links/${'A'.repeat(22)}/pieces/99999` },

  // Security settings.
  { name: 'security: requireTotp as a string', method: 'PUT', url: '/api/v1/admin/security', body: { requireTotp: 'yes' } },
  { name: 'TOTP confirm: code with NUL', method: 'POST', url: '/api/v1/auth/totp/confirm', body: { code: '12345\u0000' } },
];

describe('hostile input', () => {
  it('has at least 100 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(100);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
  });

  it.each(cases)('$name → 4xx in the registry format', async (c) => {
    const res = await h.app.inject({
      method: c.method,
      url: c.url,
      headers: { authorization: `Bearer ${token}`, ...(c.body !== undefined || c.raw !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(c.raw !== undefined ? { payload: c.raw } : c.body !== undefined ? { payload: JSON.stringify(c.body) } : {}),
    });
    const body = res.json() as unknown;
    expect(res.statusCode, res.body).toBeGreaterThanOrEqual(400);
    expect(res.statusCode, res.body).toBeLessThan(500);
    expect(isErrorBody(body), res.body).toBe(true);
    const code = c.code ?? 'VALIDATION_FAILED';
    expect((body as { error: { code: string } }).error.code, res.body).toBe(code);
    expect(res.statusCode).toBe(errorRegistry[code].status);
  });
});

describe('what must still pass', () => {
  it('a 254-character address in a path parameter is looked up (404 for nobody), not refused as too long', async () => {
    const long = TOO_LONG.slice(1);
    expect(long.length).toBe(254);
    const res = await h.app.inject({ method: 'GET', url: `/api/v1/keys/${long}/sigchain`, headers: { authorization: `Bearer ${token}` } });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });

  it('international addresses and names without hidden characters are accepted', async () => {
    const lookup = await h.app.inject({ method: 'POST', url: '/api/v1/directory/lookup', headers: { authorization: `Bearer ${token}` }, payload: { addresses: ['jürgen@example.test', 'δοκιμή@example.test'] } });
    expect(lookup.statusCode).toBe(200);
    const list = await h.app.inject({ method: 'POST', url: '/api/v1/admin/lists', headers: { authorization: `Bearer ${token}` }, payload: { address: 'équipe@example.test', name: 'Équipe Zürich 😀', members: ['bob@example.test'] } });
    expect(list.statusCode).toBe(200);
  });
});
