export * from './client';
export { applyMigrations, readMigrations, defaultMigrationsDir, MigrationError, type Migration } from './migrate';
export { startEmbeddedPostgres, type EmbeddedPostgresOptions, type RunningPostgres } from './embedded';
export { seedDemo, type SeedResult } from './seed';
export { verifyAuditChain, auditEntryEncoding, auditEntryHash, prismaQuery, GENESIS_HASH, AUDIT_CHAIN_VERSION, type AuditVerification, type AuditProblem, type AuditProblemKind } from './audit-chain';
