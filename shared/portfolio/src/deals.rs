//! The deal-flow scorer: a transparent score per deal, the weighted mean of six factors
//! (each a value in 0..1 with its reason), weights and settings from
//! `deal_score_weights`. Each factor's value, weight and contribution is stored beside
//! the score (`deal_scores.factors`), so every score can be explained.

use crate::PortfolioError;
use deadpool_postgres::GenericClient;
use serde_json::{json, Map, Value};

/// What a deal's sheet row says, as the scorer reads it.
#[derive(Debug, Clone, Default)]
pub struct DealFacts {
    pub stage: Option<String>,
    pub funding_round: Option<String>,
    pub industry: Option<String>,
    pub deal_size_usd: Option<f64>,
    pub contact_person: Option<String>,
    pub data_source: Option<String>,
    /// The sheet's columns the schema does not name.
    pub extra: Map<String, Value>,
}

/// One factor's weight and settings.
#[derive(Debug, Clone)]
pub struct Weight {
    pub factor: String,
    pub weight: f64,
    pub params: Value,
}

fn words(raw: &str) -> String {
    raw.to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The round a deal is in, and how well it fits an early-stage fund.
fn stage(f: &DealFacts) -> (f64, String) {
    let Some(raw) = present(&f.funding_round).or(present(&f.stage)) else {
        return (0.0, "no stage or round in the sheet".into());
    };
    let w = format!(" {} ", words(raw));
    let table: [(&[&str], f64); 6] = [
        (&[" pre seed ", " preseed ", " angel ", " friends "], 0.6),
        (&[" seed ", " semilla "], 1.0),
        (&[" series a ", " serie a "], 0.9),
        (&[" series b ", " serie b "], 0.6),
        (&[" series c ", " series d ", " series e ", " growth ", " late "], 0.3),
        (&[" venture "], 0.5),
    ];
    for (names, value) in table {
        if names.iter().any(|n| w.contains(n)) {
            return (value, format!("round `{raw}`"));
        }
    }
    (0.5, format!("stage `{raw}` is not a round the scorer knows"))
}

fn sector_fit(f: &DealFacts, params: &Value) -> (f64, String) {
    let Some(raw) = present(&f.industry) else {
        return (0.0, "no industry in the sheet".into());
    };
    let sectors: Vec<String> = params["sectors"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).map(words).collect())
        .unwrap_or_default();
    let tokens: Vec<String> = raw
        .split(['|', ',', ';', '/'])
        .map(words)
        .filter(|t| !t.is_empty())
        .collect();
    let fit = tokens
        .iter()
        .find(|t| sectors.iter().any(|s| format!(" {t} ").contains(&format!(" {s} "))));
    match fit {
        Some(t) => (1.0, format!("`{t}` is one of the fund's sectors")),
        None => (0.0, format!("`{raw}` is outside the fund's sectors")),
    }
}

fn ticket_size(f: &DealFacts, params: &Value) -> (f64, String) {
    let Some(size) = f.deal_size_usd.filter(|s| *s > 0.0) else {
        return (0.0, "no deal size in the sheet".into());
    };
    let min = params["min_usd"].as_f64().unwrap_or(0.0);
    let max = params["max_usd"].as_f64().unwrap_or(f64::MAX);
    if size < min {
        (size / min, format!("{size} USD is below the fund's {min} USD"))
    } else if size > max {
        (max / size, format!("{size} USD is above the fund's {max} USD"))
    } else {
        (1.0, format!("{size} USD is within the fund's ticket range"))
    }
}

/// How many of the sheet's extra columns with a value have a name containing one of `keys`.
fn extra_with(f: &DealFacts, keys: &[&str]) -> Vec<String> {
    f.extra
        .iter()
        .filter(|(k, v)| {
            let filled = match v {
                Value::Null => false,
                Value::String(s) => !s.trim().is_empty() && s.trim() != "0",
                _ => true,
            };
            filled && {
                let name = format!(" {} ", words(k).replace(' ', "_"));
                keys.iter().any(|key| name.contains(key))
            }
        })
        .map(|(k, _)| k.clone())
        .collect()
}

const TRACTION: &[&str] = &[
    "revenue",
    "arr",
    "mrr",
    "ventas",
    "users",
    "usuarios",
    "customers",
    "clientes",
    "growth",
    "gmv",
    "funding_total",
    "milestones",
    "ebitda",
];
const TEAM: &[&str] = &[
    "founder",
    "fundador",
    "team",
    "equipo",
    "employees",
    "empleados",
    "headcount",
    "relationships",
];

