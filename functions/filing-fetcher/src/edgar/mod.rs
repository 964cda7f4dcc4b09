//! The SEC's EDGAR over HTTPS: ticker to CIK, a company's submissions, and a
//! filing's documents.
//!
//! - The SEC's fair-access policy: every request declares a [`UserAgent`] (company
//!   and contact e-mail) and accepts gzip; at most 10 requests start per second,
//!   across all clones of a client ([`RequestLimiter`]).
//! - Requests go through the shared [`sluice_vendor_http::send_with_retry`]: 429, 5xx, 408,
//!   timeouts and connection errors are retried with the shared
//!   [`sluice_core::retry::Backoff`], honouring `Retry-After` on 429 and 503; 404 is
//!   [`EdgarError::NotFound`] (data.sec.gov answers an S3 `NoSuchKey` for an unknown CIK).
//! - Every body is capped at `max_document_bytes` while it streams ([`EdgarError::TooLarge`]).
//!
//! # Pagination
//! A submissions file lists the latest filings (`filings.recent`, at least a year
//! or 1,000 filings) and names older pages in `filings.files`. Pages are loaded
//! lazily: [`EdgarClient::find_filing`] reads the recent list and fetches older
//! pages, one at a time, only while the filing is not found. [`EdgarClient::submissions`]
//! loads every page and fails (e.g. `NotFound`) if one is missing: a partial list
//! would silently answer the wrong "latest" filing.

mod client;
mod config;
mod limit;
mod parse;
mod select;

pub use client::{EdgarClient, FilingLookup};
pub use config::{
    BaseUrl, EdgarConfig, EdgarConfigError, InvalidUserAgent, UserAgent, DEFAULT_DATA_BASE_URL, DEFAULT_WWW_BASE_URL,
    MAX_REQUESTS_PER_SECOND,
};
pub use limit::{RequestLimiter, SlidingWindow, WINDOW_MARGIN};
pub use parse::{
    find_ticker, parse_company_tickers, parse_submissions, parse_submissions_page, CompanyTicker, FilingEntry,
    FilingRows, FiscalYearEnd, Submissions, SubmissionsPageRef,
};
pub use select::{
    filing_fiscal_quarter, filing_fiscal_year, fiscal_quarter_of, fiscal_year_of, select_filing,
    select_filing_for_year_end,
};

/// What went wrong talking to EDGAR, in the terms a caller acts on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EdgarError {
    #[error("EDGAR has no {what}")]
    NotFound { what: String },
    #[error("EDGAR kept answering 429 Too Many Requests after {attempts} attempts")]
    Throttled { attempts: u32 },
    #[error("EDGAR unavailable after {attempts} attempts: {last}")]
    Unavailable { attempts: u32, last: String },
    #[error("EDGAR did not answer in time after {attempts} attempts")]
    Timeout { attempts: u32 },
    #[error("could not reach EDGAR after {attempts} attempts: {last}")]
    Transport { attempts: u32, last: String },
    /// 403 and other 4xx: EDGAR refuses this request (e.g. an undeclared user agent).
    #[error("EDGAR refused {what} ({status}): {message}")]
    Refused { what: String, status: u16, message: String },
    #[error("{what} is larger than the {limit}-byte cap")]
    TooLarge { what: String, limit: u64 },
    #[error("EDGAR's answer is not what was expected: {0}")]
    Malformed(String),
    /// A document or page name from EDGAR's data that is not a plain file name.
    #[error("`{0}` is not a plain file name")]
    InvalidName(String),
    #[error("HTTP client: {0}")]
    Client(String),
}

impl EdgarError {
    /// Trying again later can succeed; the rest will fail the same way.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Throttled { .. } | Self::Unavailable { .. } | Self::Timeout { .. } | Self::Transport { .. }
        )
    }
}
