-- AlterEnum
ALTER TYPE "delivery_status" ADD VALUE 'cancelled';

-- DropIndex
DROP INDEX "outbound_deliveries_status_idx";

-- AlterTable
ALTER TABLE "outbound_deliveries" ADD COLUMN     "bounced_at" TIMESTAMPTZ(3),
ADD COLUMN     "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
ADD COLUMN     "lease_until" TIMESTAMPTZ(3),
ADD COLUMN     "link_id" TEXT,
ADD COLUMN     "next_attempt_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;

-- CreateTable
CREATE TABLE "mail_links" (
    "id" TEXT NOT NULL,
    "message_id" UUID,
    "source_message_id" UUID NOT NULL,
    "sender_user_id" UUID NOT NULL,
    "recipient" TEXT NOT NULL,
    "password_box" BYTEA NOT NULL,
    "secret_box" BYTEA,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expired_at" TIMESTAMPTZ(3),
    "open_count" INTEGER NOT NULL DEFAULT 0,
    "first_opened_at" TIMESTAMPTZ(3),
    "last_opened_at" TIMESTAMPTZ(3),

    CONSTRAINT "mail_links_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "mail_links_source_message_id_idx" ON "mail_links"("source_message_id");

-- CreateIndex
CREATE INDEX "mail_links_expires_at_idx" ON "mail_links"("expires_at");

-- CreateIndex
CREATE UNIQUE INDEX "outbound_deliveries_link_id_key" ON "outbound_deliveries"("link_id");

-- CreateIndex
CREATE INDEX "outbound_deliveries_status_next_attempt_at_idx" ON "outbound_deliveries"("status", "next_attempt_at");

-- AddForeignKey
ALTER TABLE "outbound_deliveries" ADD CONSTRAINT "outbound_deliveries_link_id_fkey" FOREIGN KEY ("link_id") REFERENCES "mail_links"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "mail_links" ADD CONSTRAINT "mail_links_message_id_fkey" FOREIGN KEY ("message_id") REFERENCES "messages"("id") ON DELETE SET NULL ON UPDATE CASCADE;
