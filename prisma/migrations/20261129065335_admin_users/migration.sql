-- AlterEnum
ALTER TYPE "user_role" ADD VALUE 'escrow_admin';

-- DropForeignKey
ALTER TABLE "blobs" DROP CONSTRAINT "blobs_owner_user_id_fkey";

-- AlterTable
ALTER TABLE "blobs" ALTER COLUMN "owner_user_id" DROP NOT NULL;

-- AlterTable
ALTER TABLE "users" ADD COLUMN     "legal_hold_at" TIMESTAMPTZ(3),
ADD COLUMN     "legal_hold_by" UUID,
ADD COLUMN     "legal_hold_reason" TEXT,
ADD COLUMN     "plan" TEXT;

-- CreateTable
CREATE TABLE "user_aliases" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "domain_id" UUID NOT NULL,
    "local_part" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "user_aliases_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "invitations" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "token_hash" BYTEA NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "used_at" TIMESTAMPTZ(3),
    "created_by" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "invitations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "held_mailbox_entries" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "message_id" UUID NOT NULL,
    "folder" "folder" NOT NULL,
    "role" TEXT NOT NULL,
    "box" BYTEA NOT NULL,
    "thread_id" UUID NOT NULL,
    "size" BIGINT NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL,
    "purged_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "held_mailbox_entries_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "user_aliases_user_id_idx" ON "user_aliases"("user_id");

-- CreateIndex
CREATE UNIQUE INDEX "user_aliases_domain_id_local_part_key" ON "user_aliases"("domain_id", "local_part");

-- CreateIndex
CREATE UNIQUE INDEX "invitations_token_hash_key" ON "invitations"("token_hash");

-- CreateIndex
CREATE INDEX "invitations_user_id_idx" ON "invitations"("user_id");

-- CreateIndex
CREATE INDEX "held_mailbox_entries_user_id_idx" ON "held_mailbox_entries"("user_id");

-- CreateIndex
CREATE INDEX "held_mailbox_entries_message_id_idx" ON "held_mailbox_entries"("message_id");

-- AddForeignKey
ALTER TABLE "blobs" ADD CONSTRAINT "blobs_owner_user_id_fkey" FOREIGN KEY ("owner_user_id") REFERENCES "users"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "user_aliases" ADD CONSTRAINT "user_aliases_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "user_aliases" ADD CONSTRAINT "user_aliases_domain_id_fkey" FOREIGN KEY ("domain_id") REFERENCES "domains"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "invitations" ADD CONSTRAINT "invitations_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "held_mailbox_entries" ADD CONSTRAINT "held_mailbox_entries_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "held_mailbox_entries" ADD CONSTRAINT "held_mailbox_entries_message_id_fkey" FOREIGN KEY ("message_id") REFERENCES "messages"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
