import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import projects from './vitest.workspace.ts';

export default defineConfig({
  test: {
    projects,
    reporters: ['default'],
    // Vitest's default is one worker less than the cores: a single worker on the 2-core CI machine,
    // every file one after another. Most files wait on Postgres, SMTP and Chromium rather than
    // compute, so two at a time there (and one per core on bigger machines).
    maxWorkers: Math.max(2, availableParallelism()),
  },
});
