import { defineConfig } from 'vitest/config';

// Files run side by side with the other projects' (vitest.config.ts's maxWorkers), each with its own
// start-command stack on its own ports and data folder; the front ends are built once before any
// file starts (global-setup.ts). Hooks get five minutes: on a loaded machine a stack took over two.
export default defineConfig({ test: { name: 'e2e', include: ['**/*.test.ts'], globalSetup: ['./global-setup.ts'], testTimeout: 240_000, hookTimeout: 300_000 } });
