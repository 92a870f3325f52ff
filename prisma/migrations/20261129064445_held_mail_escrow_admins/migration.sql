-- The escrow_admin role value itself comes with the admin_users migration.

-- CreateTable
CREATE TABLE "escrow_admins" (
    "user_id" UUID NOT NULL,
    "account_id" UUID NOT NULL,
    "designated_by_id" UUID,
    "designated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "escrow_admins_pkey" PRIMARY KEY ("user_id")
);

-- CreateTable
CREATE TABLE "held_mail" (
    "message_id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "address" TEXT NOT NULL,
    "folder" "folder" NOT NULL,
    "held_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "held_mail_pkey" PRIMARY KEY ("message_id")
);

-- CreateIndex
CREATE INDEX "escrow_admins_account_id_idx" ON "escrow_admins"("account_id");

-- CreateIndex
CREATE INDEX "held_mail_user_id_idx" ON "held_mail"("user_id");

-- AddForeignKey
ALTER TABLE "escrow_admins" ADD CONSTRAINT "escrow_admins_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "escrow_admins" ADD CONSTRAINT "escrow_admins_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "held_mail" ADD CONSTRAINT "held_mail_message_id_fkey" FOREIGN KEY ("message_id") REFERENCES "messages"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "held_mail" ADD CONSTRAINT "held_mail_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Whoever holds the account's escrow key today is a designated escrow admin.
INSERT INTO "escrow_admins" ("user_id", "account_id", "designated_by_id", "designated_at")
SELECT DISTINCT b."user_id", u."account_id", NULL::uuid, CURRENT_TIMESTAMP
FROM "escrow_boxes" b JOIN "users" u ON u."id" = b."user_id"
ON CONFLICT DO NOTHING;
