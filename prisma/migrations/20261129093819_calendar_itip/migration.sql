-- CreateTable
CREATE TABLE "calendar_itips" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "method" TEXT NOT NULL,
    "sender" TEXT NOT NULL,
    "verdict" TEXT NOT NULL,
    "reason" TEXT,
    "box" BYTEA,
    "outcome" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "processed_at" TIMESTAMPTZ(3),

    CONSTRAINT "calendar_itips_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "calendar_itips_user_id_processed_at_idx" ON "calendar_itips"("user_id", "processed_at");

-- AddForeignKey
ALTER TABLE "calendar_itips" ADD CONSTRAINT "calendar_itips_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
