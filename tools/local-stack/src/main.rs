//! `sluice-local`: the local stack's one binary.
//!
//!   sluice-local provision [ENV_FILE]  create the moto resources template.yaml declares; write ENV_FILE
//!   sluice-local migrate               apply migrations/ to DATABASE_URL
//!   sluice-local run                   provision, migrate, then play Lambda for every function
//!   sluice-local token USER TIER [team]  a bearer token for the local HTTP API

use anyhow::Context;
use sluice_core::{db, migrate, ConfigSource, DbSettings};
use sluice_local::http_front::{issue_token, Front};
use sluice_local::resources::StackNames;
use sluice_local::{function_env, Clients, Functions};
use std::io::Write;
use std::sync::Arc;

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
        Some("token") => {
            let (Some(user), Some(tier)) = (args.get(1), args.get(2)) else {
                anyhow::bail!("usage: sluice-local token USER TIER [team]");
            };
            sluice_messages::UserTier::parse(tier)?;
            let secret: String = cfg.required("LOCAL_JWT_SECRET")?;
            let team = args.get(3).is_some_and(|a| a == "team");
            println!(
                "{}",
                issue_token(secret.as_bytes(), user, tier, team, 24).map_err(anyhow::Error::msg)?
            );
            Ok(())
        }
        _ => {
            eprintln!("usage: sluice-local provision [ENV_FILE] | migrate | run | token USER TIER [team]");
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
    // The local stack's token-signing secret: kept across `make up`s so tokens stay valid.
    let secret = match cfg.optional::<String>("LOCAL_JWT_SECRET")? {
        Some(s) => s,
        None => uuid::Uuid::new_v4().simple().to_string() + &uuid::Uuid::new_v4().simple().to_string(),
    };
    out.push_str(&format!("LOCAL_JWT_SECRET={secret}\n"));
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
    let health = serde_json::json!({
        "status": "ok",
        "functions": {
            "ingest-validator": {"trigger": [res.uploads.url, format!("{api_url}/v1/*")], "dlq": res.uploads.dlq_url},
            "etl-transformer": {"trigger": res.etl.url, "dlq": res.etl.dlq_url},
        },
        "bucket": res.bucket,
        "events_topic": res.topic_arn,
    });
    let secret: String = cfg.required("LOCAL_JWT_SECRET")?;
    let front = Front {
        secret: Arc::new(secret.into_bytes()),
        api: functions.http_handler(),
        health,
    };
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, sluice_local::http_front::router(front)).await {
            tracing::error!(error = %e, "HTTP front stopped");
        }
    });
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
