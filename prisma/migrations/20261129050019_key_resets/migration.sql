-- CreateTable
CREATE TABLE "key_resets" (
    "id" BIGSERIAL NOT NULL,
    "user_id" UUID NOT NULL,
    "reset_at" TIMESTAMPTZ(3) NOT NULL,
    "old_length" INTEGER NOT NULL,
    "old_root" BYTEA NOT NULL,
    "old_head" BYTEA NOT NULL,

    CONSTRAINT "key_resets_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "key_resets_user_id_idx" ON "key_resets"("user_id");

-- AddForeignKey
ALTER TABLE "key_resets" ADD CONSTRAINT "key_resets_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
