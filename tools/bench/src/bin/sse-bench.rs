//! `sse-bench`: the live-notification benchmark of BENCHMARKS.md (run it with `make bench`).
//!
//!   sse-bench run [--streams 1000] [--events 1000]   one measurement; prints one `{"bench":"sse",...}` line
//!   sse-bench serve                                   (internal) the server process `run` starts
//!
//! `run` makes a database and moto resources of its own (removed at the end), then starts
//! the server in a process of its own, as the local runner runs sse-notifier: the events
//! routes (`EventsService::router`: tickets, the stream, the hub's one LISTEN) on a
//! loopback port and the consumer's event source on the topic's subscription queue. It
//! opens `--streams` concurrent streams (one user each, a ticket each), measures the
//! server's resident memory before and after, publishes `--events` events on the SNS
//! topic (event i for user i mod streams), and records for every event the time from the
//! start of its SNS Publish call to its arrival on its stream; then counts what never
//! arrived and what arrived twice.

use anyhow::{bail, Context};
use sluice_core::{db, migrate, ConfigSource, DbSettings, Instance, Secrets};
use sluice_local::pump::EventSource;
use sluice_local::resources::StackNames;
use sluice_local::Clients;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};

const SECRET: &str = "sse-bench-local-secret-not-a-secret";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    sluice_core::telemetry::init("sse-bench");
    let args: Vec<String> = std::env::args().skip(1).collect();
    let option = |name: &str, default: usize| -> anyhow::Result<usize> {
        match args.iter().position(|a| a == name) {
            Some(i) => args
                .get(i + 1)
                .context("a value after the option")?
                .parse()
                .with_context(|| format!("{name} takes a number")),
            None => Ok(default),
        }
    };
    match args.first().map(String::as_str) {
        Some("run") => run(option("--streams", 1000)?, option("--events", 1000)?).await,
        Some("serve") => serve().await,
        _ => bail!("usage: sse-bench run [--streams N] [--events N] | serve"),
    }
}

