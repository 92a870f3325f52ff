-- CreateEnum
CREATE TYPE "delivery_status" AS ENUM ('queued', 'delivered', 'failed');

-- AlterTable
ALTER TABLE "messages" ADD COLUMN     "server_box" BYTEA;

-- CreateTable
CREATE TABLE "outbound_deliveries" (
    "id" UUID NOT NULL,
    "message_id" UUID NOT NULL,
    "recipient" TEXT NOT NULL,
    "status" "delivery_status" NOT NULL DEFAULT 'queued',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "outbound_deliveries_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "outbound_deliveries_status_idx" ON "outbound_deliveries"("status");

-- CreateIndex
CREATE UNIQUE INDEX "outbound_deliveries_message_id_recipient_key" ON "outbound_deliveries"("message_id", "recipient");

-- AddForeignKey
ALTER TABLE "outbound_deliveries" ADD CONSTRAINT "outbound_deliveries_message_id_fkey" FOREIGN KEY ("message_id") REFERENCES "messages"("id") ON DELETE CASCADE ON UPDATE CASCADE;
