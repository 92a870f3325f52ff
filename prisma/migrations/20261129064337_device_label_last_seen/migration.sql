-- AlterTable
ALTER TABLE "devices" ADD COLUMN     "label" TEXT,
ADD COLUMN     "last_seen_at" TIMESTAMPTZ(3);
