//! Where the load's time goes: the steps of `Etl::load` run one by one on the same file,
//! each timed, with the loader's own parser and SQL (`etl_transformer::plan::LoadPlan`):
//! reading + SHA-256 alone, the whole parse alone (one thread, rows discarded), then in one
//! transaction on a fresh database, in the loader's order: create the staging table, COPY
//! the pre-parsed rows into it (no parsing in that figure), drop superseded rows, lock the
//! table, match the staged rows with it, classify, sample the changes, update the changed rows, insert the new ones, commit.
//! Keep `load` below in step with `Etl::load_file` when the plan changes.
//!
//! `--reload` first loads the same rows as an older file (untimed) and changes 1% of the
//! values, so the measured load updates rows instead of inserting them all (`--edit-all`:
//! every value, the full-edit load);
//! `--explain` runs the statements under EXPLAIN (ANALYZE, BUFFERS) and prints the plans
//! on stderr; `--set name=value,...` sets session settings first;
//! `--save-staged FILE` keeps the staged COPY rows (for experiments by hand); `--prepare SQL`
//! changes the fresh database first (e.g. drops a constraint to measure what it costs);
//! `--analyze-stage` adds `ANALYZE stage_rows` after the staging COPY.

use crate::parsed::{parse_file, parse_only};
use crate::stack::BenchDb;
use anyhow::{anyhow, Context};
use bytes::BytesMut;
use chrono::{DateTime, TimeZone, Utc};
use etl_transformer::plan::LoadPlan;
use etl_transformer::EtlConfig;
use futures::SinkExt;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sluice_core::ConfigSource;
use sluice_messages::Dataset;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tokio::io::AsyncReadExt;
use tokio_postgres::types::ToSql;

#[derive(Debug, Default, Serialize)]
pub struct StagesReport {
    pub bench: &'static str,
    pub file: String,
    pub settings: Vec<String>,
    pub explain: bool,
    /// The table already held every row (from an older file) and 1% of the values changed.
    pub reload: bool,
    /// With `reload`: every value changed instead of 1% (the full-edit load).
    pub edit_all: bool,
    /// `ANALYZE stage_rows` after the staging COPY (an experiment: the loader does not).
    pub analyze_stage: bool,
    /// SQL run on the bench database after the migrations (`--prepare`, experiments only).
    pub prepare: Option<String>,
    pub hash_s: f64,
    pub parse_s: f64,
    pub staged_rows: u64,
    pub rejected: u64,
    pub stage_mb: f64,
    /// The load's SQL steps in order, each timed.
    pub steps: Vec<Step>,
    pub sql_total_s: f64,
    pub table_mb: f64,
}

#[derive(Debug, Serialize)]
pub struct Step {
    pub name: &'static str,
    pub seconds: f64,
    /// Rows the step reports (deleted, updated, inserted), when it reports any.
    pub rows: Option<i64>,
}

/// How a statement is run and what its row count is.
#[derive(Clone, Copy)]
enum Kind {
    /// No parameters, no result (DDL, LOCK).
    Batch,
    /// A query whose first column of the first row is a count.
    Count,
    /// A query whose result is not a count.
    Query,
    /// INSERT/UPDATE: the rows affected.
    Affected,
}

fn hash_only(file: &Path) -> anyhow::Result<f64> {
    let started = Instant::now();
    let mut input = std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = input.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let _ = hasher.finalize();
    Ok(started.elapsed().as_secs_f64())
}

/// What `stages` is asked to do besides timing the load's steps.
#[derive(Debug, Default)]
pub struct StagesOptions {
    pub explain: bool,
    pub reload: bool,
    pub edit_all: bool,
    pub analyze_stage: bool,
    pub settings: Vec<String>,
    pub save_staged: Option<PathBuf>,
    pub prepare: Option<String>,
}

