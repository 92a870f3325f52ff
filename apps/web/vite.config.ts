import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { favicon, preactCompat, precompress, serviceWorker } from '../../tools/vite/front-end';

// React's API on preact/compat (the first paint's budget, README "Size budgets"); the source and
// its types stay React's.
export default defineConfig({
  plugins: [preactCompat(fileURLToPath(new URL('.', import.meta.url))), favicon(), serviceWorker('src/sw.ts'), precompress()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, manifest: true },
});
