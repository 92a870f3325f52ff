/**
 * The CLI against a real API process (apps/api/src/main.ts) over real TLS (self-signed, trusted
 * through --ca), backed by a real Postgres.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo } from '@sealmail/db';
import { createTestDatabase, type TestDatabase } from '@sealmail/db/testing';
import { childEnvironment, freePort, loadOrCreateTls } from '@sealmail/server';
import { EXIT, run } from '../src/cli';

let tdb: TestDatabase;
let api: ChildProcess;
let alicePassword: string;
let bobPassword: string;
let adminPassword: string;
let dir: string;
let url: string;
let caFile: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sealmail-cli-'));
  caFile = join(dir, 'cert.pem');
  const tls = await loadOrCreateTls({ certFile: caFile, keyFile: join(dir, 'key.pem'), selfSigned: true, hostnames: ['localhost', '127.0.0.1'] });
  tdb = await createTestDatabase();
  const seed = await seedDemo(tdb.prisma, { domain: 'example.test' });
  alicePassword = seed.users.find((u) => u.address === 'alice@example.test')!.password!;
  bobPassword = seed.users.find((u) => u.address === 'bob@example.test')!.password!;
  adminPassword = seed.users.find((u) => u.address === 'admin@example.test')!.password!;
  void tls;
  const port = await freePort();
  api = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: new URL('../../api', import.meta.url).pathname,
    env: childEnvironment({ DATABASE_URL: tdb.connectionString, SEALMAIL_API_PORT: String(port), SEALMAIL_DATA_DIR: dir, SEALMAIL_TLS_CERT: caFile, SEALMAIL_TLS_KEY: join(dir, 'key.pem'), LOG_LEVEL: 'silent' }),
    stdio: 'inherit',
  });
  url = `https://localhost:${port}`;
  const deadline = Date.now() + 30_000;
  while ((await cli('status', '--api', url, '--ca', caFile)).code !== EXIT.ok) {
    if (Date.now() > deadline || api.exitCode !== null) throw new Error('the API process did not come up');
    await new Promise((r) => setTimeout(r, 200));
  }
}, 40_000);
afterAll(async () => {
  if (api && api.exitCode === null) {
    api.kill('SIGTERM');
    await new Promise((r) => api.once('exit', r));
  }
  await tdb?.drop();
  await rm(dir, { recursive: true, force: true });
});

async function cli(...argv: string[]) {
  return cliWithInput('', ...argv);
}

async function cliWithInput(input: string, ...argv: string[]) {
  return cliAs('profile', input.split('\n'), ...argv);
}

/** Runs the CLI with its own profile directory (a separate "machine") and lines of input. */
async function cliAs(profile: string, lines: string[], ...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const queue = [...lines];
  const code = await run([...argv, '--profile', join(dir, profile)], { out: (l) => out.push(l), err: (l) => err.push(l), readLine: async () => queue.shift() ?? '' });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('sealmail CLI', () => {
  it('status reports version and database; the domains only after sign-in (the server names no organisation to anonymous callers)', async () => {
    const r = await cli('status', '--api', url, '--ca', caFile);
    expect(r.code).toBe(EXIT.ok);
    expect(r.out).toMatch(/version\s+0\.1\.0/);
    expect(r.out).toMatch(/database\s+ready/);
    expect(r.out).toMatch(/domains\s+\(sign in/);
    expect(r.out).not.toContain('example.test');
  });

  it('login keeps the session in a file only its owner can read; whoami and logout use it', async () => {
    expect((await cli('lookup', 'alice@example.test', '--api', url, '--ca', caFile)).code).toBe(EXIT.noperm);
    const wrong = await cliWithInput('nope\n', 'login', 'alice@example.test', '--api', url, '--ca', caFile);
    expect(wrong.code).toBe(EXIT.failure);
    expect(wrong.err).toContain('[INVALID_CREDENTIALS]');
    const ok = await cliWithInput(alicePassword + '\n', 'login', 'alice@example.test', '--api', url, '--ca', caFile);
    expect(ok.code).toBe(EXIT.ok);
    expect(ok.out).toContain('signed in as alice@example.test (user)');
    const { stat, readFile } = await import('node:fs/promises');
    expect((await stat(join(dir, 'profile', 'session.json'))).mode & 0o077).toBe(0);
    expect((await stat(join(dir, 'profile'))).mode & 0o077).toBe(0);
    expect(JSON.parse(await readFile(join(dir, 'profile', 'session.json'), 'utf8'))).toMatchObject({ api: url, address: 'alice@example.test' });
    const who = await cli('whoami', '--ca', caFile);
    expect(who.code).toBe(EXIT.ok);
    expect(who.out).toMatch(/^alice@example\.test\tuser\t/);
  });

  it('lookup tells which addresses have a mailbox, exit 1 when one has none', async () => {
    const ok = await cli('lookup', 'alice@example.test', '--api', url, '--ca', caFile);
    expect(ok.code).toBe(EXIT.ok);
    expect(ok.out).toBe('alice@example.test\thas a mailbox here');
    const mixed = await cli('lookup', 'alice@example.test', 'ghost@example.test', '--api', url, '--ca', caFile);
    expect(mixed.code).toBe(EXIT.failure);
    expect(mixed.out).toContain('ghost@example.test\tno mailbox here');
  });

  it('shows the server error code and field for bad input', async () => {
    const r = await cli('lookup', 'not-an-address', '--api', url, '--ca', caFile);
    expect(r.code).toBe(EXIT.failure);
    expect(r.err).toContain('[VALIDATION_FAILED]');
    expect(r.err).toContain('body.addresses.0');
  });

  it('refuses a server whose certificate it does not trust', async () => {
    const r = await cli('status', '--api', url, '--ca', join(dir, 'missing.pem'));
    expect(r.code).toBe(EXIT.usage);
    const untrusted = await cli('status', '--api', url.replace('localhost', '127.0.0.1'), '--ca', caFile);
    expect(untrusted.code).toBe(EXIT.ok); // the certificate names 127.0.0.1 too
    const { makeSelfSignedCertificate } = await import('@sealmail/server');
    const other = join(dir, 'other.pem');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(other, (await makeSelfSignedCertificate(['localhost'])).cert);
    const refused = await cli('status', '--api', url, '--ca', other);
    expect(refused.code).toBe(EXIT.unavailable);
    expect(refused.err).toContain('cannot reach the server');
  });

  it('logout ends the session on the server too', async () => {
    const { readFile } = await import('node:fs/promises');
    const { token } = JSON.parse(await readFile(join(dir, 'profile', 'session.json'), 'utf8')) as { token: string };
    expect((await cli('logout', '--ca', caFile)).out).toBe('signed out');
    const { ApiClient } = await import('@sealmail/client');
    const { httpsFetch } = await import('@sealmail/client/node');
    const stale = new ApiClient({ baseUrl: url, fetch: httpsFetch(await readFile(caFile, 'utf8')), token });
    await expect(stale.session()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect((await cli('whoami', '--api', url, '--ca', caFile)).code).toBe(EXIT.noperm);
  });

  it('sets up devices: first device with a backup key, a second one pending, approval shares older keys, revocation ends it, the backup key recovers', async () => {
    const common = ['--api', url, '--ca', caFile];
    const first = await cliAs('bob-laptop', [bobPassword], 'login', 'bob@example.test', ...common);
    expect(first.code).toBe(EXIT.ok);
    const backupKey = /BACKUP KEY[^\n]*\n\s+(\S[^\n]*)/.exec(first.out)?.[1]?.trim();
    expect(backupKey, first.out).toBeTruthy();
    const { stat } = await import('node:fs/promises');
    expect((await stat(join(dir, 'bob-laptop', 'device-bob@example.test.json'))).mode & 0o077).toBe(0);

    const second = await cliAs('bob-desktop', [bobPassword], 'login', 'bob@example.test', ...common);
    expect(second.code).toBe(EXIT.ok);
    const fingerprint = /fingerprint there: (\d{4}(?: \d{4}){4})/.exec(second.out)?.[1];
    expect(fingerprint, second.out).toBeTruthy();

    const listed = await cliAs('bob-laptop', [], 'devices', ...common);
    expect(listed.code).toBe(EXIT.ok);
    expect(listed.out.split('\n')).toHaveLength(3);
    expect(listed.out).toMatch(/approved\s+cli .*\(this device\)/);
    expect(listed.out).toMatch(/approved\s+backup/);
    expect(listed.out).toContain(`pending   cli      ${fingerprint}`);

    // Before approval the new device holds no key generation at all: nothing is sealed to it.
    const { ApiClient } = await import('@sealmail/client');
    const { Identity } = await import('@sealmail/client/identity');
    const { fileKeyStore } = await import('../src/keystore');
    const { httpsFetch } = await import('@sealmail/client/node');
    const { readFile } = await import('node:fs/promises');
    const ca = await readFile(caFile, 'utf8');
    const identityOf = async (profile: string) => {
      const { token } = JSON.parse(await readFile(join(dir, profile, 'session.json'), 'utf8')) as { token: string };
      return new Identity(new ApiClient({ baseUrl: url, fetch: httpsFetch(ca), token }), fileKeyStore(join(dir, profile)));
    };
    expect((await (await identityOf('bob-desktop')).perUserKeys('bob@example.test')).map((p) => p.generation)).toEqual([]);

    const approved = await cliAs('bob-laptop', [], 'approve', fingerprint!, ...common);
    expect(approved.code, approved.err).toBe(EXIT.ok);
    expect((await (await identityOf('bob-desktop')).perUserKeys('bob@example.test')).map((p) => p.generation)).toEqual([1, 2]);

    const desktopId = /^(\w{12})\s+pending/m.exec(listed.out)![1]!;
    const revoked = await cliAs('bob-laptop', [], 'revoke', desktopId, ...common);
    expect(revoked.code, revoked.err).toBe(EXIT.ok);
    const gone = await cliAs('bob-desktop', [], 'whoami', ...common);
    expect(gone.code).toBe(EXIT.failure);
    expect(gone.err).toContain('[DEVICE_REVOKED]');

    // A new machine with nothing but the password and the backup key recovers everything.
    const recovered = await cliAs('bob-new', [bobPassword, backupKey!], 'recover', 'bob@example.test', ...common);
    expect(recovered.code, recovered.err).toBe(EXIT.ok);
    const keys = await (await identityOf('bob-new')).perUserKeys('bob@example.test');
    expect(keys.map((p) => p.generation)).toEqual([1, 2, 3, 4]);
    const after = await cliAs('bob-new', [], 'devices', ...common);
    expect(after.out).toMatch(/approved\s+cli .*\(this device\)/);
    expect(after.out).toMatch(/revoked\s+cli/);

    // A mistyped backup key is caught by its checksum before any key or link is made.
    const typo = backupKey!.replace(/[A-Z2-9]/, (c) => (c === 'A' ? 'B' : 'A'));
    const bad = await cliAs('bob-other', [bobPassword, typo], 'recover', 'bob@example.test', ...common);
    expect(bad.code).toBe(EXIT.failure);

    // A well-formed backup key that is not this account's is refused before any link is made.
    const { generateBackupKey } = await import('@sealmail/crypto');
    const before = (await (await identityOf('bob-new')).devices('bob@example.test')).length;
    const stranger = await cliAs('bob-stranger', [bobPassword, generateBackupKey().text], 'recover', 'bob@example.test', ...common);
    expect(stranger.code).toBe(EXIT.failure);
    expect(stranger.err).toContain('[WRONG_BACKUP_KEY]');
    expect((await (await identityOf('bob-new')).devices('bob@example.test')).length).toBe(before);

    // Signing in again on a machine that has keys binds the new session to its device by proof,
    // so it can act as that device again (approve another one here).
    expect((await cliAs('bob-laptop', [], 'logout', ...common)).code).toBe(EXIT.ok);
    const relogin = await cliAs('bob-laptop', [bobPassword], 'login', 'bob@example.test', ...common);
    expect(relogin.code, relogin.err).toBe(EXIT.ok);
    expect(relogin.out).not.toContain('BACKUP KEY');
    const phone = await cliAs('bob-phone', [bobPassword], 'login', 'bob@example.test', ...common);
    const phoneFp = /fingerprint there: (\d{4}(?: \d{4}){4})/.exec(phone.out)![1]!;
    const approvedAgain = await cliAs('bob-laptop', [], 'approve', phoneFp, ...common);
    expect(approvedAgain.code, approvedAgain.err).toBe(EXIT.ok);

    // The revoked machine signs in again: its old keys are dropped and it starts afresh, pending.
    const back = await cliAs('bob-desktop', [bobPassword], 'login', 'bob@example.test', ...common);
    expect(back.code, back.err).toBe(EXIT.ok);
    const newFp = /fingerprint there: (\d{4}(?: \d{4}){4})/.exec(back.out)?.[1];
    expect(newFp, back.out).toBeTruthy();
    expect(newFp).not.toBe(fingerprint);

    // A machine that signed in first (and so waits for approval) is approved by the backup key too.
    const waiting = await cliAs('bob-waiting', [bobPassword], 'login', 'bob@example.test', ...common);
    expect(waiting.out).toContain('waits for approval');
    const late = await cliAs('bob-waiting', [bobPassword, backupKey!], 'recover', 'bob@example.test', ...common);
    expect(late.code, late.err).toBe(EXIT.ok);
    const mine = (await (await identityOf('bob-waiting')).devices('bob@example.test')).find((d) => d.thisDevice);
    expect(mine?.status).toBe('approved');
  });

  it('protects a key file with a passphrase when asked, and shows the escrow notice when escrow is on', async () => {
    const common = ['--api', url, '--ca', caFile];
    const short = await cliAs('admin-sealed', [adminPassword, 'short'], 'login', 'admin@example.test', '--passphrase', ...common);
    expect(short.code).toBe(EXIT.failure);
    expect(short.err).toContain('[PASSPHRASE_REQUIRED]');
    const passphrase = 'a passphrase only I know';
    const login = await cliAs('admin-sealed', [adminPassword, passphrase], 'login', 'admin@example.test', '--passphrase', ...common);
    expect(login.code, login.err).toBe(EXIT.ok);
    const { readFile } = await import('node:fs/promises');
    const file = await readFile(join(dir, 'admin-sealed', 'device-admin@example.test.json'), 'utf8');
    expect(JSON.parse(file)).toMatchObject({ v: 1, sealed: expect.any(String) });
    expect(file).not.toMatch(/Seed|deviceId|admin@example/);

    expect((await cliAs('admin-sealed', [passphrase], 'devices', ...common)).out).toMatch(/approved\s+cli .*\(this device\)/);
    const wrong = await cliAs('admin-sealed', ['not the passphrase'], 'devices', ...common);
    expect(wrong.code).toBe(EXIT.failure);
    expect(wrong.err).toContain('[WRONG_PASSPHRASE]');
    const none = await cliAs('admin-sealed', [], 'devices', ...common);
    expect(none.err).toContain('[PASSPHRASE_REQUIRED]');

    // Escrow on (enabled with the admin's protected device): Alice's next login tells her first;
    // `sealmail escrow accept` adds it; her keys then show it, and every use of it is listed to her.
    const { ApiClient } = await import('@sealmail/client');
    const { EscrowAdmin, Identity } = await import('@sealmail/client/identity');
    const { fileKeyStore } = await import('../src/keystore');
    const { httpsFetch } = await import('@sealmail/client/node');
    const { token } = JSON.parse(await readFile(join(dir, 'admin-sealed', 'session.json'), 'utf8')) as { token: string };
    const api = new ApiClient({ baseUrl: url, fetch: httpsFetch(await readFile(caFile, 'utf8')), token });
    const { fingerprint } = await new EscrowAdmin(api, new Identity(api, fileKeyStore(join(dir, 'admin-sealed'), { passphrase: async () => passphrase }))).enable('admin@example.test');
    const alice = await cliWithInput(alicePassword + '\n', 'login', 'alice@example.test', ...common);
    expect(alice.code, alice.err).toBe(EXIT.ok);
    expect(alice.out).toContain(`NOTICE: your organisation turned on escrow (endorsed by admin@example.test; key fingerprint ${fingerprint})`);
    expect((await cli('devices', ...common)).out).not.toMatch(/escrow/);
    const accepted = await cli('escrow', 'accept', ...common);
    expect(accepted.code, accepted.err).toBe(EXIT.ok);
    expect(accepted.out).toContain(fingerprint);
    expect((await cli('devices', ...common)).out).toMatch(/approved\s+escrow/);
    expect((await cli('escrow', ...common)).out).toContain(`its key ${fingerprint} is in your key history`);
    expect((await cliWithInput(alicePassword + '\n', 'login', 'alice@example.test', ...common)).out).not.toContain('NOTICE');
  }, 120_000); // Several passphrase key derivations and escrow set-up: CPU-heavy on a loaded machine.

  it('explains usage', async () => {
    expect((await cli('help')).out).toContain('Usage: sealmail');
    expect((await cli()).code).toBe(EXIT.usage);
    const bad = await cli('frobnicate', '--api', url);
    expect(bad.code).toBe(EXIT.usage);
    expect(bad.err).toContain('unknown command "frobnicate"');
    expect((await cli('--bogus')).code).toBe(EXIT.usage);
  });
});
