//! The HTTP API under load: the API, built by its own constructor as the local runner
//! builds it, served on a loopback port of this process, then `connections` concurrent
//! keep-alive connections (one client each, one user each) send a fixed number of
//! requests to one route at a time:
//!
//! - `GET /v1/me` (the caller's account and usage);
//! - a pool hit on `POST /v1/analyses`: the analysis is in the pool and each caller has
//!   already paid its filing access (the hot path: lock the account, find the filing and the
//!   pool entry, count the access, read the body from S3);
//! - a KPI query, `GET /v1/kpis?company=..&indicator=..`, over `kpis` holding `kpi_rows` rows.
//!
//! The load generator is in this process (tokio + reqwest): nothing to install, and the
//! same build as the rest of `make bench`. It shares the machine with the server, as any
//! local load tool would. Every response must be a 2xx; any other is an error (counted).
//!
//! Set-up (untimed): the filing and its completed analysis are inserted as the rows the
//! analysis worker writes, the body put in S3 where the row says; each user's first
//! `GET /v1/me` opens the account and its first `POST /v1/analyses` pays the access fee
//! through the real code path.

use crate::stack::{insert_preload_rows, BenchDb, BenchStack};
use anyhow::{bail, Context};
use serde::Serialize;
use sluice_core::{Clock, ConfigSource};
use sluice_local::Functions;
use std::time::{Duration, Instant};
use uuid::Uuid;

const SECRET: &str = "sluice-bench-not-a-secret";
const ACCESSION: &str = "0009999999-26-000004";
const CIK: &str = "0009999999";

#[derive(Debug, Serialize)]
pub struct RouteReport {
    pub route: String,
    pub requests: u64,
    pub errors: u64,
    pub seconds: f64,
    pub requests_per_s: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, Serialize)]
pub struct HttpReport {
    pub bench: &'static str,
    pub connections: usize,
    pub requests_per_route: u64,
    pub kpi_rows: u64,
    /// Rows a KPI query answers.
    pub kpi_answer_rows: u64,
    pub routes: Vec<RouteReport>,
}

pub async fn run(connections: usize, requests: u64, kpi_rows: u64) -> anyhow::Result<HttpReport> {
    if connections == 0 || requests < connections as u64 {
        bail!("--requests must be at least --connections, and --connections at least 1");
    }
    let cfg = ConfigSource::from_env();
    let cfg = match cfg.optional::<String>("LOCAL_JWT_SECRET")? {
        Some(_) => cfg,
        None => cfg.with("LOCAL_JWT_SECRET", SECRET),
    };
    let db = BenchDb::create(&cfg, "http", None).await?;
    let stack = match BenchStack::create().await {
        Ok(s) => s,
        Err(e) => {
            db.drop_db().await;
            return Err(e);
        }
    };
    let result = measure(&cfg, &db, &stack, connections, requests, kpi_rows).await;
    stack.teardown().await;
    db.drop_db().await;
    result
}

/// The pool entry: a filing and its completed `risk_factors` analysis by the configured
/// model, as the analysis worker leaves them, and the body in S3.
async fn seed_pool(db: &BenchDb, stack: &BenchStack, model: &str) -> anyhow::Result<()> {
    let client = db.pool.get().await?;
    let filing_id = Uuid::new_v4();
    let analysis_id = Uuid::new_v4();
    let body_key = format!("analyses/{analysis_id}.json");
    client
        .execute(
            "INSERT INTO filings (id, accession, cik, company_name, ticker, form, filing_date, report_date,
                                  fiscal_year, primary_document, bucket, document_key, sha256, size_bytes,
                                  sections_key, section_status)
             VALUES ($1, $2, $3, 'Sluice Bench Holdings', 'SLXH', '10-K', date '2026-02-20', date '2025-12-31',
                     2025, 'slxh-20251231.htm', $4, 'filings/bench.htm', repeat('a', 64), 1000,
                     'filings/bench-sections.json', '{\"1A\": \"found\"}')",
            &[&filing_id, &ACCESSION, &CIK, &stack.res.bucket],
        )
        .await
        .context("inserting the filing")?;
    client
        .execute(
            "INSERT INTO analyses (id, filing_id, kind, model, prompt_version, status, body_key, input_tokens,
                                   output_tokens, cost_micros, latency_ms, model_calls, extractive,
                                   sections_used, completed_at)
             VALUES ($1, $2, 'risk_factors', $3, 1, 'completed', $4, 12000, 800, 2000, 900, 1, false,
                     ARRAY['1A'], now())",
            &[&analysis_id, &filing_id, &model, &body_key],
        )
        .await
        .context("inserting the analysis")?;
    // A body of a realistic size (a few KB: a dozen risks with their quotes).
    let risks: Vec<_> = (0..12)
        .map(|i| {
            serde_json::json!({
                "title": format!("Risk {i}: supply concentration and pricing pressure"),
                "severity": "medium",
                "summary": "The company depends on a small number of suppliers for key components; \
                            a disruption could delay shipments and raise costs.",
                "quote": "We rely on a limited number of suppliers, some of which are sole sources.",
            })
        })
        .collect();
    let body = serde_json::to_vec(&serde_json::json!({ "risks": risks }))?;
    stack
        .clients
        .s3
        .put_object()
        .bucket(&stack.res.bucket)
        .key(&body_key)
        .body(body.into())
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("{}", aws_sdk_s3::error::DisplayErrorContext(e)))?;
    Ok(())
}

