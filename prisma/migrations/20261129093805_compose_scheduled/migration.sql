-- AlterTable
ALTER TABLE "users" ADD COLUMN     "undo_send_seconds" INTEGER NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "scheduled_sends" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "entry_id" UUID NOT NULL,
    "message_id" UUID NOT NULL,
    "device_id" TEXT NOT NULL,
    "send_at" TIMESTAMPTZ(3) NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'scheduled',
    "error" TEXT,
    "plan" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "released_at" TIMESTAMPTZ(3),

    CONSTRAINT "scheduled_sends_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "mail_signatures" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "address" TEXT,
    "is_default" BOOLEAN NOT NULL DEFAULT false,
    "sealed" BYTEA NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "mail_signatures_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "mail_templates" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "sealed" BYTEA NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "mail_templates_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "scheduled_sends_entry_id_key" ON "scheduled_sends"("entry_id");

-- CreateIndex
CREATE INDEX "scheduled_sends_status_send_at_idx" ON "scheduled_sends"("status", "send_at");

-- CreateIndex
CREATE INDEX "scheduled_sends_user_id_status_idx" ON "scheduled_sends"("user_id", "status");

-- CreateIndex
CREATE INDEX "mail_signatures_user_id_idx" ON "mail_signatures"("user_id");

-- CreateIndex
CREATE INDEX "mail_templates_user_id_idx" ON "mail_templates"("user_id");

-- AddForeignKey
ALTER TABLE "scheduled_sends" ADD CONSTRAINT "scheduled_sends_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "mail_signatures" ADD CONSTRAINT "mail_signatures_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "mail_templates" ADD CONSTRAINT "mail_templates_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
