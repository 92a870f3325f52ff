-- Change history as a hash chain per account (docs/admin.md, Change history).
-- Existing entries are numbered here in the order they were written (id) and keep their actor as
-- actor_ref; their hashes are computed right after the migrations by the runner
-- (packages/db/src/audit-chain.ts, chainPendingAudit), because the canonical encoding (RFC 8785
-- JSON) is made in Node, not in SQL.

-- AlterTable
ALTER TABLE "audit_events" ADD COLUMN     "actor_ref" UUID,
ADD COLUMN     "hash" TEXT,
ADD COLUMN     "prev_hash" TEXT,
ADD COLUMN     "seq" BIGINT;

UPDATE "audit_events" AS e SET "seq" = n."seq", "actor_ref" = e."actor_user_id"
FROM (SELECT "id", row_number() OVER (PARTITION BY "account_id" ORDER BY "id") AS "seq" FROM "audit_events") AS n
WHERE n."id" = e."id";

ALTER TABLE "audit_events" ALTER COLUMN "seq" SET NOT NULL;

-- CreateTable
CREATE TABLE "audit_heads" (
    "account_id" UUID NOT NULL,
    "seq" BIGINT NOT NULL DEFAULT 0,
    "hash" TEXT,

    CONSTRAINT "audit_heads_pkey" PRIMARY KEY ("account_id")
);

-- One head per account that has entries; hash null until the runner chained them.
INSERT INTO "audit_heads" ("account_id", "seq", "hash")
SELECT "account_id", max("seq"), NULL FROM "audit_events" GROUP BY "account_id";

-- CreateIndex
CREATE UNIQUE INDEX "audit_events_account_id_seq_key" ON "audit_events"("account_id", "seq");

-- AddForeignKey
ALTER TABLE "audit_heads" ADD CONSTRAINT "audit_heads_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
