//! The portfolio report (seed 000's Portfolio Analyzer): per company its KPI trends,
//! cash runway, budget attainment, open alerts and, when it is public (a ticker is known
//! for it), its latest stored filings and the completed analyses of them the team can
//! read; per fund its companies. Built by
//! [`build`] (pure) from what [`gather`] reads, each company narrated extractively
//! (sentences made from the figures, labelled as such); a configured model may narrate
//! the whole from its figures ([`crate::narration`]). [`store`] keeps it in S3 and
//! records it.

use crate::PortfolioError;
use chrono::{Datelike, NaiveDate};
use deadpool_postgres::GenericClient;
use serde_json::{json, Value};
use sluice_messages::Ticker;
use std::collections::BTreeMap;
use uuid::Uuid;

/// One KPI value as stored (`scenario` as `kpi_scenario` says: actual or budget).
#[derive(Debug, Clone, PartialEq)]
pub struct KpiPoint {
    pub fund: Option<String>,
    pub indicator: String,
    pub date: NaiveDate,
    pub budget: bool,
    /// Every digit stored.
    pub text: String,
    pub value: f64,
    pub unit: Option<String>,
}

/// What a company's report is built from.
#[derive(Debug, Clone, Default)]
pub struct CompanyInput {
    pub company: String,
    pub points: Vec<KpiPoint>,
    /// Its alerts as the API lists them (newest first).
    pub alerts: Vec<Value>,
    /// What is stored about it as a public company, when a ticker is known for it.
    pub public: Option<PublicInput>,
}

/// A public company's stored filings and analyses.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicInput {
    pub ticker: Ticker,
    /// Where the ticker was found: `companies` (a ticker or symbol column of the companies
    /// sheet) or `ticker_directory` (the company's name in the tickers or EDGAR directory).
    pub ticker_from: &'static str,
    /// The latest filings, newest first (at most [`LATEST_FILINGS`]).
    pub filings: Vec<Value>,
    /// Completed pooled analyses of its filings that a team member has access to, newest
    /// first (at most [`LATEST_ANALYSES`]).
    pub analyses: Vec<Value>,
}

/// How many of a public company's latest filings and analyses a report lists.
pub const LATEST_FILINGS: i64 = 5;
pub const LATEST_ANALYSES: i64 = 10;

/// The report's `public` part of a company: its ticker, latest filings and analyses, and
/// a note saying plainly when none is stored.
fn public_part(public: Option<&PublicInput>, sentences: &mut Vec<String>) -> Value {
    let Some(p) = public else {
        return json!({
            "ticker": null, "filings": [], "analyses": [],
            "note": "no ticker is known for this company (not public, or not named so in the companies sheet or \
                     the ticker directory): no filings or analyses",
        });
    };
    let ticker = p.ticker.as_str();
    let mut notes = Vec::new();
    match p.filings.first() {
        Some(f) => sentences.push(format!(
            "The latest stored filing of {ticker} is a {} for the period ending {}, filed {}.",
            f["form"].as_str().unwrap_or("filing"),
            f["period"].as_str().unwrap_or("(not stated)"),
            f["filed"].as_str().unwrap_or("(unknown)"),
        )),
        None => {
            notes.push(format!("none stored: no filing of {ticker} has been fetched"));
            sentences.push(format!("No filing of {ticker} is stored."));
        }
    }
    if p.analyses.is_empty() {
        notes.push(format!(
            "none stored: no completed analysis of a {ticker} filing that the team has access to"
        ));
    } else {
        sentences.push(format!(
            "{} completed analysis(es) of {ticker} filings are stored.",
            p.analyses.len()
        ));
    }
    let mut part = json!({
        "ticker": ticker, "ticker_from": p.ticker_from, "filings": p.filings, "analyses": p.analyses,
        "links": { "filings": format!("/v1/filings?ticker={ticker}") },
    });
    if !notes.is_empty() {
        part["note"] = json!(notes.join("; "));
    }
    part
}

/// Indicators read as the company's cash balance.
const CASH: &[&str] = &[
    "caja",
    "cash",
    "tesoreria",
    "tesorería",
    "cash balance",
    "saldo de caja",
];
/// Indicators read as EBITDA.
const EBITDA: &[&str] = &["ebitda"];

fn is(names: &[&str], indicator: &str) -> bool {
    names.contains(&indicator.trim().to_lowercase().as_str())
}

fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

fn months_between(a: NaiveDate, b: NaiveDate) -> f64 {
    (b - a).num_days() as f64 / (365.25 / 12.0)
}

/// The point nearest `target` (within 20 days: period ends differ by a day or two).
fn near(points: &[&KpiPoint], target: NaiveDate) -> Option<f64> {
    points
        .iter()
        .filter(|p| (p.date - target).num_days().abs() <= 20)
        .min_by_key(|p| (p.date - target).num_days().abs())
        .map(|p| p.value)
}

fn change_pct(now: f64, before: Option<f64>) -> Value {
    match before {
        Some(b) if b != 0.0 => json!(round((now - b) / b.abs() * 100.0, 2)),
        _ => Value::Null,
    }
}

fn shift(date: NaiveDate, months: i32) -> Option<NaiveDate> {
    let total = date.year() * 12 + date.month0() as i32 - months;
    let (year, month0) = (total.div_euclid(12), total.rem_euclid(12) as u32);
    // The same day, or the month's last when it has fewer days.
    (0..4).find_map(|back| NaiveDate::from_ymd_opt(year, month0 + 1, date.day().saturating_sub(back)))
}

/// The cash runway: the latest cash balance over the average monthly burn, from the
/// change of cash over the last (up to four) periods when there are two cash figures,
/// else from the average of the last (up to four) negative EBITDA figures per month.
pub fn runway(actuals: &BTreeMap<String, Vec<&KpiPoint>>) -> Value {
    let cash = actuals.iter().find(|(k, _)| is(CASH, k)).map(|(_, v)| v);
    let Some(cash) = cash.filter(|c| !c.is_empty()) else {
        return json!({ "months": null, "basis": null, "reason": "no cash figure (Caja, Cash) among the KPIs" });
    };
    let last = cash[cash.len() - 1];
    let (burn, basis) = if cash.len() >= 2 {
        let first = cash[cash.len().saturating_sub(5)];
        let months = months_between(first.date, last.date);
        if months <= 0.0 {
            (None, "cash_change")
        } else {
            (Some((first.value - last.value) / months), "cash_change")
        }
    } else {
        let ebitda = actuals.iter().find(|(k, _)| is(EBITDA, k)).map(|(_, v)| v);
        match ebitda.filter(|e| e.len() >= 2) {
            Some(e) => {
                let recent = &e[e.len().saturating_sub(5)..];
                // Each figure covers the months since the one before it.
                let months = months_between(recent[0].date, recent[recent.len() - 1].date);
                let sum: f64 = recent[1..].iter().map(|p| p.value).sum();
                if months > 0.0 {
                    (Some(-sum / months), "ebitda")
                } else {
                    (None, "ebitda")
                }
            }
            None => (None, "none"),
        }
    };
    match burn {
        Some(burn) if burn > 0.0 => json!({
            "cash": last.text, "cash_date": last.date, "monthly_burn": round(burn, 2),
            "months": round(last.value.max(0.0) / burn, 1), "basis": basis,
        }),
        Some(_) => json!({
            "cash": last.text, "cash_date": last.date, "monthly_burn": 0, "months": null, "basis": basis,
            "reason": "not burning cash",
        }),
        None => json!({
            "cash": last.text, "cash_date": last.date, "months": null, "basis": basis,
            "reason": "too few figures to derive a monthly burn (two cash figures, or two EBITDA figures)",
        }),
    }
}

