-- CreateIndex
CREATE INDEX "mailbox_entries_user_id_received_at_id_idx" ON "mailbox_entries"("user_id", "received_at" DESC, "id" DESC);
