-- CreateEnum
CREATE TYPE "device_status" AS ENUM ('pending', 'approved', 'revoked');

-- CreateTable
CREATE TABLE "sigchain_links" (
    "user_id" UUID NOT NULL,
    "seqno" INTEGER NOT NULL,
    "type" INTEGER NOT NULL,
    "bytes" BYTEA NOT NULL,
    "hash" BYTEA NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "sigchain_links_pkey" PRIMARY KEY ("user_id","seqno")
);

-- CreateTable
CREATE TABLE "devices" (
    "id" TEXT NOT NULL,
    "user_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "status" "device_status" NOT NULL,
    "added_seqno" INTEGER NOT NULL,
    "revoked_seqno" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "devices_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "puk_boxes" (
    "user_id" UUID NOT NULL,
    "generation" INTEGER NOT NULL,
    "device_id" TEXT NOT NULL,
    "box" BYTEA NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "puk_boxes_pkey" PRIMARY KEY ("user_id","generation","device_id")
);

-- CreateIndex
CREATE INDEX "devices_user_id_idx" ON "devices"("user_id");

-- CreateIndex
CREATE INDEX "puk_boxes_device_id_idx" ON "puk_boxes"("device_id");

-- AddForeignKey
ALTER TABLE "sigchain_links" ADD CONSTRAINT "sigchain_links_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "devices" ADD CONSTRAINT "devices_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "puk_boxes" ADD CONSTRAINT "puk_boxes_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
