import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import sealmail from './tools/eslint/boundaries.mjs';

export default tseslint.config(
  {
    ignores: ['**/node_modules/**', '**/dist/**', 'packages/db/src/generated/**', '.sealmail/**', '**/coverage/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser }, ecmaVersion: 2023, sourceType: 'module' },
    plugins: { sealmail },
    rules: {
      'sealmail/boundaries': 'error',
      'sealmail/no-process-env': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // The bootstrap runs before dependencies exist and launches the toolchain with its environment.
    files: ['scripts/bootstrap.mjs', 'scripts/generate-prisma.mjs'],
    rules: { 'sealmail/no-process-env': 'off' },
  },
);