/// The server: what `sluice-local run` runs for sse-notifier, built by the same
/// constructors, nothing else.
async fn serve() -> anyhow::Result<()> {
    let cfg = ConfigSource::from_env().with("LOCAL_JWT_SECRET", SECRET);
    let settings = DbSettings::load(&cfg, &Secrets::from_config_only()).await?;
    let pool = db::connect(&settings).await?;
    let clients = Clients::from_env().await;
    let queue_url: String = cfg.required("SSE_EVENTS_QUEUE_URL")?;
    let dlq: String = cfg.required("SSE_EVENTS_DLQ_URL")?;
    let instance = Instance::new(sse_notifier::SERVICE, cfg.clone(), clients.sdk.clone(), settings, pool)
        .with_setting("DEAD_LETTER_QUEUE_URL", dlq);
    let events = sse_notifier::EventsService::build(&instance).await?;
    let handler = sluice_local::sqs_handler(Arc::new(sse_notifier::Notifier::build(&instance)?));
    let source = EventSource {
        name: "sse-notifier".into(),
        sqs: clients.sqs.clone(),
        queue_url,
        queue_arn: cfg.required("SSE_EVENTS_QUEUE_ARN")?,
        region: clients.region.clone(),
        batch_size: 10,
        wait_seconds: 2,
        handler,
    };
    let (_stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    // The runner runs one poller per queue; Lambda would scale the consumer out, so two here.
    tokio::spawn(source.clone().run(stop_rx.clone()));
    tokio::spawn(source.run(stop_rx));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("LISTENING {}", listener.local_addr()?);
    axum::serve(listener, events.router()).await?;
    Ok(())
}

fn rss_kb(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let memory = sluice_bench::rss::parse_status(&status).context("no VmRSS")?;
    Ok(memory.current_kb)
}

struct Receipt {
    stream: usize,
    message_id: String,
    at: Instant,
}

async fn run(streams: usize, events: usize) -> anyhow::Result<()> {
    let cfg = ConfigSource::from_env();
    let base = DbSettings::load(&cfg, &Secrets::from_config_only()).await?;
    let admin = db::connect(&base).await.context("connecting to DATABASE_URL")?;
    let name = format!("sluice_bench_sse_{}", std::process::id());
    {
        let client = admin.get().await?;
        client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await?;
        client.batch_execute(&format!("CREATE DATABASE {name}")).await?;
    }
    let outcome = async {
        let pool = db::connect(&base.with_dbname(&name)).await?;
        migrate::run(&mut *pool.get().await?, &migrate::embedded()?).await?;
        pool.close();
        let clients = Clients::from_env().await;
        let names = StackNames {
            prefix: format!("bench-sse-{}", std::process::id()),
            ..Default::default()
        };
        let res = clients.provisioner().provision(&names).await?;
        let measured = measure(&clients, &res, &base, &name, streams, events).await;
        for url in [&res.sse_events.url, &res.sse_events.dlq_url, &res.events_tap_url] {
            let _ = clients.sqs.delete_queue().queue_url(url).send().await;
        }
        let _ = clients.sns.delete_topic().topic_arn(&res.topic_arn).send().await;
        measured
    }
    .await;
    let _ = admin
        .get()
        .await?
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await;
    let report = outcome?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

async fn measure(
    clients: &Clients,
    res: &sluice_local::resources::StackResources,
    base: &DbSettings,
    database: &str,
    streams: usize,
    events: usize,
) -> anyhow::Result<serde_json::Value> {
    let url = {
        let pg = &base.pg;
        let host = match pg.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            _ => "127.0.0.1".into(),
        };
        let port = pg.get_ports().first().copied().unwrap_or(5432);
        let user = pg.get_user().unwrap_or("postgres");
        format!("postgres://{user}@{host}:{port}/{database}")
    };
    let mut server = tokio::process::Command::new(std::env::current_exe()?)
        .arg("serve")
        .env("DATABASE_URL", url)
        // One stream opening at a time per connection is plenty; 1,000 open at once queue briefly.
        .env("DATABASE_POOL_SIZE", "16")
        .env("SSE_EVENTS_QUEUE_URL", &res.sse_events.url)
        .env("SSE_EVENTS_QUEUE_ARN", &res.sse_events.arn)
        .env("SSE_EVENTS_DLQ_URL", &res.sse_events.dlq_url)
        .env("SSE_HUB_CAPACITY", "4096")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting the server")?;
    let pid = server.id().context("server pid")?;
    let mut lines = BufReader::new(server.stdout.take().context("server stdout")?).lines();
    let addr = loop {
        let line = lines.next_line().await?.context("the server ended before listening")?;
        if let Some(addr) = line.strip_prefix("LISTENING ") {
            break addr.to_owned();
        }
    };
    let base_url = format!("http://{addr}");
    let http = reqwest::Client::builder().pool_max_idle_per_host(0).build()?;

    // Warm up (first connections, the hub's LISTEN), then the baseline.
    drop(open_stream(&http, &base_url, "warm-up").await?);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = rss_kb(pid)?;

    let receipts: Arc<Mutex<Vec<Receipt>>> = Arc::new(Mutex::new(Vec::with_capacity(events)));
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(streams);
    let expected_per_stream: Vec<usize> = (0..streams).map(|s| (events + streams - 1 - s) / streams).collect();
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(streams);
    let opening = Arc::new(tokio::sync::Semaphore::new(64));
    for (stream, expected) in expected_per_stream.iter().copied().enumerate() {
        let (http, base_url, receipts, ready_tx, opening) = (
            http.clone(),
            base_url.clone(),
            receipts.clone(),
            ready_tx.clone(),
            opening.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let permit = opening.acquire_owned().await?;
            let mut response = open_stream(&http, &base_url, &format!("u{stream}")).await?;
            drop(permit);
            let _ = ready_tx.send(()).await;
            let mut buffer = String::new();
            let mut got = 0;
            let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
            while got < expected {
                let chunk = tokio::time::timeout_at(deadline, response.chunk()).await;
                let Ok(Ok(Some(bytes))) = chunk else { break };
                let at = Instant::now();
                buffer.push_str(&String::from_utf8_lossy(&bytes));
                while let Some(end) = buffer.find("\n\n") {
                    let block: String = buffer.drain(..end + 2).collect();
                    if let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: ")) {
                        let value: serde_json::Value = serde_json::from_str(data)?;
                        let message_id = value["message_id"].as_str().unwrap_or_default().to_owned();
                        got += 1;
                        receipts.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.push(Receipt {
                            stream,
                            message_id,
                            at,
                        });
                    }
                }
            }
            // Linger briefly for a duplicate, if one were coming.
            let _ = tokio::time::timeout(Duration::from_millis(300), response.chunk()).await;
            anyhow::Ok(())
        }));
    }
    drop(ready_tx);
    let mut open = 0;
    while open < streams {
        if ready_rx.recv().await.is_none() {
            bail!("only {open} of {streams} streams opened");
        }
        open += 1;
    }
    let open_seconds = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_open = rss_kb(pid)?;

    // Publish: event i for user u(i mod streams), 8 publishes in flight.
    let published: Arc<Mutex<HashMap<String, (usize, Instant)>>> = Arc::new(Mutex::new(HashMap::new()));
    let publishing = Instant::now();
    let permits = Arc::new(tokio::sync::Semaphore::new(8));
    let mut sends = Vec::with_capacity(events);
    for i in 0..events {
        let stream = i % streams;
        let envelope = event_for(&format!("u{stream}"))?;
        let id = envelope.message_id.to_string();
        let (sns, topic, published, permits) = (
            clients.sns.clone(),
            res.topic_arn.clone(),
            published.clone(),
            permits.clone(),
        );
        sends.push(tokio::spawn(async move {
            let _permit = permits.acquire_owned().await?;
            let at = Instant::now();
            published
                .lock()
                .map_err(|_| anyhow::anyhow!("poisoned"))?
                .insert(id, (stream, at));
            let attr = aws_sdk_sns::types::MessageAttributeValue::builder()
                .data_type("String")
                .string_value(envelope.payload.kind())
                .build()?;
            sns.publish()
                .topic_arn(topic)
                .message(envelope.to_json())
                .message_attributes("type", attr)
                .send()
                .await
                .map_err(|e| anyhow::anyhow!(aws_sdk_sns::error::DisplayErrorContext(e).to_string()))?;
            anyhow::Ok(())
        }));
    }
    for s in sends {
        s.await??;
    }
    let publish_seconds = publishing.elapsed().as_secs_f64();
    for t in tasks {
        t.await??;
    }
    let rss_after = rss_kb(pid)?;
    let _ = server.kill().await;

    let published = published.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    let receipts = receipts.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut latencies = Vec::with_capacity(receipts.len());
    let mut misdelivered = 0;
    for r in receipts.iter() {
        *seen.entry(r.message_id.as_str()).or_default() += 1;
        match published.get(&r.message_id) {
            Some((stream, at)) if *stream == r.stream => {
                latencies.push(r.at.duration_since(*at).as_secs_f64() * 1000.0)
            }
            _ => misdelivered += 1,
        }
    }
    let dropped = published.keys().filter(|id| !seen.contains_key(id.as_str())).count();
    let duplicated: usize = seen.values().map(|n| n.saturating_sub(1)).sum();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies[i.min(latencies.len() - 1)]
    };
    Ok(serde_json::json!({
        "bench": "sse",
        "streams": streams,
        "events": events,
        "delivered": latencies.len(),
        "dropped": dropped,
        "duplicated": duplicated,
        "misdelivered": misdelivered,
        "latency_ms_p50": pct(0.5),
        "latency_ms_p99": pct(0.99),
        "latency_ms_max": latencies.last().copied().unwrap_or(f64::NAN),
        "open_seconds": open_seconds,
        "publish_seconds": publish_seconds,
        "server_rss_kb_before": rss_before,
        "server_rss_kb_open": rss_open,
        "server_rss_kb_after": rss_after,
        "kb_per_stream": (rss_open.saturating_sub(rss_before)) as f64 / streams as f64,
    }))
}

