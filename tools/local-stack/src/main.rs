//! `sluice-local`: the local stack's one binary.
//!
//!   sluice-local provision [ENV_FILE]  create the moto resources template.yaml declares; write ENV_FILE
//!   sluice-local migrate               apply migrations/ to DATABASE_URL; give each function's role its login
//!   sluice-local run                   provision, migrate, then play Lambda for every function
//!   sluice-local token USER TIER [team]  a bearer token for the local HTTP API
//!   sluice-local tick NAME             fire a schedule now (daily-quotes | weekly-fundamentals |
//!                                      monthly-credits | demo-prefill | monthly-reports)
//!   sluice-local tick price-backfill [YEARS] [TICKER...]  a price history backfill (default: every tracked ticker)
//!   sluice-local load-tickers FILE     load index constituents (ticker,name,cik,index) into `tickers`
//!   sluice-local events USER [team] [N]  the last N (20) events USER sees, newest last, one line each

use anyhow::Context;
use sluice_core::db::roles;
use sluice_core::{aws, db, migrate, Clock, ConfigSource, DbSettings, Secrets};
use sluice_local::resources::StackNames;
use sluice_local::{function_env, issue_token, Clients, Functions};
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
        Some("tick") if args.get(1).map(String::as_str) == Some("monthly-credits") => {
            let (functions, _) = build_functions(&cfg).await?;
            let done = sluice_local::schedules::fire_monthly_credits(&functions.accounts).await?;
            println!("{}", serde_json::to_string_pretty(&done)?);
            Ok(())
        }
        Some("tick") if args.get(1).map(String::as_str) == Some(filing_fetcher::DEMO_PREFILL) => {
            let (functions, _) = build_functions(&cfg).await?;
            let filings = functions
                .filings
                .context("EDGAR is not configured (EDGAR_USER_AGENT)")?;
            let done = sluice_local::schedules::fire_demo_prefill(&filings).await?;
            println!("{}", serde_json::to_string_pretty(&done)?);
            Ok(())
        }
        Some("tick") if args.get(1).map(String::as_str) == Some(portfolio_analyst::MONTHLY_REPORTS) => {
            let (functions, _) = build_functions(&cfg).await?;
            let done = sluice_local::schedules::fire_monthly_reports(&functions.portfolio).await?;
            println!("{}", serde_json::to_string_pretty(&done)?);
            Ok(())
        }
        Some("tick") => {
            let name = args.get(1).map(String::as_str).unwrap_or_default();
            let schedule = price_updater::Schedule::parse(name).with_context(|| {
                format!(
                    "unknown schedule `{name}`: daily-quotes, weekly-fundamentals, price-backfill, monthly-credits, demo-prefill or monthly-reports"
                )
            })?;
            let (functions, _) = build_functions(&cfg).await?;
            let prices = functions.prices.context("the vendor is not configured (FMP_API_KEY)")?;
            let started = if schedule == price_updater::Schedule::PriceBackfill {
                // `tick price-backfill [YEARS] [TICKER...]`: what the team's request carries.
                let mut detail = serde_json::json!({});
                let mut tickers = Vec::new();
                for arg in &args[2..] {
                    match arg.parse::<u64>() {
                        Ok(years) => detail["years"] = years.into(),
                        Err(_) => tickers.push(arg.clone()),
                    }
                }
                if !tickers.is_empty() {
                    detail["tickers"] = tickers.into();
                }
                sluice_local::schedules::fire_with(&prices, schedule, detail).await?
            } else {
                sluice_local::schedules::fire(&prices, schedule).await?
            };
            println!("{}", serde_json::to_string_pretty(&started)?);
            Ok(())
        }
        Some("load-tickers") => {
            let path = args.get(1).context("usage: sluice-local load-tickers FILE")?;
            let pool = db::connect(&local_db(&cfg).await?).await?;
            let file = std::fs::File::open(path).with_context(|| format!("cannot read {path}"))?;
            let loaded = price_updater::universe::load_constituents(&pool, file).await?;
            println!(
                "tickers: {} inserted, {} updated, {} unchanged, {} rejected",
                loaded.inserted,
                loaded.updated,
                loaded.unchanged,
                loaded.rejected.len()
            );
            for (line, reason) in loaded.rejected {
                println!("  line {line}: {reason}");
            }
            Ok(())
        }
        Some("events") => {
            let Some(user) = args.get(1) else {
                anyhow::bail!("usage: sluice-local events USER [team] [N]");
            };
            let team = args.iter().skip(2).any(|a| a == "team");
            let limit: i64 = args.iter().skip(2).find_map(|a| a.parse().ok()).unwrap_or(20);
            print_events(&cfg, user, team, limit).await
        }
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
            eprintln!(
                "usage: sluice-local provision [ENV_FILE] | migrate | run | token USER TIER [team] | tick NAME | load-tickers FILE | events USER [team] [N]"
            );
            std::process::exit(2);
        }
    }
}

