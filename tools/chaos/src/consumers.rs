//! The consumers under test: which event source, what each does that can be counted
//! (its effects, linear in its inputs), what must be zero at the end, and how the
//! run gives it work (through the real stages upstream of it, run in the harness).

use crate::stack::{ChaosStack, JWT_SECRET};
use anyhow::Context;
use aws_sdk_s3::primitives::ByteStream;
use price_updater::Schedule;
use sluice_messages::{CorrelationId, Envelope, FeedbackReceived, FeedbackSource, Payload, Producer};
use std::time::{Duration, Instant};

pub type Counters = &'static [(&'static str, &'static str)];

pub struct Consumer {
    /// As in RELIABILITY.md.
    pub label: &'static str,
    /// The event source, as `Functions::event_sources` names it.
    pub source: &'static str,
    /// Effects of its work: each grows by the same amount for every input.
    pub effects: Counters,
    /// What must be 0 once it has finished (beside its queue and dead-letter queue).
    pub invariants: Counters,
    pub seed: Seed,
}

#[derive(Clone, Copy)]
pub enum Seed {
    /// Spreadsheets put in the bucket (S3 notifications on the uploads queue).
    Uploads,
    /// Uploads validated by ingest-validator (load requests on the ETL queue).
    LoadRequests,
    /// Uploads validated and loaded (their events on sse-notifier's queue).
    Events,
    /// Feedback items on the feedback queue.
    Feedback,
    /// Analyses accepted by the HTTP API (filing requests on the filings queue).
    FilingRequests,
    /// Accepted analyses whose filings were fetched (analysis requests).
    AnalysisRequests,
    /// New tickers in the universe, then the daily-quotes and price-backfill schedules
    /// ticked (price jobs: one daily job and the backfill's steps per ticker).
    PriceJobs,
}

const UNPUBLISHED: (&str, &str) = (
    "outbox rows never published",
    "SELECT count(*) FROM outbox WHERE published_at IS NULL",
);

