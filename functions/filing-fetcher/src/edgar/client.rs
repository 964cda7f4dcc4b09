//! The HTTP side: one rate-limited, retrying GET with a size cap (the shared
//! `sluice_vendor_http::send_with_retry`), and the EDGAR resources on top of it.

use super::config::EdgarConfig;
use super::limit::RequestLimiter;
use super::parse::{
    find_ticker, parse_company_tickers, parse_submissions, parse_submissions_page, CompanyTicker, FilingEntry,
    Submissions,
};
use super::EdgarError;
use bytes::Bytes;
use futures::future::BoxFuture;
use sluice_core::retry::Backoff;
use sluice_messages::{AccessionNumber, Cik, FilingSelector, FilingType, Ticker};
use sluice_vendor_http::{send_with_retry, SendError, Transient};
use std::convert::Infallible;
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
        let url = self.config.www_base_url.join("files/company_tickers.json");
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
        let url = self
            .config
            .data_base_url
            .join(&format!("submissions/CIK{}.json", cik.as_str()));
        parse_submissions(&self.get(&url).await?)
    }

    /// Loads the next pending page into `submissions`; `false` when none is left.
    pub async fn load_next_page(&self, submissions: &mut Submissions) -> Result<bool, EdgarError> {
        let Some(page) = submissions.pending_pages().first() else {
            return Ok(false);
        };
        let name = check_file_name(&page.name)?;
        let url = self.config.data_base_url.join(&format!("submissions/{name}"));
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
        let url = self.config.www_base_url.join(&format!(
            "Archives/edgar/data/{}/{}/{name}",
            cik.as_str().trim_start_matches('0'),
            accession.folder()
        ));
        self.get(&url).await
    }

    /// GET through the shared retrying send: a slot from the limiter before every attempt,
    /// the body capped at `max_document_bytes`.
    async fn get(&self, url: &str) -> Result<Bytes, EdgarError> {
        let what = url.split_once("://").map_or(url, |(_, rest)| rest).to_owned();
        let limiter = |_attempt: u32| -> BoxFuture<'_, Result<(), Infallible>> {
            Box::pin(async {
                self.limiter.acquire().await;
                Ok(())
            })
        };
        send_with_retry(
            || self.http.get(url),
            self.backoff,
            Some(&limiter),
            Some(self.config.max_document_bytes),
        )
        .await
        .map_err(|error| EdgarError::from_send(error, what))
    }
}

impl EdgarError {
    /// EDGAR's terms for how a request failed: 429 is throttling; 503, other 5xx and 408
    /// are unavailability; 404 and 410 are "not found"; other 4xx a refusal with its reason.
    fn from_send(error: SendError<Infallible>, what: String) -> Self {
        match error {
            SendError::Exhausted { attempts, last } => match last {
                Transient::Throttled { status: 429, .. } => Self::Throttled { attempts },
                Transient::Throttled { .. } | Transient::Unavailable { .. } => Self::Unavailable {
                    attempts,
                    last: last.to_string(),
                },
                Transient::Timeout => Self::Timeout { attempts },
                Transient::Transport(last) => Self::Transport { attempts, last },
            },
            SendError::Refused { status, body } => {
                let message = error_summary(&body);
                if status == 404 || status == 410 {
                    tracing::debug!(%what, %message, "EDGAR: not found");
                    return Self::NotFound { what };
                }
                Self::Refused { what, status, message }
            }
            SendError::TooLarge { limit } => Self::TooLarge { what, limit },
            SendError::Request(reason) => Self::Client(reason),
            SendError::BeforeSend(never) => match never {},
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
