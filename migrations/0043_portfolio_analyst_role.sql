-- portfolio-analyst's role (the KPI tracker and the deal-flow scorer, migrations 0021 and
-- 0022) and what the HTTP API needs to read alerts and scores and edit the alert rules.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sluice_portfolio_analyst') THEN
        CREATE ROLE sluice_portfolio_analyst NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;

-- A consumer claims each message once and publishes through the outbox.
GRANT SELECT, INSERT ON processed_messages TO sluice_portfolio_analyst;
GRANT SELECT, INSERT, UPDATE ON outbox TO sluice_portfolio_analyst;
GRANT USAGE ON SEQUENCE outbox_seq_seq TO sluice_portfolio_analyst;

-- Reads what a load wrote; stores alerts once and each deal's score (upserted).
GRANT SELECT ON kpis, dealflow, companies, data_versions, kpi_alert_rules, deal_score_weights
    TO sluice_portfolio_analyst;
GRANT SELECT, INSERT ON kpi_alerts TO sluice_portfolio_analyst;
GRANT USAGE ON SEQUENCE kpi_alerts_alert_id_seq TO sluice_portfolio_analyst;
GRANT SELECT, INSERT, UPDATE ON deal_scores TO sluice_portfolio_analyst;

GRANT SELECT ON kpi_alerts, deal_scores, deal_score_weights TO sluice_http_api;
GRANT SELECT, INSERT, UPDATE, DELETE ON kpi_alert_rules TO sluice_http_api;
GRANT USAGE ON SEQUENCE kpi_alert_rules_rule_id_seq TO sluice_http_api;