fn counted(found: Vec<String>, what: &str) -> (f64, String) {
    if found.is_empty() {
        (0.0, format!("no {what} figures in the sheet"))
    } else {
        (
            (found.len() as f64 / 2.0).min(1.0),
            format!("{what}: {}", found.join(", ")),
        )
    }
}

fn source(f: &DealFacts) -> (f64, String) {
    let raw = present(&f.data_source).map(str::to_owned).or_else(|| {
        ["source", "lead_source", "origen", "fuente", "referral"]
            .iter()
            .find_map(|k| f.extra.get(*k).and_then(Value::as_str).map(str::to_owned))
    });
    let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
        return (0.0, "no source in the sheet".into());
    };
    let w = words(&raw);
    let value = if ["referral", "referido", "intro", "network", "portfolio"]
        .iter()
        .any(|k| w.contains(k))
    {
        1.0
    } else if ["event", "evento", "demo day", "accelerator", "aceleradora"]
        .iter()
        .any(|k| w.contains(k))
    {
        0.7
    } else if ["inbound", "web"].iter().any(|k| w.contains(k)) {
        0.5
    } else if ["outbound", "cold", "database", "crunchbase"]
        .iter()
        .any(|k| w.contains(k))
    {
        0.3
    } else {
        0.4
    };
    (value, format!("source `{raw}`"))
}

/// A deal's score (four decimals) and its factors as stored.
pub fn score(facts: &DealFacts, weights: &[Weight]) -> (f64, Value) {
    let total: f64 = weights.iter().map(|w| w.weight.max(0.0)).sum();
    let mut sum = 0.0;
    let mut factors = Vec::with_capacity(weights.len());
    for w in weights {
        let (value, reason) = match w.factor.as_str() {
            "stage" => stage(facts),
            "sector_fit" => sector_fit(facts, &w.params),
            "ticket_size" => ticket_size(facts, &w.params),
            "traction" => counted(extra_with(facts, TRACTION), "traction"),
            "team" => {
                let mut found = extra_with(facts, TEAM);
                if present(&facts.contact_person).is_some() {
                    found.push("contact_person".into());
                }
                counted(found, "team")
            }
            "source" => source(facts),
            other => (0.0, format!("`{other}` is not a factor the scorer knows")),
        };
        let value = value.clamp(0.0, 1.0);
        let contribution = if total > 0.0 {
            value * w.weight.max(0.0) / total
        } else {
            0.0
        };
        sum += contribution;
        factors.push(json!({
            "factor": w.factor, "value": round(value), "weight": w.weight,
            "contribution": round(contribution), "reason": reason,
        }));
    }
    (round(sum.clamp(0.0, 1.0)), Value::Array(factors))
}

fn round(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

/// The factors the scorer knows.
pub const FACTORS: [&str; 6] = ["stage", "sector_fit", "ticket_size", "traction", "team", "source"];

/// A weight the team sets for one factor (`PUT /v1/dealflow/weights`): the weight as a
/// plain decimal (PostgreSQL reads it as `numeric`), and the factor's settings when given.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightChange {
    pub factor: &'static str,
    pub weight: Option<String>,
    pub params: Option<Value>,
}

/// Why a change of weights was refused, naming the field (`stage.weight`, `sector_fit.params.sectors`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct WeightError {
    pub field: String,
    pub reason: String,
}

fn refuse(field: impl Into<String>, reason: impl Into<String>) -> WeightError {
    WeightError {
        field: field.into(),
        reason: reason.into(),
    }
}

/// A weight: a JSON number or a decimal string from 0 to 100.
fn weight_of(field: &str, raw: &Value) -> Result<String, WeightError> {
    let text = match raw {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => return Err(refuse(field, "must be a number from 0 to 100, such as 25 or 12.5")),
    };
    let decimal = crate::rules::decimal(&text)
        .ok_or_else(|| refuse(field, format!("`{text}` is not a number such as 25 or 12.5")))?;
    // A plain decimal of at most 30 digits: f64 orders it well enough for a range check.
    let value: f64 = decimal
        .parse()
        .map_err(|_| refuse(field, format!("`{text}` is not a number")))?;
    if !(0.0..=100.0).contains(&value) {
        return Err(refuse(field, format!("{decimal} is outside 0 to 100")));
    }
    Ok(decimal)
}

