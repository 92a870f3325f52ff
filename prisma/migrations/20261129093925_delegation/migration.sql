-- CreateTable
CREATE TABLE "delegate_grants" (
    "manager_user_id" UUID NOT NULL,
    "granted_seqno" INTEGER NOT NULL,
    "delegate_user_id" UUID NOT NULL,
    "rights" INTEGER NOT NULL,
    "revoked_seqno" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "delegate_grants_pkey" PRIMARY KEY ("manager_user_id","granted_seqno")
);

-- CreateTable
CREATE TABLE "mailbox_key_boxes" (
    "mailbox_user_id" UUID NOT NULL,
    "generation" INTEGER NOT NULL,
    "delegate_user_id" UUID NOT NULL,
    "delegate_generation" INTEGER NOT NULL,
    "box" BYTEA NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "mailbox_key_boxes_pkey" PRIMARY KEY ("mailbox_user_id","generation","delegate_user_id")
);

-- CreateTable
CREATE TABLE "shared_mailboxes" (
    "user_id" UUID NOT NULL,
    "created_by" UUID NOT NULL,
    "device_box" BYTEA,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "shared_mailboxes_pkey" PRIMARY KEY ("user_id")
);

-- CreateIndex
CREATE INDEX "delegate_grants_delegate_user_id_idx" ON "delegate_grants"("delegate_user_id");

-- CreateIndex
CREATE INDEX "mailbox_key_boxes_delegate_user_id_idx" ON "mailbox_key_boxes"("delegate_user_id");

-- AddForeignKey
ALTER TABLE "delegate_grants" ADD CONSTRAINT "delegate_grants_manager_user_id_fkey" FOREIGN KEY ("manager_user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "delegate_grants" ADD CONSTRAINT "delegate_grants_delegate_user_id_fkey" FOREIGN KEY ("delegate_user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "mailbox_key_boxes" ADD CONSTRAINT "mailbox_key_boxes_mailbox_user_id_fkey" FOREIGN KEY ("mailbox_user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "shared_mailboxes" ADD CONSTRAINT "shared_mailboxes_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
