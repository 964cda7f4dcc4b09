-- The time at the source of the revision a ticket shows: a revision older than it (a
-- webhook retried late, an export of last week) never overwrites a newer one.
ALTER TABLE tickets ADD COLUMN revised_at timestamptz;
UPDATE tickets SET revised_at = received_at;
ALTER TABLE tickets ALTER COLUMN revised_at SET NOT NULL;
