-- AlterTable
ALTER TABLE "mailbox_entries" ADD COLUMN     "folder_id" UUID,
ADD COLUMN     "trashed_from" "folder";

-- CreateTable
CREATE TABLE "mail_folders" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "name" BYTEA NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "mail_folders_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sender_verdicts" (
    "user_id" UUID NOT NULL,
    "address" TEXT NOT NULL,
    "verdict" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "sender_verdicts_pkey" PRIMARY KEY ("user_id","address")
);

-- CreateIndex
CREATE INDEX "mail_folders_user_id_idx" ON "mail_folders"("user_id");

-- AddForeignKey
ALTER TABLE "mailbox_entries" ADD CONSTRAINT "mailbox_entries_folder_id_fkey" FOREIGN KEY ("folder_id") REFERENCES "mail_folders"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "mail_folders" ADD CONSTRAINT "mail_folders_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "sender_verdicts" ADD CONSTRAINT "sender_verdicts_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
