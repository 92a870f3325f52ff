-- Who may post to a mailing list: anyone (as before), organisation, or members.
ALTER TABLE "mailing_lists" ADD COLUMN "posting" TEXT NOT NULL DEFAULT 'anyone';