pub const CONSUMERS: &[Consumer] = &[
    Consumer {
        label: "upload validation (ingest-validator)",
        source: "ingest-validator",
        effects: &[
            ("data versions", "SELECT count(*) FROM data_versions"),
            (
                "messages staged",
                "SELECT count(*) FROM outbox WHERE producer = 'ingest-validator'",
            ),
        ],
        invariants: &[
            UNPUBLISHED,
            (
                "uploads recorded twice",
                "SELECT count(*) FROM (SELECT s3_path FROM data_versions GROUP BY s3_path HAVING count(*) > 1) d",
            ),
        ],
        seed: Seed::Uploads,
    },
    Consumer {
        label: "ETL (etl-transformer)",
        source: "etl-transformer",
        effects: &[
            ("rows loaded", "SELECT count(*) FROM kpis"),
            ("row versions", "SELECT coalesce(sum(version), 0)::bigint FROM kpis"),
            (
                "loads settled",
                "SELECT count(*) FROM data_versions WHERE status <> 'pending'",
            ),
            (
                "messages staged",
                "SELECT count(*) FROM outbox WHERE producer = 'etl-transformer'",
            ),
        ],
        invariants: &[UNPUBLISHED],
        seed: Seed::LoadRequests,
    },
    Consumer {
        label: "events (sse-notifier)",
        source: "sse-notifier",
        effects: &[("events stored", "SELECT count(*) FROM events")],
        invariants: &[],
        seed: Seed::Events,
    },
    Consumer {
        label: "triage (llm-analyzer, feedback)",
        source: "llm-analyzer-feedback",
        effects: &[
            ("tickets", "SELECT count(*) FROM tickets"),
            ("processing logs", "SELECT count(*) FROM processing_logs"),
            (
                "messages staged",
                "SELECT count(*) FROM outbox WHERE producer = 'llm-analyzer'",
            ),
        ],
        invariants: &[UNPUBLISHED],
        seed: Seed::Feedback,
    },
    Consumer {
        label: "filing fetch (filing-fetcher)",
        source: "filing-fetcher",
        effects: &[
            (
                "tasks past fetching",
                "SELECT count(*) FROM tasks WHERE status IN ('analysing', 'completed', 'failed')",
            ),
            (
                "analysis requests staged",
                "SELECT count(*) FROM outbox WHERE producer = 'filing-fetcher' AND kind = 'AnalysisRequested'",
            ),
        ],
        invariants: &[
            UNPUBLISHED,
            (
                "filings stored twice",
                "SELECT count(*) FROM (SELECT accession FROM filings GROUP BY accession HAVING count(*) > 1) f",
            ),
        ],
        seed: Seed::FilingRequests,
    },
    Consumer {
        label: "analysis (llm-analyzer)",
        // The seeded accounts are professional: their analyses wait in the priority lane.
        source: "llm-analyzer-priority",
        effects: &[
            (
                "tasks completed",
                "SELECT count(*) FROM tasks WHERE status = 'completed'",
            ),
            (
                "analysis charges",
                "SELECT count(*) FROM usage_transactions WHERE kind = 'analysis'",
            ),
            (
                "completions announced",
                "SELECT count(*) FROM outbox WHERE producer = 'llm-analyzer' AND kind = 'AnalysisCompleted'",
            ),
        ],
        invariants: &[UNPUBLISHED, DOUBLE_CHARGED, OUT_OF_BALANCE, CHARGED_NOT_QUOTED],
        seed: Seed::AnalysisRequests,
    },
    Consumer {
        label: "price jobs (price-updater: daily bars, backfill steps)",
        source: "price-updater",
        effects: &[
            ("bars stored", "SELECT count(*) FROM prices"),
            (
                "tickers refreshed (daily)",
                "SELECT count(DISTINCT i.ticker) FROM price_refresh_items i JOIN price_refreshes r USING (refresh_id)
                 WHERE r.kind = 'daily_quotes' AND i.status <> 'pending'",
            ),
            (
                "tickers backfilled",
                "SELECT count(DISTINCT i.ticker) FROM price_refresh_items i JOIN price_refreshes r USING (refresh_id)
                 WHERE r.kind = 'backfill' AND i.status <> 'pending'",
            ),
            (
                "backfill steps recorded",
                "SELECT coalesce(sum(i.steps_done), 0)::bigint FROM price_refresh_items i
                 JOIN price_refreshes r USING (refresh_id) WHERE r.kind = 'backfill'",
            ),
        ],
        invariants: &[
            UNPUBLISHED,
            (
                "bars stored twice",
                "SELECT count(*) FROM (SELECT ticker, date FROM prices GROUP BY 1, 2 HAVING count(*) > 1) d",
            ),
            (
                "tickers failed",
                "SELECT count(*) FROM price_refresh_items WHERE status = 'failed'",
            ),
            (
                "refreshes left unfinished",
                "SELECT count(*) FROM price_refreshes WHERE completed_at IS NULL",
            ),
            (
                "refreshes whose count disagrees with their tickers",
                "SELECT count(*) FROM price_refreshes r WHERE r.done <> (SELECT count(*) FROM price_refresh_items i
                     WHERE i.refresh_id = r.refresh_id AND i.status <> 'pending')
                   OR (r.completed_at IS NOT NULL AND r.done <> r.total)",
            ),
            (
                "finished refreshes without exactly one summary",
                "SELECT count(*) FROM price_refreshes r WHERE r.completed_at IS NOT NULL AND
                     (SELECT count(*) FROM outbox o WHERE o.kind = 'PriceRefreshSummary'
                        AND (o.body::jsonb -> 'data' ->> 'refresh_id') = r.refresh_id::text) <> 1",
            ),
        ],
        seed: Seed::PriceJobs,
    },
];

/// The run's tickers: `9` and four base-36 digits (no listed ticker starts with a digit).
fn chaos_ticker(i: i64) -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut n = i.rem_euclid(36_i64.pow(4));
    let mut out = [b'0'; 4];
    for slot in out.iter_mut().rev() {
        *slot = DIGITS[(n % 36) as usize];
        n /= 36;
    }
    format!("9{}", String::from_utf8_lossy(&out))
}

/// The run's tickers not yet finished by a daily refresh and a backfill.
const PRICE_TICKERS_LEFT: &str = "SELECT count(*) FROM tickers t WHERE t.ticker ~ '^9' AND NOT (
       EXISTS (SELECT 1 FROM price_refresh_items i JOIN price_refreshes r USING (refresh_id)
               WHERE r.kind = 'daily_quotes' AND i.ticker = t.ticker AND i.status <> 'pending')
   AND EXISTS (SELECT 1 FROM price_refresh_items i JOIN price_refreshes r USING (refresh_id)
               WHERE r.kind = 'backfill' AND i.ticker = t.ticker AND i.status <> 'pending'))";