fn company_report(input: &CompanyInput) -> Value {
    let mut actuals: BTreeMap<String, Vec<&KpiPoint>> = BTreeMap::new();
    let mut budgets: BTreeMap<String, Vec<&KpiPoint>> = BTreeMap::new();
    for p in &input.points {
        let into = if p.budget { &mut budgets } else { &mut actuals };
        into.entry(p.indicator.clone()).or_default().push(p);
    }
    for series in actuals.values_mut().chain(budgets.values_mut()) {
        series.sort_by_key(|p| p.date);
    }
    let mut sentences = Vec::new();
    let mut trends = Vec::new();
    let mut latest_date: Option<NaiveDate> = None;
    for (indicator, series) in &actuals {
        let Some(last) = series.last() else { continue };
        latest_date = latest_date.max(Some(last.date));
        let qoq = change_pct(last.value, shift(last.date, 3).and_then(|d| near(series, d)));
        let yoy = change_pct(last.value, shift(last.date, 12).and_then(|d| near(series, d)));
        let history: Vec<Value> = series[series.len().saturating_sub(8)..]
            .iter()
            .map(|p| json!({ "date": p.date, "value": p.text }))
            .collect();
        let unit = last.unit.as_deref().map(|u| format!(" {u}")).unwrap_or_default();
        let mut sentence = format!("{indicator} was {}{unit} on {}", last.text, last.date);
        if let Some(q) = qoq.as_f64() {
            sentence.push_str(&format!(", {q:+} % on the quarter"));
        }
        if let Some(y) = yoy.as_f64() {
            sentence.push_str(&format!(", {y:+} % on the year"));
        }
        sentences.push(format!("{sentence}."));
        trends.push(json!({
            "indicator": indicator, "unit": last.unit, "latest": { "date": last.date, "value": last.text },
            "qoq_pct": qoq, "yoy_pct": yoy, "history": history,
        }));
    }
    let mut attainment = Vec::new();
    for (indicator, plan) in &budgets {
        let Some(actual) = actuals.get(indicator) else { continue };
        // The latest period with both figures.
        let both = plan
            .iter()
            .rev()
            .find_map(|b| actual.iter().find(|a| a.date == b.date).map(|a| (*a, *b)));
        if let Some((a, b)) = both {
            let pct = (b.value != 0.0).then(|| round(a.value / b.value * 100.0, 2));
            if let Some(pct) = pct {
                sentences.push(format!("{indicator} reached {pct} % of its budget on {}.", a.date));
            }
            attainment.push(json!({
                "indicator": indicator, "date": a.date, "actual": a.text, "budget": b.text, "attainment_pct": pct,
            }));
        }
    }
    let runway = runway(&actuals);
    match runway["months"].as_f64() {
        Some(m) => sentences.push(format!(
            "Cash of {} lasts {m} months at the monthly burn of {} (from {}).",
            runway["cash"].as_str().unwrap_or_default(),
            runway["monthly_burn"],
            if runway["basis"] == "ebitda" {
                "EBITDA"
            } else {
                "the change of cash"
            }
        )),
        None => {
            if let Some(reason) = runway["reason"].as_str() {
                sentences.push(format!("Cash runway: {reason}."));
            }
        }
    }
    // Open alerts: those about the company's latest period.
    let open: Vec<Value> = input
        .alerts
        .iter()
        .filter(|a| {
            a["period"]
                .as_str()
                .and_then(|d| d.parse::<NaiveDate>().ok())
                .is_some_and(|d| latest_date.is_some_and(|l| (l - d).num_days().abs() <= 20))
        })
        .cloned()
        .collect();
    if !open.is_empty() {
        let messages: Vec<&str> = open.iter().filter_map(|a| a["message"].as_str()).collect();
        sentences.push(format!("{} open alert(s): {}", open.len(), messages.join("; ")));
    }
    let fund = input.points.iter().rev().find_map(|p| p.fund.clone());
    let public = public_part(input.public.as_ref(), &mut sentences);
    json!({
        "company": input.company, "fund": fund, "latest_period": latest_date,
        "kpi_trends": trends, "budget_attainment": attainment, "cash_runway": runway,
        "open_alerts": open, "public": public,
        "narrative": { "kind": "extractive", "sentences": sentences },
    })
}

/// The report over the companies given.
pub fn build(companies: &[CompanyInput]) -> Value {
    let reports: Vec<Value> = companies.iter().map(company_report).collect();
    let mut funds: BTreeMap<String, (Vec<Value>, usize)> = BTreeMap::new();
    for r in &reports {
        let fund = r["fund"].as_str().unwrap_or("(no fund)").to_owned();
        let entry = funds.entry(fund).or_default();
        entry.0.push(r["company"].clone());
        entry.1 += r["open_alerts"].as_array().map_or(0, Vec::len);
    }
    json!({
        "narration": crate::narration::extractive(None),
        "funds": funds.into_iter().map(|(fund, (companies, alerts))| json!({
            "fund": fund, "companies": companies, "open_alerts": alerts,
        })).collect::<Vec<_>>(),
        "companies": reports,
    })
}

/// Where a report is kept in S3 (the uploads bucket).
pub fn key_of(id: Uuid) -> String {
    format!("portfolio-reports/{id}.json")
}

