-- Demo prefill (seed 002): demo users are served from a pre-cached set, the S&P 500's
-- 10-K and 10-Q filings of the last two years, fetched ahead of them by a schedule.
-- One row per company of the universe: when its EDGAR list was last read by the
-- prefill (the next tick starts with the companies read longest ago, so a run that
-- stopped midway resumes where it stopped) and how many filings it queued then.
CREATE TABLE demo_prefill_companies (
    ticker         text        PRIMARY KEY,
    cik            char(10)    NOT NULL CHECK (cik ~ '^[0-9]{10}$'),
    listed_at      timestamptz NOT NULL DEFAULT now(),
    filings_queued integer     NOT NULL DEFAULT 0 CHECK (filings_queued >= 0),
    -- Why the company's list could not be read (EDGAR knows no such CIK, say); null when it was.
    last_error     text
);
CREATE INDEX demo_prefill_companies_listed_at ON demo_prefill_companies (listed_at);

-- filing-fetcher runs the prefill: it reads the universe, keeps its place, and reads
-- the filings already stored (so a stored filing is never fetched again).
GRANT SELECT ON tickers TO sluice_filing_fetcher;
GRANT SELECT, INSERT, UPDATE ON demo_prefill_companies TO sluice_filing_fetcher;
