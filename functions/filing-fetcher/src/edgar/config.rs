//! The EDGAR client's settings. The SEC's fair-access policy refuses automated
//! requests that do not declare who sends them, so a client cannot be built
//! without a [`UserAgent`] naming the company and a contact e-mail.

use sluice_core::{ConfigError, ConfigSource};
use sluice_messages::Email;
pub use sluice_vendor_http::BaseUrl;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

pub const DEFAULT_WWW_BASE_URL: &str = "https://www.sec.gov";
pub const DEFAULT_DATA_BASE_URL: &str = "https://data.sec.gov";
/// The SEC's published ceiling for one sender.
pub const MAX_REQUESTS_PER_SECOND: u32 = 10;

/// A declared User-Agent, `Company Name contact@example.com`: one e-mail address and
/// at least one word naming the sender, printable ASCII only (it is a header value).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserAgent(String);

/// Why a User-Agent is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the SEC requires a declared User-Agent naming the company and a contact e-mail, \
     e.g. \"Sluice Research ops@example.com\": {0}"
)]
pub struct InvalidUserAgent(&'static str);

impl UserAgent {
    pub fn parse(raw: &str) -> Result<Self, InvalidUserAgent> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(InvalidUserAgent("it is blank"));
        }
        if trimmed.len() > 200 {
            return Err(InvalidUserAgent("it is longer than 200 characters"));
        }
        if !trimmed.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Err(InvalidUserAgent("it must be printable ASCII"));
        }
        let strip = |w: &str| w.trim_matches(|c: char| "<>()[],;\"'".contains(c)).to_owned();
        let words: Vec<String> = trimmed.split_whitespace().map(strip).collect();
        if !words.iter().any(|w| Email::parse(w).is_ok()) {
            return Err(InvalidUserAgent("it has no contact e-mail address"));
        }
        let names_sender = words
            .iter()
            .any(|w| !w.contains('@') && w.chars().any(|c| c.is_ascii_alphabetic()));
        if !names_sender {
            return Err(InvalidUserAgent("it does not name the company"));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserAgent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for UserAgent {
    type Err = InvalidUserAgent;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EdgarConfigError {
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// Everything the client needs; [`EdgarConfig::new`] gives the SEC's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgarConfig {
    pub user_agent: UserAgent,
    /// Serves `/files/company_tickers.json` and `/Archives/...`.
    pub www_base_url: BaseUrl,
    /// Serves `/submissions/...`.
    pub data_base_url: BaseUrl,
    /// At most this many requests start in any one second (1..=10).
    pub max_requests_per_second: u32,
    /// Per request, body included.
    pub timeout: Duration,
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// The backoff's first wait bound (doubling, with full jitter, up to 30 s).
    pub backoff_base: Duration,
    /// Any body larger than this is refused while it streams.
    pub max_document_bytes: u64,
}

impl EdgarConfig {
    pub fn new(user_agent: UserAgent) -> Self {
        let sec = |url| BaseUrl::parse(url).unwrap_or_else(|_| unreachable!("a valid literal"));
        Self {
            user_agent,
            www_base_url: sec(DEFAULT_WWW_BASE_URL),
            data_base_url: sec(DEFAULT_DATA_BASE_URL),
            max_requests_per_second: MAX_REQUESTS_PER_SECOND,
            timeout: Duration::from_secs(30),
            max_attempts: 5,
            backoff_base: Duration::from_millis(500),
            max_document_bytes: 50 * 1024 * 1024,
        }
    }

    /// One base URL for both hosts, as the fake EDGAR and a local mirror serve them.
    pub fn with_base_url(mut self, base: BaseUrl) -> Self {
        self.www_base_url = base.clone();
        self.data_base_url = base;
        self
    }

    /// Reads `EDGAR_USER_AGENT` (required), `EDGAR_WWW_BASE_URL`, `EDGAR_DATA_BASE_URL`,
    /// `EDGAR_MAX_REQUESTS_PER_SECOND`, `EDGAR_TIMEOUT_SECS`, `EDGAR_MAX_ATTEMPTS`,
    /// `EDGAR_BACKOFF_MS` and `EDGAR_MAX_DOCUMENT_BYTES`.
    pub fn load(cfg: &ConfigSource) -> Result<Self, EdgarConfigError> {
        let defaults = Self::new(cfg.required("EDGAR_USER_AGENT")?);
        let invalid = |key: &str, reason: &str| ConfigError::Invalid {
            key: key.to_owned(),
            reason: reason.to_owned(),
        };
        let rate: u32 = cfg.or("EDGAR_MAX_REQUESTS_PER_SECOND", defaults.max_requests_per_second)?;
        if !(1..=MAX_REQUESTS_PER_SECOND).contains(&rate) {
            return Err(invalid("EDGAR_MAX_REQUESTS_PER_SECOND", "must be 1 to 10 (the SEC's limit)").into());
        }
        let timeout_secs: u64 = cfg.or("EDGAR_TIMEOUT_SECS", defaults.timeout.as_secs())?;
        if !(1..=900).contains(&timeout_secs) {
            return Err(invalid("EDGAR_TIMEOUT_SECS", "must be 1 to 900").into());
        }
        let max_attempts: u32 = cfg.or("EDGAR_MAX_ATTEMPTS", defaults.max_attempts)?;
        if !(1..=20).contains(&max_attempts) {
            return Err(invalid("EDGAR_MAX_ATTEMPTS", "must be 1 to 20").into());
        }
        let backoff_ms: u64 = cfg.or("EDGAR_BACKOFF_MS", 500)?;
        let max_document_bytes: u64 = cfg.or("EDGAR_MAX_DOCUMENT_BYTES", defaults.max_document_bytes)?;
        if max_document_bytes == 0 {
            return Err(invalid("EDGAR_MAX_DOCUMENT_BYTES", "must be positive").into());
        }
        Ok(Self {
            www_base_url: cfg.or("EDGAR_WWW_BASE_URL", defaults.www_base_url.clone())?,
            data_base_url: cfg.or("EDGAR_DATA_BASE_URL", defaults.data_base_url.clone())?,
            max_requests_per_second: rate,
            timeout: Duration::from_secs(timeout_secs),
            max_attempts,
            backoff_base: Duration::from_millis(backoff_ms),
            max_document_bytes,
            ..defaults
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_agents_must_name_the_sender_and_an_email() {
        let ua = UserAgent::parse("  Sluice Research ops@example.com ").unwrap();
        assert_eq!(ua.as_str(), "Sluice Research ops@example.com");
        assert!(UserAgent::parse("Sluice Research <ops@example.com>").is_ok());
        for bad in [
            "",
            "   ",
            "ops@example.com",
            "Sluice Research",
            "Sluice ops@localhost",
            "Sluice\tops@x.com\n",
        ] {
            assert!(UserAgent::parse(bad).is_err(), "{bad:?}");
        }
        assert!(UserAgent::parse("Caf\u{e9} ops@example.com").is_err());
    }

    #[test]
    fn load_requires_a_user_agent_and_applies_defaults() {
        let err = EdgarConfig::load(&ConfigSource::default()).unwrap_err().to_string();
        assert!(err.contains("EDGAR_USER_AGENT"), "{err}");
        let err = EdgarConfig::load(&ConfigSource::from_pairs([("EDGAR_USER_AGENT", "sluice")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("e-mail"), "{err}");

        let cfg = ConfigSource::from_pairs([("EDGAR_USER_AGENT", "Sluice Research ops@example.com")]);
        let c = EdgarConfig::load(&cfg).unwrap();
        assert_eq!(c.www_base_url.as_str(), "https://www.sec.gov");
        assert_eq!(c.data_base_url.as_str(), "https://data.sec.gov");
        assert_eq!(c.max_requests_per_second, 10);
        assert_eq!(c.timeout, Duration::from_secs(30));
        assert_eq!(c.max_attempts, 5);
        assert_eq!(c.backoff_base, Duration::from_millis(500));
        assert_eq!(c.max_document_bytes, 50 * 1024 * 1024);

        let c = EdgarConfig::load(
            &cfg.clone()
                .with("EDGAR_WWW_BASE_URL", "http://127.0.0.1:8080/")
                .with("EDGAR_MAX_REQUESTS_PER_SECOND", "4")
                .with("EDGAR_MAX_DOCUMENT_BYTES", "1024"),
        )
        .unwrap();
        assert_eq!(c.www_base_url.as_str(), "http://127.0.0.1:8080");
        assert_eq!((c.max_requests_per_second, c.max_document_bytes), (4, 1024));
        for (key, value) in [
            ("EDGAR_MAX_REQUESTS_PER_SECOND", "11"),
            ("EDGAR_MAX_REQUESTS_PER_SECOND", "0"),
            ("EDGAR_DATA_BASE_URL", "ftp://sec.gov"),
            ("EDGAR_TIMEOUT_SECS", "soon"),
        ] {
            let err = EdgarConfig::load(&cfg.clone().with(key, value))
                .unwrap_err()
                .to_string();
            assert!(err.contains(key), "{err}");
        }
    }
}