/// A task charged its analysis fee more than once.
pub const DOUBLE_CHARGED: (&str, &str) = (
    "tasks charged twice",
    "SELECT count(*) FROM (SELECT task_id FROM usage_transactions WHERE kind = 'analysis'
                           GROUP BY task_id HAVING count(*) > 1) t",
);
/// An account whose balance is not its starting credits less what its ledger says.
pub const OUT_OF_BALANCE: (&str, &str) = (
    "accounts whose balance disagrees with their ledger",
    "SELECT count(*) FROM user_accounts a WHERE a.user_id LIKE 'chaos-%' AND a.credit_balance_micros <>
         1000000000 + coalesce((SELECT sum(u.amount_micros) FROM usage_transactions u WHERE u.user_id = a.user_id), 0)",
);
/// A completed task whose charges are not what it was quoted (less the filing access
/// it already had).
pub const CHARGED_NOT_QUOTED: (&str, &str) = (
    "completed tasks charged more than quoted",
    "SELECT count(*) FROM tasks WHERE status = 'completed' AND charged_micros > quoted_micros",
);

/// Starting credits of every account the run makes: $1,000.
pub const CREDITS: i64 = 1_000_000_000;

/// A KPI spreadsheet of `rows` rows no other upload has (so none is a duplicate).
fn kpi_file(rows: usize) -> String {
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let mut csv = String::from("Fondo;Empresa;Fecha;Cuarto;Tipo;Indicador;Unidad;Valor\n");
    for i in 0..rows {
        csv.push_str(&format!("Fondo C;Co {tag} {i};31/03/2026;Q1;Real;Ventas;EUR;{i},50\n"));
    }
    csv
}

/// Rows per spreadsheet.
pub const ROWS_PER_UPLOAD: usize = 20;

/// The specs one user can ask for in the local EDGAR mirror: 2 filings x 3 kinds.
const SPECS: [(&str, &str); 6] = [
    ("10-K", "summary"),
    ("10-K", "risk_factors"),
    ("10-K", "mdna"),
    ("10-Q", "summary"),
    ("10-Q", "risk_factors"),
    ("10-Q", "mdna"),
];

fn spec(form: &str, kind: &str) -> serde_json::Value {
    match form {
        "10-K" => serde_json::json!({"ticker": "SLXH", "form": "10-K", "fiscal_year": 2025, "kind": kind}),
        _ => {
            serde_json::json!({"ticker": "SLXH", "form": "10-Q", "fiscal_year": 2026, "fiscal_quarter": 3, "kind": kind})
        }
    }
}

/// Makes a professional account with [`CREDITS`] and a token for it: professional pays
/// fees (enterprise analyses cost nothing, so its balances would prove nothing).
pub async fn account(stack: &ChaosStack, user: &str, credits: i64) -> anyhow::Result<String> {
    account_of_tier(stack, user, "professional", credits).await
}

/// An account of `tier` with `credits`, and a token for it.
pub async fn account_of_tier(stack: &ChaosStack, user: &str, tier: &str, credits: i64) -> anyhow::Result<String> {
    stack
        .pool
        .get()
        .await?
        .execute(
            "INSERT INTO user_accounts (user_id, email, tier, credit_balance_micros, team_member)
             VALUES ($1, NULL, $3, $2, false)
             ON CONFLICT (user_id) DO UPDATE SET credit_balance_micros = $2",
            &[&user, &credits, &tier],
        )
        .await?;
    sluice_local::issue_token(JWT_SECRET.as_bytes(), user, tier, false, 2).map_err(anyhow::Error::msg)
}

/// POST /v1/analyses; the status.
pub async fn request_analysis(
    http: &reqwest::Client,
    api: &str,
    bearer: &str,
    body: &serde_json::Value,
) -> anyhow::Result<u16> {
    let response = http
        .post(format!("{api}/v1/analyses"))
        .bearer_auth(bearer)
        .json(body)
        .send()
        .await?;
    Ok(response.status().as_u16())
}

pub struct Seeder {
    pub api: String,
    pub http: reqwest::Client,
}

impl Seeder {
    /// Puts `n` inputs on the queue of the consumer `seed` feeds; returns how many were
    /// added (price jobs add none while earlier tickers still wait for their refresh).
    pub async fn seed(&self, stack: &ChaosStack, seed: Seed, n: usize) -> anyhow::Result<usize> {
        if let Seed::PriceJobs = seed {
            return price_jobs(stack, n).await;
        }
        self.seed_n(stack, seed, n).await?;
        Ok(n)
    }

