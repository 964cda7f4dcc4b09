//! The scenarios of RELIABILITY.md. Each runs in a database and a set of queues of its
//! own, and compares what the consumer did with what the same inputs do without faults
//! (a calibration in a database of its own): an effect short of that is lost, one over
//! it is duplicated.

use crate::consumers::{self, Consumer, Counters, Seed, Seeder, CONSUMERS};
use crate::stack::{self, ChaosStack};
use anyhow::Context;
use rand::Rng;
use sluice_core::ConfigSource;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;

/// The knobs (`CHAOS_*`); the defaults are the full run of RELIABILITY.md.
#[derive(Debug, Clone)]
pub struct Knobs {
    /// SIGKILLs per consumer.
    pub kills: usize,
    /// Inputs added whenever a consumer's queue runs low.
    pub wave: usize,
    /// A kill lands this long (uniformly 0..max) after the worker was first handed records.
    pub kill_max_ms: u64,
    /// Immediate-mode PostgreSQL restarts.
    pub pg_restarts: usize,
    /// Inputs per message kind delivered three times.
    pub triple_inputs: usize,
    /// Concurrent analysis requests against one analysis's worth of credits.
    pub burst: usize,
    /// Analyses accepted up front for the analysis consumer (the pool answers later
    /// requests at once, so its work cannot be topped up).
    pub analyses: usize,
    /// How long a consumer may take to finish its work after the last fault.
    pub settle_secs: u64,
    /// Consumers to run (event source names); all when empty.
    pub only: Vec<String>,
}

