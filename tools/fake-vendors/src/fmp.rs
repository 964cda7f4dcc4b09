//! A fake Financial Modeling Prep (`/stable/` API).
//!
//! - Serves the recorded responses in `../shared/fixtures/prices/fmp/` (AAPL) when
//!   present, and for every other symbol a deterministic generated response of the
//!   same shape (the same symbol and query always give the same numbers).
//! - Checks the `apikey` header (FMP also accepts an `apikey` query parameter; this
//!   fake refuses it, so a client that leaks the key into URLs fails its tests).
//! - Logs the time of every request and measures the most requests seen in any
//!   sliding window, which is what a vendor's rate limit is judged by.
//! - Can be told to answer 429 with `Retry-After` (the next N requests, or the next
//!   N for one symbol), to fail a symbol with a status, or to serve a given body.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{Datelike, Duration as Days, NaiveDate, Weekday};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct FakeFmpConfig {
    /// The key clients must send in the `apikey` header.
    pub api_key: String,
    /// Where the recorded FMP responses are; `None` or missing: everything is generated.
    pub fixtures_dir: Option<PathBuf>,
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// The local stack's vendor: recorded daily bars are moved forward by whole weeks so
    /// the newest is this week's (weekdays stay weekdays), a recorded quote is stamped
    /// now, and a window with no recorded bar gets generated ones: every example of the
    /// README returns data, whatever today is. Tests keep the recorded dates.
    pub as_of_today: bool,
}

impl FakeFmpConfig {
    pub fn new(api_key: impl Into<String>) -> Self {
        Self {
            api_key: api_key.into(),
            fixtures_dir: None,
            port: 0,
            as_of_today: false,
        }
    }

    pub fn as_of_today(mut self) -> Self {
        self.as_of_today = true;
        self
    }

    pub fn with_fixtures(mut self, dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        self.fixtures_dir = dir.is_dir().then_some(dir);
        self
    }

    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }
}

#[derive(Debug, Default)]
struct Throttle {
    /// The next N requests, whatever they ask, answer 429.
    next: u32,
    /// The next N requests naming a symbol answer 429.
    symbols: HashMap<String, u32>,
    retry_after_secs: Option<u64>,
}

#[derive(Debug, Default)]
struct Controls {
    throttle: Throttle,
    /// symbol -> status every request for it gets.
    failing: HashMap<String, u16>,
    /// (endpoint, symbol) -> the body to serve instead.
    bodies: HashMap<(String, String), Value>,
}

#[derive(Debug)]
struct Log {
    started: Instant,
    /// Offsets from `started` of every request, in arrival order.
    times: Vec<Duration>,
    by_endpoint: BTreeMap<String, u64>,
    by_symbol: HashMap<String, u64>,
    throttled: u64,
    unauthorised: u64,
}

