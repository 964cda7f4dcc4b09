-- The KPI tracker (issue 12): alert rules the team edits, and the alerts a load raised.

-- A rule: when a company's `indicator` (any case) meets `condition` against `threshold`.
--   drop_qoq_pct      fell by more than threshold % from the previous quarter
--   drop_yoy_pct      fell by more than threshold % from the same period a year before
--   below_value       is below threshold
--   below_budget_pct  is more than threshold % below its budget for the period
CREATE TABLE kpi_alert_rules (
    rule_id     bigserial   PRIMARY KEY,
    indicator   text        NOT NULL CHECK (btrim(indicator) <> ''),
    condition   text        NOT NULL
                CHECK (condition IN ('drop_qoq_pct', 'drop_yoy_pct', 'below_value', 'below_budget_pct')),
    threshold   numeric     NOT NULL,
    severity    text        NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    enabled     boolean     NOT NULL DEFAULT true,
    updated_by  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    -- A percentage rule's threshold is a percentage.
    CHECK (condition = 'below_value' OR threshold >= 0)
);
CREATE INDEX kpi_alert_rules_by_indicator ON kpi_alert_rules (lower(indicator)) WHERE enabled;

-- Sensible defaults for the indicators the fund's sheets use (Spanish and English names).
INSERT INTO kpi_alert_rules (indicator, condition, threshold, severity, updated_by) VALUES
    ('EBITDA',  'drop_qoq_pct',     25, 'warning',  'seed'),
    ('EBITDA',  'below_budget_pct', 20, 'warning',  'seed'),
    ('Ventas',  'drop_qoq_pct',     20, 'warning',  'seed'),
    ('Ventas',  'drop_yoy_pct',     10, 'warning',  'seed'),
    ('Ventas',  'below_budget_pct', 15, 'info',     'seed'),
    ('Revenue', 'drop_qoq_pct',     20, 'warning',  'seed'),
    ('Revenue', 'drop_yoy_pct',     10, 'warning',  'seed'),
    ('Caja',    'below_value',       0, 'critical', 'seed'),
    ('Cash',    'below_value',       0, 'critical', 'seed');

-- One alert per rule, company, period and load: a redelivered load raises none again.
CREATE TABLE kpi_alerts (
    alert_id        bigserial   PRIMARY KEY,
    -- Kept when the rule is deleted later: an alert says what was seen.
    rule_id         bigint      NOT NULL,
    data_version_id bigint      NOT NULL,
    empresa         text        NOT NULL,
    indicador       text        NOT NULL,
    fecha           date        NOT NULL,
    fondo           text,
    severity        text        NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    condition       text        NOT NULL,
    threshold       numeric     NOT NULL,
    value           numeric     NOT NULL,
    reference       numeric,
    change_pct      numeric,
    message         text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (rule_id, empresa, fecha, data_version_id)
);
CREATE INDEX kpi_alerts_newest ON kpi_alerts (alert_id DESC);
CREATE INDEX kpi_alerts_by_company ON kpi_alerts (empresa, alert_id DESC);


-- The actual value of a company's indicator nearest `target` (within 20 days: period
-- ends differ by a day or two, 30/06 against 31/03), or NULL. The one definition of
-- "the previous quarter's / year's value", for the tracker and the API alike.
CREATE FUNCTION kpi_actual_near(company text, indicator text, target date) RETURNS numeric
LANGUAGE sql STABLE PARALLEL SAFE
RETURN (SELECT k.valor FROM kpis k
        WHERE k.empresa = company AND k.indicador = indicator
          AND k.fecha BETWEEN target - 20 AND target + 20
          AND kpi_scenario(k.tipo) = 'actual' AND k.valor IS NOT NULL
        ORDER BY abs(k.fecha - target), k.fecha DESC LIMIT 1);
