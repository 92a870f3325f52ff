import { defineConfig } from 'vitest/config';

// One start-command stack at a time: each builds the front ends into the same dist folders. Hooks get
// five minutes: on a loaded machine the start command (three front-end builds) took over two.
export default defineConfig({ test: { name: 'e2e', include: ['**/*.test.ts'], testTimeout: 240_000, hookTimeout: 300_000, fileParallelism: false } });
