//! The chaos run's own database and moto resources, every function built as the runner
//! builds it, and what the scenarios measure with: queue depths, in-process draining
//! of the stages upstream of a consumer, and effect counters read from PostgreSQL.

use anyhow::Context;
use sluice_core::{db, migrate, Clock, ConfigSource, DbSettings, Pool, Secrets};
use sluice_local::pump::EventSource;
use sluice_local::resources::{Queue, QueueTiming, StackNames, StackResources};
use sluice_local::{Clients, Functions};
use std::time::Duration;

/// The queues' timing under chaos: a killed invocation's messages come back after 2 s,
/// and the dead-letter queue is out of reach (the harness kills far more often than
/// Lambda fails; how often a message was received is reported instead).
pub const VISIBILITY: Duration = Duration::from_secs(2);
pub const MAX_RECEIVES: u32 = 1000;

pub fn names(prefix: &str) -> StackNames {
    let timing = QueueTiming {
        visibility_timeout: VISIBILITY,
        max_receive_count: MAX_RECEIVES,
    };
    StackNames {
        prefix: prefix.to_owned(),
        uploads_timing: timing,
        etl_timing: timing,
    }
}

/// The fake FMP server's key (not a secret).
pub const FMP_KEY: &str = "sluice-chaos-fmp-key";

/// What every process of one scenario is told beside the environment: its database,
/// its resources' prefix, the fake EDGAR and FMP servers, the local token secret.
pub fn extra_settings(database: &str, prefix: &str, edgar_url: &str, fmp_url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("CHAOS_DATABASE", database.to_owned()),
        ("CHAOS_PREFIX", prefix.to_owned()),
        ("LOCAL_JWT_SECRET", JWT_SECRET.to_owned()),
        ("EDGAR_USER_AGENT", "Sluice Chaos chaos@sluice.invalid".to_owned()),
        ("EDGAR_WWW_BASE_URL", edgar_url.to_owned()),
        ("EDGAR_DATA_BASE_URL", edgar_url.to_owned()),
        ("EDGAR_BACKOFF_MS", "20".to_owned()),
        ("LLM_BACKOFF_MS", "20".to_owned()),
        ("ANALYSIS_PEER_WAIT_SECS", "5".to_owned()),
        // A pool entry whose maker was killed is taken over when its lease runs out
        // (600 s by default, the model call's bound): shortened so a run ends.
        ("ANALYSIS_LEASE_SECS", "10".to_owned()),
        // Price jobs: the fake FMP server, a limit the run never waits long for, and a
        // year of history per ticker backfilled in 60-day steps (7 jobs a ticker).
        ("FMP_BASE_URL", fmp_url.to_owned()),
        ("FMP_API_KEY", FMP_KEY.to_owned()),
        ("VENDOR_RATE_LIMIT", "200".to_owned()),
        ("VENDOR_RATE_WINDOW_SECS", "1".to_owned()),
        ("VENDOR_BACKOFF_MS", "20".to_owned()),
        ("PRICE_BACKFILL_YEARS", "1".to_owned()),
        ("PRICE_BACKFILL_STEP_DAYS", "60".to_owned()),
        ("DATABASE_POOL_SIZE", "3".to_owned()),
    ]
}

pub const JWT_SECRET: &str = "sluice-chaos-not-a-secret";

/// The database the run's functions use: `CHAOS_DATABASE` on the `DATABASE_URL` server.
pub async fn database(cfg: &ConfigSource) -> anyhow::Result<DbSettings> {
    let base = DbSettings::load(cfg, &Secrets::from_config_only()).await?;
    let name: String = cfg.required("CHAOS_DATABASE")?;
    Ok(base.with_dbname(&name))
}

/// Creates `name` (dropping a leftover of the same name), migrated, with durable commits
/// (the local cluster runs `synchronous_commit = off` for speed, which an immediate
/// shutdown would turn into lost commits no production database has).
pub async fn create_database(cfg: &ConfigSource, name: &str) -> anyhow::Result<Pool> {
    let base = DbSettings::load(cfg, &Secrets::from_config_only()).await?;
    let admin = db::connect(&base).await.context("connecting to DATABASE_URL")?;
    {
        let client = admin.get().await?;
        client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await?;
        client.batch_execute(&format!("CREATE DATABASE {name}")).await?;
        client
            .batch_execute(&format!("ALTER DATABASE {name} SET synchronous_commit = on"))
            .await?;
    }
    admin.close();
    let pool = db::connect(&base.with_dbname(name)).await?;
    let mut client = pool.get().await?;
    migrate::run(&mut client, &migrate::embedded()?).await?;
    Ok(pool)
}

pub async fn drop_database(cfg: &ConfigSource, name: &str) {
    let dropped = async {
        let base = DbSettings::load(cfg, &Secrets::from_config_only()).await?;
        let admin = db::connect(&base).await?;
        admin
            .get()
            .await?
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await?;
        anyhow::Ok(())
    }
    .await;
    if let Err(e) = dropped {
        tracing::warn!(error = %e, database = name, "could not drop the chaos database");
    }
}

