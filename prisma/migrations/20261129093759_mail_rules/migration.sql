-- CreateTable
CREATE TABLE "mail_filters" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "position" INTEGER NOT NULL,
    "conditions" JSONB NOT NULL,
    "actions" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "mail_filters_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "forward_addresses" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "address" TEXT NOT NULL,
    "code_hash" BYTEA,
    "expires_at" TIMESTAMPTZ(3),
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "verified_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "forward_addresses_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "content_rules" (
    "user_id" UUID NOT NULL,
    "record" BYTEA NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "content_rules_pkey" PRIMARY KEY ("user_id")
);

-- CreateTable
CREATE TABLE "out_of_office" (
    "user_id" UUID NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT false,
    "starts_at" TIMESTAMPTZ(3),
    "ends_at" TIMESTAMPTZ(3),
    "subject" TEXT NOT NULL,
    "text" TEXT NOT NULL,
    "outside_text" TEXT,
    "period_id" UUID NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "out_of_office_pkey" PRIMARY KEY ("user_id")
);

-- CreateTable
CREATE TABLE "out_of_office_replies" (
    "user_id" UUID NOT NULL,
    "period_id" UUID NOT NULL,
    "sender" TEXT NOT NULL,
    "replied_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "out_of_office_replies_pkey" PRIMARY KEY ("user_id","period_id","sender")
);

-- CreateIndex
CREATE INDEX "mail_filters_user_id_position_idx" ON "mail_filters"("user_id", "position");

-- CreateIndex
CREATE UNIQUE INDEX "forward_addresses_user_id_address_key" ON "forward_addresses"("user_id", "address");

-- AddForeignKey
ALTER TABLE "mail_filters" ADD CONSTRAINT "mail_filters_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "forward_addresses" ADD CONSTRAINT "forward_addresses_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "content_rules" ADD CONSTRAINT "content_rules_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "out_of_office" ADD CONSTRAINT "out_of_office_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "out_of_office_replies" ADD CONSTRAINT "out_of_office_replies_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
