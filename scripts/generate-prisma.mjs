// Generates the Prisma client after install. Prisma's CLI wants to download its schema-engine
// binary, which this environment cannot reach; `generate` only checks that the file exists, so it
// is pointed at /bin/true here (never do that for migrate commands). See docs/operations.md.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

if (!existsSync('prisma/schema.prisma') || !existsSync('packages/db/node_modules/.bin/prisma')) process.exit(0);
const r = spawnSync('packages/db/node_modules/.bin/prisma', ['generate', '--schema', 'prisma/schema.prisma'], {
  stdio: 'inherit',
  env: {
    ...process.env,
    PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? '/bin/true',
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
    CHECKPOINT_DISABLE: '1',
  },
});
process.exit(r.status ?? 1);
