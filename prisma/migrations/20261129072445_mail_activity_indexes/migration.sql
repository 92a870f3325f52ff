-- CreateIndex
CREATE INDEX "audit_events_account_id_actor_ref_seq_idx" ON "audit_events"("account_id", "actor_ref", "seq");

-- CreateIndex
CREATE INDEX "messages_sent_at_id_idx" ON "messages"("sent_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "messages_sender_address_sent_at_idx" ON "messages"("sender_address", "sent_at" DESC);
