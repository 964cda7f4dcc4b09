//! filing-fetcher: a task's filing from EDGAR into S3, split into sections, then its
//! analysis queued. `main.rs` only sets up; [`FilingFetcher::build`] makes the handler.

pub mod edgar;
mod fetch;
pub mod prefill;

pub use fetch::{FetchError, FetcherConfig, FilingFetcher, FilingWork, SERVICE};
pub use prefill::{PrefillTick, DEMO_PREFILL};
