//! A fake SEC EDGAR serving a local mirror folder.
//!
//! - One base URL stands for both www.sec.gov and data.sec.gov: it serves
//!   `/files/company_tickers.json`, `/submissions/<file>.json` and
//!   `/Archives/edgar/data/<cik>/<accession-folder>/<document>` from files laid out
//!   at the same paths under `mirror_dir` (symlinks followed). Anything else is a
//!   404 with S3's `NoSuchKey` XML, as data.sec.gov answers an unknown CIK.
//! - Like the SEC, it refuses (403) a request whose User-Agent is missing or has no
//!   contact e-mail, and gzips answers for clients that accept it.
//! - It logs every request's arrival instant, path, User-Agent and Accept-Encoding,
//!   and can answer the next N requests 429 (`Retry-After: 1`) or 503, or delay each
//!   answer, so a client's retries and rate limit can be tested.

use crate::fmp::max_in_sliding_window;
use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct FakeEdgarConfig {
    /// The mirror: `files/`, `submissions/` and `Archives/edgar/data/` as on sec.gov.
    pub mirror_dir: PathBuf,
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
}

impl FakeEdgarConfig {
    pub fn new(mirror_dir: impl Into<PathBuf>) -> Self {
        Self {
            mirror_dir: mirror_dir.into(),
            port: 0,
        }
    }

    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }
}

#[derive(Debug)]
struct Controls {
    throttle_next: u32,
    unavailable_next: u32,
    delay: Option<Duration>,
    gzip: bool,
}

#[derive(Debug)]
struct Log {
    started: Instant,
    /// Arrival instants of every request, in arrival order.
    instants: Vec<Instant>,
    by_path: BTreeMap<String, u64>,
    /// Each request's User-Agent (`None`: not sent), in arrival order.
    user_agents: Vec<Option<String>>,
    accept_encodings: Vec<Option<String>>,
    throttled: u64,
    unavailable: u64,
    forbidden: u64,
    not_found: u64,
}

