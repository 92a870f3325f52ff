import { defineConfig } from 'vitest/config';

export default defineConfig({ test: { name: 'e2e', include: ['**/*.test.ts'], testTimeout: 240_000, hookTimeout: 120_000 } });
