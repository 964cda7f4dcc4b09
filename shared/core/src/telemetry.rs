//! Structured JSON logs. Handlers open spans carrying `request_id` (the Lambda
//! invocation) and `correlation_id` (the piece of work across functions); every
//! event logged inside carries both.

use tracing_subscriber::{fmt, prelude::*, EnvFilter};

/// Installs the JSON log subscriber once per process; later calls are no-ops.
pub fn init(service: &'static str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(true)
        .with_target(false)
        .with_writer(std::io::stderr);
    // Lambda stamps every line with its own time; locally RUST_LOG_TIME=1 keeps ours
    // (an RFC 3339 `timestamp` first on each line).
    let registry = tracing_subscriber::registry().with(filter);
    let result = if std::env::var_os("RUST_LOG_TIME").is_some() {
        registry.with(json.with_timer(fmt::time::SystemTime)).try_init()
    } else {
        registry.with(json.without_time()).try_init()
    };
    if result.is_ok() {
        tracing::debug!(service, "telemetry initialised");
    }
}