/// What the `portfolio_reports` row says of a report.
#[derive(Debug, Clone)]
pub struct Record<'a> {
    pub id: Uuid,
    /// A user, or `schedule:monthly-reports`.
    pub requested_by: &'a str,
    /// The one company it is about (none: every company).
    pub company: Option<&'a str>,
    pub companies: usize,
    /// The month a scheduled report is for (its first day).
    pub period: Option<NaiveDate>,
    /// `extractive` or the narrating model's key.
    pub narration: &'a str,
    /// When it was generated (the report's `generated_at`, from the function's clock).
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Stores `report` as JSON in S3 (`portfolio-reports/<id>.json` of `bucket`) and records
/// it through `client` (a transaction, when the caller claims a key with it).
pub async fn store<C: GenericClient>(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    client: &C,
    report: &Value,
    record: &Record<'_>,
) -> Result<(), PortfolioError> {
    let key = key_of(record.id);
    let body = serde_json::to_vec(report).map_err(|e| PortfolioError::Storage(e.to_string()))?;
    s3.put_object()
        .bucket(bucket)
        .key(&key)
        .content_type("application/json")
        .body(aws_sdk_s3::primitives::ByteStream::from(body))
        .send()
        .await
        .map_err(|e| PortfolioError::Storage(aws_sdk_s3::error::DisplayErrorContext(e).to_string()))?;
    let count = i32::try_from(record.companies).unwrap_or(i32::MAX);
    client
        .execute(
            "INSERT INTO portfolio_reports (report_id, requested_by, company, companies, s3_key, period, narration, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &record.id,
                &record.requested_by,
                &record.company,
                &count,
                &key,
                &record.period,
                &record.narration,
                &record.created_at,
            ],
        )
        .await?;
    Ok(())
}

/// Reads what the report needs: every actual and budget KPI value and every alert, of
/// one company or all, by company.
pub async fn gather<C: GenericClient>(client: &C, company: Option<&str>) -> Result<Vec<CompanyInput>, PortfolioError> {
    let rows = client
        .query(
            "SELECT empresa, fondo, indicador, fecha, kpi_scenario(tipo) = 'budget', valor::text, valor::float8, unidad
             FROM kpis WHERE kpi_scenario(tipo) IN ('actual', 'budget') AND ($1::text IS NULL OR empresa = $1)
             ORDER BY empresa, indicador, fecha",
            &[&company],
        )
        .await?;
    let mut out: Vec<CompanyInput> = Vec::new();
    for r in &rows {
        let name: String = r.get(0);
        if out.last().is_none_or(|c| c.company != name) {
            out.push(CompanyInput {
                company: name,
                ..CompanyInput::default()
            });
        }
        if let Some(c) = out.last_mut() {
            c.points.push(KpiPoint {
                fund: r.get(1),
                indicator: r.get(2),
                date: r.get(3),
                budget: r.get(4),
                text: r.get(5),
                value: r.get(6),
                unit: r.get(7),
            });
        }
    }
    let alerts = client
        .query(
            "SELECT empresa, jsonb_build_object('id', alert_id, 'indicator', indicador, 'period', fecha,
                    'severity', severity, 'condition', condition, 'value', value::text, 'message', message,
                    'created_at', created_at)
             FROM kpi_alerts WHERE ($1::text IS NULL OR empresa = $1) ORDER BY alert_id DESC",
            &[&company],
        )
        .await?;
    for a in &alerts {
        let name: String = a.get(0);
        if let Some(c) = out.iter_mut().find(|c| c.company == name) {
            c.alerts.push(a.get(1));
        }
    }
    for c in &mut out {
        c.public = public_record(client, &c.company).await?;
    }
    Ok(out)
}

