-- Users of the HTTP API, created on first use from their token's claims (seed 002).
CREATE TABLE user_accounts (
    user_id              text        PRIMARY KEY,
    email                text,
    tier                 text        NOT NULL CHECK (tier IN ('demo', 'basic', 'professional', 'enterprise')),
    -- Integer micro-dollars; never below zero.
    credit_balance_micros bigint     NOT NULL DEFAULT 0 CHECK (credit_balance_micros >= 0),
    team_member          boolean     NOT NULL DEFAULT false,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    last_seen_at         timestamptz NOT NULL DEFAULT now()
);
