//! The KPI tracker: after a KPI load, every enabled rule is evaluated over the actual
//! figures the load wrote (`kpis.data_version_id`), each compared with the same
//! company's previous quarter, the same period a year before (`kpi_actual_near`) or the
//! period's budget (`kpi_scenario`). One set-based statement: a load of a million rows
//! costs one scan of the rows it wrote and index look-ups for the indicators rules name.
//!
//! Alerts are stored once per rule, company, period and load (`ON CONFLICT DO NOTHING`)
//! and only the new ones are announced, in the caller's transaction: a redelivered
//! `DatasetLoaded` raises nothing again.

use crate::PortfolioError;
use deadpool_postgres::Transaction;
use sluice_core::{Destination, EventPublisher};
use sluice_messages::{AlertSeverity, CorrelationId, DataVersionId, Envelope, KpiAlert, Payload, Producer};

const TRACK: &str = "
WITH rules AS (
    SELECT rule_id, lower(indicator) AS indicator, condition, threshold, severity
    FROM kpi_alert_rules WHERE enabled
),
touched AS (
    SELECT k.empresa, k.indicador, k.fecha, k.fondo, k.valor
    FROM kpis k
    WHERE k.data_version_id = $1 AND k.valor IS NOT NULL AND kpi_scenario(k.tipo) = 'actual'
      AND lower(k.indicador) IN (SELECT indicator FROM rules)
),
judged AS (
    SELECT t.*, r.rule_id, r.condition, r.threshold, r.severity,
           CASE r.condition
               WHEN 'drop_qoq_pct' THEN kpi_actual_near(t.empresa, t.indicador, (t.fecha - interval '3 months')::date)
               WHEN 'drop_yoy_pct' THEN kpi_actual_near(t.empresa, t.indicador, (t.fecha - interval '1 year')::date)
               WHEN 'below_budget_pct' THEN (
                   SELECT b.valor FROM kpis b
                   WHERE b.empresa = t.empresa AND b.fecha = t.fecha AND b.indicador = t.indicador
                     AND kpi_scenario(b.tipo) = 'budget' AND b.valor IS NOT NULL
                   LIMIT 1)
           END AS reference
    FROM touched t JOIN rules r ON r.indicator = lower(t.indicador)
),
met AS (
    SELECT j.*,
           CASE WHEN j.reference <> 0 THEN (j.valor - j.reference) / abs(j.reference) * 100 END AS change
    FROM judged j
)
INSERT INTO kpi_alerts (rule_id, data_version_id, empresa, indicador, fecha, fondo, severity, condition,
                        threshold, value, reference, change_pct, message)
SELECT rule_id, $1, empresa, indicador, fecha, fondo, severity, condition, threshold, valor, reference,
       round(change, 2),
       CASE condition
           WHEN 'below_value' THEN format('%s is %s, below %s', indicador, valor, threshold)
           WHEN 'drop_qoq_pct' THEN format('%s fell %s%% from the previous quarter (%s to %s), more than %s%%',
                                           indicador, round(-change, 2), reference, valor, threshold)
           WHEN 'drop_yoy_pct' THEN format('%s fell %s%% from a year before (%s to %s), more than %s%%',
                                           indicador, round(-change, 2), reference, valor, threshold)
           ELSE format('%s is %s%% below its budget (%s against %s), more than %s%%',
                       indicador, round(-change, 2), valor, reference, threshold)
       END
FROM met
WHERE CASE condition
          WHEN 'below_value' THEN valor < threshold
          ELSE change IS NOT NULL AND -change > threshold
      END
ON CONFLICT (rule_id, empresa, fecha, data_version_id) DO NOTHING
RETURNING alert_id, rule_id, empresa, indicador, fecha, severity, condition, threshold::text, value::text,
          reference::text, change_pct::text, message";

/// Evaluates the rules over what load `version` wrote, stores the alerts it meets and
/// stages a `KpiAlert` for each new one on `events_topic_arn`. Returns the new alerts.
pub async fn track_load(
    tx: &Transaction<'_>,
    version: DataVersionId,
    events_topic_arn: &str,
    correlation_id: &CorrelationId,
) -> Result<Vec<KpiAlert>, PortfolioError> {
    let rows = tx.query(TRACK, &[&version.0]).await?;
    let mut alerts = Vec::with_capacity(rows.len());
    for r in rows {
        let alert = KpiAlert {
            alert_id: r.get(0),
            rule_id: r.get(1),
            data_version_id: version,
            company: r.get(2),
            indicator: r.get(3),
            period: r.get(4),
            // The table's CHECK allows only these.
            severity: AlertSeverity::parse(r.get(5)).unwrap_or(AlertSeverity::Warning),
            condition: r.get(6),
            threshold: r.get(7),
            value: r.get(8),
            reference: r.get(9),
            change_pct: r.get(10),
            message: r.get(11),
        };
        let envelope = Envelope::new(
            Producer::PortfolioAnalyst,
            correlation_id.clone(),
            Payload::KpiAlert(alert.clone()),
        )
        .with_derived_id(&format!("kpi-alert-{}", alert.alert_id));
        EventPublisher::stage(tx, &Destination::Topic(events_topic_arn.to_owned()), &envelope).await?;
        alerts.push(alert);
    }
    Ok(alerts)
}