/// The ticker a company is known by: a `ticker` or `symbol` column of the companies sheet
/// (kept in `companies.extra`) for the company of that name, else a ticker whose name in
/// the tickers or EDGAR directory is the company's (ignoring case). A value that is not a
/// ticker is passed over.
async fn ticker_of<C: GenericClient>(
    client: &C,
    company: &str,
) -> Result<Option<(Ticker, &'static str)>, PortfolioError> {
    let row = client
        .query_one(
            "SELECT (SELECT e.value FROM companies c, jsonb_each_text(c.extra) e
                     WHERE lower(c.company_name) = lower($1) AND lower(trim(e.key)) IN ('ticker', 'symbol')
                       AND trim(e.value) <> '' ORDER BY c.company_id LIMIT 1),
                    coalesce((SELECT t.ticker FROM tickers t WHERE lower(t.name) = lower($1) ORDER BY t.ticker LIMIT 1),
                             (SELECT ec.ticker FROM edgar_companies ec WHERE lower(ec.title) = lower($1)
                              ORDER BY ec.ticker LIMIT 1))",
            &[&company],
        )
        .await?;
    let sheet: Option<String> = row.get(0);
    let directory: Option<String> = row.get(1);
    Ok(sheet
        .and_then(|t| Ticker::parse(&t).ok())
        .map(|t| (t, "companies"))
        .or_else(|| {
            directory
                .and_then(|t| Ticker::parse(&t).ok())
                .map(|t| (t, "ticker_directory"))
        }))
}

