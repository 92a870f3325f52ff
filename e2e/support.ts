/** Helpers for the end-to-end tests: free ports, the start command as a child, Chromium. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import nodemailer from 'nodemailer';
import { childEnvironment, freePort } from '@sealmail/server';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** The sizes every screen is checked at: a desk, a phone, and the narrowest phone the layouts are made for. */
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };
export const SMALL_PHONE = { width: 360, height: 740 };
export type Size = typeof DESKTOP;

// eslint-disable-next-line sealmail/no-process-env -- where this test run writes its screenshots, not server configuration
export const screenshotsDir = process.env.SEALMAIL_SCREENSHOTS || join(repoRoot, 'e2e', 'screenshots');

const axeSource = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
interface AxeResult {
  violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[]; failureSummary?: string }[] }[];
}

/** Lets layout settle after a resize or a change (two frames), without relying on time. */
export const settle = (page: Page) => page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));

/** axe-core, injected into the page and run there; the serious and critical violations, readable. */
export async function axeProblems(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol, which the pages' Content-Security-Policy does not govern.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
  const result = (await page.evaluate(() => (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<unknown> } }).axe.run(document, { resultTypes: ['violations'] }))) as AxeResult;
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help}\n${v.nodes.map((n) => `    ${JSON.stringify(n.target)} ${n.failureSummary?.replace(/\n/g, ' ') ?? ''}`).join('\n')}`);
}

/** Sideways scrolling: the page wider than the window, said as a problem; null when it fits. */
export async function sidewaysProblem(page: Page): Promise<string | null> {
  const w = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));
  return w.scroll > w.inner ? `${w.scroll} px wide in a ${w.inner} px window` : null;
}

/**
 * One screen at each size: a full-page screenshot `<name>-<w>x<h>.png` in the screenshots folder,
 * axe-core's serious and critical findings and sideways scrolling, labelled and returned (not
 * thrown, so one run reports every screen). The window is left at desk size.
 */
export async function auditSizes(page: Page, name: string, sizes: readonly Size[] = [DESKTOP, PHONE]): Promise<string[]> {
  await mkdir(screenshotsDir, { recursive: true });
  const problems: string[] = [];
  for (const size of sizes) {
    await page.setViewportSize(size);
    await settle(page);
    const label = `${name}-${size.width}x${size.height}`;
    await page.screenshot({ path: join(screenshotsDir, `${label}.png`), fullPage: true });
    const wide = await sidewaysProblem(page);
    if (wide) problems.push(`${label}: ${wide}`);
    for (const p of await axeProblems(page)) problems.push(`${label}: ${p}`);
  }
  await page.setViewportSize(DESKTOP);
  return problems;
}

export { freePort };

export async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(true));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
  });
}

export interface Started {
  proc: ChildProcess;
  output: () => string;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
}

/** Runs the start command (scripts/start.ts) with `env`; resolves once it prints that it is up. */
export async function startSealmail(env: Record<string, string>, timeoutMs = 240_000): Promise<Started> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], { cwd: repoRoot, env: childEnvironment(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + timeoutMs;
  while (!out.includes('Press Ctrl-C to stop.')) {
    if (proc.exitCode !== null) throw new Error(`start command exited early:\n${out}`);
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`start command did not come up in time:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { proc, output: () => out, exited };
}

/** Stops a start-command stack (Ctrl-C, as a person would) and removes its data folder. */
export async function stopSealmail(running: Started | undefined, dataDir: string): Promise<void> {
  if (running && running.proc.exitCode === null) {
    running.proc.kill('SIGINT');
    await running.exited;
  }
  await rm(dataDir, { recursive: true, force: true });
}

export function chromiumPath(): string {
  const found = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));
  if (!found) throw new Error('Chromium not found: install it (apt-get install -y chromium); .ci/run does');
  return found;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A data folder and free ports for one start-command stack, and the environment naming them. */
export async function stackEnvironment() {
  const dataDir = await mkdtemp(join(tmpdir(), 'sealmail-e2e-'));
  const ports = {
    api: await freePort(),
    web: await freePort(),
    admin: await freePort(),
    viewer: await freePort(),
    smtp: await freePort(),
    smtps: await freePort(),
    pg: await freePort(),
  };
  const env = {
    SEALMAIL_DATA_DIR: dataDir,
    SEALMAIL_API_PORT: String(ports.api),
    SEALMAIL_WEB_PORT: String(ports.web),
    SEALMAIL_ADMIN_PORT: String(ports.admin),
    SEALMAIL_VIEWER_PORT: String(ports.viewer),
    SEALMAIL_SMTP_PORT: String(ports.smtp),
    SEALMAIL_SMTPS_PORT: String(ports.smtps),
    SEALMAIL_PG_PORT: String(ports.pg),
    DATABASE_URL: '',
    LOG_LEVEL: 'warn',
  };
  return { dataDir, ports, env };
}