fn usd(field: &str, raw: Option<&Value>) -> Result<Option<f64>, WeightError> {
    match raw {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(v) if v.is_finite() && v >= 0.0 => Ok(Some(v)),
            _ => Err(refuse(field, "must be an amount in USD, 0 or more")),
        },
        Some(_) => Err(refuse(field, "must be an amount in USD (a number), 0 or more")),
    }
}

/// A factor's settings: `sector_fit` takes `{"sectors": [...]}`, `ticket_size` takes
/// `{"min_usd": n, "max_usd": n}`; the others take none (`{}`).
fn params_of(factor: &str, raw: &Value) -> Result<Value, WeightError> {
    let field = format!("{factor}.params");
    let Value::Object(map) = raw else {
        return Err(refuse(field, "must be an object"));
    };
    let allowed: &[&str] = match factor {
        "sector_fit" => &["sectors"],
        "ticket_size" => &["min_usd", "max_usd"],
        _ => &[],
    };
    if let Some(unknown) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
        let known = if allowed.is_empty() {
            "none".to_owned()
        } else {
            allowed.join(", ")
        };
        return Err(refuse(
            format!("{field}.{unknown}"),
            format!("is not a setting of {factor} (its settings: {known})"),
        ));
    }
    match factor {
        "sector_fit" => {
            let field = format!("{field}.sectors");
            let Some(Value::Array(sectors)) = map.get("sectors") else {
                return Err(refuse(field, "must be a list of sector names"));
            };
            let mut names = Vec::with_capacity(sectors.len());
            for s in sectors {
                match s.as_str().map(str::trim) {
                    Some(name) if !name.is_empty() && name.chars().count() <= 100 => names.push(Value::from(name)),
                    _ => return Err(refuse(field, "each sector must be a name (1 to 100 characters)")),
                }
            }
            Ok(json!({ "sectors": names }))
        }
        "ticket_size" => {
            let min = usd(&format!("{field}.min_usd"), map.get("min_usd"))?;
            let max = usd(&format!("{field}.max_usd"), map.get("max_usd"))?;
            if let (Some(min), Some(max)) = (min, max) {
                if min > max {
                    return Err(refuse(format!("{field}.min_usd"), "must not be more than max_usd"));
                }
            }
            let mut out = Map::new();
            if let Some(min) = min {
                out.insert("min_usd".into(), json!(min));
            }
            if let Some(max) = max {
                out.insert("max_usd".into(), json!(max));
            }
            Ok(Value::Object(out))
        }
        _ => Ok(json!({})),
    }
}

/// Reads a change of weights: an object of factors, each a weight (number or decimal
/// string) or `{"weight": ..., "params": {...}}`. Factors left out keep their weight;
/// `params`, when given, replaces the factor's settings whole.
pub fn parse_weights(body: &Value) -> Result<Vec<WeightChange>, WeightError> {
    let Value::Object(map) = body else {
        return Err(refuse(
            "body",
            "must be an object of factors, such as {\"stage\": 30, \"sector_fit\": {\"weight\": 20}}",
        ));
    };
    if map.is_empty() {
        return Err(refuse("body", format!("give at least one of {}", FACTORS.join(", "))));
    }
    let mut changes = Vec::with_capacity(map.len());
    for (key, raw) in map {
        let factor = FACTORS.iter().copied().find(|f| *f == key.as_str()).ok_or_else(|| {
            refuse(
                key.clone(),
                format!("is not a factor (the factors: {})", FACTORS.join(", ")),
            )
        })?;
        let change = match raw {
            Value::Object(fields) => {
                if let Some(unknown) = fields.keys().find(|k| !["weight", "params"].contains(&k.as_str())) {
                    return Err(refuse(format!("{factor}.{unknown}"), "is not a field (weight, params)"));
                }
                let weight = fields
                    .get("weight")
                    .map(|w| weight_of(&format!("{factor}.weight"), w))
                    .transpose()?;
                let params = fields.get("params").map(|p| params_of(factor, p)).transpose()?;
                if weight.is_none() && params.is_none() {
                    return Err(refuse(factor, "give weight, params or both"));
                }
                WeightChange { factor, weight, params }
            }
            other => WeightChange {
                factor,
                weight: Some(weight_of(factor, other)?),
                params: None,
            },
        };
        changes.push(change);
    }
    Ok(changes)
}

/// Serialises every rescoring and every change of weights: a load's rescoring never
/// writes scores from weights a concurrent change has replaced.
const SCORING_LOCK: i64 = 0x5eed_5c0e;

