//! The HTTP side: one rate-limited, retrying GET with a size cap, and the
//! EDGAR resources on top of it.

use super::config::EdgarConfig;
use super::limit::RequestLimiter;
use super::parse::{
    find_ticker, parse_company_tickers, parse_submissions, parse_submissions_page, CompanyTicker, FilingEntry,
    Submissions,
};
use super::EdgarError;
use bytes::{Bytes, BytesMut};
use sluice_core::retry::{parse_retry_after, Backoff};
use sluice_messages::{AccessionNumber, Cik, FilingSelector, FilingType, Ticker};
use std::time::Duration;

/// The longest wait between attempts, `Retry-After` included.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// An EDGAR client. Clones share the connection pool and the rate limiter.
#[derive(Debug, Clone)]
pub struct EdgarClient {
    http: reqwest::Client,
    config: EdgarConfig,
    limiter: RequestLimiter,
    backoff: Backoff,
}

/// What [`EdgarClient::find_filing`] found, with the submissions it read to find it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilingLookup {
    pub submissions: Submissions,
    pub filing: Option<FilingEntry>,
}

/// How one attempt ended when it is worth another.
enum Failure {
    Throttled,
    Unavailable(String),
    Timeout,
    Transport(String),
}

impl Failure {
    fn of(e: &reqwest::Error) -> Self {
        if e.is_timeout() {
            Self::Timeout
        } else {
            Self::Transport(e.to_string())
        }
    }

    fn into_error(self, attempts: u32) -> EdgarError {
        match self {
            Self::Throttled => EdgarError::Throttled { attempts },
            Self::Unavailable(last) => EdgarError::Unavailable { attempts, last },
            Self::Timeout => EdgarError::Timeout { attempts },
            Self::Transport(last) => EdgarError::Transport { attempts, last },
        }
    }
}

/// A plain file name from EDGAR's data, safe to put in a URL path: ASCII letters,
/// digits, `-`, `_` and `.`, not starting with a dot and without `..`.
fn check_file_name(name: &str) -> Result<&str, EdgarError> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && !name.contains("..")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(name)
    } else {
        Err(EdgarError::InvalidName(name.chars().take(100).collect()))
    }
}

/// A short reason from an error body: S3's XML `<Code>`/`<Message>`, an HTML `<title>`, or the text.
fn error_summary(body: &str) -> String {
    let between = |open: &str, close: &str| {
        let start = body.find(open)? + open.len();
        let len = body[start..].find(close)?;
        Some(body[start..start + len].trim().to_owned())
    };
    let summary = match (between("<Code>", "</Code>"), between("<Message>", "</Message>")) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code,
        _ => between("<title>", "</title>").unwrap_or_else(|| {
            let mut text = String::new();
            let mut in_tag = false;
            for c in body.chars() {
                match c {
                    '<' => in_tag = true,
                    '>' => {
                        in_tag = false;
                        text.push(' ');
                    }
                    c if !in_tag => text.push(c),
                    _ => {}
                }
            }
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        }),
    };
    summary.chars().take(200).collect()
}

