import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { favicon, precompress, serviceWorker } from '../../tools/vite/front-end';

export default defineConfig({
  plugins: [react(), favicon(), serviceWorker('src/sw.ts'), precompress()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, manifest: true },
});
