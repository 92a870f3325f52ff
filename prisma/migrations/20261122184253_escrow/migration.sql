-- CreateEnum
CREATE TYPE "escrow_status" AS ENUM ('active', 'disabled');

-- DropIndex
DROP INDEX "devices_user_id_idx";

-- AlterTable
ALTER TABLE "devices" DROP CONSTRAINT "devices_pkey",
ADD CONSTRAINT "devices_pkey" PRIMARY KEY ("user_id", "id");

-- CreateTable
CREATE TABLE "escrow_keys" (
    "id" TEXT NOT NULL,
    "account_id" UUID NOT NULL,
    "public_keys" BYTEA NOT NULL,
    "certificate" BYTEA NOT NULL,
    "status" "escrow_status" NOT NULL DEFAULT 'active',
    "enabled_by_id" UUID,
    "enabled_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "disabled_at" TIMESTAMPTZ(3),

    CONSTRAINT "escrow_keys_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "escrow_boxes" (
    "escrow_id" TEXT NOT NULL,
    "user_id" UUID NOT NULL,
    "device_id" TEXT NOT NULL,
    "box" BYTEA NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "escrow_boxes_pkey" PRIMARY KEY ("escrow_id","device_id")
);

-- CreateIndex
CREATE INDEX "escrow_keys_account_id_idx" ON "escrow_keys"("account_id");

-- CreateIndex
CREATE INDEX "escrow_boxes_user_id_idx" ON "escrow_boxes"("user_id");

-- AddForeignKey
ALTER TABLE "escrow_keys" ADD CONSTRAINT "escrow_keys_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "escrow_boxes" ADD CONSTRAINT "escrow_boxes_escrow_id_fkey" FOREIGN KEY ("escrow_id") REFERENCES "escrow_keys"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "escrow_boxes" ADD CONSTRAINT "escrow_boxes_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
