-- Credits coming in, beside charges going out, in the one ledger: the monthly credits
-- a tier includes (once per account, month and tier), top-ups bought through Stripe
-- Checkout and adjustments a team admin makes with a reason.
ALTER TABLE usage_transactions DROP CONSTRAINT usage_transactions_kind_check;
ALTER TABLE usage_transactions ADD CONSTRAINT usage_transactions_kind_check
    CHECK (kind IN ('filing_access', 'analysis', 'monthly_credits', 'top_up', 'adjustment'));
-- Who moved the credits when it was a person (an admin's user id), for adjustments.
ALTER TABLE usage_transactions ADD COLUMN granted_by text;
CREATE INDEX usage_monthly_by_user ON usage_transactions (user_id, kind, created_at)
    WHERE kind = 'monthly_credits';

-- A Checkout session Sluice created: what it is for and whom it credits. Stripe's
-- completion webhook credits the session's amount (never an amount from the webhook's
-- body alone) exactly once.
CREATE TABLE checkout_sessions (
    id            text        PRIMARY KEY,
    user_id       text        NOT NULL REFERENCES user_accounts (user_id),
    amount_micros bigint      NOT NULL CHECK (amount_micros > 0),
    status        text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'completed')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    completed_at  timestamptz
);
CREATE INDEX checkout_sessions_by_user ON checkout_sessions (user_id, created_at DESC);
