-- Watchlists and portfolios per user (issue 12). Each belongs to one user (the token's
-- subject, as user_accounts.user_id); another user's is invisible. Tickers must be ones
-- Sluice follows. Quantities and costs are exact decimals (numeric), never floats.

CREATE TABLE watchlists (
    watchlist_id bigserial   PRIMARY KEY,
    user_id      text        NOT NULL REFERENCES user_accounts (user_id) ON DELETE CASCADE,
    name         text        NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, name)
);

CREATE TABLE watchlist_items (
    watchlist_id bigint      NOT NULL REFERENCES watchlists (watchlist_id) ON DELETE CASCADE,
    ticker       text        NOT NULL REFERENCES tickers (ticker) ON UPDATE CASCADE,
    position     integer     NOT NULL,
    PRIMARY KEY (watchlist_id, ticker)
);

CREATE TABLE portfolios (
    portfolio_id bigserial   PRIMARY KEY,
    user_id      text        NOT NULL REFERENCES user_accounts (user_id) ON DELETE CASCADE,
    name         text        NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, name)
);

-- One position per ticker: how many shares and what they cost in all (the cost basis,
-- in the quote's currency), both as written.
CREATE TABLE portfolio_positions (
    portfolio_id bigint  NOT NULL REFERENCES portfolios (portfolio_id) ON DELETE CASCADE,
    ticker       text    NOT NULL REFERENCES tickers (ticker) ON UPDATE CASCADE,
    quantity     numeric NOT NULL CHECK (quantity > 0),
    cost_basis   numeric NOT NULL CHECK (cost_basis >= 0),
    position     integer NOT NULL,
    PRIMARY KEY (portfolio_id, ticker)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON watchlists, watchlist_items, portfolios, portfolio_positions
    TO sluice_http_api;
GRANT USAGE ON SEQUENCE watchlists_watchlist_id_seq, portfolios_portfolio_id_seq TO sluice_http_api;
