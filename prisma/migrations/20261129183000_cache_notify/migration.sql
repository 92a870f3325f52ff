-- The API processes' caches (docs/performance.md "A per-process cache kept right by Postgres";
-- apps/api/src/cache/*). Each API process keeps, in memory, the session lookups and the serialised
-- list rows and counts it answered, and LISTENs on the channel `sealmail_cache`. These triggers
-- say which user's cached answers a committed change makes wrong, whoever makes it (API routes,
-- the SMTP ingress, imports, housekeeping, an operator's SQL): a writer cannot forget to publish.
-- NOTIFY is delivered at commit, and Postgres sends one notification per distinct payload per
-- transaction, so a bulk move of 100,000 entries costs one notification for its user.
--
-- Payloads: 'm:<user id>' the user's mailbox changed (rows pages, counts); 'a:<user id>' the user's
-- sessions, devices or account changed (their cached sessions too); '*' something every user's
-- session reads changed (a domain's name, an organisation's TOTP rule).

-- Mailbox entries: one statement-level trigger per event (transition tables allow one event each).
CREATE FUNCTION sealmail_cache_entries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM pg_notify('sealmail_cache', 'm:' || u) FROM (SELECT DISTINCT user_id AS u FROM new_rows) x;
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('sealmail_cache', 'm:' || u) FROM (SELECT DISTINCT user_id AS u FROM old_rows) x;
  ELSE
    PERFORM pg_notify('sealmail_cache', 'm:' || u) FROM (SELECT user_id AS u FROM new_rows UNION SELECT user_id FROM old_rows) x;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER sealmail_cache_entries_insert AFTER INSERT ON mailbox_entries REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sealmail_cache_entries();
CREATE TRIGGER sealmail_cache_entries_update AFTER UPDATE ON mailbox_entries REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sealmail_cache_entries();
CREATE TRIGGER sealmail_cache_entries_delete AFTER DELETE ON mailbox_entries REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION sealmail_cache_entries();

-- Messages: what a list row shows of its message (sent time, addresses, protection, attachment
-- sizes, and the sealed parts its digest covers) changes for every user holding an entry of it
-- (scheduled send sets sent_at; held mail is sealed later). Other columns (the server box, the
-- thread parent) are not in a row: an update of only those notifies no one.
CREATE FUNCTION sealmail_cache_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('sealmail_cache', 'm:' || u)
  FROM (SELECT DISTINCT e.user_id AS u
        FROM new_rows n JOIN old_rows o ON o.id = n.id JOIN mailbox_entries e ON e.message_id = n.id
        WHERE (n.sent_at, n.sender_address, n.to_addresses, n.cc_addresses, n.protection, n.attachment_sizes, n.envelope, n.manifest, n.summary)
              IS DISTINCT FROM (o.sent_at, o.sender_address, o.to_addresses, o.cc_addresses, o.protection, o.attachment_sizes, o.envelope, o.manifest, o.summary)) x;
  RETURN NULL;
END $$;
CREATE TRIGGER sealmail_cache_messages_update AFTER UPDATE ON messages REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sealmail_cache_messages();

-- Blobs: a row lists its message's attachment ids. A blob joins its message in the transaction
-- that files the message's entries (notified above); one leaving or changing an attached message
-- notifies that message's holders. Unattached blobs (uploads in progress) fire nothing.
CREATE FUNCTION sealmail_cache_blobs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('sealmail_cache', 'm:' || u) FROM (SELECT DISTINCT user_id AS u FROM mailbox_entries WHERE message_id = OLD.message_id) x;
  RETURN NULL;
END $$;
CREATE TRIGGER sealmail_cache_blobs AFTER UPDATE OF message_id OR DELETE ON blobs FOR EACH ROW WHEN (OLD.message_id IS NOT NULL) EXECUTE FUNCTION sealmail_cache_blobs();

-- Users: the quota travels with the counts ('m:'); anything else is in the session lookup ('a:').
CREATE FUNCTION sealmail_cache_users() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('sealmail_cache', 'a:' || OLD.id);
  ELSIF to_jsonb(OLD) - 'used_bytes' IS DISTINCT FROM to_jsonb(NEW) - 'used_bytes' THEN
    PERFORM pg_notify('sealmail_cache', 'a:' || NEW.id);
  ELSE
    PERFORM pg_notify('sealmail_cache', 'm:' || NEW.id);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER sealmail_cache_users AFTER UPDATE OR DELETE ON users FOR EACH ROW EXECUTE FUNCTION sealmail_cache_users();

-- Sessions and devices: revocation, expiry, re-authentication, the bound device and its status.
-- The once-a-minute last-seen touches change nothing a process decides on and fire nothing.
CREATE FUNCTION sealmail_cache_auth() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('sealmail_cache', 'a:' || CASE WHEN TG_OP = 'DELETE' THEN OLD.user_id ELSE NEW.user_id END);
  IF TG_OP = 'UPDATE' AND OLD.user_id <> NEW.user_id THEN
    PERFORM pg_notify('sealmail_cache', 'a:' || OLD.user_id);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER sealmail_cache_sessions AFTER UPDATE ON sessions FOR EACH ROW
  WHEN ((to_jsonb(OLD) - 'last_seen_at') IS DISTINCT FROM (to_jsonb(NEW) - 'last_seen_at')) EXECUTE FUNCTION sealmail_cache_auth();
CREATE TRIGGER sealmail_cache_sessions_delete AFTER DELETE ON sessions FOR EACH ROW EXECUTE FUNCTION sealmail_cache_auth();
CREATE TRIGGER sealmail_cache_devices AFTER UPDATE ON devices FOR EACH ROW
  WHEN ((to_jsonb(OLD) - 'last_seen_at') IS DISTINCT FROM (to_jsonb(NEW) - 'last_seen_at')) EXECUTE FUNCTION sealmail_cache_auth();
CREATE TRIGGER sealmail_cache_devices_change AFTER INSERT OR DELETE ON devices FOR EACH ROW EXECUTE FUNCTION sealmail_cache_auth();

-- Domains and organisations: every session of theirs reads the domain's name and the TOTP rule.
CREATE FUNCTION sealmail_cache_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('sealmail_cache', '*');
  RETURN NULL;
END $$;
CREATE TRIGGER sealmail_cache_domains AFTER UPDATE OF name OR DELETE ON domains FOR EACH ROW EXECUTE FUNCTION sealmail_cache_all();
CREATE TRIGGER sealmail_cache_accounts AFTER UPDATE OF require_totp OR DELETE ON accounts FOR EACH ROW EXECUTE FUNCTION sealmail_cache_all();
