import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { favicon, precompress } from '../../tools/vite/front-end';

export default defineConfig({
  plugins: [react(), favicon(), precompress()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, manifest: true },
});
