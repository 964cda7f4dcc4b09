-- Filing analyses (seed 002): EDGAR's ticker directory, fetched filings, the global
-- analysis pool, users' tasks, who has paid for which filing, and every credit movement.

-- EDGAR's company_tickers.json, cached here and refreshed at most daily.
CREATE TABLE edgar_companies (
    ticker      text        PRIMARY KEY,
    cik         text        NOT NULL CHECK (cik ~ '^[0-9]{10}$'),
    title       text        NOT NULL,
    refreshed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX edgar_companies_cik ON edgar_companies (cik);

-- One row per filing fetched from EDGAR; its bytes and sections live in S3.
CREATE TABLE filings (
    id               uuid        PRIMARY KEY,
    accession        text        NOT NULL UNIQUE CHECK (accession ~ '^[0-9]{10}-[0-9]{2}-[0-9]{6}$'),
    cik              text        NOT NULL CHECK (cik ~ '^[0-9]{10}$'),
    company_name     text        NOT NULL,
    ticker           text,
    form             text        NOT NULL,
    filing_date      date        NOT NULL,
    report_date      date,
    fiscal_year      integer,
    primary_document text        NOT NULL,
    bucket           text        NOT NULL,
    document_key     text        NOT NULL,
    sha256           text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size_bytes       bigint      NOT NULL CHECK (size_bytes >= 0),
    sections_key     text        NOT NULL,
    -- item -> found | absent | incorporated_by_reference | not_applicable
    section_status   jsonb       NOT NULL,
    fetched_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX filings_by_company ON filings (cik, form, fiscal_year);

-- The global pool: one analysis per (filing, kind, model, prompt version), shared by
-- every user who has access to the filing. A worker owns a `running` row until its
-- lease ends; another worker waits for it instead of calling the model again.
CREATE TABLE analyses (
    id              uuid        PRIMARY KEY,
    filing_id       uuid        NOT NULL REFERENCES filings (id),
    kind            text        NOT NULL CHECK (kind IN ('summary', 'risk_factors', 'mdna')),
    model           text        NOT NULL,
    prompt_version  integer     NOT NULL,
    status          text        NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    lease_until     timestamptz,
    body_key        text,
    input_tokens    bigint,
    output_tokens   bigint,
    cost_micros     bigint,
    latency_ms      bigint,
    model_calls     integer,
    extractive      boolean,
    sections_used   text[],
    failure_reason  text,
    access_count    bigint      NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    completed_at    timestamptz,
    UNIQUE (filing_id, kind, model, prompt_version),
    CHECK (status <> 'completed' OR body_key IS NOT NULL)
);

-- A user's request for an analysis, from acceptance to its end.
CREATE TABLE tasks (
    id              uuid        PRIMARY KEY,
    user_id         text        NOT NULL REFERENCES user_accounts (user_id),
    spec            jsonb       NOT NULL,
    spec_key        text        NOT NULL,
    kind            text        NOT NULL CHECK (kind IN ('summary', 'risk_factors', 'mdna')),
    status          text        NOT NULL CHECK (status IN ('queued', 'fetching', 'analysing', 'completed', 'failed')),
    -- Fees this task may charge, held against the balance while it is active.
    quoted_micros   bigint      NOT NULL CHECK (quoted_micros >= 0),
    charged_micros  bigint,
    filing_id       uuid        REFERENCES filings (id),
    analysis_id     uuid        REFERENCES analyses (id),
    failure_reason  text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz
);
-- Asking again for the same filing and kind while a task is active returns that task.
CREATE UNIQUE INDEX tasks_one_active ON tasks (user_id, spec_key, kind)
    WHERE status IN ('queued', 'fetching', 'analysing');
CREATE INDEX tasks_by_user ON tasks (user_id, created_at DESC);

-- Accepted analysis requests, for the per-tier hourly and daily limits.
CREATE TABLE analysis_requests (
    user_id      text        NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX analysis_requests_window ON analysis_requests (user_id, requested_at);

-- Filings a user has paid access to (or got free in their tier).
CREATE TABLE filing_access (
    user_id     text        NOT NULL REFERENCES user_accounts (user_id),
    filing_id   uuid        NOT NULL REFERENCES filings (id),
    fee_micros  bigint      NOT NULL CHECK (fee_micros >= 0),
    granted_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, filing_id)
);

-- Every credit movement, once: the idempotency key makes a retried charge a no-op.
CREATE TABLE usage_transactions (
    id                    bigserial   PRIMARY KEY,
    user_id               text        NOT NULL REFERENCES user_accounts (user_id),
    kind                  text        NOT NULL CHECK (kind IN ('filing_access', 'analysis')),
    -- Negative for a charge.
    amount_micros         bigint      NOT NULL,
    balance_after_micros  bigint      NOT NULL CHECK (balance_after_micros >= 0),
    task_id               uuid,
    filing_id             uuid,
    idempotency_key       text        NOT NULL UNIQUE,
    description           text        NOT NULL,
    created_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX usage_by_user ON usage_transactions (user_id, created_at DESC);
