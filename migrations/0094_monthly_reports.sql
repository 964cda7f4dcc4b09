-- Monthly portfolio reports (issue 12): portfolio-analyst generates, on the first of each
-- month (EventBridge Scheduler), one report per company and one for the whole portfolio
-- (every fund), stores each as JSON in S3 and records it here. `period` is the month a
-- scheduled report is for (NULL for one made on demand); `narration` says who wrote its
-- narrative: `extractive` (sentences made from the figures) or the model's key.
-- Each (period, scope) is generated once: the scheduler's retries and a repeated tick
-- claim the same key in processed_messages (sluice_core::idempotency).
ALTER TABLE portfolio_reports
    ADD COLUMN period    date CHECK (period IS NULL OR extract(day FROM period) = 1),
    ADD COLUMN narration text NOT NULL DEFAULT 'extractive';
CREATE INDEX portfolio_reports_period ON portfolio_reports (period DESC, company) WHERE period IS NOT NULL;

GRANT SELECT, INSERT ON portfolio_reports TO sluice_portfolio_analyst;
