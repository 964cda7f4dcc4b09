-- Price history backfill (issue 12, market analytics): a third kind of refresh that
-- loads years of daily bars per ticker, one bounded window per job, resumable.
--
-- The refresh records the range it loads; each ticker's item records where its next
-- step starts and how many steps are done (a job's step is recorded in the same
-- transaction as its bars, so a killed job's redelivery redoes exactly that step and a
-- repeat of a recorded step changes nothing). sluice_price_updater already has SELECT,
-- INSERT and UPDATE on both tables (migration 0017): no new grant.

ALTER TABLE price_refreshes DROP CONSTRAINT price_refreshes_kind_check;
ALTER TABLE price_refreshes ADD CONSTRAINT price_refreshes_kind_check
    CHECK (kind IN ('daily_quotes', 'weekly_fundamentals', 'backfill'));
ALTER TABLE price_refreshes
    -- A backfill's first and last day (inclusive); NULL for the other kinds.
    ADD COLUMN from_date date,
    ADD COLUMN to_date   date,
    ADD CONSTRAINT price_refreshes_backfill_range CHECK (
        (kind = 'backfill') = (from_date IS NOT NULL AND to_date IS NOT NULL) AND
        (from_date IS NULL OR from_date <= to_date));

ALTER TABLE price_refresh_items
    -- A backfill item's next window starts here (past `to_date` once it is done).
    ADD COLUMN next_from     date,
    -- Steps recorded; the job of step N is only taken while steps_done = N.
    ADD COLUMN steps_done    integer NOT NULL DEFAULT 0 CHECK (steps_done >= 0),
    -- Bars the vendor sent that passed validation, over every step.
    ADD COLUMN rows_accepted integer;

-- "Which tickers already have this much history": completed backfills by ticker.
CREATE INDEX price_refresh_items_by_ticker ON price_refresh_items (ticker, status);