/// A public company's latest filings and the completed analyses of its filings that a
/// member of the team has access to (`None`: no ticker is known for it).
pub async fn public_record<C: GenericClient>(client: &C, company: &str) -> Result<Option<PublicInput>, PortfolioError> {
    let Some((ticker, ticker_from)) = ticker_of(client, company).await? else {
        return Ok(None);
    };
    // A filing is the ticker's when it says so or its CIK is the ticker's in EDGAR's directory.
    const OF_TICKER: &str = "(f.ticker = $1 OR f.cik IN (SELECT ec.cik FROM edgar_companies ec WHERE ec.ticker = $1))";
    let filings = client
        .query(
            &format!(
                "SELECT jsonb_build_object('id', f.id, 'accession', f.accession, 'form', f.form,
                        'period', f.report_date, 'fiscal_year', f.fiscal_year, 'filed', f.filing_date,
                        'links', jsonb_build_object('edgar', 'https://www.sec.gov/Archives/edgar/data/'
                            || ltrim(f.cik, '0') || '/' || replace(f.accession, '-', '') || '/' || f.primary_document))
                 FROM filings f WHERE {OF_TICKER}
                 ORDER BY f.filing_date DESC, f.accession DESC LIMIT $2"
            ),
            &[&ticker.as_str(), &LATEST_FILINGS],
        )
        .await?;
    let analyses = client
        .query(
            &format!(
                "SELECT jsonb_build_object('id', a.id, 'kind', a.kind, 'model', a.model, 'completed_at', a.completed_at,
                        'filing', jsonb_build_object('id', f.id, 'accession', f.accession, 'form', f.form,
                            'period', f.report_date, 'filed', f.filing_date),
                        'links', jsonb_build_object('self', '/v1/analyses/' || a.id))
                 FROM analyses a JOIN filings f ON f.id = a.filing_id
                 WHERE a.status = 'completed' AND {OF_TICKER}
                   AND EXISTS (SELECT 1 FROM filing_access fa JOIN user_accounts u ON u.user_id = fa.user_id
                               WHERE fa.filing_id = f.id AND u.team_member)
                 ORDER BY a.completed_at DESC, a.id DESC LIMIT $2"
            ),
            &[&ticker.as_str(), &LATEST_ANALYSES],
        )
        .await?;
    Ok(Some(PublicInput {
        ticker,
        ticker_from,
        filings: filings.iter().map(|r| r.try_get(0)).collect::<Result<_, _>>()?,
        analyses: analyses.iter().map(|r| r.try_get(0)).collect::<Result<_, _>>()?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(indicator: &str, date: &str, budget: bool, value: f64) -> KpiPoint {
        KpiPoint {
            fund: Some("Fondo I".into()),
            indicator: indicator.into(),
            date: date.parse().unwrap(),
            budget,
            text: value.to_string(),
            value,
            unit: Some("EUR".into()),
        }
    }

    #[test]
    fn a_company_report_by_hand() {
        let input = CompanyInput {
            company: "Acme".into(),
            points: vec![
                point("EBITDA", "2025-06-30", false, 800.0),
                point("EBITDA", "2026-03-31", false, 1000.0),
                point("EBITDA", "2026-06-30", false, 500.0),
                point("EBITDA", "2026-06-30", true, 1000.0),
                point("Caja", "2026-03-31", false, 9000.0),
                point("Caja", "2026-06-30", false, 6000.0),
            ],
            alerts: vec![
                json!({"period": "2026-06-30", "message": "EBITDA fell 50 %"}),
                json!({"period": "2025-06-30", "message": "old"}),
            ],
            public: None,
        };
        let report = build(&[input]);
        let acme = &report["companies"][0];
        let ebitda = acme["kpi_trends"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["indicator"] == "EBITDA")
            .unwrap();
        // 500 against 1000 a quarter before, 800 a year before.
        assert_eq!(
            (ebitda["qoq_pct"].as_f64(), ebitda["yoy_pct"].as_f64()),
            (Some(-50.0), Some(-37.5))
        );
        assert_eq!(acme["budget_attainment"][0]["attainment_pct"].as_f64(), Some(50.0));
        // Cash fell 3000 in 91 days (2.99 months): about 1003.3 a month; 6000 lasts 6.0 months.
        let runway = &acme["cash_runway"];
        assert_eq!(runway["basis"], "cash_change");
        assert_eq!(runway["months"].as_f64(), Some(6.0));
        assert_eq!(acme["open_alerts"].as_array().unwrap().len(), 1);
        assert_eq!(report["funds"][0]["open_alerts"], 1);
        assert_eq!(report["narration"]["kind"], "extractive");
        let sentences = acme["narrative"]["sentences"].as_array().unwrap();
        assert!(
            sentences
                .iter()
                .any(|s| s.as_str().unwrap().contains("-50 % on the quarter")),
            "{sentences:?}"
        );
    }

    #[test]
    fn public_companies_list_their_filings_and_say_when_none_is_stored() {
        let mut sentences = Vec::new();
        let private = public_part(None, &mut sentences);
        assert_eq!(private["ticker"], Value::Null);
        assert!(private["note"].as_str().unwrap().contains("no ticker"));
        assert!(sentences.is_empty());

        let ticker = Ticker::parse("acme").unwrap();
        let bare = PublicInput {
            ticker: ticker.clone(),
            ticker_from: "companies",
            filings: vec![],
            analyses: vec![],
        };
        let part = public_part(Some(&bare), &mut sentences);
        assert_eq!(part["ticker"], "ACME");
        let note = part["note"].as_str().unwrap();
        assert!(
            note.contains("no filing of ACME") && note.contains("no completed analysis"),
            "{note}"
        );
        assert_eq!(sentences, ["No filing of ACME is stored."]);

        sentences.clear();
        let filed = PublicInput {
            filings: vec![json!({"form": "10-K", "period": "2025-12-31", "filed": "2026-02-20"})],
            analyses: vec![json!({"id": "a"})],
            ..bare
        };
        let part = public_part(Some(&filed), &mut sentences);
        assert!(part.get("note").is_none(), "{part}");
        assert_eq!(part["links"]["filings"], "/v1/filings?ticker=ACME");
        assert_eq!(
            sentences,
            [
                "The latest stored filing of ACME is a 10-K for the period ending 2025-12-31, filed 2026-02-20.",
                "1 completed analysis(es) of ACME filings are stored."
            ]
        );
    }

    #[test]
    fn runway_from_ebitda_or_not_at_all() {
        let cash = point("Cash", "2026-06-30", false, 1200.0);
        let e1 = point("EBITDA", "2026-03-31", false, -100.0);
        let e2 = point("EBITDA", "2026-06-30", false, -300.0);
        let mut actuals: BTreeMap<String, Vec<&KpiPoint>> = BTreeMap::new();
        actuals.insert("Cash".into(), vec![&cash]);
        actuals.insert("EBITDA".into(), vec![&e1, &e2]);
        // 300 lost over the 2.99 months since the previous figure: ~100.3 a month.
        let r = runway(&actuals);
        assert_eq!(r["basis"], "ebitda");
        assert_eq!(r["months"].as_f64(), Some(12.0));
        let profit = point("EBITDA", "2026-06-30", false, 300.0);
        actuals.insert("EBITDA".into(), vec![&e1, &profit]);
        assert_eq!(runway(&actuals)["reason"], "not burning cash");
        actuals.clear();
        assert_eq!(runway(&actuals)["months"], Value::Null);
    }

    #[test]
    fn months_shift_to_the_same_day_or_the_month_end() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(shift(d("2026-06-30"), 3), Some(d("2026-03-30")));
        assert_eq!(shift(d("2026-05-31"), 3), Some(d("2026-02-28")));
        assert_eq!(shift(d("2026-02-15"), 12), Some(d("2025-02-15")));
    }
}
