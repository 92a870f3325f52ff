-- Blob parts are ciphertext: it does not compress, so Postgres should not try (and TOAST the
-- value out of line without pglz). Existing rows keep how they were stored; new parts are written
-- this way (docs/performance.md, "Transfer").
ALTER TABLE "blob_parts" ALTER COLUMN "data" SET STORAGE EXTERNAL;
