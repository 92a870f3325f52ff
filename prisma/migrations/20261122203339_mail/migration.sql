-- CreateEnum
CREATE TYPE "protection" AS ENUM ('e2ee', 'server');

-- CreateEnum
CREATE TYPE "folder" AS ENUM ('inbox', 'drafts', 'sent', 'outbox', 'archive', 'trash', 'spam');

-- AlterTable
ALTER TABLE "users" ADD COLUMN     "quota_bytes" BIGINT NOT NULL DEFAULT 1073741824,
ADD COLUMN     "used_bytes" BIGINT NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "messages" (
    "id" UUID NOT NULL,
    "mail_id" TEXT NOT NULL,
    "sender_user_id" UUID,
    "sender_address" TEXT NOT NULL,
    "to_addresses" TEXT[],
    "cc_addresses" TEXT[],
    "protection" "protection" NOT NULL,
    "envelope" BYTEA NOT NULL,
    "manifest" BYTEA NOT NULL,
    "body" BYTEA NOT NULL,
    "body_size" INTEGER NOT NULL,
    "attachment_sizes" BIGINT[],
    "size" BIGINT NOT NULL,
    "parent_id" UUID,
    "sent_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "messages_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "blobs" (
    "id" UUID NOT NULL,
    "owner_user_id" UUID NOT NULL,
    "declared_size" BIGINT NOT NULL,
    "size" BIGINT NOT NULL DEFAULT 0,
    "parts" INTEGER NOT NULL DEFAULT 0,
    "sha256" BYTEA,
    "completed_at" TIMESTAMPTZ(3),
    "message_id" UUID,
    "piece_index" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "blobs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "blob_parts" (
    "blob_id" UUID NOT NULL,
    "index" INTEGER NOT NULL,
    "data" BYTEA NOT NULL,

    CONSTRAINT "blob_parts_pkey" PRIMARY KEY ("blob_id","index")
);

-- CreateTable
CREATE TABLE "mailbox_entries" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "message_id" UUID NOT NULL,
    "folder" "folder" NOT NULL,
    "role" TEXT NOT NULL,
    "box" BYTEA NOT NULL,
    "thread_id" UUID NOT NULL,
    "read" BOOLEAN NOT NULL DEFAULT false,
    "starred" BOOLEAN NOT NULL DEFAULT false,
    "label_ids" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "size" BIGINT NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "mailbox_entries_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "labels" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "name" BYTEA NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "labels_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "messages_mail_id_key" ON "messages"("mail_id");

-- CreateIndex
CREATE INDEX "blobs_owner_user_id_idx" ON "blobs"("owner_user_id");

-- CreateIndex
CREATE INDEX "blobs_message_id_idx" ON "blobs"("message_id");

-- CreateIndex
CREATE INDEX "mailbox_entries_user_id_folder_received_at_id_idx" ON "mailbox_entries"("user_id", "folder", "received_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "mailbox_entries_user_id_thread_id_idx" ON "mailbox_entries"("user_id", "thread_id");

-- CreateIndex
CREATE INDEX "mailbox_entries_message_id_idx" ON "mailbox_entries"("message_id");

-- CreateIndex
CREATE INDEX "labels_user_id_idx" ON "labels"("user_id");

-- AddForeignKey
ALTER TABLE "blobs" ADD CONSTRAINT "blobs_owner_user_id_fkey" FOREIGN KEY ("owner_user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "blobs" ADD CONSTRAINT "blobs_message_id_fkey" FOREIGN KEY ("message_id") REFERENCES "messages"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "blob_parts" ADD CONSTRAINT "blob_parts_blob_id_fkey" FOREIGN KEY ("blob_id") REFERENCES "blobs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "mailbox_entries" ADD CONSTRAINT "mailbox_entries_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "mailbox_entries" ADD CONSTRAINT "mailbox_entries_message_id_fkey" FOREIGN KEY ("message_id") REFERENCES "messages"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "labels" ADD CONSTRAINT "labels_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
