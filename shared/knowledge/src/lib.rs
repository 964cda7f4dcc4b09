//! Ask Sluice's retrieval (issue 11).
//!
//! - [`chunk`]: documents into chunks that follow their structure (filing items, Markdown
//!   headings, PDF pages), each with a context header and a citation. Pure.
//! - [`pdf`]: the text of each page of a PDF, or why it is refused. Pure.
//! - [`embed`]: embeddings behind one trait: the local static model (tests and the local
//!   stack), any OpenAI-compatible `/v1/embeddings` server, Amazon Titan v2 on Bedrock.
//! - [`store`]: documents and chunks in PostgreSQL (pgvector + full text), and the hybrid
//!   search (reciprocal rank fusion, [`fusion`]) the search route and the chat share.

pub mod chunk;
pub mod embed;
pub mod fusion;
pub mod index;
pub mod pdf;
pub mod store;

pub use chunk::{Chunk, DocumentMeta, CHUNKER_VERSION};
pub use embed::{EmbedError, Embedder, Embedding};
