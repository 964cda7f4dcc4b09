//! llm-analyzer: analyses of filings into the global pool.

pub mod analysis;
pub mod provider;