/// Applies a change of weights and scores every deal again, in the caller's transaction
/// (nothing half-written). Refuses a change that leaves every weight at zero. Returns
/// how many deals were scored.
pub async fn set_weights<C: GenericClient>(
    client: &C,
    changes: &[WeightChange],
    user: &str,
) -> Result<u64, SetWeightsError> {
    client
        .execute("SELECT pg_advisory_xact_lock($1)", &[&SCORING_LOCK])
        .await
        .map_err(PortfolioError::from)?;
    for c in changes {
        client
            .execute(
                "UPDATE deal_score_weights SET weight = coalesce($2::text::numeric, weight),
                     params = coalesce($3, params), updated_by = $4, updated_at = now()
                 WHERE factor = $1",
                &[&c.factor, &c.weight, &c.params, &user],
            )
            .await
            .map_err(PortfolioError::from)?;
    }
    let total: f64 = client
        .query_one("SELECT coalesce(sum(weight), 0)::float8 FROM deal_score_weights", &[])
        .await
        .map_err(PortfolioError::from)?
        .get(0);
    if total <= 0.0 {
        return Err(SetWeightsError::Refused(refuse(
            "body",
            "at least one factor must keep a weight above zero",
        )));
    }
    Ok(rescore_all(client).await?)
}

#[derive(Debug, thiserror::Error)]
pub enum SetWeightsError {
    #[error(transparent)]
    Refused(WeightError),
    #[error(transparent)]
    Portfolio(#[from] PortfolioError),
}

/// The weights and settings in force.
pub async fn weights<C: GenericClient>(client: &C) -> Result<Vec<Weight>, PortfolioError> {
    Ok(client
        .query(
            "SELECT factor, weight::float8, params FROM deal_score_weights ORDER BY factor",
            &[],
        )
        .await?
        .iter()
        .map(|r| Weight {
            factor: r.get(0),
            weight: r.get(1),
            params: r.get(2),
        })
        .collect())
}

/// Scores every deal again (a chunk of 1,000 at a time), in the caller's transaction.
/// Returns how many were scored.
pub async fn rescore_all<C: GenericClient>(client: &C) -> Result<u64, PortfolioError> {
    // Held to the transaction's end: weights changed meanwhile wait for these scores.
    client
        .execute("SELECT pg_advisory_xact_lock($1)", &[&SCORING_LOCK])
        .await?;
    let weights = weights(client).await?;
    let mut after = 0i64;
    let mut scored = 0u64;
    loop {
        let rows = client
            .query(
                "SELECT deal_id, stage, funding_round, industry, deal_size_usd::float8, contact_person, data_source, extra
                 FROM dealflow WHERE deal_id > $1 ORDER BY deal_id LIMIT 1000",
                &[&after],
            )
            .await?;
        let Some(last) = rows.last() else {
            return Ok(scored);
        };
        after = last.get(0);
        let (mut ids, mut scores, mut factors) = (Vec::new(), Vec::new(), Vec::new());
        for r in &rows {
            let facts = DealFacts {
                stage: r.get(1),
                funding_round: r.get(2),
                industry: r.get(3),
                deal_size_usd: r.get(4),
                contact_person: r.get(5),
                data_source: r.get(6),
                extra: r.get::<_, Value>(7).as_object().cloned().unwrap_or_default(),
            };
            let (s, f) = score(&facts, &weights);
            ids.push(r.get::<_, i64>(0));
            scores.push(format!("{s:.4}"));
            factors.push(f);
        }
        client
            .execute(
                "INSERT INTO deal_scores (deal_id, score, factors)
                 SELECT id, s::numeric, f FROM unnest($1::bigint[], $2::text[], $3::jsonb[]) AS t(id, s, f)
                 ON CONFLICT (deal_id) DO UPDATE SET score = EXCLUDED.score, factors = EXCLUDED.factors, scored_at = now()",
                &[&ids, &scores, &factors],
            )
            .await?;
        scored += rows.len() as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Vec<Weight> {
        let w = |factor: &str, weight: f64, params: Value| Weight {
            factor: factor.into(),
            weight,
            params,
        };
        vec![
            w("stage", 25.0, json!({})),
            w(
                "sector_fit",
                25.0,
                json!({"sectors": ["software", "fintech", "health care"]}),
            ),
            w("ticket_size", 15.0, json!({"min_usd": 250000, "max_usd": 5000000})),
            w("traction", 15.0, json!({})),
            w("team", 10.0, json!({})),
            w("source", 10.0, json!({})),
        ]
    }

    #[test]
    fn a_score_is_the_weighted_mean_of_its_factors() {
        let facts = DealFacts {
            funding_round: Some("Seed".into()),
            industry: Some("Health Care|Retail".into()),
            deal_size_usd: Some(10_000_000.0),
            data_source: Some("Referral from portfolio".into()),
            extra: json!({"ARR": "1.2M", "founders": "Ana, Bo", "notes": "x"})
                .as_object()
                .cloned()
                .unwrap(),
            ..DealFacts::default()
        };
        let (s, factors) = score(&facts, &defaults());
        // 25*1 + 25*1 + 15*0.5 + 15*0.5 + 10*0.5 + 10*1 = 80 of 100.
        assert_eq!(s, 0.8);
        let sum: f64 = factors
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["contribution"].as_f64().unwrap())
            .sum();
        assert!((sum - s).abs() < 1e-3);
        assert_eq!(factors[2]["value"], 0.5, "{factors}");
        assert!(factors[1]["reason"].as_str().unwrap().contains("health care"));
    }

    #[test]
    fn an_empty_row_scores_zero_and_says_why() {
        let (s, factors) = score(&DealFacts::default(), &defaults());
        assert_eq!(s, 0.0);
        assert!(factors
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["reason"].as_str().unwrap().starts_with("no ")));
        // "ai"-like substrings do not fit: whole words only.
        let retail = DealFacts {
            industry: Some("Retail".into()),
            ..DealFacts::default()
        };
        let w = vec![Weight {
            factor: "sector_fit".into(),
            weight: 1.0,
            params: json!({"sectors": ["ai"]}),
        }];
        assert_eq!(score(&retail, &w).0, 0.0);
        assert_eq!(score(&retail, &[]).0, 0.0);
    }

