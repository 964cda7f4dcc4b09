//! `sluice-bench`: the benchmarks of BENCHMARKS.md (run them with `make bench`).
//!
//!   sluice-bench gen-kpis --rows N --out FILE [--seed S]   write a messy KPI CSV (never in a measuring process)
//!   sluice-bench etl --file FILE [--first F] [--template DB]  the full S3-to-PostgreSQL load, as the pipeline runs it
//!   sluice-bench copy --file FILE [--template DB]          the limit: a plain COPY of the same clean rows
//!   sluice-bench preload --rows N --db DB                  a template database whose kpis holds N rows
//!   sluice-bench drop-preloaded --db DB                    drops it
//!   sluice-bench init --bin PATH [--runs N]                spawn to the first Runtime API `next` of a function binary
//!   sluice-bench stages --file FILE [--explain] [--reload [--edit-all]] [--analyze-stage] [--set k=v,...] [--save-staged F]  where the load's time goes, step by step
//!   sluice-bench csv-export --file FILE [--checkpoint N]   the file's clean rows into `kpis`, then `GET /v1/kpis` as CSV
//!                                                          through the HTTP API: rows/s, bytes, peak RSS at N rows and at the end
//!   sluice-bench retrieval --fixtures DIR --set DIR [--chunks N] [--passes P] [--verbose]
//!                                                          Ask Sluice's retrieval: recall@5 and MRR (full text, vector, hybrid),
//!                                                          the Apple 10-K's indexing chunks/s, search p50/p99 over N chunks
//!   sluice-bench retrieval-chunks --fixtures DIR           the filings' chunks as JSON lines (for writing questions)
//!   sluice-bench http-load [--connections 50] [--requests N] [--kpi-rows 100000]
//!                                                          the HTTP API under load: GET /v1/me, a pool hit on POST /v1/analyses,
//!                                                          a KPI query; requests/s, p50/p95/p99, errors per route
//!
//! `etl`, `copy` and `stages` take `--prepare SQL`, run on their fresh database after the
//! migrations (experiments: e.g. what a constraint costs; `make bench` never passes it).
//!
//! `etl`, `copy` and `stages` read the environment like the local runner (`.local/services.env`)
//! and work in a database and moto resources of their own, removed at the end. Each prints one
//! JSON line starting with `{"bench":` on stdout (the handlers' metric lines go there too).

mod copy;
mod etl;
mod export;
mod http;
mod init;
mod parsed;
mod retrieval;
mod stack;
mod stages;

use anyhow::{bail, Context};
use sluice_bench::gen::{generate, GenOptions};
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

struct Args {
    command: String,
    options: HashMap<String, String>,
}

impl Args {
    fn parse() -> anyhow::Result<Self> {
        let mut raw = std::env::args().skip(1).peekable();
        let command = raw.next().unwrap_or_default();
        let mut options = HashMap::new();
        while let Some(arg) = raw.next() {
            let Some(name) = arg.strip_prefix("--") else {
                bail!("unexpected argument `{arg}`");
            };
            let value = match raw.peek() {
                Some(v) if !v.starts_with("--") => raw.next().unwrap_or_default(),
                _ => String::new(),
            };
            options.insert(name.to_owned(), value);
        }
        Ok(Self { command, options })
    }

    fn required(&self, name: &str) -> anyhow::Result<&str> {
        match self.options.get(name).map(String::as_str) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => bail!("--{name} is required"),
        }
    }

    fn file(&self) -> anyhow::Result<PathBuf> {
        let path = PathBuf::from(self.required("file")?);
        if !path.is_file() {
            bail!("{} is not a file", path.display());
        }
        Ok(path)
    }

    fn flag(&self, name: &str) -> bool {
        self.options.contains_key(name)
    }
}

fn print_report(report: &impl serde::Serialize) -> anyhow::Result<()> {
    let line = serde_json::to_string(report)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()?;
    Ok(())
}