#[derive(Clone)]
enum Route {
    Me,
    PoolHit,
    Kpis { company: String, indicator: String },
}

impl Route {
    fn name(&self) -> String {
        match self {
            Self::Me => "GET /v1/me".into(),
            Self::PoolHit => "POST /v1/analyses (pool hit)".into(),
            Self::Kpis { .. } => "GET /v1/kpis?company=&indicator=".into(),
        }
    }

    fn request(&self, client: &reqwest::Client, base: &str, token: &str) -> reqwest::RequestBuilder {
        match self {
            Self::Me => client.get(format!("{base}/v1/me")),
            Self::PoolHit => client.post(format!("{base}/v1/analyses")).json(&serde_json::json!({
                "cik": CIK, "form": "10-K", "accession": ACCESSION, "kind": "risk_factors"
            })),
            Self::Kpis { company, indicator } => client
                .get(format!("{base}/v1/kpis"))
                .query(&[("company", company), ("indicator", indicator)]),
        }
        .bearer_auth(token)
    }
}

async fn measure(
    cfg: &ConfigSource,
    db: &BenchDb,
    stack: &BenchStack,
    connections: usize,
    requests: u64,
    kpi_rows: u64,
) -> anyhow::Result<HttpReport> {
    {
        let client = db.pool.get().await?;
        insert_preload_rows(&client, kpi_rows).await?;
        client.batch_execute("VACUUM ANALYZE kpis").await?;
    }
    let model = sluice_core::lifecycle::configured_model(cfg)?;
    seed_pool(db, stack, model.as_str()).await?;

    let functions = Functions::build(cfg, &stack.res, &db.settings, &stack.clients, Clock::system()).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let api = functions.api.clone();
    tokio::spawn(async move {
        let _ = axum::serve(listener, api).await;
    });
    let secret: String = cfg.required("LOCAL_JWT_SECRET")?;
    // One user, one client (one keep-alive connection) per concurrent connection.
    let mut callers = Vec::with_capacity(connections);
    for i in 0..connections {
        let token = sluice_local::issue_token(secret.as_bytes(), &format!("bench-{i}"), "enterprise", true, 2)
            .map_err(anyhow::Error::msg)?;
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .timeout(Duration::from_secs(120))
            .build()?;
        // Opens the account, then pays the filing access: later requests are pool hits
        // with access already paid.
        for route in [Route::Me, Route::PoolHit] {
            let response = route.request(&client, &base, &token).send().await?;
            let status = response.status();
            if !status.is_success() {
                bail!("set-up: {} answered {status}: {}", route.name(), response.text().await?);
            }
        }
        callers.push((client, token));
    }
    let company = "Precargada 3 S.L.".to_owned();
    let indicator = "Indicador 5".to_owned();
    let kpi_answer_rows = {
        let client = db.pool.get().await?;
        let n: i64 = client
            .query_one(
                "SELECT count(*) FROM kpis WHERE empresa = $1 AND indicador = $2",
                &[&company, &indicator],
            )
            .await?
            .get(0);
        u64::try_from(n)?
    };
    let routes = [Route::Me, Route::PoolHit, Route::Kpis { company, indicator }];
    let mut reports = Vec::new();
    for route in routes {
        // A short warm-up on every connection (not counted).
        load(&callers, &base, &route, connections as u64).await?;
        reports.push(load(&callers, &base, &route, requests).await?);
    }
    Ok(HttpReport {
        bench: "http-load",
        connections,
        requests_per_route: requests,
        kpi_rows,
        kpi_answer_rows,
        routes: reports,
    })
}

/// `requests` requests to `route` spread over the callers, each sending its share one
/// after another on its own connection.
async fn load(
    callers: &[(reqwest::Client, String)],
    base: &str,
    route: &Route,
    requests: u64,
) -> anyhow::Result<RouteReport> {
    let n = callers.len() as u64;
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(callers.len());
    for (i, (client, token)) in callers.iter().enumerate() {
        let share = requests / n + u64::from((i as u64) < requests % n);
        let (client, token, base, route) = (client.clone(), token.clone(), base.to_owned(), route.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(share as usize);
            let mut errors = 0u64;
            for _ in 0..share {
                let sent = Instant::now();
                let ok = match route.request(&client, &base, &token).send().await {
                    Ok(r) => {
                        let good = r.status().is_success();
                        // The whole body is read: a client is served when it has it.
                        r.bytes().await.is_ok() && good
                    }
                    Err(_) => false,
                };
                latencies.push(sent.elapsed());
                errors += u64::from(!ok);
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::with_capacity(requests as usize);
    let mut errors = 0;
    for task in tasks {
        let (l, e) = task.await?;
        latencies.extend(l);
        errors += e;
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let ms = |q: f64| percentile(&latencies, q).as_secs_f64() * 1000.0;
    Ok(RouteReport {
        route: route.name(),
        requests,
        errors,
        seconds,
        requests_per_s: requests as f64 / seconds,
        p50_ms: ms(0.50),
        p95_ms: ms(0.95),
        p99_ms: ms(0.99),
        max_ms: ms(1.0),
    })
}

/// The nearest-rank percentile of sorted values (`q` in 0..=1).
fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<_> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&v, 0.5), Duration::from_millis(50));
        assert_eq!(percentile(&v, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&v, 1.0), Duration::from_millis(100));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
    }
}
