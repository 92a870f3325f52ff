/**
 * Account security from the CLI against a real API process over TLS: sessions (list, sign out
 * every other one), password change, TOTP enrolment with recovery codes, sign-in with a
 * recovery code, TOTP removal.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Secret, TOTP } from 'otpauth';
import { EXIT, run } from '../src/cli';
import { startCliStack, type CliStack } from './support';

let stack: CliStack;
const ALICE = 'alice@example.test';
beforeAll(async () => {
  stack = await startCliStack();
}, 60_000);
afterAll(() => stack?.stop());

const as = (profile: string, lines: string[], ...argv: string[]) => stack.cliAs(profile, lines, ...argv, '--ca', stack.caFile);

describe('sealmail sessions, password and totp', () => {
  it('lists sessions, signs out every other one, changes the password, enrols and removes TOTP', async () => {
    const pw = stack.passwords[ALICE]!;
    expect((await as('laptop', [pw], 'login', ALICE, '--api', stack.url)).code).toBe(EXIT.ok);
    expect((await as('phone', [pw], 'login', ALICE, '--api', stack.url)).code).toBe(EXIT.ok); // a second device, pending

    const listed = await as('laptop', [], 'sessions');
    expect(listed.code).toBe(EXIT.ok);
    const rows = listed.out.split('\n').filter((l) => /^[0-9a-f]{8}/.test(l));
    expect(rows).toHaveLength(2);
    expect(rows.filter((r) => r.slice(8, 9) === '*')).toHaveLength(1);
    expect(listed.out).toContain('(pending)');
    expect(listed.out).toContain('127.0.0.1');

    // TOTP: the code is read after the secret is shown, as a person would type it.
    const out: string[] = [];
    const code = await run(['totp', 'enrol', '--profile', join(stack.dir, 'laptop'), '--ca', stack.caFile], {
      out: (l) => out.push(l),
      err: (l) => out.push(l),
      readLine: async () => {
        const secret = out.join('\n').match(/^secret {2}([A-Z2-7 ]+)$/m)![1]!.replace(/ /g, '');
        return new TOTP({ secret: Secret.fromBase32(secret) }).generate();
      },
    });
    expect(code, out.join('\n')).toBe(EXIT.ok);
    const text = out.join('\n');
    expect(text).toContain('otpauth://totp/Sealmail:alice%40example.test');
    expect(text).toMatch(/[█▀▄]/); // the QR code
    const recovery = [...text.matchAll(/^ {2}([A-Z2-7]{4}(?:-[A-Z2-7]{4}){3})$/gm)].map((m) => m[1]!);
    expect(recovery).toHaveLength(10);

    const others = await as('laptop', [], 'sessions', '--all-others');
    expect(others.out).toContain('signed out 1 other session');
    expect((await as('phone', [], 'whoami')).code).toBe(EXIT.noperm);

    const mismatch = await as('laptop', [pw, 'a new password 123', 'a new password 124'], 'password');
    expect(mismatch.code).toBe(EXIT.usage);
    const changed = await as('laptop', [pw, 'a new password 123', 'a new password 123'], 'password');
    expect(changed.code, changed.err).toBe(EXIT.ok);
    expect((await as('laptop', [], 'whoami')).code).toBe(EXIT.ok);

    // The old password no longer signs in; the new one with a recovery code does, once.
    expect((await as('other', [pw], 'login', ALICE, '--api', stack.url, '--totp', recovery[0]!)).code).toBe(EXIT.failure);
    const withCode = await as('laptop', ['a new password 123'], 'login', ALICE, '--api', stack.url, '--totp', recovery[0]!);
    expect(withCode.code, withCode.err).toBe(EXIT.ok);
    const reused = await as('laptop2', ['a new password 123'], 'login', ALICE, '--api', stack.url, '--totp', recovery[0]!);
    expect(reused.err).toContain('TOTP_INVALID');

    const removed = await as('laptop', ['a new password 123'], 'totp', 'remove');
    expect(removed.code, removed.err).toBe(EXIT.ok);
    expect((await as('laptop3', ['a new password 123'], 'login', ALICE, '--api', stack.url)).code).toBe(EXIT.ok);
  }, 120_000);
});
