//! KPI alert rules: an indicator, a condition against a threshold, a severity. Pure;
//! stored in `kpi_alert_rules` (the conditions are checked there too).

use serde::Deserialize;
use sluice_messages::AlertSeverity;

/// What a rule checks a KPI value for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// Fell by more than the threshold (percent) from the previous quarter.
    DropQoqPct,
    /// Fell by more than the threshold (percent) from the same period a year before.
    DropYoyPct,
    /// Below the threshold (a value in the KPI's unit).
    BelowValue,
    /// More than the threshold (percent) below the period's budget.
    BelowBudgetPct,
}

impl Condition {
    pub const ALL: [Condition; 4] = [
        Self::DropQoqPct,
        Self::DropYoyPct,
        Self::BelowValue,
        Self::BelowBudgetPct,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::DropQoqPct => "drop_qoq_pct",
            Self::DropYoyPct => "drop_yoy_pct",
            Self::BelowValue => "below_value",
            Self::BelowBudgetPct => "below_budget_pct",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(raw.trim()))
    }

    /// A percentage: its threshold cannot be negative.
    pub fn is_percentage(&self) -> bool {
        !matches!(self, Self::BelowValue)
    }
}

/// A rule as the team writes it (`POST /v1/alert-rules`; every field for a new rule,
/// any of them for a change). The threshold is a JSON number or a decimal string.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleBody {
    pub indicator: Option<String>,
    pub condition: Option<String>,
    pub threshold: Option<serde_json::Value>,
    pub severity: Option<String>,
    pub enabled: Option<bool>,
}

/// A rule's fields, validated: `None` where the body left a field out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFields {
    pub indicator: Option<String>,
    pub condition: Option<Condition>,
    /// A decimal, as text (PostgreSQL reads it as `numeric`: no digit lost).
    pub threshold: Option<String>,
    pub severity: Option<AlertSeverity>,
    pub enabled: Option<bool>,
}

/// Why a rule was refused, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct RuleError {
    pub field: &'static str,
    pub reason: String,
}

fn refuse(field: &'static str, reason: impl Into<String>) -> RuleError {
    RuleError {
        field,
        reason: reason.into(),
    }
}

/// A plain decimal (`25`, `-3.5`, `0.125`): digits with at most one point, an optional
/// sign; no exponent, no thousands separators, at most 30 digits.
pub fn decimal(raw: &str) -> Option<String> {
    let text = raw.trim();
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let ok = !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && whole.len() + fraction.len() <= 30
        && !(digits.contains('.') && fraction.is_empty());
    ok.then(|| text.to_owned())
}

