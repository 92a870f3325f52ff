/**
 * Renders the Sealmail icon (tools/vite/favicon.svg) to the web client's PNG app icons
 * (apps/web/public/icons/icon-192.png, icon-512.png) with Chromium. Run once after changing the
 * SVG and commit the PNGs: `node --import tsx scripts/render-icons.ts`.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const svg = await readFile(new URL('../tools/vite/favicon.svg', import.meta.url), 'utf8');
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
try {
  for (const size of [192, 512]) {
    const page = await browser.newPage({ viewport: { width: size, height: size } });
    await page.setContent(`<html><body style="margin:0;background:transparent">${svg.replace('<svg ', `<svg width="${size}" height="${size}" `)}</body></html>`);
    await page.screenshot({ path: fileURLToPath(new URL(`../apps/web/public/icons/icon-${size}.png`, import.meta.url)), omitBackground: true });
    await page.close();
  }
} finally {
  await browser.close();
}
