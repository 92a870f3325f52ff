/**
 * The dependency audit of the test command (scripts/audit.mjs): fails on high/critical
 * advisories, passes on lower ones, and never fails when the advisory service cannot be reached.
 */
import { describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain .mjs script without type declarations
import { decideAudit, runAudit } from '../../scripts/audit.mjs';

type Decision = { outcome: string; exitCode: number; message: string };
const decide = decideAudit as (run: { status: number | null; stdout: string; stderr: string; timedOut?: boolean; spawnError?: string }) => Decision;

const v1Report = (advisories: Record<string, { module_name: string; severity: string; title: string; url: string }>) => {
  const counts = { info: 0, low: 0, moderate: 0, high: 0, critical: 0 } as Record<string, number>;
  for (const a of Object.values(advisories)) counts[a.severity] = (counts[a.severity] ?? 0) + 1;
  return JSON.stringify({ actions: [], advisories, muted: [], metadata: { vulnerabilities: counts, dependencies: 500 } });
};

describe('decideAudit', () => {
  it('fails on a high advisory and names it', () => {
    const d = decide({
      status: 1,
      stderr: '',
      stdout: v1Report({ '1100': { module_name: 'nodemailer', severity: 'high', title: 'addressparser is vulnerable to DoS', url: 'https://github.com/advisories/GHSA-x' } }),
    });
    expect(d).toMatchObject({ outcome: 'vulnerable', exitCode: 1 });
    expect(d.message).toContain('nodemailer');
    expect(d.message).toContain('GHSA-x');
  });

  it('fails on a critical advisory in the npm v2 format', () => {
    const d = decide({ status: 1, stderr: '', stdout: JSON.stringify({ vulnerabilities: { tar: { severity: 'critical', via: [{ title: 'path traversal', url: 'u' }] } } }) });
    expect(d).toMatchObject({ outcome: 'vulnerable', exitCode: 1 });
  });

  it('fails when only the counts say high or critical', () => {
    const d = decide({ status: 1, stderr: '', stdout: JSON.stringify({ advisories: {}, metadata: { vulnerabilities: { high: 2, critical: 0 } } }) });
    expect(d.exitCode).toBe(1);
  });

  it('passes on moderate and low advisories', () => {
    const d = decide({
      status: 1,
      stderr: '',
      stdout: v1Report({
        '1': { module_name: 'a', severity: 'moderate', title: 't', url: 'u' },
        '2': { module_name: 'b', severity: 'low', title: 't', url: 'u' },
      }),
    });
    expect(d).toMatchObject({ outcome: 'ok', exitCode: 0 });
    expect(d.message).toContain('2 lower');
  });

  it('passes on a clean report', () => {
    expect(decide({ status: 0, stderr: '', stdout: v1Report({}) })).toMatchObject({ outcome: 'ok', exitCode: 0 });
  });

  it.each([
    ['the registry has no audit endpoint', { status: 1, stdout: '', stderr: 'ERR_PNPM_AUDIT_BAD_RESPONSE  The audit endpoint responded with 405' }],
    ['the registry cannot be resolved', { status: 1, stdout: '', stderr: 'request to https://registry.npmjs.org failed, reason: getaddrinfo ENOTFOUND registry.npmjs.org' }],
    ['the connection is refused', { status: 1, stdout: '', stderr: 'connect ECONNREFUSED 127.0.0.1:443' }],
    ['a JSON error object', { status: 1, stdout: JSON.stringify({ error: { code: 'ERR_PNPM_AUDIT_BAD_RESPONSE', message: 'x' } }), stderr: '' }],
    ['a timeout', { status: null, stdout: '', stderr: '', timedOut: true }],
    ['pnpm missing', { status: null, stdout: '', stderr: '', spawnError: 'spawn pnpm ENOENT' }],
    ['no output at all', { status: 1, stdout: '', stderr: '' }],
  ])('says it could not check, and does not fail, when %s', (_why, run) => {
    const d = decide(run);
    expect(d).toMatchObject({ outcome: 'unchecked', exitCode: 0 });
    expect(d.message).toMatch(/could not check/);
  });
});

describe('runAudit', () => {
  it('gives up after its timeout instead of hanging the test command', async () => {
    const run = await (runAudit as (o: object) => Promise<{ timedOut: boolean }>)({ timeoutMs: 200, command: process.execPath, args: ['-e', 'setTimeout(() => {}, 60000)'] });
    expect(run.timedOut).toBe(true);
    expect(decide(run as never).exitCode).toBe(0);
  });

  it('reads the report a command prints', async () => {
    const report = v1Report({ '9': { module_name: 'x', severity: 'critical', title: 't', url: 'u' } });
    const run = await (runAudit as (o: object) => Promise<{ stdout: string; status: number }>)({ command: process.execPath, args: ['-e', `process.stdout.write(${JSON.stringify(report)}); process.exitCode = 1`] });
    expect(decide(run as never)).toMatchObject({ outcome: 'vulnerable', exitCode: 1 });
  });
});
