-- The deal-flow scorer (issue 12): a transparent score per deal, from weighted factors.

-- One weight per factor (the score is the weighted mean of the factors' values, each in
-- 0..1), and the factor's settings (`sector_fit`: the fund's sectors; `ticket_size`: the
-- ticket range it invests in). The team edits both through the API; deals are scored
-- again in the same transaction.
CREATE TABLE deal_score_weights (
    factor     text        PRIMARY KEY
               CHECK (factor IN ('stage', 'sector_fit', 'ticket_size', 'traction', 'team', 'source')),
    weight     numeric     NOT NULL CHECK (weight >= 0 AND weight <= 100),
    params     jsonb       NOT NULL DEFAULT '{}',
    updated_by text,
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO deal_score_weights (factor, weight, params, updated_by) VALUES
    ('stage',       25, '{}', 'seed'),
    ('sector_fit',  25, '{"sectors": ["software", "saas", "fintech", "enterprise software", "internet", "mobile",
                           "e-commerce", "health care", "analytics", "artificial intelligence", "marketplace"]}', 'seed'),
    ('ticket_size', 15, '{"min_usd": 250000, "max_usd": 5000000}', 'seed'),
    ('traction',    15, '{}', 'seed'),
    ('team',        10, '{}', 'seed'),
    ('source',      10, '{}', 'seed');

-- A deal's score and each factor's value, weight, contribution and reason beside it.
CREATE TABLE deal_scores (
    deal_id   bigint       PRIMARY KEY REFERENCES dealflow (deal_id) ON DELETE CASCADE,
    score     numeric(5,4) NOT NULL CHECK (score >= 0 AND score <= 1),
    factors   jsonb        NOT NULL,
    scored_at timestamptz  NOT NULL DEFAULT now()
);
CREATE INDEX deal_scores_by_score ON deal_scores (score DESC, deal_id);
