import { defineConfig } from 'vitest/config';

// One start-command stack at a time: each builds the front ends into the same dist folders.
export default defineConfig({ test: { name: 'e2e', include: ['**/*.test.ts'], testTimeout: 240_000, hookTimeout: 120_000, fileParallelism: false } });