    #[test]
    fn weights_are_read_field_by_field() {
        let changes = parse_weights(&json!({
            "stage": 30,
            "sector_fit": {"weight": "12.5", "params": {"sectors": [" fintech ", "health care"]}},
            "ticket_size": {"params": {"min_usd": 100000, "max_usd": 2000000}}
        }))
        .unwrap();
        assert_eq!(changes.len(), 3);
        let by = |f: &str| changes.iter().find(|c| c.factor == f).unwrap().clone();
        assert_eq!(by("stage").weight.as_deref(), Some("30"));
        assert_eq!(by("stage").params, None);
        assert_eq!(by("sector_fit").weight.as_deref(), Some("12.5"));
        assert_eq!(
            by("sector_fit").params,
            Some(json!({"sectors": ["fintech", "health care"]}))
        );
        assert_eq!(by("ticket_size").weight, None);
        for (bad, field) in [
            (json!({"stage": "lots"}), "stage"),
            (json!({"stage": true}), "stage"),
            (json!({"stage": -1}), "stage"),
            (json!({"stage": 100.5}), "stage"),
            (json!({"stage": "1e2"}), "stage"),
            (json!({"stage": {"weight": null}}), "stage.weight"),
            (json!({"stage": {"weight": "x"}}), "stage.weight"),
            (json!({"stage": {}}), "stage"),
            (json!({"stage": {"wieght": 3}}), "stage.wieght"),
            (json!({"luck": 10}), "luck"),
            (json!({"stage": 10, "luck": 10}), "luck"),
            (json!({"team": {"params": {"x": 1}}}), "team.params.x"),
            (
                json!({"sector_fit": {"params": {"sectors": "fintech"}}}),
                "sector_fit.params.sectors",
            ),
            (
                json!({"sector_fit": {"params": {"sectors": [""]}}}),
                "sector_fit.params.sectors",
            ),
            (
                json!({"ticket_size": {"params": {"min_usd": "1M"}}}),
                "ticket_size.params.min_usd",
            ),
            (
                json!({"ticket_size": {"params": {"min_usd": 5, "max_usd": 1}}}),
                "ticket_size.params.min_usd",
            ),
            (json!({"ticket_size": {"params": []}}), "ticket_size.params"),
            (json!({}), "body"),
            (json!([1, 2]), "body"),
        ] {
            assert_eq!(parse_weights(&bad).unwrap_err().field, field, "{bad}");
        }
        // Zero is a weight: the factor stops counting.
        assert_eq!(
            parse_weights(&json!({"team": 0})).unwrap()[0].weight.as_deref(),
            Some("0")
        );
    }
}
