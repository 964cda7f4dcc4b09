-- The deal-flow weights edited through the API (issue 12): PUT /v1/dealflow/weights
-- changes deal_score_weights and scores every deal again in the same transaction, as
-- the HTTP API's role.
GRANT UPDATE ON deal_score_weights TO sluice_http_api;
GRANT INSERT, UPDATE ON deal_scores TO sluice_http_api;
