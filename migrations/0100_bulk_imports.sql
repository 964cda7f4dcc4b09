-- Bulk import (seed 002): a user's list of tickers, forms and fiscal years fetched into
-- the store, quoted first, the quote held against the balance, each filing charged once
-- as it is stored ($5 per 100 filings basic, $20 per 1,000 professional), cancellable.
-- sluice_core::bulk is the one place these states change.

ALTER TABLE usage_transactions DROP CONSTRAINT usage_transactions_kind_check;
ALTER TABLE usage_transactions ADD CONSTRAINT usage_transactions_kind_check
    CHECK (kind IN ('filing_access', 'analysis', 'monthly_credits', 'top_up', 'adjustment', 'bulk_import'));

CREATE TABLE bulk_imports (
    id                uuid        PRIMARY KEY,
    user_id           text        NOT NULL REFERENCES user_accounts (user_id),
    -- The tier when it was created: its price holds for the whole import.
    tier              text        NOT NULL,
    -- {tickers, forms, years} as validated.
    selection         jsonb       NOT NULL,
    status            text        NOT NULL CHECK (status IN ('running', 'completed', 'cancelled')),
    unit_price_micros bigint      NOT NULL CHECK (unit_price_micros >= 0),
    -- What the quote said (the filings to fetch at the unit price).
    quoted_micros     bigint      NOT NULL CHECK (quoted_micros >= 0),
    -- Held against the balance for the filings still queued; zero once it ended.
    held_micros       bigint      NOT NULL CHECK (held_micros >= 0),
    charged_micros    bigint      NOT NULL DEFAULT 0 CHECK (charged_micros >= 0),
    -- The Idempotency-Key of the request that created it: a retried request gets this import.
    idempotency_key   text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    finished_at       timestamptz,
    CHECK (status = 'running' OR held_micros = 0),
    UNIQUE (user_id, idempotency_key)
);
CREATE INDEX bulk_imports_by_user ON bulk_imports (user_id, created_at DESC, id DESC);
CREATE INDEX bulk_imports_running ON bulk_imports (user_id) WHERE status = 'running';

-- One row per filing of an import. `queued` moves once, to stored (charged), failed or
-- cancelled: that move is what makes a redelivered request change nothing.
CREATE TABLE bulk_import_items (
    id             uuid        PRIMARY KEY,
    import_id      uuid        NOT NULL REFERENCES bulk_imports (id),
    spec           jsonb       NOT NULL,
    spec_key       text        NOT NULL,
    status         text        NOT NULL
        CHECK (status IN ('queued', 'stored', 'already_stored', 'failed', 'cancelled')),
    filing_id      uuid        REFERENCES filings (id),
    charged_micros bigint      CHECK (charged_micros >= 0),
    failure_reason text,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (import_id, spec_key)
);
CREATE INDEX bulk_import_items_by_status ON bulk_import_items (import_id, status);

-- http-api: quotes, creates, lists and cancels imports (holds count everywhere credits move).
GRANT SELECT, INSERT, UPDATE ON bulk_imports, bulk_import_items TO sluice_http_api;
-- filing-fetcher: moves an item once and charges it (the ledger: accounts, usage, access).
GRANT SELECT, UPDATE ON bulk_imports, bulk_import_items TO sluice_filing_fetcher;
GRANT SELECT, UPDATE ON user_accounts TO sluice_filing_fetcher;
GRANT SELECT, INSERT ON usage_transactions, filing_access TO sluice_filing_fetcher;
GRANT USAGE ON SEQUENCE usage_transactions_id_seq TO sluice_filing_fetcher;
-- The ledger counts what running imports hold wherever it charges or credits.
GRANT SELECT ON bulk_imports TO sluice_llm_analyzer, sluice_account_worker;
