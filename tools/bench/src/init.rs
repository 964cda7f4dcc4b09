//! Init time of a function binary: a local Lambda Runtime API (a tiny HTTP server on
//! 127.0.0.1) and the binary started against it with `AWS_LAMBDA_RUNTIME_API`, as Lambda
//! starts it. Measured: process spawn to the first `GET /2018-06-01/runtime/invocation/next`,
//! i.e. the whole of `main` before the first event (config, SDK clients, pool, the
//! function's constructor). A `POST .../init/error` instead fails the measurement with its body.
//!
//! The binary gets this process's environment (the local services) plus a placeholder for
//! each setting a function requires that is not set: init reads settings, it does not call them.

use anyhow::{anyhow, bail, Context};
use serde::Serialize;
use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What functions require at init, with a value of the right shape.
const PLACEHOLDERS: &[(&str, &str)] = &[
    (
        "EVENTS_TOPIC_ARN",
        "arn:aws:sns:us-east-1:000000000000:sluice-init-bench",
    ),
    (
        "DEAD_LETTER_QUEUE_URL",
        "http://127.0.0.1:1/000000000000/init-bench-dlq",
    ),
    (
        "FEEDBACK_DLQ_URL",
        "http://127.0.0.1:1/000000000000/init-bench-feedback-dlq",
    ),
    ("DOCUMENT_BUCKET", "init-bench-documents"),
    ("UPLOAD_BUCKET", "init-bench-uploads"),
    (
        "FEEDBACK_QUEUE_URL",
        "http://127.0.0.1:1/000000000000/init-bench-feedback",
    ),
    (
        "FEEDBACK_QUEUE_ARN",
        "arn:aws:sqs:us-east-1:000000000000:init-bench-feedback",
    ),
    ("FEEDBACK_METRICS_TABLE", "init-bench-feedback-metrics"),
    ("QUOTE_CACHE_TABLE", "init-bench-quotes"),
    ("RATE_LIMIT_TABLE", "init-bench-rate-limits"),
    (
        "PRICE_JOBS_QUEUE_URL",
        "http://127.0.0.1:1/000000000000/init-bench-prices",
    ),
    (
        "FILINGS_QUEUE_URL",
        "http://127.0.0.1:1/000000000000/init-bench-filings",
    ),
    ("ETL_QUEUE_URL", "http://127.0.0.1:1/000000000000/init-bench-etl"),
    (
        "ANALYSES_QUEUE_URL",
        "http://127.0.0.1:1/000000000000/init-bench-analyses",
    ),
    ("EDGAR_USER_AGENT", "sluice-init-bench bench@example.com"),
    ("LLM_MODEL", "init-bench-model"),
    ("LLM_BASE_URL", "http://127.0.0.1:1/v1"),
    ("COGNITO_CLIENT_IDS", "init-bench-client"),
    ("LOCAL_JWT_SECRET", "sluice-init-bench-not-a-secret"),
];

#[derive(Debug, Serialize)]
pub struct InitReport {
    pub bench: &'static str,
    pub function: String,
    pub binary_bytes: u64,
    /// Spawn to the first `next` request, each run, in milliseconds.
    pub runs_ms: Vec<f64>,
    pub median_ms: f64,
}

pub fn run(binary: &Path, runs: usize) -> anyhow::Result<InitReport> {
    let function = binary
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| anyhow!("{} has no file name", binary.display()))?
        .to_owned();
    let binary_bytes = std::fs::metadata(binary)
        .with_context(|| format!("{} is not readable", binary.display()))?
        .len();
    let mut runs_ms = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        runs_ms.push(once(binary, &function)?);
    }
    let mut sorted = runs_ms.clone();
    sorted.sort_by(f64::total_cmp);
    let median_ms = sorted[sorted.len() / 2];
    Ok(InitReport {
        bench: "init",
        function,
        binary_bytes,
        runs_ms,
        median_ms,
    })
}

fn once(binary: &Path, function: &str) -> anyhow::Result<f64> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?;
    let mut command = Command::new(binary);
    command
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", function)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{function}"))
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "init-bench")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (key, value) in PLACEHOLDERS {
        if std::env::var_os(key).is_none() {
            command.env(key, value);
        }
    }
    let started = Instant::now();
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let result = (|| {
        // Polled, so that a binary that exits before asking (a refused setting) ends the
        // measurement with its stderr instead of waiting forever.
        listener.set_nonblocking(true)?;
        let stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if let Some(status) = child.try_wait()? {
                        bail!("{function} exited ({status}) before asking for an event");
                    }
                    std::thread::sleep(Duration::from_micros(50));
                }
                Err(e) => return Err(e.into()),
            }
        };
        let elapsed = started.elapsed();
        stream.set_nonblocking(false)?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut reader = BufReader::new(stream);
        let mut request_line = String::new();
        reader.read_line(&mut request_line)?;
        if request_line.starts_with("GET /2018-06-01/runtime/invocation/next") {
            return Ok(elapsed.as_secs_f64() * 1000.0);
        }
        // Anything else (an init error): read its body for the report.
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 || line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0u8; length.min(64 * 1024)];
        reader.read_exact(&mut body)?;
        bail!(
            "{function} did not ask for an event: {} {}",
            request_line.trim(),
            String::from_utf8_lossy(&body)
        )
    })();
    let _ = child.kill();
    let output = child.wait_with_output()?;
    result.map_err(|e: anyhow::Error| {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
        e.context(format!(
            "stderr: {}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        ))
    })
}
