//! llm-analyzer: analyses of filings into the global pool. `main.rs` only sets up;
//! [`Analyzer`] is the handler, [`provider`] the model interface, [`analysis`] the
//! prompts, schemas and chunking.

pub mod analysis;
mod feedback;
mod handler;
pub mod provider;
pub mod triage;

pub use feedback::{delivery_key, Triage, TriageConfig, TriageError, TRIAGE_CONSUMER};
pub use handler::{usable_sections, AnalyzeError, Analyzer, AnalyzerConfig, SERVICE};