    /// Once the consumer has been given its last inputs: whatever its inputs still need
    /// from the harness (price jobs: the schedule ticks that pick up the last tickers),
    /// until done or `timeout`.
    pub async fn finish(&self, stack: &ChaosStack, seed: Seed, timeout: Duration) -> anyhow::Result<()> {
        if !matches!(seed, Seed::PriceJobs) {
            return Ok(());
        }
        let started = Instant::now();
        while started.elapsed() < timeout {
            let row = stack
                .pool
                .get()
                .await?
                .query_one(
                    &format!(
                        "SELECT ({PRICE_TICKERS_LEFT}) + (SELECT count(*) FROM price_refreshes WHERE completed_at IS NULL)"
                    ),
                    &[],
                )
                .await?;
            if row.get::<_, i64>(0) == 0 {
                return Ok(());
            }
            tick_prices(stack).await?;
            tokio::time::sleep(Duration::from_millis(1000)).await;
        }
        Ok(())
    }

    async fn seed_n(&self, stack: &ChaosStack, seed: Seed, n: usize) -> anyhow::Result<()> {
        match seed {
            Seed::PriceJobs => price_jobs(stack, n).await.map(|_| ()),
            Seed::Uploads => self.uploads(stack, n).await,
            Seed::LoadRequests => {
                self.uploads(stack, n).await?;
                stack.drain("ingest-validator").await
            }
            Seed::Events => {
                self.uploads(stack, n).await?;
                stack.drain("ingest-validator").await?;
                stack.drain("etl-transformer").await
            }
            Seed::Feedback => {
                for _ in 0..n {
                    let id = format!("CHAOS-{}", uuid::Uuid::new_v4().simple());
                    let envelope = Envelope::new(
                        Producer::IngestValidator,
                        CorrelationId::new(),
                        Payload::FeedbackReceived(FeedbackReceived {
                            source: FeedbackSource::Zendesk,
                            external_id: id.clone(),
                            revision: "1".into(),
                            author: Some("customer@example.com".into()),
                            rating: None,
                            subject: None,
                            text: "The export to Excel crashes every time I open the quarterly report. Please fix."
                                .into(),
                            language: None,
                            received_at: chrono::Utc::now(),
                            link: Some(format!("https://support.example.com/{id}")),
                        }),
                    );
                    stack
                        .clients
                        .sqs
                        .send_message()
                        .queue_url(&stack.res.feedback.url)
                        .message_body(envelope.to_json())
                        .message_group_id(envelope.fifo_group_id())
                        .message_deduplication_id(envelope.deduplication_id())
                        .send()
                        .await?;
                }
                Ok(())
            }
            Seed::FilingRequests => self.analyses(stack, n).await,
            Seed::AnalysisRequests => {
                self.analyses(stack, n).await?;
                stack.drain("filing-fetcher").await
            }
        }
    }

    async fn uploads(&self, stack: &ChaosStack, n: usize) -> anyhow::Result<()> {
        for _ in 0..n {
            let key = format!("uploads/kpis/chaos-{}.csv", uuid::Uuid::new_v4().simple());
            stack
                .clients
                .s3
                .put_object()
                .bucket(&stack.res.bucket)
                .key(&key)
                .body(ByteStream::from(kpi_file(ROWS_PER_UPLOAD).into_bytes()))
                .metadata("uploaded-by", "chaos@fund.example")
                .send()
                .await
                .with_context(|| format!("put {key}"))?;
        }
        Ok(())
    }

    /// `n` analyses accepted, six per new user (every spec of the mirror once).
    async fn analyses(&self, stack: &ChaosStack, n: usize) -> anyhow::Result<()> {
        let mut made = 0;
        while made < n {
            let user = format!("chaos-{}", uuid::Uuid::new_v4().simple());
            let bearer = account(stack, &user, CREDITS).await?;
            for (form, kind) in SPECS.iter().take(n - made) {
                let status = request_analysis(&self.http, &self.api, &bearer, &spec(form, kind)).await?;
                anyhow::ensure!(status == 202, "an analysis request was answered {status}, not 202");
                made += 1;
            }
        }
        Ok(())
    }
}

