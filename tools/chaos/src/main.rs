//! `sluice-chaos`: the fault figures of RELIABILITY.md (`make chaos`, scripts/chaos.sh).
//!
//!   sluice-chaos run                 every scenario; a Markdown report on stdout
//!   sluice-chaos worker SOURCE...    (spawned by `run`) consumers in a process to be killed
//!
//! Knobs: CHAOS_KILLS (50 per consumer), CHAOS_WAVE, CHAOS_KILL_MAX_MS, CHAOS_PG_RESTARTS,
//! CHAOS_TRIPLE_INPUTS, CHAOS_BURST (200), CHAOS_ANALYSES, CHAOS_SETTLE_SECS, CHAOS_ONLY
//! (comma-separated event sources). Run from the repository root with the local services'
//! environment (.local/services.env).

mod consumers;
mod scenarios;
mod stack;
mod worker;

use anyhow::Context;
use scenarios::{BurstReport, FaultReport, Run, Tally, TripleReport};
use sluice_core::ConfigSource;
use std::fmt::Write as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    sluice_core::telemetry::init("sluice-chaos");
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("worker") => worker::run(&args[1..]).await,
        Some("run") => {
            let clean = run().await?;
            if !clean {
                std::process::exit(1);
            }
            Ok(())
        }
        _ => {
            eprintln!("usage: sluice-chaos run | sluice-chaos worker SOURCE...");
            std::process::exit(2);
        }
    }
}

fn progress(line: &str) {
    eprintln!("[chaos] {line}");
}

async fn run() -> anyhow::Result<bool> {
    let base = ConfigSource::from_env();
    let root = std::env::current_dir()?;
    let logs = root.join(".local/chaos");
    std::fs::create_dir_all(&logs)?;
    let mirror = tempfile::tempdir()?;
    let status = std::process::Command::new("bash")
        .arg(root.join("scripts/edgar-mirror.sh"))
        .arg(mirror.path())
        .stdout(std::process::Stdio::null())
        .status()
        .context("scripts/edgar-mirror.sh")?;
    anyhow::ensure!(status.success(), "scripts/edgar-mirror.sh failed");
    let edgar = sluice_fakes::edgar::start(sluice_fakes::edgar::FakeEdgarConfig::new(mirror.path())).await?;
    // The price jobs' vendor: generated bars for the run's tickers.
    let fmp = sluice_fakes::start(sluice_fakes::FakeFmpConfig::new(stack::FMP_KEY)).await?;
    let mut run = Run::new(
        base,
        edgar.base_url.clone(),
        fmp.base_url.clone(),
        std::env::current_exe()?,
        logs.clone(),
        root.join("scripts/services.sh"),
    )?;
    progress(&format!("knobs: {:?}", run.knobs));

    let mut kills = Vec::new();
    for c in run.consumers() {
        progress(&format!("{}: killing it {} times", c.label, run.knobs.kills));
        let r = run.kill_consumer(c).await.with_context(|| c.label)?;
        progress(&fault_line(&r));
        kills.push(r);
    }
    let mut crashes = Vec::new();
    if run.knobs.pg_restarts > 0 {
        progress(&format!("PostgreSQL: {} immediate restarts", run.knobs.pg_restarts));
        let r = run.crash_database().await?;
        progress(&fault_line(&r));
        crashes.push(r);
        // Price jobs have their own: their work comes from schedule ticks, not uploads.
        for c in run.consumers().into_iter().filter(|c| c.source == "price-updater") {
            progress(&format!("{}: {} immediate restarts", c.label, run.knobs.pg_restarts));
            let r = run.crash_consumer(c).await.with_context(|| c.label)?;
            progress(&fault_line(&r));
            crashes.push(r);
        }
    }
    let mut triples = Vec::new();
    for c in run.consumers() {
        let r = run.triple(c).await.with_context(|| c.label)?;
        progress(&format!(
            "{} x3: lost {} duplicated {} broken {}",
            r.label,
            r.tally.lost(),
            r.tally.duplicated(),
            r.tally.broken()
        ));
        triples.push(r);
    }
    let burst = if run.knobs.burst > 0 {
        let r = run.burst().await?;
        progress(&format!(
            "burst: {} of {} accepted {:?}",
            r.accepted, r.requests, r.statuses
        ));
        Some(r)
    } else {
        None
    };
    let (report, clean) = report(&kills, &crashes, &triples, burst.as_ref());
    std::fs::write(logs.join("report.md"), &report)?;
    println!("{report}");
    Ok(clean)
}