/// What the fake saw, and the switches that change what it answers. Cheap to clone.
#[derive(Clone)]
pub struct FmpStats {
    log: Arc<Mutex<Log>>,
    controls: Arc<Mutex<Controls>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The most timestamps (sorted) that fall inside any half-open window `[t, t + window)`.
pub fn max_in_sliding_window(sorted: &[Duration], window: Duration) -> usize {
    let mut best = 0;
    let mut start = 0;
    for end in 0..sorted.len() {
        while sorted[end] >= sorted[start] + window {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    best
}

impl FmpStats {
    fn new() -> Self {
        Self {
            log: Arc::new(Mutex::new(Log {
                started: Instant::now(),
                times: Vec::new(),
                by_endpoint: BTreeMap::new(),
                by_symbol: HashMap::new(),
                throttled: 0,
                unauthorised: 0,
            })),
            controls: Arc::new(Mutex::new(Controls::default())),
        }
    }

    /// Every request (answered, throttled or refused).
    pub fn total(&self) -> usize {
        lock(&self.log).times.len()
    }

    /// Arrival times of every request, as offsets from the server's start.
    pub fn request_times(&self) -> Vec<Duration> {
        lock(&self.log).times.clone()
    }

    /// The most requests that arrived within any sliding `window`.
    pub fn max_in_window(&self, window: Duration) -> usize {
        let mut times = self.request_times();
        times.sort();
        max_in_sliding_window(&times, window)
    }

    pub fn requests_to(&self, endpoint: &str) -> u64 {
        lock(&self.log).by_endpoint.get(endpoint).copied().unwrap_or(0)
    }

    pub fn requests_for(&self, symbol: &str) -> u64 {
        lock(&self.log).by_symbol.get(symbol).copied().unwrap_or(0)
    }

    pub fn throttled(&self) -> u64 {
        lock(&self.log).throttled
    }

    pub fn unauthorised(&self) -> u64 {
        lock(&self.log).unauthorised
    }

    /// Forgets the request log (not the switches).
    pub fn reset(&self) {
        let mut log = lock(&self.log);
        log.times.clear();
        log.by_endpoint.clear();
        log.by_symbol.clear();
        log.throttled = 0;
        log.unauthorised = 0;
    }

    /// The next `n` requests answer 429, with `Retry-After: secs` when given.
    pub fn throttle_next(&self, n: u32, retry_after_secs: Option<u64>) {
        let mut c = lock(&self.controls);
        c.throttle.next = n;
        c.throttle.retry_after_secs = retry_after_secs;
    }

    /// The next `n` requests naming `symbol` answer 429.
    pub fn throttle_symbol(&self, symbol: &str, n: u32, retry_after_secs: Option<u64>) {
        let mut c = lock(&self.controls);
        c.throttle.symbols.insert(symbol.to_ascii_uppercase(), n);
        c.throttle.retry_after_secs = retry_after_secs;
    }

    /// Every request for `symbol` answers `status` (until [`FmpStats::heal`]).
    pub fn fail_symbol(&self, symbol: &str, status: u16) {
        lock(&self.controls).failing.insert(symbol.to_ascii_uppercase(), status);
    }

    pub fn heal(&self, symbol: &str) {
        lock(&self.controls).failing.remove(&symbol.to_ascii_uppercase());
    }

    /// Serves `body` for `endpoint` (e.g. `historical-price-eod/full`) and `symbol`.
    pub fn set_body(&self, endpoint: &str, symbol: &str, body: Value) {
        lock(&self.controls).bodies.insert(
            (endpoint.trim_matches('/').to_owned(), symbol.to_ascii_uppercase()),
            body,
        );
    }

    fn record(&self, endpoint: &str, symbols: &[String]) {
        let mut log = lock(&self.log);
        let at = log.started.elapsed();
        log.times.push(at);
        *log.by_endpoint.entry(endpoint.to_owned()).or_default() += 1;
        for s in symbols {
            *log.by_symbol.entry(s.clone()).or_default() += 1;
        }
    }

    /// Whether this request is to be throttled, and the Retry-After to send.
    fn take_throttle(&self, symbols: &[String]) -> Option<Option<u64>> {
        let mut c = lock(&self.controls);
        let retry_after = c.throttle.retry_after_secs;
        if c.throttle.next > 0 {
            c.throttle.next -= 1;
            return Some(retry_after);
        }
        for s in symbols {
            if let Some(n) = c.throttle.symbols.get_mut(s) {
                if *n > 0 {
                    *n -= 1;
                    return Some(retry_after);
                }
            }
        }
        None
    }
}

/// A running fake. Dropping it stops the server.
pub struct FakeFmp {
    /// `http://127.0.0.1:<port>`: give it to the client as the FMP base URL.
    pub base_url: String,
    pub stats: FmpStats,
    server: crate::Server,
}

impl FakeFmp {
    pub fn shutdown(&mut self) {
        self.server.shutdown();
    }
}

#[derive(Clone)]
struct AppState {
    config: Arc<FakeFmpConfig>,
    stats: FmpStats,
}

/// Starts the fake on 127.0.0.1 (a free port unless the config names one).
pub async fn start(config: FakeFmpConfig) -> std::io::Result<FakeFmp> {
    let port = config.port;
    let stats = FmpStats::new();
    let state = AppState {
        config: Arc::new(config),
        stats: stats.clone(),
    };
    let app = Router::new().route("/stable/{*endpoint}", get(serve)).with_state(state);
    let server = crate::Server::serve(port, app, "fake FMP").await?;
    Ok(FakeFmp {
        base_url: server.base_url.clone(),
        stats,
        server,
    })
}

fn error_body(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "Error Message": message }))).into_response()
}

