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
}
