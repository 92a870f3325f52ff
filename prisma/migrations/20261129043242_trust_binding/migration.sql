-- AlterTable
ALTER TABLE "escrow_keys" ADD COLUMN     "endorsed_by_device" TEXT,
ADD COLUMN     "endorsement" BYTEA;

-- CreateTable
CREATE TABLE "puk_history_boxes" (
    "user_id" UUID NOT NULL,
    "device_id" TEXT NOT NULL,
    "from_device_id" TEXT NOT NULL,
    "box" BYTEA NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "puk_history_boxes_pkey" PRIMARY KEY ("user_id","device_id")
);

-- AddForeignKey
ALTER TABLE "puk_history_boxes" ADD CONSTRAINT "puk_history_boxes_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
