-- CreateTable
CREATE TABLE "mailbox_counts" (
    "user_id" UUID NOT NULL,
    "scope" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "total" INTEGER NOT NULL,
    "unread" INTEGER NOT NULL,

    CONSTRAINT "mailbox_counts_pkey" PRIMARY KEY ("user_id","scope","key")
);

-- AddForeignKey
ALTER TABLE "mailbox_counts" ADD CONSTRAINT "mailbox_counts_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Maintained counts (docs/performance.md "Mailbox on the server"). Statement-level triggers with
-- transition tables keep mailbox_counts right in the same transaction as every write to
-- mailbox_entries, whoever makes it (API routes, SMTP ingress, imports, housekeeping, raw SQL),
-- and a bulk statement costs one upsert per touched count, not one per row.

-- The counts one entry belongs to.
CREATE FUNCTION mailbox_count_keys(folder folder, folder_id UUID, label_ids TEXT[], starred BOOLEAN)
RETURNS TABLE (scope TEXT, key TEXT) LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN folder = 'archive' AND folder_id IS NOT NULL THEN 'custom' ELSE 'folder' END,
         CASE WHEN folder = 'archive' AND folder_id IS NOT NULL THEN folder_id::text ELSE folder::text END
  UNION ALL
  SELECT 'label', l FROM unnest(label_ids) AS l WHERE folder NOT IN ('trash', 'spam')
  UNION ALL
  SELECT 'starred', '' WHERE starred AND folder NOT IN ('trash', 'spam')
$$;

-- Adds deltas (parallel arrays, one element per count) to the counts; a count back at zero goes.
-- Rows are upserted in key order so concurrent writers lock counts in the same order. A user being
-- deleted (the cascade that removes their entries) is skipped: their counts go by cascade too.
CREATE FUNCTION mailbox_counts_add(users UUID[], scopes TEXT[], keys TEXT[], totals INT[], unreads INT[])
RETURNS void LANGUAGE sql AS $$
  INSERT INTO mailbox_counts AS c (user_id, scope, key, total, unread)
  SELECT d.user_id, d.scope, d.key, d.total, d.unread
  FROM unnest(users, scopes, keys, totals, unreads) AS d(user_id, scope, key, total, unread)
  WHERE (d.total <> 0 OR d.unread <> 0) AND EXISTS (SELECT 1 FROM users u WHERE u.id = d.user_id)
  ORDER BY d.user_id, d.scope, d.key
  ON CONFLICT (user_id, scope, key) DO UPDATE SET total = c.total + excluded.total, unread = c.unread + excluded.unread;
  -- A second statement, so it sees the upsert's effect.
  DELETE FROM mailbox_counts c USING unnest(users, scopes, keys) AS d(user_id, scope, key)
  WHERE c.user_id = d.user_id AND c.scope = d.scope AND c.key = d.key AND c.total = 0 AND c.unread = 0;
$$;

-- One statement's change: the entries it added count +1, those it removed -1 (an update both, so
-- an update that moves nothing counted nets to zero and writes nothing).
CREATE FUNCTION mailbox_counts_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM mailbox_counts_add(array_agg(user_id), array_agg(scope), array_agg(key), array_agg(total), array_agg(unread))
    FROM (SELECT n.user_id, k.scope, k.key, count(*)::int AS total, count(*) FILTER (WHERE NOT n.read)::int AS unread
          FROM new_rows n, mailbox_count_keys(n.folder, n.folder_id, n.label_ids, n.starred) k GROUP BY 1, 2, 3) g;
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM mailbox_counts_add(array_agg(user_id), array_agg(scope), array_agg(key), array_agg(total), array_agg(unread))
    FROM (SELECT o.user_id, k.scope, k.key, -count(*)::int AS total, -count(*) FILTER (WHERE NOT o.read)::int AS unread
          FROM old_rows o, mailbox_count_keys(o.folder, o.folder_id, o.label_ids, o.starred) k GROUP BY 1, 2, 3) g;
  ELSE
    PERFORM mailbox_counts_add(array_agg(user_id), array_agg(scope), array_agg(key), array_agg(total), array_agg(unread))
    FROM (SELECT user_id, scope, key, sum(t)::int AS total, sum(u)::int AS unread FROM (
            SELECT n.user_id, k.scope, k.key, 1 AS t, (NOT n.read)::int AS u FROM new_rows n, mailbox_count_keys(n.folder, n.folder_id, n.label_ids, n.starred) k
            UNION ALL
            SELECT o.user_id, k.scope, k.key, -1, -(NOT o.read)::int FROM old_rows o, mailbox_count_keys(o.folder, o.folder_id, o.label_ids, o.starred) k
          ) x GROUP BY 1, 2, 3) g;
  END IF;
  RETURN NULL;
END $$;

-- Transition tables allow one event per trigger: three triggers, one function.
CREATE TRIGGER mailbox_counts_insert AFTER INSERT ON mailbox_entries REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION mailbox_counts_track();
CREATE TRIGGER mailbox_counts_update AFTER UPDATE ON mailbox_entries REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION mailbox_counts_track();
CREATE TRIGGER mailbox_counts_delete AFTER DELETE ON mailbox_entries REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION mailbox_counts_track();

-- The counts of the mail already there.
INSERT INTO mailbox_counts (user_id, scope, key, total, unread)
SELECT e.user_id, k.scope, k.key, count(*)::int, count(*) FILTER (WHERE NOT e.read)::int
FROM mailbox_entries e, mailbox_count_keys(e.folder, e.folder_id, e.label_ids, e.starred) k
GROUP BY 1, 2, 3;
