//! Calling a vendor's HTTP API (EDGAR, the market-data vendor, OpenAI-compatible model
//! servers), the same way for every client:
//!
//! - [`ApiKey`]: the one secret type ([`sluice_core::Secret`]): it never prints; its value
//!   only through `expose`.
//! - [`BaseUrl`]: an `http(s)` base URL without query, fragment, credentials or trailing
//!   slash, that paths are joined to.
//! - [`send_with_retry`]: one request, retried with the shared
//!   [`Backoff`](sluice_core::retry::Backoff), every answer sorted in one place:
//!   2xx is the body; 429 and 503 are throttling (their `Retry-After` honoured); other
//!   5xx, 408, timeouts and connection failures are retried after a jittered wait; any
//!   other status is refused at once. An optional hook runs before every attempt (a rate
//!   limiter's permit), and the body can be capped while it streams.
//! - [`with_retry`]: the retry loop itself, for calls that are not a plain HTTP request
//!   (a model behind an SDK).
//!
//! Each client keeps its own error enum and maps [`SendError`] to it.

mod retry;
mod url;

pub use retry::{send_with_retry, with_retry, BeforeSend, SendError, Transient, Verdict};
pub use sluice_core::Secret as ApiKey;
pub use url::{BaseUrl, InvalidBaseUrl};