fn fault_line(r: &FaultReport) -> String {
    format!(
        "{}: {} faults over {} inputs: lost {} duplicated {} broken {}; recovery p50 {} ms max {} ms; finished {} ms after the last",
        r.label,
        r.faults,
        r.inputs,
        r.tally.lost(),
        r.tally.duplicated(),
        r.tally.broken(),
        percentile(&r.recovery_ms, 50),
        r.recovery_ms.iter().max().copied().unwrap_or(0),
        r.finish_ms
    )
}

fn percentile(v: &[u64], p: usize) -> u64 {
    if v.is_empty() {
        return 0;
    }
    let mut s = v.to_vec();
    s.sort_unstable();
    s[((s.len() - 1) * p) / 100]
}

fn detail(t: &Tally) -> String {
    let mut out = t
        .counters
        .iter()
        .map(|(n, want, got)| format!("{n} {got}/{want}"))
        .collect::<Vec<_>>();
    out.extend(t.invariants.iter().map(|(n, v)| format!("{n}: {v}")));
    out.push(format!("dead letters: {}", t.dead_letters));
    out.join("; ")
}

fn report(
    kills: &[FaultReport],
    crash: &[FaultReport],
    triples: &[TripleReport],
    burst: Option<&BurstReport>,
) -> (String, bool) {
    let mut clean = true;
    let mut md = String::new();
    let _ = writeln!(md, "### SIGKILL of each consumer's process mid-work\n");
    let _ = writeln!(
        md,
        "| consumer | kills | inputs | lost | duplicated | broken invariants | recovery p50 / p95 / max (ms) | done after last kill (ms) |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|");
    let rows = kills.iter().chain(crash);
    for r in rows {
        clean &= r.tally.lost() == 0 && r.tally.duplicated() == 0 && r.tally.broken() == 0;
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} / {} / {} | {} |",
            r.label,
            r.faults,
            r.inputs,
            r.tally.lost(),
            r.tally.duplicated(),
            r.tally.broken(),
            percentile(&r.recovery_ms, 50),
            percentile(&r.recovery_ms, 95),
            r.recovery_ms.iter().max().copied().unwrap_or(0),
            r.finish_ms
        );
    }
    let _ = writeln!(md, "\nCounted (got/expected):\n");
    for r in kills.iter().chain(crash) {
        let _ = writeln!(
            md,
            "- {}: {}{}",
            r.label,
            detail(&r.tally),
            r.note.as_deref().map(|n| format!(" ({n})")).unwrap_or_default()
        );
    }
    let _ = writeln!(md, "\n### Every message delivered three times\n");
    let _ = writeln!(
        md,
        "| consumer | inputs (x3 deliveries) | lost | duplicated | broken invariants |"
    );
    let _ = writeln!(md, "|---|---|---|---|---|");
    for r in triples {
        clean &= r.tally.lost() == 0 && r.tally.duplicated() == 0 && r.tally.broken() == 0;
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            r.label,
            r.inputs,
            r.tally.lost(),
            r.tally.duplicated(),
            r.tally.broken()
        );
    }
    let _ = writeln!(md);
    for r in triples {
        let _ = writeln!(md, "- {}: {}", r.label, detail(&r.tally));
    }
    if let Some(b) = burst {
        // 202s answering the same task more than once are fine: tasks made are what counts.
        clean &= b.tasks == 1;
        let _ = writeln!(
            md,
            "\n### Concurrent requests against one analysis's worth of credits\n"
        );
        let _ = writeln!(
            md,
            "{} requests for the mirror's analyses at once: {} answered 202, {} task(s) made; answers {:?}.",
            b.requests, b.accepted, b.tasks, b.statuses
        );
        if let Some((balance, ledger_rows)) = b.balance_after_work {
            clean &= balance == 0;
            let _ = writeln!(
                md,
                "After the accepted analysis ran: balance {balance} micros, {ledger_rows} ledger rows."
            );
        }
    }
    (md, clean)
}