impl RuleBody {
    /// The fields, checked one by one; `complete` asks for every field a new rule needs.
    pub fn validate(&self, complete: bool) -> Result<RuleFields, RuleError> {
        let indicator = match &self.indicator {
            Some(i) if i.trim().is_empty() => return Err(refuse("indicator", "must not be blank")),
            Some(i) if i.trim().chars().count() > 100 => {
                return Err(refuse("indicator", "is longer than 100 characters"))
            }
            Some(i) => Some(i.trim().to_owned()),
            None => None,
        };
        let condition = self
            .condition
            .as_deref()
            .map(|raw| {
                Condition::parse(raw).ok_or_else(|| {
                    let known = Condition::ALL.map(|c| c.as_str()).join(", ");
                    refuse("condition", format!("`{raw}` is not one of {known}"))
                })
            })
            .transpose()?;
        let threshold = match &self.threshold {
            None => None,
            Some(serde_json::Value::Number(n)) => Some(decimal(&n.to_string())),
            Some(serde_json::Value::String(s)) => Some(decimal(s)),
            Some(_) => Some(None),
        }
        .map(|t| t.ok_or_else(|| refuse("threshold", "must be a number such as 25 or 0.5")))
        .transpose()?;
        let severity = self
            .severity
            .as_deref()
            .map(AlertSeverity::parse)
            .transpose()
            .map_err(|e| refuse("severity", e.to_string()))?;
        if let (Some(c), Some(t)) = (condition, &threshold) {
            if c.is_percentage() && t.starts_with('-') {
                return Err(refuse("threshold", "a percentage threshold cannot be negative"));
            }
        }
        let fields = RuleFields {
            indicator,
            condition,
            threshold,
            severity,
            enabled: self.enabled,
        };
        if complete {
            for (field, missing) in [
                ("indicator", fields.indicator.is_none()),
                ("condition", fields.condition.is_none()),
                ("threshold", fields.threshold.is_none()),
                ("severity", fields.severity.is_none()),
            ] {
                if missing {
                    return Err(refuse(field, "is required"));
                }
            }
        } else if fields
            == (RuleFields {
                indicator: None,
                condition: None,
                threshold: None,
                severity: None,
                enabled: None,
            })
        {
            return Err(refuse(
                "body",
                "give at least one of indicator, condition, threshold, severity, enabled",
            ));
        }
        Ok(fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: serde_json::Value) -> RuleBody {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn rules_are_checked_field_by_field() {
        let ok =
            body(json!({"indicator": " EBITDA ", "condition": "drop_qoq_pct", "threshold": 25, "severity": "Warning"}))
                .validate(true)
                .unwrap();
        assert_eq!(ok.indicator.as_deref(), Some("EBITDA"));
        assert_eq!(
            (ok.condition, ok.threshold.as_deref()),
            (Some(Condition::DropQoqPct), Some("25"))
        );
        assert_eq!(ok.severity, Some(AlertSeverity::Warning));
        let below = body(
            json!({"indicator": "Caja", "condition": "below_value", "threshold": "-1000.50", "severity": "critical"}),
        );
        assert_eq!(below.validate(true).unwrap().threshold.as_deref(), Some("-1000.50"));
        for (bad, field) in [
            (
                json!({"indicator": "EBITDA", "condition": "drop_qoq_pct", "threshold": "lots", "severity": "info"}),
                "threshold",
            ),
            (
                json!({"indicator": "EBITDA", "condition": "drop_qoq_pct", "threshold": true, "severity": "info"}),
                "threshold",
            ),
            (
                json!({"indicator": "EBITDA", "condition": "drop_qoq_pct", "threshold": "1e3", "severity": "info"}),
                "threshold",
            ),
            (
                json!({"indicator": "EBITDA", "condition": "drop_qoq_pct", "threshold": -5, "severity": "info"}),
                "threshold",
            ),
            (
                json!({"indicator": "EBITDA", "condition": "spike", "threshold": 5, "severity": "info"}),
                "condition",
            ),
            (
                json!({"indicator": "EBITDA", "condition": "below_value", "threshold": 5, "severity": "meh"}),
                "severity",
            ),
            (
                json!({"indicator": " ", "condition": "below_value", "threshold": 5, "severity": "info"}),
                "indicator",
            ),
            (
                json!({"condition": "below_value", "threshold": 5, "severity": "info"}),
                "indicator",
            ),
        ] {
            assert_eq!(body(bad.clone()).validate(true).unwrap_err().field, field, "{bad}");
        }
        assert!(body(json!({"enabled": false})).validate(false).is_ok());
        assert_eq!(body(json!({})).validate(false).unwrap_err().field, "body");
        assert!(serde_json::from_value::<RuleBody>(json!({"indicator": "x", "owner": "me"})).is_err());
    }

    #[test]
    fn decimals_are_plain() {
        for good in ["0", "25", "-3.5", "0.125", " 7 "] {
            assert!(decimal(good).is_some(), "{good}");
        }
        for bad in ["", "-", "1.", ".5", "1e3", "1,5", "NaN", "inf", "--1", &"9".repeat(31)] {
            assert!(decimal(bad).is_none(), "{bad}");
        }
    }
}
