-- CreateEnum
CREATE TYPE "import_status" AS ENUM ('uploading', 'queued', 'running', 'done', 'failed');

-- CreateTable
CREATE TABLE "mail_imports" (
    "id" UUID NOT NULL,
    "account_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "actor_user_id" UUID,
    "format" TEXT NOT NULL,
    "file_name" TEXT NOT NULL,
    "folder" TEXT NOT NULL DEFAULT 'inbox',
    "status" "import_status" NOT NULL DEFAULT 'uploading',
    "size" BIGINT NOT NULL DEFAULT 0,
    "parts" INTEGER NOT NULL DEFAULT 0,
    "total" INTEGER,
    "processed" INTEGER NOT NULL DEFAULT 0,
    "imported" INTEGER NOT NULL DEFAULT 0,
    "duplicates" INTEGER NOT NULL DEFAULT 0,
    "failed" INTEGER NOT NULL DEFAULT 0,
    "failures" JSONB NOT NULL DEFAULT '[]',
    "error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "mail_imports_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "mail_import_parts" (
    "import_id" UUID NOT NULL,
    "index" INTEGER NOT NULL,
    "data" BYTEA NOT NULL,

    CONSTRAINT "mail_import_parts_pkey" PRIMARY KEY ("import_id","index")
);

-- CreateTable
CREATE TABLE "imported_messages" (
    "user_id" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "content_hash" TEXT NOT NULL,
    "message_id" UUID,
    "refs" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "imported_messages_pkey" PRIMARY KEY ("user_id","key")
);

-- CreateTable
CREATE TABLE "imported_contacts" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "sealed_to" TEXT NOT NULL,
    "box" BYTEA NOT NULL,
    "count" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "imported_contacts_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "mail_imports_account_id_created_at_idx" ON "mail_imports"("account_id", "created_at");

-- CreateIndex
CREATE INDEX "mail_imports_user_id_idx" ON "mail_imports"("user_id");

-- CreateIndex
CREATE INDEX "imported_messages_message_id_idx" ON "imported_messages"("message_id");

-- CreateIndex
CREATE INDEX "imported_contacts_user_id_idx" ON "imported_contacts"("user_id");

-- AddForeignKey
ALTER TABLE "mail_imports" ADD CONSTRAINT "mail_imports_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "mail_import_parts" ADD CONSTRAINT "mail_import_parts_import_id_fkey" FOREIGN KEY ("import_id") REFERENCES "mail_imports"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "imported_messages" ADD CONSTRAINT "imported_messages_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "imported_messages" ADD CONSTRAINT "imported_messages_message_id_fkey" FOREIGN KEY ("message_id") REFERENCES "messages"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "imported_contacts" ADD CONSTRAINT "imported_contacts_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