/// What the fake saw, and the switches that change what it answers. Cheap to clone.
#[derive(Clone)]
pub struct EdgarStats {
    log: Arc<Mutex<Log>>,
    controls: Arc<Mutex<Controls>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl EdgarStats {
    fn new() -> Self {
        Self {
            log: Arc::new(Mutex::new(Log {
                started: Instant::now(),
                instants: Vec::new(),
                by_path: BTreeMap::new(),
                user_agents: Vec::new(),
                accept_encodings: Vec::new(),
                throttled: 0,
                unavailable: 0,
                forbidden: 0,
                not_found: 0,
            })),
            controls: Arc::new(Mutex::new(Controls {
                throttle_next: 0,
                unavailable_next: 0,
                delay: None,
                gzip: true,
            })),
        }
    }

    /// Every request (answered, throttled or refused).
    pub fn total(&self) -> usize {
        lock(&self.log).instants.len()
    }

    /// Arrival instants of every request, in arrival order.
    pub fn request_instants(&self) -> Vec<Instant> {
        lock(&self.log).instants.clone()
    }

    /// Arrival times as offsets from the server's start.
    pub fn request_times(&self) -> Vec<Duration> {
        let log = lock(&self.log);
        log.instants
            .iter()
            .map(|t| t.saturating_duration_since(log.started))
            .collect()
    }

    /// The most requests that arrived within any sliding `window`.
    pub fn max_in_window(&self, window: Duration) -> usize {
        let mut times = self.request_times();
        times.sort();
        max_in_sliding_window(&times, window)
    }

    /// Requests for one path, e.g. `/submissions/CIK0000320193.json`.
    pub fn requests_to(&self, path: &str) -> u64 {
        lock(&self.log).by_path.get(path).copied().unwrap_or(0)
    }

    /// Request counts by path.
    pub fn paths(&self) -> BTreeMap<String, u64> {
        lock(&self.log).by_path.clone()
    }

    /// Each request's User-Agent (`None`: not sent), in arrival order.
    pub fn user_agents(&self) -> Vec<Option<String>> {
        lock(&self.log).user_agents.clone()
    }

    /// Each request's Accept-Encoding (`None`: not sent), in arrival order.
    pub fn accept_encodings(&self) -> Vec<Option<String>> {
        lock(&self.log).accept_encodings.clone()
    }

    pub fn throttled(&self) -> u64 {
        lock(&self.log).throttled
    }

    pub fn unavailable(&self) -> u64 {
        lock(&self.log).unavailable
    }

    /// Requests refused for their User-Agent.
    pub fn forbidden(&self) -> u64 {
        lock(&self.log).forbidden
    }

    pub fn not_found(&self) -> u64 {
        lock(&self.log).not_found
    }

    /// Forgets the request log (not the switches).
    pub fn reset(&self) {
        let mut log = lock(&self.log);
        log.instants.clear();
        log.by_path.clear();
        log.user_agents.clear();
        log.accept_encodings.clear();
        log.throttled = 0;
        log.unavailable = 0;
        log.forbidden = 0;
        log.not_found = 0;
    }

    /// The next `n` requests answer 429 with `Retry-After: 1`.
    pub fn throttle_next(&self, n: u32) {
        lock(&self.controls).throttle_next = n;
    }

    /// The next `n` requests answer 503 (`u32::MAX`: until told otherwise).
    pub fn fail_next(&self, n: u32) {
        lock(&self.controls).unavailable_next = n;
    }

    /// Every answer waits this long first (`None`: no delay).
    pub fn set_delay(&self, delay: Option<Duration>) {
        lock(&self.controls).delay = delay;
    }

    /// Whether bodies are gzipped for clients that accept it (on by default, like the SEC).
    pub fn set_gzip(&self, on: bool) {
        lock(&self.controls).gzip = on;
    }

    fn record(&self, path: &str, headers: &HeaderMap) {
        let text = |name: header::HeaderName| {
            headers
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        };
        let mut log = lock(&self.log);
        log.instants.push(Instant::now());
        *log.by_path.entry(path.to_owned()).or_default() += 1;
        log.user_agents.push(text(header::USER_AGENT));
        log.accept_encodings.push(text(header::ACCEPT_ENCODING));
    }
}

/// A running fake. Dropping it stops the server.
pub struct FakeEdgar {
    /// `http://127.0.0.1:<port>`: the client's www and data base URL.
    pub base_url: String,
    pub stats: EdgarStats,
    server: crate::Server,
}

impl FakeEdgar {
    pub fn shutdown(&mut self) {
        self.server.shutdown();
    }
}

#[derive(Clone)]
struct AppState {
    mirror: Arc<PathBuf>,
    stats: EdgarStats,
}

/// Starts the fake on 127.0.0.1 (a free port unless the config names one).
pub async fn start(config: FakeEdgarConfig) -> std::io::Result<FakeEdgar> {
    let port = config.port;
    let stats = EdgarStats::new();
    let state = AppState {
        mirror: Arc::new(config.mirror_dir),
        stats: stats.clone(),
    };
    let app = Router::new().fallback(serve).with_state(state);
    let server = crate::Server::serve(port, app, "fake EDGAR").await?;
    Ok(FakeEdgar {
        base_url: server.base_url.clone(),
        stats,
        server,
    })
}

/// What the SEC answers a request without a declared User-Agent (abridged).
const UNDECLARED_TOOL: &str = "<!DOCTYPE html>\n<html><head><title>SEC.gov | Your Request Originates from an \
Undeclared Automated Tool</title></head>\n<body><h1>Your Request Originates from an Undeclared Automated Tool</h1>\n\
<p>To allow for equitable access to all users, SEC reserves the right to limit requests originating from \
undeclared automated tools. Your request has been identified as part of a network of automated tools outside of \
the acceptable policy and will be managed until action is taken to declare your traffic.</p>\n<p>Please declare \
your traffic by updating your user agent to include company specific information.</p>\n<p>For best practices on \
efficiently downloading information from SEC.gov, including the latest EDGAR filings, visit sec.gov/developer.</p>\n\
</body></html>\n";

fn no_such_key(key: &str) -> Response {
    let key: String = key
        .chars()
        .map(|c| match c {
            '<' | '>' | '&' | '"' | '\'' => '_',
            c => c,
        })
        .collect();
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not \
         exist.</Message><Key>{key}</Key><RequestId>FAKEEDGAR0000000</RequestId><HostId>fake-edgar</HostId></Error>"
    );
    (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

/// A declared User-Agent names a contact e-mail (the SEC also wants the company).
fn declares_contact(user_agent: &str) -> bool {
    user_agent.split_whitespace().any(|word| {
        let word = word.trim_matches(|c: char| "<>()[],;\"'".contains(c));
        match word.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
            }
            None => false,
        }
    })
}