pub async fn run(file: &Path, options: StagesOptions) -> anyhow::Result<StagesReport> {
    let StagesOptions {
        explain,
        reload,
        edit_all,
        analyze_stage,
        settings,
        save_staged,
        prepare,
    } = options;
    let mut report = StagesReport {
        bench: "stages",
        file: file.display().to_string(),
        settings: settings.clone(),
        explain,
        reload: reload || edit_all,
        edit_all,
        analyze_stage,
        prepare: prepare.clone(),
        hash_s: hash_only(file)?,
        ..Default::default()
    };
    let (summary, parse_s) = parse_only(file)?;
    report.parse_s = parse_s;
    report.staged_rows = summary.staged_rows;
    report.rejected = summary.rejected_rows;
    let parsed = parse_file(file)?;
    if let Some(path) = &save_staged {
        std::fs::copy(parsed.staged.path(), path).with_context(|| format!("cannot write {}", path.display()))?;
    }

    let db = BenchDb::create(&ConfigSource::from_env(), "stages", prepare.as_deref()).await?;
    let result = steps(&db, parsed.staged.path(), explain, &settings, &mut report).await;
    db.drop_db().await;
    result?;
    Ok(report)
}

async fn steps(
    db: &BenchDb,
    staged: &Path,
    explain: bool,
    settings: &[String],
    report: &mut StagesReport,
) -> anyhow::Result<()> {
    let mut client = db.pool.get().await?;
    for setting in settings {
        let (name, value) = setting
            .split_once('=')
            .ok_or_else(|| anyhow!("--set takes name=value, got `{setting}`"))?;
        client
            .execute("SELECT set_config($1, $2, false)", &[&name, &value])
            .await
            .with_context(|| format!("setting {name}"))?;
    }
    let version = |name: &'static str| async move {
        anyhow::Ok(
            db.pool
                .get()
                .await?
                .query_one(
                    "INSERT INTO data_versions (table_name, file_name, s3_path, status)
                     VALUES ('kpis', $1, 's3://bench/uploads/kpis/' || $1, 'pending') RETURNING version_id",
                    &[&name],
                )
                .await?
                .get::<_, i64>(0),
        )
    };
    let at = |month: u32| {
        Utc.with_ymd_and_hms(2024, month, 1, 0, 0, 0)
            .single()
            .ok_or_else(|| anyhow!("bad timestamp"))
    };

    if report.reload {
        // An older file with the same keys loaded first (not timed), and 1% of the values changed since.
        let older = version("older.csv").await?;
        let tx = client.transaction().await?;
        load(&tx, staged, at(5)?, older, false, None, false).await?;
        tx.commit().await?;
        client.batch_execute("VACUUM ANALYZE kpis").await?;
    }
    let newer = version("bench.csv").await?;
    let sql_started = Instant::now();
    let tx = client.transaction().await?;
    let changed = match (report.reload, report.edit_all) {
        (true, true) => Some("UPDATE stage_rows SET valor = coalesce(valor, 0) + 1"),
        (true, false) => Some("UPDATE stage_rows SET valor = coalesce(valor, 0) + 1 WHERE row_no % 100 = 7"),
        _ => None,
    };
    let (steps, stage_bytes) = load(&tx, staged, at(6)?, newer, explain, changed, report.analyze_stage).await?;
    let t = Instant::now();
    tx.commit().await?;
    report.steps = steps;
    report.steps.push(Step {
        name: "commit",
        seconds: t.elapsed().as_secs_f64(),
        rows: None,
    });
    report.sql_total_s = sql_started.elapsed().as_secs_f64();
    report.stage_mb = stage_bytes as f64 / 1048576.0;
    let size: i64 = client
        .query_one("SELECT pg_total_relation_size('kpis')", &[])
        .await?
        .get(0);
    report.table_mb = size as f64 / 1048576.0;
    Ok(())
}