/// The local cluster's settings (`DATABASE_URL`: no secrets on the local stack).
async fn local_db(cfg: &ConfigSource) -> anyhow::Result<DbSettings> {
    Ok(DbSettings::load(cfg, &Secrets::from_config_only()).await?)
}

/// What the live stream shows `user` (their events, and the team's when `team`), read
/// from the events table, one line each: `#id time type: summary`.
async fn print_events(cfg: &ConfigSource, user: &str, team: bool, limit: i64) -> anyhow::Result<()> {
    let pool = db::connect(&local_db(cfg).await?).await?;
    let rows = pool
        .get()
        .await?
        .query(
            "SELECT id, occurred_at, type, payload FROM events
             WHERE user_id = $1 OR ($2 AND user_id IS NULL) ORDER BY id DESC LIMIT $3",
            &[&user, &team, &limit.clamp(1, 1000)],
        )
        .await?;
    if rows.is_empty() {
        println!("no events for {user}{}", if team { " or the team" } else { "" });
    }
    for row in rows.iter().rev() {
        let (id, at, kind, data): (i64, chrono::DateTime<chrono::Utc>, String, serde_json::Value) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        let line = serde_json::from_value::<sluice_messages::Payload>(serde_json::json!({"type": kind, "data": data}))
            .map(|p| p.summary())
            .unwrap_or_else(|_| "(a message this build cannot read)".into());
        println!("#{id} {} {kind}: {line}", at.format("%Y-%m-%d %H:%M:%S"));
    }
    Ok(())
}

async fn run_migrations(cfg: &ConfigSource) -> anyhow::Result<Vec<i32>> {
    let settings = local_db(cfg).await?;
    let pool = db::connect(&settings).await?;
    let mut client = pool.get().await?;
    let applied = migrate::run(&mut client, &migrate::embedded()?).await?;
    grant_logins(cfg, &client).await?;
    Ok(applied)
}

