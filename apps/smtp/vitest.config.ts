import { defineConfig } from 'vitest/config';

export default defineConfig({ test: { name: 'smtp', include: ['test/**/*.test.ts'], passWithNoTests: true } });
