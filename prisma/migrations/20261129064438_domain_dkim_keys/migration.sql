-- CreateEnum
CREATE TYPE "dkim_state" AS ENUM ('next', 'active', 'old');

-- AlterTable
ALTER TABLE "domains" ADD COLUMN     "verify_token" TEXT;

-- CreateTable
CREATE TABLE "dkim_keys" (
    "id" UUID NOT NULL,
    "domain_id" UUID NOT NULL,
    "selector" TEXT NOT NULL,
    "state" "dkim_state" NOT NULL,
    "private_key" TEXT NOT NULL,
    "public_key" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "activated_at" TIMESTAMPTZ(3),

    CONSTRAINT "dkim_keys_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "dkim_keys_domain_id_selector_key" ON "dkim_keys"("domain_id", "selector");

-- AddForeignKey
ALTER TABLE "dkim_keys" ADD CONSTRAINT "dkim_keys_domain_id_fkey" FOREIGN KEY ("domain_id") REFERENCES "domains"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Domains that existed before ownership checks (the demo seed, domains made in SQL) count as verified.
UPDATE "domains" SET "verified_at" = CURRENT_TIMESTAMP WHERE "verified_at" IS NULL;
