-- DropIndex
DROP INDEX "blobs_message_id_idx";

-- AlterTable
ALTER TABLE "blobs" ADD COLUMN     "uploaded" BOOLEAN NOT NULL DEFAULT false;

-- CreateIndex
CREATE INDEX "blobs_message_id_created_at_idx" ON "blobs"("message_id", "created_at");