/// One process's view of the run: the same resources (found by prefix), its functions.
pub struct ChaosStack {
    pub clients: Clients,
    pub res: StackResources,
    pub functions: Functions,
    /// The run's login (a superuser locally): for counting, never for the functions.
    pub pool: Pool,
}

impl ChaosStack {
    pub async fn open(cfg: &ConfigSource) -> anyhow::Result<Self> {
        let prefix: String = cfg.required("CHAOS_PREFIX")?;
        let clients = Clients::from_env().await;
        let res = clients.provisioner().provision(&names(&prefix)).await?;
        let db = database(cfg).await?;
        let pool = db::connect(&db).await?;
        let functions = Functions::build(cfg, &res, &db, &clients, Clock::system()).await?;
        Ok(Self {
            clients,
            res,
            functions,
            pool,
        })
    }

    /// The event source named as in `Functions::event_sources` (long-poll `wait` seconds).
    pub fn source(&self, name: &str, wait: i32) -> anyhow::Result<EventSource> {
        self.functions
            .event_sources(&self.res, &self.clients, wait)
            .into_iter()
            .find(|s| s.name == name)
            .with_context(|| format!("no event source {name}"))
    }

    pub fn queue(&self, source: &str) -> anyhow::Result<&Queue> {
        Ok(match source {
            "ingest-validator" => &self.res.uploads,
            "etl-transformer" => &self.res.etl,
            "price-updater" => &self.res.price_jobs,
            "filing-fetcher" => &self.res.filings,
            "llm-analyzer" => &self.res.analyses,
            "llm-analyzer-priority" => &self.res.priority_analyses,
            "llm-analyzer-feedback" => &self.res.feedback,
            "sse-notifier" => &self.res.sse_events,
            other => anyhow::bail!("no queue for {other}"),
        })
    }

    /// Messages on a queue, visible or in flight.
    pub async fn depth(&self, url: &str) -> anyhow::Result<i64> {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let attrs = self
            .clients
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(A::ApproximateNumberOfMessages)
            .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await?
            .attributes
            .unwrap_or_default();
        Ok(
            [A::ApproximateNumberOfMessages, A::ApproximateNumberOfMessagesNotVisible]
                .iter()
                .filter_map(|k| attrs.get(k).and_then(|v| v.parse::<i64>().ok()))
                .sum(),
        )
    }

    /// Runs `source` in this process until its queue stays empty (the stages upstream of
    /// the consumer under test, never killed).
    pub async fn drain(&self, source: &str) -> anyhow::Result<()> {
        let s = self.source(source, 0)?;
        let url = self.queue(source)?.url.clone();
        let mut idle = 0;
        for _ in 0..10_000 {
            let got = s.poll_once().await.map_err(anyhow::Error::msg)?.received;
            if got == 0 {
                if self.depth(&url).await? == 0 {
                    idle += 1;
                    if idle >= 2 {
                        return Ok(());
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            } else {
                idle = 0;
            }
        }
        anyhow::bail!("{source} did not drain")
    }

    /// One number per counter: `SELECT`s returning one bigint each.
    pub async fn count(&self, sql: &[(&'static str, &'static str)]) -> anyhow::Result<Vec<i64>> {
        let client = self.pool.get().await?;
        let mut out = Vec::with_capacity(sql.len());
        for (_, q) in sql {
            out.push(client.query_one(*q, &[]).await.with_context(|| q.to_string())?.get(0));
        }
        Ok(out)
    }

    /// Re-sends every message now on `source`'s queue `copies` times (each a distinct
    /// delivery: FIFO deduplication ids differ, as after SQS's 5-minute window): every
    /// message kind delivered `copies` times. The originals are taken off first (a FIFO
    /// group shows its next message only once the one before is deleted).
    pub async fn multiply(&self, source: &str, copies: usize) -> anyhow::Result<usize> {
        use aws_sdk_sqs::types::MessageSystemAttributeName as A;
        let q = self.queue(source)?.clone();
        let fifo = q.url.ends_with(".fifo");
        let mut taken = Vec::new();
        let mut empty = 0;
        while empty < 2 {
            let got = self
                .clients
                .sqs
                .receive_message()
                .queue_url(&q.url)
                .max_number_of_messages(10)
                .message_system_attribute_names(A::MessageGroupId)
                .send()
                .await?;
            let messages = got.messages.unwrap_or_default();
            if messages.is_empty() {
                empty += 1;
                continue;
            }
            empty = 0;
            for m in messages {
                let group = m.attributes().and_then(|a| a.get(&A::MessageGroupId)).cloned();
                if let Some(r) = m.receipt_handle() {
                    self.clients
                        .sqs
                        .delete_message()
                        .queue_url(&q.url)
                        .receipt_handle(r)
                        .send()
                        .await?;
                }
                taken.push((m.body.unwrap_or_default(), group));
            }
        }
        for (body, group) in &taken {
            for copy in 0..copies {
                let mut send = self.clients.sqs.send_message().queue_url(&q.url).message_body(body);
                if fifo {
                    send = send
                        .message_group_id(group.clone().unwrap_or_else(|| "chaos".into()))
                        .message_deduplication_id(format!("{}#{copy}", uuid::Uuid::new_v4().simple()));
                }
                send.send().await?;
            }
        }
        Ok(taken.len())
    }
}
