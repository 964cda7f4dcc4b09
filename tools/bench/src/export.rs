//! The CSV export of the KPIs (`GET /v1/kpis` with `Accept: text/csv`): does it stream
//! in constant memory? The clean rows of the generated file (the same preparation as the
//! COPY limit, untimed) are copied into `kpis` of a fresh database; then the HTTP API,
//! built by its own constructor as the local runner builds it, is served on a loopback
//! port of this process and one client streams the whole export through it, reading and
//! discarding chunks. Timed: from the request to the last byte. The process's peak RSS
//! (VmHWM, reset just before the request) is read when the client has received
//! `checkpoint` rows and again at the end: an export held in memory would grow with the
//! rows, a streamed one stays flat.

use crate::copy::{clean_rows, timed_copy};
use crate::stack::{BenchDb, BenchStack};
use anyhow::{bail, Context};
use serde::Serialize;
use sluice_bench::rows::StagedLayout;
use sluice_bench::rss;
use sluice_core::{Clock, ConfigSource};
use sluice_local::Functions;
use sluice_messages::Dataset;
use std::path::Path;
use std::time::Instant;

/// Where the export stood when the client had received a number of rows.
#[derive(Debug, Clone, Serialize)]
pub struct Mark {
    pub rows: u64,
    pub bytes: u64,
    pub seconds: f64,
    pub rows_per_s: f64,
    /// Peak RSS of the serving process (this one) since the request, in MiB.
    pub peak_rss_mb: f64,
}

#[derive(Debug, Serialize)]
pub struct ExportReport {
    pub bench: &'static str,
    pub file: String,
    /// Rows in `kpis` (and in the export, checked).
    pub table_rows: u64,
    /// Untimed in the figures: the COPY that filled the table.
    pub load_s: f64,
    /// RSS when the request was sent (runtime, clients, pools, the router), in MiB.
    pub baseline_rss_mb: f64,
    pub first_byte_s: f64,
    /// At `checkpoint` rows.
    pub at_checkpoint: Mark,
    /// At the last row.
    pub at_end: Mark,
}

const SECRET: &str = "sluice-bench-not-a-secret";

pub async fn run(file: &Path, checkpoint: u64) -> anyhow::Result<ExportReport> {
    let cfg = ConfigSource::from_env();
    let cfg = match cfg.optional::<String>("LOCAL_JWT_SECRET")? {
        Some(_) => cfg,
        None => cfg.with("LOCAL_JWT_SECRET", SECRET),
    };
    let clean = clean_rows(file)?;
    let db = BenchDb::create(&cfg, "export", None).await?;
    let stack = match BenchStack::create().await {
        Ok(s) => s,
        Err(e) => {
            db.drop_db().await;
            return Err(e);
        }
    };
    let result = async {
        let layout = StagedLayout::for_dataset(Dataset::Kpis);
        let (copied, load_s) = timed_copy(&db, clean.file.path(), &layout).await?;
        if copied != clean.rows {
            bail!("COPY wrote {copied} rows, expected {}", clean.rows);
        }
        db.pool.get().await?.batch_execute("VACUUM ANALYZE kpis").await?;
        measure(&cfg, &db, &stack, copied, load_s, checkpoint).await
    }
    .await;
    stack.teardown().await;
    db.drop_db().await;
    let mut report = result?;
    report.file = file.display().to_string();
    Ok(report)
}

fn mib(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

async fn measure(
    cfg: &ConfigSource,
    db: &BenchDb,
    stack: &BenchStack,
    table_rows: u64,
    load_s: f64,
    checkpoint: u64,
) -> anyhow::Result<ExportReport> {
    let functions = Functions::build(cfg, &stack.res, &db.settings, &stack.clients, Clock::system()).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let api = functions.api.clone();
    tokio::spawn(async move {
        let _ = axum::serve(listener, api).await;
    });
    let secret: String = cfg.required("LOCAL_JWT_SECRET")?;
    let token =
        sluice_local::issue_token(secret.as_bytes(), "bench", "enterprise", true, 1).map_err(anyhow::Error::msg)?;
    let client = reqwest::Client::new();

    rss::reset_peak()?;
    let baseline = rss::read()?;
    let started = Instant::now();
    let mut response = client
        .get(format!("http://{addr}/v1/kpis"))
        .header("accept", "text/csv")
        .bearer_auth(&token)
        .send()
        .await
        .context("GET /v1/kpis")?;
    if !response.status().is_success() {
        bail!("GET /v1/kpis answered {}", response.status());
    }
    let (mut lines, mut bytes) = (0u64, 0u64);
    let mut first_byte_s = None;
    let mut at_checkpoint = None;
    let mark = |rows: u64, bytes: u64| -> anyhow::Result<Mark> {
        let seconds = started.elapsed().as_secs_f64();
        Ok(Mark {
            rows,
            bytes,
            seconds,
            rows_per_s: rows as f64 / seconds,
            peak_rss_mb: mib(rss::read()?.peak_kb),
        })
    };
    while let Some(chunk) = response.chunk().await.context("the export broke off")? {
        first_byte_s.get_or_insert_with(|| started.elapsed().as_secs_f64());
        bytes += chunk.len() as u64;
        lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
        // The header is the first line.
        let rows = lines.saturating_sub(1);
        if at_checkpoint.is_none() && rows >= checkpoint {
            at_checkpoint = Some(mark(rows, bytes)?);
        }
    }
    let rows = lines.saturating_sub(1);
    let at_end = mark(rows, bytes)?;
    if rows != table_rows {
        bail!("the export had {rows} rows, the table {table_rows}");
    }
    let Some(at_checkpoint) = at_checkpoint else {
        bail!("the export ended before {checkpoint} rows");
    };
    Ok(ExportReport {
        bench: "csv-export",
        file: String::new(),
        table_rows,
        load_s,
        baseline_rss_mb: mib(baseline.current_kb),
        first_byte_s: first_byte_s.unwrap_or_default(),
        at_checkpoint,
        at_end,
    })
}
