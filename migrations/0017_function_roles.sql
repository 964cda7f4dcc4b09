-- One database role per function, each granted only what its code issues, so a flaw in
-- one function (above all the internet-facing event stream) cannot read or change the
-- tables of another. The roles are NOLOGIN here: `sluice-local migrate` gives each the
-- login of its own secret (README, "Database roles"). Roles belong to the cluster, not
-- the database, so creating them tolerates their existence (another database of the same
-- cluster, or a concurrent migration, may have made them first).
DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY[
        'sluice_ingest_validator', 'sluice_etl_transformer', 'sluice_filing_fetcher',
        'sluice_llm_analyzer', 'sluice_price_updater', 'sluice_sse_notifier',
        'sluice_sse_stream', 'sluice_http_api'
    ] LOOP
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
                EXECUTE format('CREATE ROLE %I NOLOGIN', r);
            END IF;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END LOOP;
END
$$;

-- What every queue consumer and publisher shares: claiming a message once
-- (sluice_core::idempotency) and the transactional outbox (sluice_core::publish).
GRANT SELECT, INSERT ON processed_messages
    TO sluice_ingest_validator, sluice_etl_transformer, sluice_filing_fetcher,
       sluice_llm_analyzer, sluice_price_updater, sluice_sse_notifier, sluice_http_api;
GRANT SELECT, INSERT, UPDATE ON outbox
    TO sluice_ingest_validator, sluice_etl_transformer, sluice_filing_fetcher,
       sluice_llm_analyzer, sluice_price_updater, sluice_http_api;
GRANT USAGE ON SEQUENCE outbox_seq_seq
    TO sluice_ingest_validator, sluice_etl_transformer, sluice_filing_fetcher,
       sluice_llm_analyzer, sluice_price_updater, sluice_http_api;

-- ingest-validator: records each upload's data version and its verdict.
GRANT SELECT, INSERT, UPDATE ON data_versions TO sluice_ingest_validator;
GRANT USAGE ON SEQUENCE data_versions_version_id_seq TO sluice_ingest_validator;

-- etl-transformer: loads a data version into its dataset's table (UPDATE also allows
-- the LOCK TABLE it takes) and settles the version.
GRANT SELECT, UPDATE ON data_versions TO sluice_etl_transformer;
GRANT SELECT, INSERT, UPDATE ON companies, kpis, dealflow TO sluice_etl_transformer;
GRANT USAGE ON SEQUENCE companies_company_id_seq, kpis_kpi_id_seq, dealflow_deal_id_seq
    TO sluice_etl_transformer;

-- filing-fetcher: the EDGAR company index, filings, and its steps of a task.
GRANT SELECT, INSERT, UPDATE ON edgar_companies, filings TO sluice_filing_fetcher;
GRANT SELECT, UPDATE ON tasks TO sluice_filing_fetcher;

-- llm-analyzer: the analysis pool, the charge for a task (ledger), feedback triage.
GRANT SELECT ON filings TO sluice_llm_analyzer;
GRANT SELECT, UPDATE ON tasks, user_accounts TO sluice_llm_analyzer;
GRANT SELECT, INSERT, UPDATE ON analyses, tickets TO sluice_llm_analyzer;
GRANT SELECT, INSERT ON usage_transactions, filing_access, processing_logs TO sluice_llm_analyzer;
GRANT USAGE ON SEQUENCE usage_transactions_id_seq, processing_logs_id_seq TO sluice_llm_analyzer;

-- price-updater: the ticker universe, prices, fundamentals and refresh runs.
GRANT SELECT, INSERT, UPDATE ON tickers, prices, fundamentals, price_refreshes, price_refresh_items
    TO sluice_price_updater;

-- sse-notifier (the events queue's consumer): stores each user's events and wakes streams.
GRANT SELECT, INSERT ON events TO sluice_sse_notifier;
GRANT USAGE ON SEQUENCE events_id_seq TO sluice_sse_notifier;

-- The event stream (the internet-facing function URL): reads a user's events, redeems
-- single-use stream tickets and holds stream leases. Nothing else: no accounts, no
-- credits, no feedback tickets.
GRANT SELECT ON events TO sluice_sse_stream;
GRANT SELECT, INSERT, UPDATE, DELETE ON stream_tickets, stream_leases TO sluice_sse_stream;

-- http-api: accounts, rate-limit windows, tasks and charges for pool reads, the team's
-- feedback tickets, and read access to what users may see.
GRANT SELECT, INSERT, UPDATE ON user_accounts, request_windows, tasks TO sluice_http_api;
GRANT SELECT, UPDATE ON analyses, tickets TO sluice_http_api;
GRANT SELECT, INSERT ON usage_transactions, filing_access, processing_logs TO sluice_http_api;
GRANT USAGE ON SEQUENCE usage_transactions_id_seq, processing_logs_id_seq TO sluice_http_api;
GRANT SELECT ON data_versions, companies, kpis, dealflow, edgar_companies, filings, tickers, prices
    TO sluice_http_api;