async fn open_stream(http: &reqwest::Client, base_url: &str, user: &str) -> anyhow::Result<reqwest::Response> {
    let token = sluice_core::auth::local::issue_token(SECRET.as_bytes(), user, "basic", false, 1)
        .map_err(anyhow::Error::msg)?;
    let ticket: serde_json::Value = http
        .post(format!("{base_url}/v1/events/ticket"))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let ticket = ticket["ticket"].as_str().context("a ticket")?;
    let mut response = http
        .get(format!("{base_url}/v1/events/stream?ticket={ticket}"))
        .send()
        .await?
        .error_for_status()?;
    // The first block (`retry:`) says the stream is open and subscribed.
    response.chunk().await?.context("the stream ended at once")?;
    Ok(response)
}

/// An `AnalysisFailed` for `user` (a small event that belongs to one user).
fn event_for(user: &str) -> anyhow::Result<sluice_messages::Envelope> {
    let payload: sluice_messages::Payload = serde_json::from_value(serde_json::json!({
        "type": "AnalysisFailed",
        "data": {
            "task_id": uuid::Uuid::new_v4(),
            "user_id": user,
            "kind": "risk_factors",
            "reason": "benchmark event",
        }
    }))?;
    Ok(sluice_messages::Envelope::new(
        sluice_messages::Producer::LlmAnalyzer,
        sluice_messages::CorrelationId::new(),
        payload,
    ))
}