/// `n` new tickers (none while earlier ones wait to be picked up by a backfill), then the
/// schedules ticked. Only the run's tickers are tracked, and a ticker finished both ways
/// leaves the daily refresh, so every ticker's work is the same whenever it came.
async fn price_jobs(stack: &ChaosStack, n: usize) -> anyhow::Result<usize> {
    let client = stack.pool.get().await?;
    let waiting: i64 = client
        .query_one(
            "SELECT count(*) FROM tickers t WHERE t.ticker ~ '^9' AND NOT EXISTS (
                 SELECT 1 FROM price_refresh_items i JOIN price_refreshes r USING (refresh_id)
                 WHERE r.kind = 'backfill' AND i.ticker = t.ticker)",
            &[],
        )
        .await?
        .get(0);
    let added = if waiting > 0 {
        0
    } else {
        let known: i64 = client
            .query_one("SELECT count(*) FROM tickers WHERE ticker ~ '^9'", &[])
            .await?
            .get(0);
        for i in 0..n as i64 {
            let ticker = chaos_ticker(known + i);
            client
                .execute(
                    "INSERT INTO tickers (ticker, name, tracked) VALUES ($1, $2, true)",
                    &[&ticker, &format!("Chaos {ticker}")],
                )
                .await?;
        }
        n
    };
    drop(client);
    tick_prices(stack).await?;
    Ok(added)
}

/// The daily-quotes and price-backfill schedules, as EventBridge fires them: each only
/// when no refresh of its kind is under way, or when one is but its queue is empty (its
/// jobs were lost: the tick resumes it).
pub async fn tick_prices(stack: &ChaosStack) -> anyhow::Result<()> {
    let prices = stack
        .functions
        .prices
        .clone()
        .context("price-updater is not configured (FMP_API_KEY)")?;
    stack
        .pool
        .get()
        .await?
        .execute(
            &format!(
                "UPDATE tickers t SET tracked = false WHERE tracked AND (t.ticker !~ '^9' OR t.ticker IN (
                     SELECT t2.ticker FROM tickers t2 WHERE t2.ticker ~ '^9' EXCEPT ({})))",
                PRICE_TICKERS_LEFT.replacen("SELECT count(*)", "SELECT t.ticker", 1)
            ),
            &[],
        )
        .await?;
    let queue = stack.queue("price-updater")?.url.clone();
    for schedule in [Schedule::DailyQuotes, Schedule::PriceBackfill] {
        let running: i64 = stack
            .pool
            .get()
            .await?
            .query_one(
                "SELECT count(*) FROM price_refreshes WHERE kind = $1 AND completed_at IS NULL",
                &[&schedule.kind().as_str()],
            )
            .await?
            .get(0);
        if running == 0 || stack.depth(&queue).await? == 0 {
            sluice_local::schedules::fire(&prices, schedule)
                .await
                .map_err(|e| anyhow::anyhow!("{} tick: {e}", schedule.name()))?;
        }
    }
    Ok(())
}

/// One analysis's worth of credits for a professional user who has not read the filing
/// (enterprise analyses cost nothing; professional allows the burst's requests an hour).
pub fn one_analysis() -> i64 {
    let policy = sluice_messages::UserTier::Professional.policy();
    policy.filing_access_fee.micros() + policy.analysis_fee.micros()
}

/// 200 (or `n`) different analyses at once from one account that can pay for one.
pub async fn burst(stack: &ChaosStack, seeder: &Seeder, n: usize) -> anyhow::Result<(usize, Vec<(u16, usize)>)> {
    let user = format!("chaos-burst-{}", uuid::Uuid::new_v4().simple());
    let bearer = account_of_tier(stack, &user, "professional", one_analysis()).await?;
    // Every analysis the mirror can serve (2 filings x 3 kinds), each asked for many
    // times at once: one can be paid for, so exactly one task may come of it (a repeated
    // request for it answers the same task).
    let bodies: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let (form, kind) = SPECS[i % SPECS.len()];
            spec(form, kind)
        })
        .collect();
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(n));
    let mut handles = Vec::new();
    for body in bodies {
        let (http, api, bearer, barrier) = (seeder.http.clone(), seeder.api.clone(), bearer.clone(), barrier.clone());
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            request_analysis(&http, &api, &bearer, &body).await
        }));
    }
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for h in handles {
        *statuses.entry(h.await??).or_default() += 1;
    }
    let accepted = statuses.get(&202).copied().unwrap_or(0);
    Ok((accepted, statuses.into_iter().collect()))
}
