//! Local stand-ins for the outside services Sluice calls, speaking their wire
//! formats, for integration tests and the local stack. Each vendor is a module
//! with its own `start`; every server binds 127.0.0.1 on a free port.
//!
//! - [`fmp`]: Financial Modeling Prep's `/stable/` API (quotes, daily bars,
//!   statements), replaying the recorded fixtures and generating the rest, with a
//!   request log that measures the busiest sliding window and switches for 429s.
//! - [`edgar`]: EDGAR (`www.sec.gov` and `data.sec.gov` paths) served from a mirror
//!   folder laid out like EDGAR, refusing undeclared User-Agents as the SEC does.
//! - [`llm`]: a model endpoint speaking Bedrock's Converse and OpenAI's chat
//!   completions, answering schema-valid JSON, with throttling and scripted replies.

pub mod edgar;
pub mod fmp;
pub mod llm;

pub use fmp::{start, FakeFmp, FakeFmpConfig, FmpStats};