impl EdgarClient {
    pub fn new(config: EdgarConfig) -> Result<Self, EdgarError> {
        let http = reqwest::Client::builder()
            .user_agent(config.user_agent.as_str())
            .gzip(true)
            .deflate(true)
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| EdgarError::Client(e.to_string()))?;
        Ok(Self {
            http,
            limiter: RequestLimiter::per_second(config.max_requests_per_second),
            backoff: Backoff {
                max_attempts: config.max_attempts.max(1),
                base: config.backoff_base,
                max: MAX_BACKOFF,
            },
            config,
        })
    }

    pub fn config(&self) -> &EdgarConfig {
        &self.config
    }

    /// Every listed company: `{www}/files/company_tickers.json`.
    pub async fn company_tickers(&self) -> Result<Vec<CompanyTicker>, EdgarError> {
        let url = format!("{}/files/company_tickers.json", self.config.www_base_url.as_str());
        parse_company_tickers(&self.get(&url).await?)
    }

    /// The company listed under `ticker`, or `NotFound`.
    pub async fn resolve_ticker(&self, ticker: &Ticker) -> Result<CompanyTicker, EdgarError> {
        let all = self.company_tickers().await?;
        find_ticker(&all, ticker).cloned().ok_or_else(|| EdgarError::NotFound {
            what: format!("company with ticker {ticker}"),
        })
    }

    /// The main submissions file only (`{data}/submissions/CIK##########.json`); older pages stay pending.
    pub async fn submissions_recent(&self, cik: &Cik) -> Result<Submissions, EdgarError> {
        let url = format!(
            "{}/submissions/CIK{}.json",
            self.config.data_base_url.as_str(),
            cik.as_str()
        );
        parse_submissions(&self.get(&url).await?)
    }

    /// Loads the next pending page into `submissions`; `false` when none is left.
    pub async fn load_next_page(&self, submissions: &mut Submissions) -> Result<bool, EdgarError> {
        let Some(page) = submissions.pending_pages().first() else {
            return Ok(false);
        };
        let name = check_file_name(&page.name)?;
        let url = format!("{}/submissions/{name}", self.config.data_base_url.as_str());
        let rows = parse_submissions_page(&self.get(&url).await?)?;
        submissions.merge_page(rows);
        Ok(true)
    }

    /// Every filing of the company: the main file and all its pages. A missing page is an error.
    pub async fn submissions(&self, cik: &Cik) -> Result<Submissions, EdgarError> {
        let mut submissions = self.submissions_recent(cik).await?;
        while self.load_next_page(&mut submissions).await? {}
        Ok(submissions)
    }

    /// The filing `selector` names ([`Submissions::select`]): looks in the recent
    /// filings first and loads older pages only while it is not found.
    pub async fn find_filing(
        &self,
        cik: &Cik,
        form: FilingType,
        selector: &FilingSelector,
    ) -> Result<FilingLookup, EdgarError> {
        let mut submissions = self.submissions_recent(cik).await?;
        loop {
            if let Some(found) = submissions.select(form, selector) {
                let filing = Some(found.clone());
                return Ok(FilingLookup { submissions, filing });
            }
            if !self.load_next_page(&mut submissions).await? {
                return Ok(FilingLookup {
                    submissions,
                    filing: None,
                });
            }
        }
    }

    /// One document of a filing:
    /// `{www}/Archives/edgar/data/<cik without leading zeros>/<accession, 18 digits>/<name>`.
    pub async fn document(&self, cik: &Cik, accession: &AccessionNumber, name: &str) -> Result<Bytes, EdgarError> {
        let name = check_file_name(name)?;
        let url = format!(
            "{}/Archives/edgar/data/{}/{}/{name}",
            self.config.www_base_url.as_str(),
            cik.as_str().trim_start_matches('0'),
            accession.folder()
        );
        self.get(&url).await
    }

    /// GET with the limiter, retries and the size cap.
    async fn get(&self, url: &str) -> Result<Bytes, EdgarError> {
        let what = url.split_once("://").map_or(url, |(_, rest)| rest).to_owned();
        let max = self.backoff.max_attempts;
        let mut last = Failure::Transport("no attempt".into());
        for attempt in 1..=max {
            self.limiter.acquire().await;
            let mut retry_after = None;
            match self.http.get(url).send().await {
                Err(e) if e.is_builder() => return Err(EdgarError::Client(e.to_string())),
                Err(e) => last = Failure::of(&e),
                Ok(response) => {
                    let status = response.status();
                    if status.is_success() {
                        match self.read_capped(response, &what).await? {
                            Ok(body) => return Ok(body),
                            Err(failure) => last = failure,
                        }
                    } else {
                        retry_after =
                            parse_retry_after(response.headers().get("retry-after").and_then(|v| v.to_str().ok()));
                        let code = status.as_u16();
                        if code == 429 {
                            last = Failure::Throttled;
                        } else if status.is_server_error() || code == 408 {
                            last = Failure::Unavailable(status.to_string());
                        } else {
                            let body = response.text().await.unwrap_or_default();
                            let message = error_summary(&body);
                            if code == 404 || code == 410 {
                                tracing::debug!(%what, %message, "EDGAR: not found");
                                return Err(EdgarError::NotFound { what });
                            }
                            return Err(EdgarError::Refused {
                                what,
                                status: code,
                                message,
                            });
                        }
                    }
                }
            }
            if attempt < max {
                let wait = self.backoff.jittered_delay(attempt, retry_after);
                tracing::warn!(%what, attempt, wait_ms = wait.as_millis() as u64, "EDGAR request failed; retrying");
                tokio::time::sleep(wait).await;
            }
        }
        Err(last.into_error(max))
    }

    /// The body, refused past the cap: first by `Content-Length`, then by counting
    /// what arrives (a compressed body's length says nothing of its decoded size).
    /// The inner `Err` is a failure worth retrying.
    async fn read_capped(
        &self,
        mut response: reqwest::Response,
        what: &str,
    ) -> Result<Result<Bytes, Failure>, EdgarError> {
        let limit = self.config.max_document_bytes;
        let too_large = || EdgarError::TooLarge {
            what: what.to_owned(),
            limit,
        };
        if response.content_length().is_some_and(|n| n > limit) {
            return Err(too_large());
        }
        let mut body = BytesMut::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if (body.len() + chunk.len()) as u64 > limit {
                        return Err(too_large());
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => return Ok(Ok(body.freeze())),
                Err(e) => return Ok(Err(Failure::of(&e))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_file_names() {
        for ok in [
            "aapl-20240928.htm",
            "a10-k20199282019.htm",
            "CIK0000320193-submissions-001.json",
            "R1.htm",
        ] {
            assert_eq!(check_file_name(ok).unwrap(), ok);
        }
        for bad in [
            "",
            "..",
            ".htaccess",
            "a/b.htm",
            "..%2f",
            "a\\b",
            "/etc/passwd",
            "a..b",
            "x?y",
            "a b",
        ] {
            assert!(matches!(check_file_name(bad), Err(EdgarError::InvalidName(_))), "{bad}");
        }
    }

    #[test]
    fn error_bodies_are_summarised() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>x</Key></Error>"#;
        assert_eq!(error_summary(xml), "NoSuchKey: The specified key does not exist.");
        let html = "<html><head><title>SEC.gov | Request Rate Threshold Exceeded</title></head></html>";
        assert_eq!(error_summary(html), "SEC.gov | Request Rate Threshold Exceeded");
        assert_eq!(
            error_summary("<h1>Your Request Originates</h1>\n<p>from a tool</p>"),
            "Your Request Originates from a tool"
        );
        assert_eq!(error_summary(&"x".repeat(500)).len(), 200);
    }

    #[test]
    fn retryable_errors() {
        assert!(EdgarError::Throttled { attempts: 5 }.is_retryable());
        assert!(EdgarError::Timeout { attempts: 5 }.is_retryable());
        assert!(!EdgarError::NotFound { what: "x".into() }.is_retryable());
        assert!(!EdgarError::TooLarge {
            what: "x".into(),
            limit: 1
        }
        .is_retryable());
        assert!(!EdgarError::Malformed("x".into()).is_retryable());
    }
}
