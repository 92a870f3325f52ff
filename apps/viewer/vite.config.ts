import { defineConfig } from 'vite';

// The link viewer is tiny and separate: no framework, no third-party code, no inline script.
export default defineConfig({
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, modulePreload: { polyfill: false } },
});
