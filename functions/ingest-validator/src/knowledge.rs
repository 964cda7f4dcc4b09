//! Team documents for Ask Sluice: every object under `knowledge/` (PDF, HTML, Markdown,
//! plain text) is chunked, embedded and stored for search (`sluice-knowledge`). One object
//! key is one document; a new version replaces the old one's chunks. A document that cannot
//! be indexed is recorded as refused with its reason, and nothing of it is searchable.
//!
//! Optional S3 user metadata fills the context header: `x-amz-meta-title`, `-company`,
//! `-ticker`, `-form`, `-period`.

use crate::notice::UploadNotice;
use sluice_core::Pool;
use sluice_knowledge::chunk::{DocumentKind, DocumentMeta};
use sluice_knowledge::index::{self, IndexError, MAX_DOCUMENT_BYTES};
use sluice_knowledge::pdf::Refusal;
use sluice_knowledge::store::{IndexOutcome, NewDocument, Source};
use sluice_knowledge::Embedder;
use std::sync::Arc;

pub const KNOWLEDGE_PREFIX: &str = "knowledge/";

#[derive(Debug, thiserror::Error)]
pub enum KnowledgeError {
    #[error("reading the document from S3 failed: {0}")]
    Storage(String),
    #[error(transparent)]
    Index(#[from] IndexError),
}

#[derive(Clone)]
pub struct KnowledgeIntake {
    pub pool: Pool,
    pub s3: aws_sdk_s3::Client,
    pub embedder: Arc<dyn Embedder>,
}

pub fn is_knowledge(key: &str) -> bool {
    key.starts_with(KNOWLEDGE_PREFIX)
}

impl KnowledgeIntake {
    /// Indexes the object's current version (a late redelivery of an older notification
    /// finds the newest bytes already indexed and changes nothing).
    pub async fn object(&self, notice: &UploadNotice) -> Result<IndexOutcome, KnowledgeError> {
        let object = match self
            .s3
            .get_object()
            .bucket(&notice.bucket)
            .key(&notice.key)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
                tracing::info!(key = %notice.key, "knowledge document deleted before it was indexed");
                return Ok(IndexOutcome::Unchanged);
            }
            Err(e) => {
                return Err(KnowledgeError::Storage(
                    aws_sdk_s3::error::DisplayErrorContext(e).to_string(),
                ))
            }
        };
        let meta_value = |name: &str| {
            object
                .metadata()
                .and_then(|m| m.get(name))
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let file_name = notice.key.rsplit('/').next().unwrap_or(&notice.key).to_owned();
        let meta = DocumentMeta {
            title: meta_value("title").unwrap_or(file_name),
            company: meta_value("company"),
            ticker: meta_value("ticker").map(|t| t.to_ascii_uppercase()),
            form: meta_value("form"),
            period: meta_value("period"),
        };
        let size = object.content_length().unwrap_or(0).max(0) as usize;
        let (sha256, prepared) = if size > MAX_DOCUMENT_BYTES {
            // Not read at all: its identity is its key, ETag and size.
            let identity = format!("{}|{}|{size}", notice.key, object.e_tag().unwrap_or("-"));
            (
                index::sha256_hex(identity.as_bytes()),
                Err(Refusal::TooLarge {
                    size,
                    limit: MAX_DOCUMENT_BYTES,
                }),
            )
        } else {
            let bytes = object
                .body
                .collect()
                .await
                .map_err(|e| KnowledgeError::Storage(e.to_string()))?
                .into_bytes();
            let prepared = index::prepare(DocumentKind::from_key(&notice.key), &bytes, &meta);
            (index::sha256_hex(&bytes), prepared)
        };
        let doc = NewDocument {
            source: Source::Team,
            source_key: notice.key.clone(),
            title: meta.title.clone(),
            ticker: meta.ticker.clone(),
            form: meta.form.clone(),
            period: meta.period.clone(),
            s3_key: Some(notice.key.clone()),
            sha256,
        };
        let outcome = index::store_prepared(&self.pool, self.embedder.as_ref(), &doc, prepared).await?;
        tracing::info!(key = %notice.key, ?outcome, "knowledge document handled");
        Ok(outcome)
    }
}