async fn serve(
    State(state): State<AppState>,
    Path(endpoint): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let endpoint = endpoint.trim_matches('/').to_owned();
    let symbols: Vec<String> = query
        .get("symbols")
        .or_else(|| query.get("symbol"))
        .map(|s| {
            s.split(',')
                .map(|t| t.trim().to_ascii_uppercase())
                .filter(|t| !t.is_empty())
                .collect()
        })
        .unwrap_or_default();
    state.stats.record(&endpoint, &symbols);

    let key_ok = headers
        .get("apikey")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|k| k == state.config.api_key);
    if !key_ok || query.contains_key("apikey") {
        lock(&state.stats.log).unauthorised += 1;
        return error_body(
            StatusCode::UNAUTHORIZED,
            "Invalid API KEY. Feel free to create a Free API Key or visit https://site.financialmodelingprep.com/faqs?search=why-is-my-api-key-invalid for more information.",
        );
    }
    if let Some(retry_after) = state.stats.take_throttle(&symbols) {
        lock(&state.stats.log).throttled += 1;
        let mut response = error_body(
            StatusCode::TOO_MANY_REQUESTS,
            "Limit Reach . Please upgrade your plan or visit our documentation for more details at https://site.financialmodelingprep.com/",
        );
        if let Some(secs) = retry_after {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert("retry-after", v);
            }
        }
        return response;
    }
    {
        let controls = lock(&state.stats.controls);
        for s in &symbols {
            if let Some(status) = controls.failing.get(s) {
                let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                return error_body(status, "fake failure");
            }
        }
        if let [symbol] = symbols.as_slice() {
            if let Some(body) = controls.bodies.get(&(endpoint.clone(), symbol.clone())) {
                return Json(body.clone()).into_response();
            }
        }
    }
    if symbols.is_empty() {
        return error_body(StatusCode::BAD_REQUEST, "symbol is required");
    }
    let fixtures = state.config.fixtures_dir.as_deref();
    let period = query.get("period").map(String::as_str).unwrap_or("annual");
    let limit: usize = query
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(5)
        .clamp(1, 120);
    let body = match endpoint.as_str() {
        "quote" | "batch-quote" => {
            let mut rows = Vec::new();
            for s in &symbols {
                match fixture_rows(fixtures, &format!("fmp4j__stable_quote__symbol-{s}.json")) {
                    Some(mut recorded) => {
                        if state.config.as_of_today {
                            let now = chrono::Utc::now().timestamp();
                            recorded.iter_mut().for_each(|q| q["timestamp"] = json!(now));
                        }
                        rows.extend(recorded)
                    }
                    None => rows.push(generated_quote(s)),
                }
            }
            Value::Array(rows)
        }
        "historical-price-eod/full" => {
            let s = &symbols[0];
            let from = query.get("from").and_then(|d| d.parse::<NaiveDate>().ok());
            let to = query.get("to").and_then(|d| d.parse::<NaiveDate>().ok());
            let recorded = std::fs::read_dir(fixtures.unwrap_or(std::path::Path::new("/nonexistent")))
                .ok()
                .and_then(|dir| {
                    let prefix = format!("fmp4j__stable_historical-price-eod_full__symbol-{s}_");
                    dir.filter_map(Result::ok)
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .find(|n| n.starts_with(&prefix))
                })
                .and_then(|name| fixture_rows(fixtures, &name));
            match recorded {
                Some(rows) if state.config.as_of_today => {
                    let shifted = bars_as_of(rows, chrono::Utc::now().date_naive());
                    let within: Vec<Value> = shifted
                        .into_iter()
                        .filter(|row| {
                            let day = row["date"].as_str().and_then(|d| d.parse::<NaiveDate>().ok());
                            day.is_some_and(|d| from.is_none_or(|f| d >= f) && to.is_none_or(|t| d <= t))
                        })
                        .collect();
                    if within.is_empty() {
                        Value::Array(generated_bars(s, from, to))
                    } else {
                        Value::Array(within)
                    }
                }
                Some(rows) => Value::Array(rows),
                None => Value::Array(generated_bars(s, from, to)),
            }
        }
        "income-statement" | "balance-sheet-statement" | "cash-flow-statement" => {
            let s = &symbols[0];
            let file = format!("fmp4j__stable_{endpoint}__symbol-{s}_period-{period}_limit-3.json");
            match fixture_rows(fixtures, &file) {
                Some(rows) => Value::Array(rows),
                None => Value::Array(generated_statements(&endpoint, s, period, limit)),
            }
        }
        other => return error_body(StatusCode::NOT_FOUND, &format!("unknown endpoint {other}")),
    };
    Json(body).into_response()
}

/// Recorded bars moved forward by whole weeks, so the newest falls in the week of `today`
/// (or the week before, when today is earlier in the week than it).
fn bars_as_of(rows: Vec<Value>, today: NaiveDate) -> Vec<Value> {
    let date = |row: &Value| row["date"].as_str().and_then(|d| d.parse::<NaiveDate>().ok());
    let Some(newest) = rows.iter().filter_map(date).max() else {
        return rows;
    };
    let weeks = (today - newest).num_days().max(0) / 7;
    rows.into_iter()
        .map(|mut row| {
            if let Some(day) = date(&row) {
                row["date"] = json!((day + Days::days(weeks * 7)).to_string());
            }
            row
        })
        .collect()
}