/** The demo users' passwords as the start command prints them, by address. */
export function printedPasswords(out: string): Record<string, string> {
  return Object.fromEntries([...out.matchAll(/(\S+@example\.test)\s+\w+\s+password: (\S+)/g)].map((m) => [m[1]!, m[2]!]));
}

/** Confirms a first device's backup key by typing groups 3 and 7 back; returns the key. */
export async function confirmBackupKey(page: Page): Promise<string> {
  await page.getByRole('heading', { name: 'Save your backup key' }).waitFor();
  const backupKey = (await page.getByLabel('Backup key', { exact: true }).textContent())!;
  const groups = backupKey.split('-');
  await page.getByLabel('Group 3 of your backup key').fill(groups[2]!);
  await page.getByLabel('Group 7 of your backup key').fill(groups[6]!);
  await page.getByRole('button', { name: 'I have saved it' }).click();
  return backupKey;
}

/** Opens a section of the signed-in admin console from its sidebar (the menu first on a phone). */
export async function openAdminSection(page: Page, label: string): Promise<void> {
  const menu = page.getByRole('button', { name: 'Menu' });
  if (await menu.isVisible()) await menu.click();
  await page.getByRole('navigation', { name: 'Console sections' }).getByRole('link', { name: label, exact: true }).click();
  await page.locator('#console-nav a[aria-current="page"]').getByText(label, { exact: true }).waitFor({ state: 'attached' });
}

/** Past the key steps the web client opens the mailbox; this goes on to Settings through the account menu. */
export async function openSettings(page: Page, displayName: string): Promise<void> {
  await page.getByRole('button', { name: /^Account: / }).click();
  await page.getByRole('menuitem', { name: 'Settings' }).click();
  await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
  await page.getByRole('region', { name: 'Profile' }).getByText(displayName, { exact: true }).waitFor();
}

/** An SMTP client for the stack's ingress (STARTTLS, trusting the stack's own certificate), as any other mail server would connect. */
export async function stackTransport(dataDir: string, smtpPort: number) {
  return nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort, secure: false, requireTLS: true, tls: { ca: await readFile(join(dataDir, 'tls', 'cert.pem'), 'utf8'), servername: 'localhost' } });
}

/**
 * Tabs through the whole page from the top and answers the controls never reached, and those
 * reached without a visible focus ring. A group of radio buttons is one stop (its checked one).
 */
export async function keyboardWalk(page: Page): Promise<{ reached: number; missed: string[]; noRing: string[] }> {
  const total = await page.evaluate(() => {
    const controls = [...document.querySelectorAll<HTMLElement>('a[href], button, input, select, textarea, [tabindex]:not([tabindex="-1"])')].filter(
      (el) => !(el as HTMLButtonElement).disabled && el.tabIndex >= 0 && el.checkVisibility({ visibilityProperty: true }) && !(el instanceof HTMLInputElement && el.type === 'radio' && !el.checked),
    );
    controls.forEach((el, i) => (el.dataset.walk = String(i)));
    (document.activeElement as HTMLElement | null)?.blur();
    window.scrollTo(0, 0);
    return controls.length;
  });
  const reached = new Set<string>();
  const noRing: string[] = [];
  // Scroll containers and native widgets take Tab stops of their own: walk until every control was
  // reached, at most twice round the page.
  for (let i = 0; i < 2 * total + 20 && reached.size < total; i++) {
    await page.keyboard.press('Tab');
    const at = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement;
      const s = getComputedStyle(el);
      const label = el.getAttribute('aria-label') ?? (el.id ? document.querySelector(`label[for="${el.id}"]`)?.textContent : null) ?? el.closest('label')?.textContent ?? el.textContent ?? '';
      return { walk: el.dataset.walk ?? null, ring: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2, name: `${el.tagName.toLowerCase()}${el instanceof HTMLInputElement ? `[${el.type}]` : ''} "${label.trim().slice(0, 40)}"` };
    });
    if (at.walk !== null) reached.add(at.walk);
    if (at.walk !== null && !at.ring) noRing.push(at.name);
  }
  const missed = await page.evaluate((seen) => [...document.querySelectorAll<HTMLElement>('[data-walk]')].filter((el) => !seen.includes(el.dataset.walk!)).map((el) => `${el.tagName.toLowerCase()} "${(el.getAttribute('aria-label') ?? el.textContent ?? '').trim().slice(0, 40)}"`), [...reached]);
  return { reached: reached.size, missed, noRing: [...new Set(noRing)] };
}
