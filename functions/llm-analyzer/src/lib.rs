//! llm-analyzer: analyses of filings into the global pool. `main.rs` only sets up;
//! [`Analyzer`] is the handler, [`provider`] the model interface, [`analysis`] the
//! prompts, schemas and chunking.

pub mod analysis;
mod handler;
pub mod provider;

pub use handler::{usable_sections, AnalyzeError, Analyzer, AnalyzerConfig, SERVICE};
