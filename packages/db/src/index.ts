export * from './client';
export { applyMigrations, readMigrations, defaultMigrationsDir, MigrationError, type Migration } from './migrate';
export { startEmbeddedPostgres, type EmbeddedPostgresOptions, type RunningPostgres } from './embedded';
export { seedDemo, type SeedResult } from './seed';