impl Knobs {
    pub fn load(cfg: &ConfigSource) -> anyhow::Result<Self> {
        Ok(Self {
            kills: cfg.or("CHAOS_KILLS", 50usize)?,
            wave: cfg.or("CHAOS_WAVE", 40usize)?,
            kill_max_ms: cfg.or("CHAOS_KILL_MAX_MS", 1500u64)?,
            pg_restarts: cfg.or("CHAOS_PG_RESTARTS", 5usize)?,
            triple_inputs: cfg.or("CHAOS_TRIPLE_INPUTS", 6usize)?,
            burst: cfg.or("CHAOS_BURST", 200usize)?,
            analyses: cfg.or("CHAOS_ANALYSES", 1200usize)?,
            settle_secs: cfg.or("CHAOS_SETTLE_SECS", 240u64)?,
            only: cfg
                .optional::<String>("CHAOS_ONLY")?
                .map(|s| {
                    s.split(',')
                        .map(|x| x.trim().to_owned())
                        .filter(|x| !x.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
        })
    }
}

pub struct Run {
    pub base: ConfigSource,
    pub edgar_url: String,
    pub fmp_url: String,
    pub exe: PathBuf,
    pub logs: PathBuf,
    pub knobs: Knobs,
    pub services_script: PathBuf,
    serial: usize,
}

/// One scenario's world: database, queues, functions in this process, the HTTP API.
struct World {
    extra: Vec<(&'static str, String)>,
    database: String,
    stack: ChaosStack,
    seeder: Seeder,
}

#[derive(Debug, Default)]
pub struct Tally {
    pub counters: Vec<(String, i64, i64)>,
    pub invariants: Vec<(String, i64)>,
    pub dead_letters: i64,
}

impl Tally {
    pub fn lost(&self) -> i64 {
        self.counters
            .iter()
            .map(|(_, want, got)| (want - got).max(0))
            .sum::<i64>()
            + self.dead_letters
    }
    pub fn duplicated(&self) -> i64 {
        self.counters.iter().map(|(_, want, got)| (got - want).max(0)).sum()
    }
    pub fn broken(&self) -> i64 {
        self.invariants.iter().map(|(_, n)| n).sum()
    }
}

#[derive(Debug)]
pub struct FaultReport {
    pub label: String,
    pub inputs: usize,
    pub faults: usize,
    pub tally: Tally,
    /// Fault -> first new effect, per fault (ms).
    pub recovery_ms: Vec<u64>,
    /// Last fault -> all work done (ms).
    pub finish_ms: u64,
    pub note: Option<String>,
}

#[derive(Debug)]
pub struct TripleReport {
    pub label: String,
    pub inputs: usize,
    pub tally: Tally,
}

#[derive(Debug)]
pub struct BurstReport {
    pub requests: usize,
    pub accepted: usize,
    pub statuses: Vec<(u16, usize)>,
    pub tasks: i64,
    pub balance_after_work: Option<(i64, i64)>,
}

/// The pipeline under a crashing database: upload validation, ETL and events together.
const PIPELINE: Counters = &[
    ("data versions", "SELECT count(*) FROM data_versions"),
    ("rows loaded", "SELECT count(*) FROM kpis"),
    ("row versions", "SELECT coalesce(sum(version), 0)::bigint FROM kpis"),
    (
        "loads settled",
        "SELECT count(*) FROM data_versions WHERE status <> 'pending'",
    ),
    ("events stored", "SELECT count(*) FROM events"),
];
const PIPELINE_INVARIANTS: Counters = &[(
    "outbox rows never published",
    "SELECT count(*) FROM outbox WHERE published_at IS NULL",
)];
const PIPELINE_SOURCES: [&str; 3] = ["ingest-validator", "etl-transformer", "sse-notifier"];

type Samples = std::sync::Arc<std::sync::Mutex<Vec<(Instant, i64)>>>;

struct Worker {
    child: tokio::process::Child,
    lines: mpsc::UnboundedReceiver<String>,
}

impl Worker {
    /// Waits for `line` from the worker; false on timeout or exit.
    async fn wait_for(&mut self, line: &str, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Ok(Some(l)) if l == line => return true,
                Ok(Some(_)) => continue,
                _ => return false,
            }
        }
    }

    /// SIGKILL, and reap it.
    async fn kill(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

impl Run {
    pub fn new(
        base: ConfigSource,
        edgar_url: String,
        fmp_url: String,
        exe: PathBuf,
        logs: PathBuf,
        services_script: PathBuf,
    ) -> anyhow::Result<Self> {
        let knobs = Knobs::load(&base)?;
        Ok(Self {
            base,
            edgar_url,
            fmp_url,
            exe,
            logs,
            knobs,
            services_script,
            serial: 0,
        })
    }

    pub fn consumers(&self) -> Vec<&'static Consumer> {
        CONSUMERS
            .iter()
            .filter(|c| self.knobs.only.is_empty() || self.knobs.only.iter().any(|o| o == c.source))
            .collect()
    }

    async fn world(&mut self, tag: &str) -> anyhow::Result<World> {
        self.serial += 1;
        let database = format!("sluice_chaos_{}_{}", std::process::id(), self.serial);
        let prefix = format!("chaos{}-{}-{tag}", std::process::id(), self.serial);
        stack::create_database(&self.base, &database).await?.close();
        let extra = stack::extra_settings(&database, &prefix, &self.edgar_url, &self.fmp_url);
        let mut cfg = self.base.clone();
        for (k, v) in &extra {
            cfg = cfg.with(k, v.clone());
        }
        let stack = ChaosStack::open(&cfg).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let api = format!("http://{}", listener.local_addr()?);
        let router = stack.functions.api.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(World {
            extra,
            database,
            stack,
            seeder: Seeder {
                api,
                http: reqwest::Client::new(),
            },
        })
    }

    async fn close(&self, world: World) {
        world.stack.pool.close();
        drop(world.stack);
        if self.base.or("CHAOS_KEEP_DATABASES", false).unwrap_or(false) {
            return;
        }
        stack::drop_database(&self.base, &world.database).await;
    }

    fn spawn(&self, world: &World, sources: &[&str]) -> anyhow::Result<Worker> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.logs.join("workers.log"))?;
        let mut cmd = tokio::process::Command::new(&self.exe);
        cmd.arg("worker")
            .args(sources)
            .envs(world.extra.iter().map(|(k, v)| (*k, v.as_str())))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true);
        let mut child = cmd.spawn().context("spawning a worker")?;
        let stdout = child.stdout.take().context("worker stdout")?;
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(stdout).lines();
            while let Ok(Some(l)) = lines.next_line().await {
                if tx.send(l).is_err() {
                    return;
                }
            }
        });
        Ok(Worker { child, lines: rx })
    }

    /// What one input of `seed` makes `sources` do, fault-free, in a world of its own.
    async fn calibrate(&mut self, seed: Seed, sources: &[&str], counters: Counters) -> anyhow::Result<Vec<i64>> {
        let world = self.world("cal").await?;
        let result = async {
            world.seeder.seed(&world.stack, seed, 1).await?;
            for s in sources {
                world.stack.drain(s).await?;
            }
            world
                .seeder
                .finish(&world.stack, seed, Duration::from_secs(self.knobs.settle_secs))
                .await?;
            let counts = world.stack.count(counters).await?;
            anyhow::ensure!(counts.iter().any(|&c| c > 0), "one input made no effect at all");
            Ok(counts)
        }
        .await;
        self.close(world).await;
        result
    }

    async fn tally(
        world: &World,
        counters: Counters,
        per_input: &[i64],
        inputs: usize,
        invariants: Counters,
        queues: &[&str],
    ) -> anyhow::Result<Tally> {
        let got = world.stack.count(counters).await?;
        let mut dead_letters = 0;
        for q in queues {
            dead_letters += world.stack.depth(&world.stack.queue(q)?.dlq_url).await?;
        }
        Ok(Tally {
            counters: counters
                .iter()
                .zip(per_input)
                .zip(got)
                .map(|(((name, _), per), got)| ((*name).to_owned(), per * inputs as i64, got))
                .collect(),
            invariants: invariants
                .iter()
                .map(|(n, _)| (*n).to_owned())
                .zip(world.stack.count(invariants).await?)
                .collect(),
            dead_letters,
        })
    }

    /// Samples the sum of `counters` every 25 ms until dropped (errors while the
    /// database is down are skipped).
    fn monitor(world: &World, counters: Counters) -> (tokio::task::JoinHandle<()>, Samples) {
        let samples = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (pool, out) = (world.stack.pool.clone(), samples.clone());
        let sql = format!(
            "SELECT {}",
            counters
                .iter()
                .map(|(_, q)| format!("({q})"))
                .collect::<Vec<_>>()
                .join(" + ")
        );
        let handle = tokio::spawn(async move {
            loop {
                if let Ok(client) = pool.get().await {
                    if let Ok(row) = client.query_one(sql.as_str(), &[]).await {
                        let v: i64 = row.get(0);
                        if let Ok(mut s) = out.lock() {
                            s.push((Instant::now(), v));
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        });
        (handle, samples)
    }

    /// For each fault at `t`: the time from `t` to the first sample above the level seen
    /// just after it (once the killed process can no longer commit).
    fn recoveries(faults: &[(Instant, Duration)], samples: &[(Instant, i64)]) -> Vec<u64> {
        faults
            .iter()
            .filter_map(|(t, settle)| {
                let after = *t + *settle;
                let base = samples.iter().find(|(s, _)| *s >= after)?.1;
                samples
                    .iter()
                    .find(|(s, v)| *s > after && *v > base)
                    .map(|(s, _)| s.duration_since(*t).as_millis() as u64)
            })
            .collect()
    }

    /// Waits until `queues` are empty and the counters reach what `inputs` should make
    /// (or stop moving for long after the queues emptied), at most `settle_secs`.
    async fn settle(&self, world: &World, queues: &[&str], counters: Counters, want: &[i64]) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(self.knobs.settle_secs);
        let mut empty_rounds = 0;
        while Instant::now() < deadline {
            let mut depth = 0;
            for q in queues {
                depth += world.stack.depth(&world.stack.queue(q)?.url).await.unwrap_or(1);
            }
            let got = world.stack.count(counters).await.unwrap_or_default();
            if depth == 0 && got.as_slice() == want {
                return Ok(());
            }
            empty_rounds = if depth == 0 { empty_rounds + 1 } else { 0 };
            // Empty queues and counters still short for 10 s: nothing more will come.
            if empty_rounds > 40 {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Ok(())
    }

    /// SIGKILL of the consumer's process at random points of its work, `kills` times.
    pub async fn kill_consumer(&mut self, c: &Consumer) -> anyhow::Result<FaultReport> {
        let per_input = self.calibrate(c.seed, &[c.source], c.effects).await?;
        let world = self.world("kill").await?;
        let topped_up = !matches!(c.seed, Seed::AnalysisRequests);
        let (monitor, samples) = Self::monitor(&world, c.effects);
        let mut rng = rand::thread_rng();
        let queue = world.stack.queue(c.source)?.url.clone();
        let first = if topped_up {
            self.knobs.wave
        } else {
            self.knobs.analyses
        };
        let mut inputs = world.seeder.seed(&world.stack, c.seed, first).await?;
        let mut kills: Vec<(Instant, Duration)> = Vec::new();
        let mut note = None;
        let started = Instant::now();
        while kills.len() < self.knobs.kills {
            if started.elapsed() > Duration::from_secs(3600) {
                note = Some("stopped after an hour".to_owned());
                break;
            }
            let mut worker = self.spawn(&world, &[c.source])?;
            anyhow::ensure!(
                worker.wait_for("ready", Duration::from_secs(120)).await,
                "{}: the worker did not start (see workers.log)",
                c.source
            );
            if !worker.wait_for("batch", Duration::from_secs(8)).await {
                worker.kill().await;
                if world.stack.depth(&queue).await? == 0 {
                    if !topped_up {
                        note = Some(format!(
                            "its work ran out after {} kills: raise CHAOS_ANALYSES",
                            kills.len()
                        ));
                        break;
                    }
                    inputs += world.seeder.seed(&world.stack, c.seed, self.knobs.wave).await?;
                }
                continue;
            }
            tokio::time::sleep(Duration::from_millis(rng.gen_range(0..=self.knobs.kill_max_ms))).await;
            let working = world.stack.depth(&queue).await? > 0;
            let at = Instant::now();
            worker.kill().await;
            if working {
                kills.push((at, Duration::from_millis(60)));
            }
            if topped_up && world.stack.depth(&queue).await? < (self.knobs.wave / 2) as i64 {
                inputs += world.seeder.seed(&world.stack, c.seed, self.knobs.wave).await?;
            }
        }
        let last = Instant::now();
        let worker = self.spawn(&world, &[c.source])?;
        let want: Vec<i64> = per_input.iter().map(|p| p * inputs as i64).collect();
        world
            .seeder
            .finish(&world.stack, c.seed, Duration::from_secs(self.knobs.settle_secs))
            .await?;
        self.settle(&world, &[c.source], c.effects, &want).await?;
        let finish_ms = last.elapsed().as_millis() as u64;
        worker.kill().await;
        monitor.abort();
        let tally = Self::tally(&world, c.effects, &per_input, inputs, c.invariants, &[c.source]).await?;
        let recovery_ms = Self::recoveries(&kills, &samples.lock().map(|s| s.clone()).unwrap_or_default());
        self.close(world).await;
        Ok(FaultReport {
            label: c.label.to_owned(),
            inputs,
            faults: kills.len(),
            tally,
            recovery_ms,
            finish_ms,
            note,
        })
    }

    /// PostgreSQL restarted in immediate mode while the pipeline (validation, ETL,
    /// events; one process, not killed) works.
    pub async fn crash_database(&mut self) -> anyhow::Result<FaultReport> {
        let label = "pipeline (validation + ETL + events), PostgreSQL restarted -m immediate";
        let wave = self.knobs.wave * 3;
        self.crash_under(
            label,
            Seed::Uploads,
            &PIPELINE_SOURCES,
            PIPELINE,
            PIPELINE_INVARIANTS,
            wave,
        )
        .await
    }

    /// PostgreSQL restarted in immediate mode while `consumer` (one process, not killed) works.
    pub async fn crash_consumer(&mut self, c: &Consumer) -> anyhow::Result<FaultReport> {
        let label = format!("{}, PostgreSQL restarted -m immediate", c.label);
        let wave = self.knobs.wave;
        self.crash_under(&label, c.seed, &[c.source], c.effects, c.invariants, wave)
            .await
    }

    async fn crash_under(
        &mut self,
        label: &str,
        seed: Seed,
        sources: &[&str],
        counters: Counters,
        invariants: Counters,
        wave: usize,
    ) -> anyhow::Result<FaultReport> {
        let per_input = self.calibrate(seed, sources, counters).await?;
        let world = self.world("pg").await?;
        let (monitor, samples) = Self::monitor(&world, counters);
        let mut rng = rand::thread_rng();
        let mut worker = self.spawn(&world, sources)?;
        anyhow::ensure!(
            worker.wait_for("ready", Duration::from_secs(120)).await,
            "the {label} worker did not start"
        );
        let mut inputs = 0;
        let mut crashes: Vec<(Instant, Duration)> = Vec::new();
        let queues = sources
            .iter()
            .map(|s| Ok(world.stack.queue(s)?.url.clone()))
            .collect::<anyhow::Result<Vec<_>>>()?;
        while crashes.len() < self.knobs.pg_restarts {
            inputs += Self::seed_after_crash(&world, seed, wave).await?;
            // Mid-work: after the consumer has been handed records, while some wait.
            while worker.lines.try_recv().is_ok() {}
            worker.wait_for("batch", Duration::from_secs(30)).await;
            tokio::time::sleep(Duration::from_millis(rng.gen_range(0..=self.knobs.kill_max_ms))).await;
            let mut depth = 0;
            for q in &queues {
                depth += world.stack.depth(q).await?;
            }
            if depth == 0 {
                continue;
            }
            let at = Instant::now();
            let status = tokio::process::Command::new(&self.services_script)
                .arg("crash-pg")
                .status()
                .await?;
            anyhow::ensure!(status.success(), "scripts/services.sh crash-pg failed");
            // Recovery is counted from the crash; the level is read once the server is back.
            crashes.push((at, at.elapsed()));
        }
        let last = Instant::now();
        let want: Vec<i64> = per_input.iter().map(|p| p * inputs as i64).collect();
        world
            .seeder
            .finish(&world.stack, seed, Duration::from_secs(self.knobs.settle_secs))
            .await?;
        self.settle(&world, sources, counters, &want).await?;
        let finish_ms = last.elapsed().as_millis() as u64;
        worker.kill().await;
        monitor.abort();
        let tally = Self::tally(&world, counters, &per_input, inputs, invariants, sources).await?;
        let recovery_ms = Self::recoveries(&crashes, &samples.lock().map(|s| s.clone()).unwrap_or_default());
        self.close(world).await;
        Ok(FaultReport {
            label: label.to_owned(),
            inputs,
            faults: crashes.len(),
            tally,
            recovery_ms,
            finish_ms,
            note: None,
        })
    }

    /// Seeds a wave; the harness's own connections may still be the crashed server's, so a
    /// failure is retried for a while (as the consumer's are).
    async fn seed_after_crash(world: &World, seed: Seed, wave: usize) -> anyhow::Result<usize> {
        let mut attempt = 0;
        loop {
            match world.seeder.seed(&world.stack, seed, wave).await {
                Ok(n) => return Ok(n),
                Err(e) if attempt < 20 => {
                    attempt += 1;
                    tracing::warn!(error = %e, attempt, "seeding after a restart failed; trying again");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Every message of the consumer's kind delivered three times.
    pub async fn triple(&mut self, c: &Consumer) -> anyhow::Result<TripleReport> {
        let per_input = self.calibrate(c.seed, &[c.source], c.effects).await?;
        let world = self.world("x3").await?;
        let n = self.knobs.triple_inputs;
        let result = async {
            let n = world.seeder.seed(&world.stack, c.seed, n).await?;
            let taken = world.stack.multiply(c.source, 3).await?;
            anyhow::ensure!(taken >= n, "{}: {taken} messages on the queue for {n} inputs", c.source);
            world.stack.drain(c.source).await?;
            world
                .seeder
                .finish(&world.stack, c.seed, Duration::from_secs(self.knobs.settle_secs))
                .await?;
            Self::tally(&world, c.effects, &per_input, n, c.invariants, &[c.source]).await
        }
        .await;
        self.close(world).await;
        Ok(TripleReport {
            label: c.label.to_owned(),
            inputs: n,
            tally: result?,
        })
    }

    /// `burst` different analyses at once from an account that can pay for one; then
    /// the accepted one is carried out and charged.
    pub async fn burst(&mut self) -> anyhow::Result<BurstReport> {
        let world = self.world("burst").await?;
        let result = async {
            let (accepted, statuses) = consumers::burst(&world.stack, &world.seeder, self.knobs.burst).await?;
            let tasks: i64 = world
                .stack
                .pool
                .get()
                .await?
                .query_one("SELECT count(*) FROM tasks", &[])
                .await?
                .get(0);
            world.stack.drain("filing-fetcher").await?;
            // The burst's accounts are professional: the priority lane.
            world.stack.drain("llm-analyzer-priority").await?;
            let row = world
                .stack
                .pool
                .get()
                .await?
                .query_one(
                    "SELECT (SELECT credit_balance_micros FROM user_accounts WHERE user_id LIKE 'chaos-burst-%'),
                            (SELECT count(*) FROM usage_transactions)",
                    &[],
                )
                .await?;
            Ok(BurstReport {
                requests: self.knobs.burst,
                accepted,
                statuses,
                tasks,
                balance_after_work: Some((row.get(0), row.get(1))),
            })
        }
        .await;
        self.close(world).await;
        result
    }
}
