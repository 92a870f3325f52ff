-- AlterTable
ALTER TABLE "messages" ADD COLUMN     "origin_ref" BYTEA;

-- CreateIndex
CREATE INDEX "messages_origin_ref_idx" ON "messages"("origin_ref");