fn gen_kpis(args: &Args) -> anyhow::Result<()> {
    let rows: u64 = args.required("rows")?.replace('_', "").parse().context("--rows")?;
    let seed: u64 = match args.options.get("seed") {
        Some(s) => s.parse().context("--seed")?,
        None => 20_240_601,
    };
    let out = PathBuf::from(args.required("out")?);
    let file = std::fs::File::create(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let started = std::time::Instant::now();
    let stats = generate(
        std::io::BufWriter::with_capacity(1 << 20, file),
        GenOptions { rows, seed },
    )
    .with_context(|| format!("writing {}", out.display()))?;
    #[derive(serde::Serialize)]
    struct GenReport {
        bench: &'static str,
        file: String,
        seed: u64,
        seconds: f64,
        #[serde(flatten)]
        stats: sluice_bench::gen::GenStats,
    }
    let report = GenReport {
        bench: "gen-kpis",
        file: out.display().to_string(),
        seed,
        seconds: started.elapsed().as_secs_f64(),
        stats,
    };
    print_report(&report)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    sluice_core::telemetry::init("sluice-bench");
    let args = Args::parse()?;
    let prepare = args
        .options
        .get("prepare")
        .map(String::as_str)
        .filter(|s| !s.is_empty());
    let template = args
        .options
        .get("template")
        .map(String::as_str)
        .filter(|s| !s.is_empty());
    match args.command.as_str() {
        "gen-kpis" => gen_kpis(&args),
        "etl" => {
            let first = args.options.get("first").filter(|f| !f.is_empty()).map(PathBuf::from);
            print_report(&etl::run(&args.file()?, prepare, template, first.as_deref()).await?)
        }
        "copy" => print_report(&copy::run(&args.file()?, prepare, template).await?),
        "preload" => {
            let rows: u64 = args.required("rows")?.replace('_', "").parse().context("--rows")?;
            let name = args.required("db")?;
            let started = std::time::Instant::now();
            stack::create_preloaded(&sluice_core::ConfigSource::from_env(), name, rows).await?;
            print_report(&serde_json::json!({
                "bench": "preload", "db": name, "rows": rows, "seconds": started.elapsed().as_secs_f64()
            }))
        }
        "init" => {
            let runs: usize = match args.options.get("runs") {
                Some(r) => r.parse().context("--runs")?,
                None => 5,
            };
            print_report(&init::run(&PathBuf::from(args.required("bin")?), runs)?)
        }
        "drop-preloaded" => stack::drop_preloaded(&sluice_core::ConfigSource::from_env(), args.required("db")?).await,
        "csv-export" => {
            let checkpoint: u64 = match args.options.get("checkpoint") {
                Some(n) => n.replace('_', "").parse().context("--checkpoint")?,
                None => 100_000,
            };
            print_report(&export::run(&args.file()?, checkpoint).await?)
        }
        "retrieval" | "retrieval-chunks" => {
            let number = |name: &str, default: usize| -> anyhow::Result<usize> {
                match args.options.get(name) {
                    Some(n) => n.replace('_', "").parse().with_context(|| format!("--{name}")),
                    None => Ok(default),
                }
            };
            let options = retrieval::RetrievalOptions {
                fixtures: PathBuf::from(args.required("fixtures")?),
                set: PathBuf::from(args.options.get("set").map_or("tools/bench/retrieval", String::as_str)),
                chunks: number("chunks", 100_000)?,
                passes: number("passes", 5)?,
                verbose: args.flag("verbose"),
            };
            if args.command == "retrieval" {
                print_report(&retrieval::run(options).await?)
            } else {
                retrieval::dump(&options)
            }
        }
        "http-load" => {
            let number = |name: &str, default: u64| -> anyhow::Result<u64> {
                match args.options.get(name) {
                    Some(n) => n.replace('_', "").parse().with_context(|| format!("--{name}")),
                    None => Ok(default),
                }
            };
            let connections = usize::try_from(number("connections", 50)?)?;
            print_report(&http::run(connections, number("requests", 5_000)?, number("kpi-rows", 100_000)?).await?)
        }
        "stages" => {
            let options = stages::StagesOptions {
                explain: args.flag("explain"),
                reload: args.flag("reload"),
                edit_all: args.flag("edit-all"),
                analyze_stage: args.flag("analyze-stage"),
                settings: args
                    .options
                    .get("set")
                    .map(|s| s.split(',').filter(|p| !p.is_empty()).map(str::to_owned).collect())
                    .unwrap_or_default(),
                save_staged: args
                    .options
                    .get("save-staged")
                    .filter(|s| !s.is_empty())
                    .map(PathBuf::from),
                prepare: prepare.map(str::to_owned),
            };
            print_report(&stages::run(&args.file()?, options).await?)
        }
        _ => {
            eprintln!(
                "usage: sluice-bench gen-kpis --rows N --out FILE [--seed S]\n       \
                 sluice-bench etl --file FILE [--first FILE] [--template DB]\n       \
                 sluice-bench copy --file FILE [--template DB]\n       \
                 sluice-bench preload --rows N --db DB\n       sluice-bench drop-preloaded --db DB\n       \
                 sluice-bench init --bin PATH [--runs N]\n       \
                 sluice-bench csv-export --file FILE [--checkpoint N]\n       \
                 sluice-bench retrieval --fixtures DIR [--set DIR] [--chunks N] [--passes P] [--verbose]\n       \
                 sluice-bench retrieval-chunks --fixtures DIR\n       \
                 sluice-bench http-load [--connections N] [--requests N] [--kpi-rows N]\n       \
                 sluice-bench stages --file FILE [--explain] [--reload [--edit-all]] [--analyze-stage] [--set name=value,...] [--save-staged FILE] [--prepare SQL]"
            );
            std::process::exit(2);
        }
    }
}
