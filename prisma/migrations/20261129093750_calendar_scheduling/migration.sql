-- CreateTable
CREATE TABLE "calendar_grants" (
    "calendar_id" UUID NOT NULL,
    "grantee_id" UUID NOT NULL,
    "level" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "calendar_grants_pkey" PRIMARY KEY ("calendar_id","grantee_id")
);

-- CreateTable
CREATE TABLE "calendar_resources" (
    "id" UUID NOT NULL,
    "account_id" UUID NOT NULL,
    "domain_id" UUID NOT NULL,
    "local_part" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "capacity" INTEGER,
    "location" TEXT,
    "max_booking_minutes" INTEGER,
    "booking_horizon_days" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "calendar_resources_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "resource_bookings" (
    "resource_id" UUID NOT NULL,
    "event_id" UUID NOT NULL,
    "accepted" BOOLEAN NOT NULL,
    "reason" TEXT,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "resource_bookings_pkey" PRIMARY KEY ("resource_id","event_id")
);

-- CreateIndex
CREATE INDEX "calendar_grants_grantee_id_idx" ON "calendar_grants"("grantee_id");

-- CreateIndex
CREATE INDEX "calendar_resources_account_id_idx" ON "calendar_resources"("account_id");

-- CreateIndex
CREATE UNIQUE INDEX "calendar_resources_domain_id_local_part_key" ON "calendar_resources"("domain_id", "local_part");

-- CreateIndex
CREATE INDEX "resource_bookings_event_id_idx" ON "resource_bookings"("event_id");

-- AddForeignKey
ALTER TABLE "calendar_grants" ADD CONSTRAINT "calendar_grants_calendar_id_fkey" FOREIGN KEY ("calendar_id") REFERENCES "calendars"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "calendar_grants" ADD CONSTRAINT "calendar_grants_grantee_id_fkey" FOREIGN KEY ("grantee_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "calendar_resources" ADD CONSTRAINT "calendar_resources_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "calendar_resources" ADD CONSTRAINT "calendar_resources_domain_id_fkey" FOREIGN KEY ("domain_id") REFERENCES "domains"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "resource_bookings" ADD CONSTRAINT "resource_bookings_resource_id_fkey" FOREIGN KEY ("resource_id") REFERENCES "calendar_resources"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "resource_bookings" ADD CONSTRAINT "resource_bookings_event_id_fkey" FOREIGN KEY ("event_id") REFERENCES "calendar_events"("id") ON DELETE CASCADE ON UPDATE CASCADE;