/// The roles get the logins of their password settings (`migrate::grant_logins`).
async fn grant_logins(cfg: &ConfigSource, client: &tokio_postgres::Client) -> anyhow::Result<()> {
    let secrets = Secrets::new(aws::secrets(&aws::sdk_config().await));
    let without = migrate::grant_logins(client, cfg, &secrets).await?;
    if without.len() < roles::ALL.len() {
        eprintln!(
            "function roles given their logins; still NOLOGIN: {}",
            if without.is_empty() {
                "none".to_owned()
            } else {
                without.join(", ")
            }
        );
    }
    Ok(())
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
            out.push_str(&env_line(key, &v));
        }
    }
    for (k, v) in resources {
        out.push_str(&env_line(k, v));
    }
    // The vendor: the fake FMP server the runner starts, fixtures when they are beside the checkout.
    let defaults = [
        ("FMP_BASE_URL", format!("http://127.0.0.1:{LOCAL_FMP_PORT}")),
        ("FMP_API_KEY", "local-fmp-key-not-a-secret".to_owned()),
        // The fake vendor has no real limit; a refresh of 500 tickers then takes seconds, not minutes.
        ("VENDOR_RATE_LIMIT", "1200".to_owned()),
    ];
    for (key, default) in defaults {
        let value = cfg.optional::<String>(key)?.unwrap_or(default);
        out.push_str(&env_line(key, &value));
    }
    // EDGAR: the fake server the runner starts, serving the mirror `make up` builds
    // (scripts/edgar-mirror.sh); analyses by the offline extractive analyser unless
    // an endpoint is configured (LLM_PROVIDER=openai + LLM_BASE_URL, or bedrock).
    let mirror = std::path::Path::new(".local/edgar-mirror");
    let mirror = mirror
        .canonicalize()
        .unwrap_or_else(|_| mirror.to_path_buf())
        .display()
        .to_string();
    let defaults = [
        ("EDGAR_USER_AGENT", "Sluice Local Stack local@sluice.invalid".to_owned()),
        ("EDGAR_MIRROR_DIR", mirror),
        ("EDGAR_WWW_BASE_URL", format!("http://127.0.0.1:{LOCAL_EDGAR_PORT}")),
        ("EDGAR_DATA_BASE_URL", format!("http://127.0.0.1:{LOCAL_EDGAR_PORT}")),
        ("LLM_PROVIDER", "extractive".to_owned()),
        // Webhook receivers of the local stack run on this machine: allowed here, by
        // this explicit setting (refused in AWS).
        ("WEBHOOK_ALLOW_PRIVATE_TARGETS", "true".to_owned()),
    ];
    for (key, default) in defaults {
        let value = cfg.optional::<String>(key)?.unwrap_or(default);
        out.push_str(&env_line(key, &value));
    }
    let fixtures = std::path::Path::new("../shared/fixtures/prices/fmp");
    if fixtures.is_dir() {
        if let Ok(abs) = fixtures.canonicalize() {
            out.push_str(&env_line("FMP_FIXTURES_DIR", &abs.display().to_string()));
        }
    }
    // The local stack's token-signing secret: kept across `make up`s so tokens stay valid.
    let secret = match cfg.optional::<String>("LOCAL_JWT_SECRET")? {
        Some(s) => s,
        None => uuid::Uuid::new_v4().simple().to_string() + &uuid::Uuid::new_v4().simple().to_string(),
    };
    out.push_str(&format!("LOCAL_JWT_SECRET={secret}\n"));
    // Webhook secrets of the local stack (kept across `make up`s, like the token secret):
    // sign test deliveries with them. In AWS they come from Secrets Manager.
    let random = || uuid::Uuid::new_v4().simple().to_string();
    let standard_default = {
        use base64::Engine;
        format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode(uuid::Uuid::new_v4().as_bytes())
        )
    };
    for (key, default) in [
        ("ZENDESK_WEBHOOK_SECRET", random()),
        ("INTERCOM_CLIENT_SECRET", random()),
        ("STANDARD_WEBHOOK_SECRET", standard_default),
        // Signs the e-mails' unsubscribe links (notifier signs, http-api checks).
        ("NOTIFY_SIGNING_SECRET", random() + &random()),
    ] {
        let value = cfg.optional::<String>(key)?.unwrap_or(default);
        out.push_str(&env_line(key, &value));
    }
    let mut file = std::fs::File::create(path).with_context(|| format!("cannot write {path}"))?;
    file.write_all(out.as_bytes())?;
    Ok(())
}

/// `KEY=value` for a file people source with `set -a; . file`: values with spaces or
/// shell characters are single-quoted (the User-Agent has spaces).
fn env_line(key: &str, value: &str) -> String {
    let plain = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./:@%+=,".contains(c));
    if plain {
        format!("{key}={value}\n")
    } else {
        format!("{key}='{}'\n", value.replace('\'', "'\\''"))
    }
}

/// Port of the fake FMP server the runner starts (FMP_BASE_URL in stack.env points at it).
const LOCAL_FMP_PORT: u16 = 4590;
/// Port of the fake EDGAR serving EDGAR_MIRROR_DIR (EDGAR_*_BASE_URL point at it).
const LOCAL_EDGAR_PORT: u16 = 4591;