fn fixture_rows(dir: Option<&std::path::Path>, name: &str) -> Option<Vec<Value>> {
    let text = std::fs::read_to_string(dir?.join(name)).ok()?;
    match serde_json::from_str(&text).ok()? {
        Value::Array(rows) => Some(rows),
        _ => None,
    }
}

/// A stable pseudo-random number in [0, 1) from a text (FNV-1a, then a mix).
fn unit(seed: &str) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    (h >> 11) as f64 / (1u64 << 53) as f64
}

fn cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn base_price(symbol: &str) -> f64 {
    10.0 + 490.0 * unit(symbol)
}

fn generated_quote(symbol: &str) -> Value {
    let price = cents(base_price(symbol));
    let previous = cents(price * (0.97 + 0.06 * unit(&format!("{symbol}:prev"))));
    let change = cents(price - previous);
    json!({
        "symbol": symbol,
        "name": format!("{symbol} Corp."),
        "price": price,
        "changePercentage": cents(change / previous * 100.0 * 100.0) / 100.0,
        "change": change,
        "volume": (1_000_000.0 + 50_000_000.0 * unit(&format!("{symbol}:vol"))).round() as i64,
        "dayLow": cents(price.min(previous) * 0.99),
        "dayHigh": cents(price.max(previous) * 1.01),
        "yearHigh": cents(price * 1.3),
        "yearLow": cents(price * 0.7),
        "marketCap": (price * 1.0e9).round() as i64,
        "priceAvg50": cents(price * 0.98),
        "priceAvg200": cents(price * 0.95),
        "exchange": "NASDAQ",
        "open": previous,
        "previousClose": previous,
        "timestamp": 1_738_702_801i64
    })
}

fn generated_bars(symbol: &str, from: Option<NaiveDate>, to: Option<NaiveDate>) -> Vec<Value> {
    let to = to.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let from = from.unwrap_or(to - Days::days(7)).max(to - Days::days(366 * 5));
    let mut rows = Vec::new();
    let mut day = to;
    while day >= from {
        if !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            let seed = format!("{symbol}:{day}");
            let close = cents(base_price(symbol) * (0.9 + 0.2 * unit(&seed)));
            let open = cents(close * (0.98 + 0.04 * unit(&format!("{seed}:o"))));
            let high = cents(open.max(close) * (1.0 + 0.02 * unit(&format!("{seed}:h"))));
            let low = cents(open.min(close) * (1.0 - 0.02 * unit(&format!("{seed}:l"))));
            let change = cents(close - open);
            rows.push(json!({
                "symbol": symbol,
                "date": day.to_string(),
                "open": open,
                "high": high,
                "low": low,
                "close": close,
                "volume": (100_000.0 + 40_000_000.0 * unit(&format!("{seed}:v"))).round() as i64,
                "change": change,
                "changePercent": cents(change / open * 100.0 * 1000.0) / 1000.0,
                "vwap": cents((open + high + low + close) / 4.0)
            }));
        }
        day -= Days::days(1);
    }
    rows
}

fn fiscal_dates(period: &str, limit: usize) -> Vec<(NaiveDate, String, i32)> {
    let mut out = Vec::new();
    if period == "quarter" {
        let ends = [(12, 31), (9, 30), (6, 30), (3, 31)];
        let mut year = 2025;
        let mut i = 0;
        while out.len() < limit {
            let (m, d) = ends[i % 4];
            if let Some(date) = NaiveDate::from_ymd_opt(year, m, d) {
                out.push((date, format!("Q{}", 4 - (i % 4)), year));
            }
            i += 1;
            if i % 4 == 0 {
                year -= 1;
            }
        }
    } else {
        for k in 0..limit {
            let year = 2025 - k as i32;
            if let Some(date) = NaiveDate::from_ymd_opt(year, 12, 31) {
                out.push((date, "FY".to_owned(), year));
            }
        }
    }
    out
}