/// The SQL of `Etl::load_file` in its order, on `tx`: every step timed. `change`, when
/// given, runs untimed right after the staging COPY (to alter the staged rows).
async fn load(
    tx: &deadpool_postgres::Transaction<'_>,
    staged: &Path,
    modified: DateTime<Utc>,
    version: i64,
    explain: bool,
    change: Option<&str>,
    analyze_stage: bool,
) -> anyhow::Result<(Vec<Step>, i64)> {
    let plan = LoadPlan::for_dataset(Dataset::Kpis);
    // The loader's defaults (EVENTS_TOPIC_ARN is required but unused here).
    let config = EtlConfig::load(&ConfigSource::from_env().with("EVENTS_TOPIC_ARN", "arn:aws:sns:bench"))?;
    let limit: i32 = config.report_rows;
    let mut steps = Vec::new();
    let create = format!("SET LOCAL work_mem = '{}MB'; {}", config.work_mem_mb, plan.create_stage);
    steps.push(timed(tx, "create_stage", Kind::Batch, false, &create, &[]).await?);

    let t = Instant::now();
    let mut input = tokio::fs::File::open(staged).await?;
    let sink = tx.copy_in::<_, bytes::Bytes>(&plan.copy_stage).await?;
    futures::pin_mut!(sink);
    loop {
        let mut chunk = BytesMut::with_capacity(256 * 1024);
        while chunk.len() < 256 * 1024 {
            if input.read_buf(&mut chunk).await? == 0 {
                break;
            }
        }
        if chunk.is_empty() {
            break;
        }
        sink.send(chunk.freeze()).await?;
    }
    let copied = sink.finish().await?;
    steps.push(Step {
        name: "copy_stage",
        seconds: t.elapsed().as_secs_f64(),
        rows: Some(copied as i64),
    });
    let stage_bytes: i64 = tx
        .query_one("SELECT pg_total_relation_size('stage_rows')", &[])
        .await?
        .get(0);
    if let Some(sql) = change {
        tx.batch_execute(sql).await?;
    }
    if analyze_stage {
        steps.push(timed(tx, "analyze_stage", Kind::Batch, false, "ANALYZE stage_rows", &[]).await?);
    }

    let version_ref: &(dyn ToSql + Sync) = &version;
    let modified_ref: &(dyn ToSql + Sync) = &modified;
    let limit_i64 = i64::from(limit);
    let found = timed(tx, "find_superseded", Kind::Affected, false, &plan.find_superseded, &[]).await?;
    let any_superseded = found.rows.unwrap_or(0) > 0;
    steps.push(found);
    if any_superseded {
        steps.push(
            timed(
                tx,
                "drop_superseded",
                Kind::Count,
                explain,
                &plan.drop_superseded,
                &[&limit],
            )
            .await?,
        );
    }
    steps.push(timed(tx, "lock_table", Kind::Batch, false, &plan.lock_table, &[]).await?);
    let match_sql = plan.match_sql(copied);
    steps.push(timed(tx, "match_rows", Kind::Batch, false, &match_sql, &[]).await?);
    steps.push(
        timed(
            tx,
            "classify",
            Kind::Query,
            explain,
            &plan.classify,
            &[modified_ref, &limit],
        )
        .await?,
    );
    steps.push(
        timed(
            tx,
            "sample_changes",
            Kind::Query,
            explain,
            &plan.sample_changes,
            &[modified_ref, &limit_i64],
        )
        .await?,
    );
    steps.push(
        timed(
            tx,
            "update_changed",
            Kind::Affected,
            explain,
            &plan.update_changed,
            &[modified_ref, version_ref],
        )
        .await?,
    );
    steps.push(
        timed(
            tx,
            "insert_new",
            Kind::Affected,
            explain,
            &plan.insert_new,
            &[modified_ref, version_ref],
        )
        .await?,
    );
    Ok((steps, stage_bytes))
}

async fn timed(
    tx: &deadpool_postgres::Transaction<'_>,
    name: &'static str,
    kind: Kind,
    explain: bool,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> anyhow::Result<Step> {
    let started = Instant::now();
    let rows = match (kind, explain) {
        (Kind::Batch, _) => {
            tx.batch_execute(sql).await?;
            None
        }
        (_, true) => {
            let plan = tx.query(&format!("EXPLAIN (ANALYZE, BUFFERS) {sql}"), params).await?;
            eprintln!("---- {name}");
            for row in plan {
                eprintln!("{}", row.get::<_, String>(0));
            }
            None
        }
        (Kind::Affected, false) => Some(tx.execute(sql, params).await? as i64),
        (Kind::Count, false) => tx.query(sql, params).await?.first().map(|r| r.get::<_, i64>(0)),
        (Kind::Query, false) => {
            tx.query(sql, params).await?;
            None
        }
    };
    Ok(Step {
        name,
        seconds: started.elapsed().as_secs_f64(),
        rows,
    })
}