async fn build_functions(
    cfg: &ConfigSource,
) -> anyhow::Result<(Functions, (Clients, sluice_local::resources::StackResources))> {
    let clients = Clients::from_env().await;
    let res = clients.provisioner().provision(&StackNames::default()).await?;
    let db = local_db(cfg).await?;
    let functions = Functions::build(cfg, &res, &db, &clients, Clock::system()).await?;
    Ok((functions, (clients, res)))
}

async fn run(cfg: &ConfigSource) -> anyhow::Result<()> {
    run_migrations(cfg).await?;
    let (functions, (clients, res)) = build_functions(cfg).await?;
    // The vendor of the local stack: FMP's wire format from fixtures (and generated data).
    let _vendor = match cfg.optional::<String>("FMP_API_KEY")? {
        Some(key) => {
            let mut fake = sluice_fakes::FakeFmpConfig::new(key)
                .with_port(LOCAL_FMP_PORT)
                .as_of_today();
            if let Some(dir) = cfg.optional::<String>("FMP_FIXTURES_DIR")? {
                fake = fake.with_fixtures(dir);
            }
            let server = sluice_fakes::start(fake)
                .await
                .context("cannot start the local FMP server")?;
            tracing::info!(base_url = %server.base_url, "local FMP server up");
            Some(server)
        }
        None => None,
    };
    let _edgar = match cfg.optional::<String>("EDGAR_MIRROR_DIR")? {
        Some(dir) => {
            let server =
                sluice_fakes::edgar::start(sluice_fakes::edgar::FakeEdgarConfig::new(&dir).with_port(LOCAL_EDGAR_PORT))
                    .await
                    .context("cannot start the local EDGAR mirror server")?;
            tracing::info!(base_url = %server.base_url, mirror = %dir, "local EDGAR mirror up");
            Some(server)
        }
        None => None,
    };
    if let Some(prices) = functions.prices.clone() {
        tokio::spawn(sluice_local::schedules::run(prices));
    }
    tokio::spawn(sluice_local::schedules::run_monthly_credits(functions.accounts.clone()));
    if let Some(filings) = functions.filings.clone() {
        tokio::spawn(sluice_local::schedules::run_demo_prefill(filings));
    }
    tokio::spawn(sluice_local::schedules::run_monthly_reports(
        functions.portfolio.clone(),
    ));
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
            "http-api": {"trigger": format!("{api_url}/v1/*")},
            "ingest-validator": {"trigger": res.uploads.url, "dlq": res.uploads.dlq_url},
            "etl-transformer": {"trigger": res.etl.url, "dlq": res.etl.dlq_url},
            "price-updater": {"trigger": [res.price_jobs.url.clone(), "schedules: daily-quotes (Mon-Fri 21:30 UTC), weekly-fundamentals (Sat 06:00 UTC), price-backfill (Sun 04:00 UTC)".to_owned()], "dlq": res.price_jobs.dlq_url},
            "filing-fetcher": {"trigger": [res.filings.url.clone(), "schedule: demo-prefill (hourly at :20 UTC)".to_owned()], "dlq": res.filings.dlq_url.clone()},
            "llm-analyzer": {"trigger": [res.priority_analyses.url.clone(), res.analyses.url.clone(), res.feedback.url.clone()], "dlq": [res.priority_analyses.dlq_url.clone(), res.analyses.dlq_url.clone(), res.feedback.dlq_url.clone()], "model": functions.llm.analyzer.model.model().as_str()},
            "sse-notifier": {"trigger": [res.sse_events.url.clone(), format!("{api_url}/v1/events/*")], "dlq": res.sse_events.dlq_url.clone()},
            "portfolio-analyst": {"trigger": [res.portfolio_events.url.clone(), "schedule: monthly-reports (the 1st, 06:00 UTC)".to_owned()], "dlq": res.portfolio_events.dlq_url.clone()},
            "notifier": {"trigger": [res.notifier_events.url.clone(), res.webhook_retries.url.clone()], "dlq": [res.notifier_events.dlq_url.clone(), res.webhook_retries.dlq_url.clone()], "ses_from": res.ses_from.clone()},
        },
        "web": format!("{api_url}/"),
        "bucket": res.bucket,
        "events_topic": res.topic_arn,
    });
    let app = functions.front(health);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
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
