//! `sluice-local`: the local stack's one binary.
//!
//!   sluice-local provision [ENV_FILE]  create the moto resources template.yaml declares; write ENV_FILE
//!   sluice-local migrate               apply migrations/ to DATABASE_URL
//!   sluice-local run                   provision, migrate, then play Lambda for every function

use anyhow::Context;
use sluice_core::{db, migrate, ConfigSource, DbSettings};
use sluice_local::resources::StackNames;
use sluice_local::{function_env, Clients, Functions};
use std::io::Write;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    sluice_core::telemetry::init("sluice-local");
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cfg = ConfigSource::from_env();
    match args.first().map(String::as_str) {
        Some("provision") => {
            let clients = Clients::from_env().await;
            let res = clients.provisioner().provision(&StackNames::default()).await?;
            if let Some(path) = args.get(1) {
                write_env(path, &cfg, &function_env(&res))?;
            }
            for (k, v) in function_env(&res) {
                println!("{k}={v}");
            }
            Ok(())
        }
        Some("migrate") => {
            let applied = run_migrations(&cfg).await?;
            println!("migrations applied: {applied:?}");
            Ok(())
        }
        Some("run") => run(&cfg).await,
        _ => {
            eprintln!("usage: sluice-local provision [ENV_FILE] | migrate | run");
            std::process::exit(2);
        }
    }
}

async fn run_migrations(cfg: &ConfigSource) -> anyhow::Result<Vec<i32>> {
    let settings = DbSettings::load(cfg, None).await?;
    let pool = db::connect(&settings).await?;
    let mut client = pool.get().await?;
    Ok(migrate::run(&mut client, &migrate::embedded()?).await?)
}

/// `.local/stack.env`: sourceable by a shell, read by `make` and the tests.
fn write_env(path: &str, cfg: &ConfigSource, resources: &[(&'static str, String)]) -> anyhow::Result<()> {
    let mut out = String::from(
        "# Written by `make up` (sluice-local provision). Source it: set -a; . .local/stack.env; set +a\n",
    );
    for key in [
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "DATABASE_URL",
        "DATABASE_TLS",
        "API_URL",
    ] {
        if let Some(v) = cfg.optional::<String>(key)? {
            out.push_str(&format!("{key}={v}\n"));
        }
    }
    for (k, v) in resources {
        out.push_str(&format!("{k}={v}\n"));
    }
    let mut file = std::fs::File::create(path).with_context(|| format!("cannot write {path}"))?;
    file.write_all(out.as_bytes())?;
    Ok(())
}

async fn run(cfg: &ConfigSource) -> anyhow::Result<()> {
    let clients = Clients::from_env().await;
    let res = clients.provisioner().provision(&StackNames::default()).await?;
    run_migrations(cfg).await?;
    let pool = db::connect(&DbSettings::load(cfg, None).await?).await?;
    let functions = Functions::build(cfg, &res, &pool, &clients)?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    for source in functions.event_sources(&res, &clients, 2) {
        tasks.push(tokio::spawn(source.run(stop_rx.clone())));
    }
    let api_url: String = cfg.or("API_URL", "http://127.0.0.1:8787".to_owned())?;
    let addr = api_url.trim_start_matches("http://").trim_end_matches('/').to_owned();
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let status = serde_json::json!({
        "status": "ok",
        "functions": {
            "ingest-validator": {"trigger": res.uploads.url, "dlq": res.uploads.dlq_url},
            "etl-transformer": {"trigger": res.etl.url, "dlq": res.etl.dlq_url},
        },
        "bucket": res.bucket,
        "events_topic": res.topic_arn,
    });
    tokio::spawn(sluice_local::health::serve(listener, status));
    tracing::info!(api_url, bucket = %res.bucket, "local stack running");
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    Ok(())
}