/// The mirror file for a URL path, if the path is one EDGAR serves and cannot leave the mirror.
fn mirror_path(mirror: &Path, path: &str) -> Option<PathBuf> {
    let rest = path.strip_prefix('/')?;
    let served = ["files/", "submissions/", "Archives/edgar/data/"];
    if !served.iter().any(|p| rest.starts_with(p)) {
        return None;
    }
    let mut out = mirror.to_path_buf();
    for segment in rest.split('/') {
        let plain = !segment.is_empty()
            && segment != "."
            && segment != ".."
            && !segment.starts_with('.')
            && !segment.contains(['\\', ':', '%', '\0']);
        if !plain {
            return None;
        }
        out.push(segment);
    }
    Some(out)
}

fn content_type(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("htm" | "html") => "text/html",
        Some("json") => "application/json",
        Some("xml" | "xsd") => "application/xml",
        Some("txt") => "text/plain",
        _ => "application/octet-stream",
    }
}

fn gzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(body)?;
    encoder.finish()
}

async fn serve(
    axum::extract::State(state): axum::extract::State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let path = uri.path().to_owned();
    state.stats.record(&path, &headers);
    let (delay, gzip_on) = {
        let c = lock(&state.stats.controls);
        (c.delay, c.gzip)
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !declares_contact(user_agent) {
        lock(&state.stats.log).forbidden += 1;
        return (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/html")],
            UNDECLARED_TOOL,
        )
            .into_response();
    }
    let (throttle, unavailable) = {
        let mut c = lock(&state.stats.controls);
        if c.throttle_next > 0 {
            c.throttle_next -= 1;
            (true, false)
        } else if c.unavailable_next > 0 {
            if c.unavailable_next != u32::MAX {
                c.unavailable_next -= 1;
            }
            (false, true)
        } else {
            (false, false)
        }
    };
    if throttle {
        lock(&state.stats.log).throttled += 1;
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "1"), (header::CONTENT_TYPE, "text/html")],
            "<html><head><title>SEC.gov | Request Rate Threshold Exceeded</title></head></html>",
        )
            .into_response();
    }
    if unavailable {
        lock(&state.stats.log).unavailable += 1;
        return (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable").into_response();
    }
    if method != Method::GET && method != Method::HEAD {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let Some(file) = mirror_path(&state.mirror, &path) else {
        lock(&state.stats.log).not_found += 1;
        return no_such_key(path.trim_start_matches('/'));
    };
    let body = match tokio::fs::metadata(&file).await {
        Ok(meta) if meta.is_file() => tokio::fs::read(&file).await,
        _ => Err(std::io::ErrorKind::NotFound.into()),
    };
    let body = match body {
        Ok(body) => body,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            lock(&state.stats.log).not_found += 1;
            return no_such_key(path.trim_start_matches('/'));
        }
        Err(e) => {
            tracing::warn!(error = %e, %path, "fake EDGAR could not read the mirror");
            return (StatusCode::INTERNAL_SERVER_ERROR, "could not read the mirror").into_response();
        }
    };
    let accepts_gzip = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let mut response = if gzip_on && accepts_gzip {
        match gzip(&body) {
            Ok(zipped) => {
                let mut r = Response::new(Body::from(zipped));
                r.headers_mut()
                    .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                r
            }
            Err(_) => Response::new(Body::from(body)),
        }
    } else {
        Response::new(Body::from(body))
    };
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(&file)));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_mirror() {
        let m = Path::new("mirror");
        assert_eq!(
            mirror_path(m, "/submissions/CIK0000320193.json"),
            Some(m.join("submissions").join("CIK0000320193.json"))
        );
        assert!(mirror_path(m, "/Archives/edgar/data/320193/000032019324000123/aapl-20240928.htm").is_some());
        for bad in [
            "/files/../../etc/passwd",
            "/submissions/..",
            "/submissions/a\\..\\b",
            "/Archives/edgar/data//x",
            "/Archives/edgar/data/%2e%2e/x",
            "/etc/passwd",
            "/submissions/.hidden",
            "submissions/x.json",
            "/files/C:/x",
        ] {
            assert_eq!(mirror_path(m, bad), None, "{bad}");
        }
    }

    #[test]
    fn a_declared_user_agent_names_an_email() {
        assert!(declares_contact("Sluice Research ops@example.com"));
        assert!(declares_contact("Sluice (ops@example.com)"));
        assert!(!declares_contact(""));
        assert!(!declares_contact("python-requests/2.31"));
        assert!(!declares_contact("Sluice ops@localhost"));
    }

    #[test]
    fn content_types_by_extension() {
        assert_eq!(content_type(Path::new("a.HTM")), "text/html");
        assert_eq!(content_type(Path::new("a.json")), "application/json");
        assert_eq!(content_type(Path::new("a.zip")), "application/octet-stream");
    }
}
