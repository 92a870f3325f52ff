import { defineConfig } from 'vite';
import { favicon, precompress } from '../../tools/vite/front-end';

// The link viewer is tiny and separate: no framework, no third-party code, no inline script.
export default defineConfig({
  plugins: [favicon(), precompress()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, manifest: true, modulePreload: { polyfill: false } },
});
