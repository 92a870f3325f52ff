#!/usr/bin/env node
// Dependency audit for the test command (`pnpm run check`): runs `pnpm audit --json` with a
// timeout and fails only on known high or critical advisories. When the advisory service cannot
// be reached (offline, a registry mirror without the audit endpoint, a timeout), it says that it
// could not check and does not fail. The decision is a pure function (`decideAudit`), tested in
// tools/test/audit.test.ts.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Severities that fail the run. */
export const FAILING_SEVERITIES = ['high', 'critical'];

/** How long the audit may take before we give up and call it "could not check". */
export const DEFAULT_TIMEOUT_MS = 60_000;

const NETWORK_HINTS = [
  'ERR_PNPM_AUDIT_BAD_RESPONSE',
  'ERR_PNPM_AUDIT_ENDPOINT_NOT_EXISTS',
  'ERR_PNPM_META_FETCH_FAIL',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR',
  'fetch failed',
  'socket hang up',
  'self-signed certificate',
  'unable to get local issuer certificate',
];

function parseJson(text) {
  const t = (text ?? '').trim();
  if (!t) return undefined;
  try {
    return JSON.parse(t);
  } catch {
    // Some versions print a line of text before the JSON document.
    const start = t.indexOf('{');
    if (start > 0) {
      try {
        return JSON.parse(t.slice(start));
      } catch {
        return undefined;
      }
    }
    return undefined;
  }
}

/**
 * The advisories of an audit report, in either format pnpm/npm print: the v1 shape
 * (`advisories: { id: { module_name, severity, title, url } }`) or the v2 shape
 * (`vulnerabilities: { name: { severity, via: [...] } }`).
 * @returns {{ name: string; severity: string; title: string; url: string }[]}
 */
export function advisoriesOf(report) {
  const out = [];
  if (report && typeof report.advisories === 'object' && report.advisories) {
    for (const a of Object.values(report.advisories)) {
      if (a && typeof a === 'object') out.push({ name: String(a.module_name ?? a.name ?? '?'), severity: String(a.severity ?? 'unknown'), title: String(a.title ?? ''), url: String(a.url ?? '') });
    }
  }
  if (report && typeof report.vulnerabilities === 'object' && report.vulnerabilities && !('high' in report.vulnerabilities && typeof report.vulnerabilities.high === 'number')) {
    for (const [name, v] of Object.entries(report.vulnerabilities)) {
      if (!v || typeof v !== 'object') continue;
      const via = Array.isArray(v.via) ? v.via.find((x) => x && typeof x === 'object') : undefined;
      out.push({ name, severity: String(v.severity ?? 'unknown'), title: String(via?.title ?? ''), url: String(via?.url ?? '') });
    }
  }
  return out;
}

/**
 * Decides what an audit run means.
 * @param {{ status: number | null; stdout: string; stderr: string; timedOut?: boolean; spawnError?: string }} run
 * @returns {{ outcome: 'ok' | 'vulnerable' | 'unchecked'; exitCode: 0 | 1; message: string }}
 */
export function decideAudit(run) {
  const unchecked = (why) => ({ outcome: 'unchecked', exitCode: 0, message: `dependency audit: could not check (${why}); not failing` });
  if (run.spawnError) return unchecked(`pnpm audit did not start: ${run.spawnError}`);
  if (run.timedOut) return unchecked('the advisory service did not answer in time');
  const report = parseJson(run.stdout);
  const errorCode = report?.error?.code ?? report?.code;
  const text = `${run.stdout ?? ''}\n${run.stderr ?? ''}`;
  const hasReport = report && (report.advisories || report.vulnerabilities || report.metadata);
  if (!hasReport) {
    const hint = NETWORK_HINTS.find((h) => text.includes(h));
    if (errorCode || hint) return unchecked(`the advisory service could not be reached: ${errorCode ?? hint}`);
    return unchecked(`pnpm audit gave no report (exit ${run.status})`);
  }
  const advisories = advisoriesOf(report);
  const counts = report.metadata?.vulnerabilities ?? {};
  const failing = advisories.filter((a) => FAILING_SEVERITIES.includes(a.severity));
  const countedFailing = FAILING_SEVERITIES.reduce((n, s) => n + (typeof counts[s] === 'number' ? counts[s] : 0), 0);
  if (failing.length > 0 || countedFailing > 0) {
    const lines = failing.map((a) => `  ${a.severity.padEnd(8)} ${a.name}: ${a.title}${a.url ? ` (${a.url})` : ''}`);
    const n = Math.max(failing.length, countedFailing);
    return { outcome: 'vulnerable', exitCode: 1, message: [`dependency audit: ${n} high or critical advisor${n === 1 ? 'y' : 'ies'}`, ...lines].join('\n') };
  }
  const others = advisories.length;
  return { outcome: 'ok', exitCode: 0, message: `dependency audit: no high or critical advisories${others ? ` (${others} lower)` : ''}` };
}

/** Runs `pnpm audit --json` with a timeout. */
export function runAudit({ timeoutMs = DEFAULT_TIMEOUT_MS, command = 'pnpm', args = ['audit', '--json'] } = {}) {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let child;
    try {
      child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      resolve({ status: null, stdout, stderr, spawnError: String(err?.message ?? err) });
      return;
    }
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
    }, timeoutMs);
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ status: null, stdout, stderr, spawnError: String(err?.message ?? err) });
    });
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr, timedOut });
    });
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const arg = process.argv.find((a) => a.startsWith('--timeout-ms='));
  const timeoutMs = arg ? Number(arg.split('=')[1]) : DEFAULT_TIMEOUT_MS;
  const decision = decideAudit(await runAudit({ timeoutMs }));
  (decision.exitCode ? console.error : console.log)(decision.message);
  process.exit(decision.exitCode);
}
