//! A consumer in a process of its own, as a Lambda instance: built like the runner
//! builds it, polling its queue until it is killed. It says `ready` once built and
//! `batch` each time it is handed records (before handling them), so the harness kills
//! it while it works.

use crate::stack::ChaosStack;
use sluice_core::ConfigSource;
use std::io::Write;
use std::sync::Arc;

pub async fn run(sources: &[String]) -> anyhow::Result<()> {
    let cfg = ConfigSource::from_env();
    let stack = ChaosStack::open(&cfg).await?;
    let (_stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    for name in sources {
        let mut source = stack.source(name, 1)?;
        let inner = source.handler.clone();
        source.handler = Arc::new(move |event| {
            say("batch");
            inner(event)
        });
        tasks.push(tokio::spawn(source.run(stop_rx.clone())));
    }
    say("ready");
    for t in tasks {
        t.await?;
    }
    Ok(())
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    // The harness reading the other end may be gone: nothing to do about it.
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
