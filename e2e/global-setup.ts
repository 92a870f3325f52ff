/**
 * Builds the web client, admin console and link viewer once before any end-to-end file starts
 * (scripts/frontend-build.ts; reused when the stamps match). Every file then starts its own stack
 * (start command, Postgres, services, Chromium) and finds the builds ready, so two files can run at
 * once without two Vite builds writing the same dist folders.
 */
import { ensureFrontEnds } from '../scripts/frontend-build';
import { repoRoot } from './support';

export default async function setup() {
  await ensureFrontEnds(repoRoot);
}