fn generated_statements(endpoint: &str, symbol: &str, period: &str, limit: usize) -> Vec<Value> {
    let scale = if period == "quarter" { 0.25 } else { 1.0 };
    fiscal_dates(period, limit)
        .into_iter()
        .map(|(date, label, year)| {
            let seed = format!("{symbol}:{endpoint}:{date}");
            let size = (1.0e9 + 1.0e11 * unit(symbol)) * scale * (0.8 + 0.4 * unit(&seed));
            let n = |k: f64| (size * k).round() as i64;
            let mut row = json!({
                "date": date.to_string(),
                "symbol": symbol,
                "reportedCurrency": "USD",
                "cik": format!("{:010}", (unit(symbol) * 1.9e6) as u64 + 1),
                "filingDate": (date + Days::days(35)).to_string(),
                "acceptedDate": format!("{} 06:01:36", date + Days::days(35)),
                "fiscalYear": year.to_string(),
                "period": label,
            });
            let figures = match endpoint {
                "income-statement" => json!({
                    "revenue": n(1.0), "costOfRevenue": n(0.55), "grossProfit": n(0.45),
                    "researchAndDevelopmentExpenses": n(0.08), "sellingGeneralAndAdministrativeExpenses": n(0.07),
                    "operatingExpenses": n(0.15), "operatingIncome": n(0.30), "ebitda": n(0.34),
                    "incomeBeforeTax": n(0.30), "incomeTaxExpense": n(0.06), "netIncome": n(0.24),
                    "eps": cents(size * 0.24 / 1.5e9), "epsDiluted": cents(size * 0.24 / 1.52e9),
                    "weightedAverageShsOut": 1_500_000_000i64, "weightedAverageShsOutDil": 1_520_000_000i64
                }),
                "balance-sheet-statement" => json!({
                    "cashAndCashEquivalents": n(0.2), "totalCurrentAssets": n(0.9), "totalAssets": n(2.5),
                    "totalCurrentLiabilities": n(0.7), "totalLiabilities": n(1.5), "totalDebt": n(0.6),
                    "totalStockholdersEquity": n(1.0), "totalEquity": n(1.0),
                    "totalLiabilitiesAndTotalEquity": n(2.5)
                }),
                _ => json!({
                    "netIncome": n(0.24), "depreciationAndAmortization": n(0.04),
                    "operatingCashFlow": n(0.3), "capitalExpenditure": -n(0.05), "freeCashFlow": n(0.25),
                    "dividendsPaid": -n(0.03), "netChangeInCash": n(0.02)
                }),
            };
            if let (Some(row), Value::Object(f)) = (row.as_object_mut(), figures) {
                row.extend(f);
            }
            row
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_bars_move_to_this_week_by_whole_weeks() {
        let rows = vec![
            json!({"date": "2024-02-27", "close": 1.0}),
            json!({"date": "2024-02-28", "close": 2.0}),
        ];
        let today: NaiveDate = "2026-12-04".parse().unwrap();
        let moved = bars_as_of(rows, today);
        let newest: NaiveDate = moved[1]["date"].as_str().unwrap().parse().unwrap();
        assert!((today - newest).num_days() < 7 && newest <= today, "{newest}");
        assert_eq!(newest.weekday(), Weekday::Wed, "a Wednesday stays a Wednesday");
        assert_eq!(moved[1]["close"], 2.0);
        assert_eq!(
            (newest - moved[0]["date"].as_str().unwrap().parse::<NaiveDate>().unwrap()).num_days(),
            1
        );
    }

    fn ms(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|m| Duration::from_millis(*m)).collect()
    }

    #[test]
    fn sliding_window_counts_the_busiest_stretch() {
        let w = Duration::from_millis(1000);
        assert_eq!(max_in_sliding_window(&[], w), 0);
        assert_eq!(max_in_sliding_window(&ms(&[0, 10, 999]), w), 3);
        // Half-open: a request exactly one window later starts a new window.
        assert_eq!(max_in_sliding_window(&ms(&[0, 1000]), w), 1);
        assert_eq!(max_in_sliding_window(&ms(&[0, 500, 900, 1400, 1450, 1800]), w), 4);
    }

    #[test]
    fn generated_data_is_deterministic_and_well_formed() {
        assert_eq!(generated_quote("MSFT"), generated_quote("MSFT"));
        let bars = generated_bars(
            "MSFT",
            NaiveDate::from_ymd_opt(2024, 2, 19),
            NaiveDate::from_ymd_opt(2024, 2, 25),
        );
        assert_eq!(bars.len(), 5, "weekdays only");
        for b in &bars {
            assert!(b["low"].as_f64() <= b["open"].as_f64() && b["open"].as_f64() <= b["high"].as_f64());
        }
        assert_eq!(generated_statements("income-statement", "X", "quarter", 6).len(), 6);
    }
}
