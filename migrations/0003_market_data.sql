-- Market data: the universe of tickers, daily bars, financial statements, and the
-- bookkeeping that lets a refresh resume where it stopped and know when it is done.

CREATE TABLE tickers (
    ticker           text        PRIMARY KEY CHECK (ticker ~ '^[A-Z0-9]{1,5}([.-][A-Z]{1,2})?$'),
    cik              char(10)    CHECK (cik ~ '^[0-9]{10}$'),
    name             text        NOT NULL,
    -- Untracked tickers stay known but are left out of refreshes.
    tracked          boolean     NOT NULL DEFAULT true,
    -- e.g. {SP500}
    index_membership text[]      NOT NULL DEFAULT '{}',
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tickers_cik ON tickers (cik);

-- One end-of-day bar per ticker and trading day. A bar is rewritten only when the
-- vendor's values changed (updated_at tells when); refused vendor rows never touch it.
CREATE TABLE prices (
    ticker     text          NOT NULL REFERENCES tickers (ticker) ON UPDATE CASCADE,
    date       date          NOT NULL,
    open       numeric(20,6) NOT NULL CHECK (open > 0),
    high       numeric(20,6) NOT NULL CHECK (high > 0),
    low        numeric(20,6) NOT NULL CHECK (low > 0 AND low <= high),
    close      numeric(20,6) NOT NULL CHECK (close > 0),
    adj_close  numeric(20,6)          CHECK (adj_close > 0),
    volume     bigint        NOT NULL CHECK (volume >= 0),
    updated_at timestamptz   NOT NULL DEFAULT now(),
    PRIMARY KEY (ticker, date)
);

-- One row per statement period; `figures` is the vendor's row as it came (jsonb).
CREATE TABLE fundamentals (
    ticker      text        NOT NULL REFERENCES tickers (ticker) ON UPDATE CASCADE,
    statement   text        NOT NULL CHECK (statement IN ('income', 'balance', 'cash_flow')),
    period_type text        NOT NULL CHECK (period_type IN ('annual', 'quarter')),
    fiscal_date date        NOT NULL,
    figures     jsonb       NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ticker, statement, period_type, fiscal_date)
);
CREATE INDEX fundamentals_by_period ON fundamentals (ticker, period_type, fiscal_date);

-- A scheduled refresh: `done` counts tickers finished; when it reaches `total` the
-- refresh is complete and its summary is staged, once.
CREATE TABLE price_refreshes (
    refresh_id   uuid        PRIMARY KEY,
    kind         text        NOT NULL CHECK (kind IN ('daily_quotes', 'weekly_fundamentals')),
    total        integer     NOT NULL CHECK (total >= 0),
    done         integer     NOT NULL DEFAULT 0 CHECK (done >= 0),
    -- How many times a later tick re-queued the tickers still pending.
    resume_round integer     NOT NULL DEFAULT 0,
    started_at   timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz
);
-- At most one unfinished refresh per kind: a tick finding one resumes it.
CREATE UNIQUE INDEX price_refreshes_one_running ON price_refreshes (kind) WHERE completed_at IS NULL;

CREATE TABLE price_refresh_items (
    refresh_id    uuid        NOT NULL REFERENCES price_refreshes (refresh_id) ON DELETE CASCADE,
    ticker        text        NOT NULL,
    status        text        NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'updated', 'unchanged', 'rejected', 'failed')),
    -- Why rows were refused, or why the vendor could not be read.
    reason        text,
    rows_changed  integer,
    rows_rejected integer,
    finished_at   timestamptz,
    PRIMARY KEY (refresh_id, ticker)
);
CREATE INDEX price_refresh_items_pending ON price_refresh_items (refresh_id) WHERE status = 'pending';
