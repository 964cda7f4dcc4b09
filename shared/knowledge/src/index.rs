//! One document into the store: text out of the bytes (or the reason it cannot be),
//! chunks, vectors, then one transaction. Shared by the upload consumer and the tests.

use crate::chunk::{self, Chunk, DocumentKind, DocumentMeta};
use crate::embed::{EmbedError, Embedder};
use crate::pdf::{self, Refusal};
use crate::store::{self, IndexOutcome, NewDocument, StoreError};
use deadpool_postgres::Pool;

/// The largest document of any kind (PDFs have their own, equal, limit).
pub const MAX_DOCUMENT_BYTES: usize = pdf::MAX_PDF_BYTES;
/// Texts per embedding request.
const EMBED_BATCH: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error(transparent)]
    Embed(#[from] EmbedError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("database pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("database: {0}")]
    Db(#[from] tokio_postgres::Error),
}

/// The chunks of a document, or why it is refused. Pure.
pub fn prepare(kind: Option<DocumentKind>, bytes: &[u8], meta: &DocumentMeta) -> Result<Vec<Chunk>, Refusal> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(Refusal::TooLarge {
            size: bytes.len(),
            limit: MAX_DOCUMENT_BYTES,
        });
    }
    let chunks = match kind.ok_or(Refusal::Unsupported)? {
        DocumentKind::Pdf => chunk::chunk_pages(meta, &pdf::page_texts(bytes)?),
        DocumentKind::Html => chunk::chunk_html(meta, &sluice_filing_sections::decode_document(bytes)),
        DocumentKind::Markdown => chunk::chunk_markdown(meta, utf8(bytes)?),
        DocumentKind::PlainText => chunk::chunk_plain(meta, utf8(bytes)?),
    };
    if chunks.is_empty() {
        return Err(Refusal::NoText);
    }
    Ok(chunks)
}

fn utf8(bytes: &[u8]) -> Result<&str, Refusal> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|_| Refusal::NotUtf8)
}

/// Embeds and stores the chunks (or records the refusal). A version already stored
/// (same sha256, chunker version and model) is not embedded again.
pub async fn store_prepared(
    pool: &Pool,
    embedder: &dyn Embedder,
    doc: &NewDocument,
    prepared: Result<Vec<Chunk>, Refusal>,
) -> Result<IndexOutcome, IndexError> {
    let model = embedder.model_id().to_owned();
    {
        let client = pool.get().await?;
        if store::is_current(&**client, doc, &model).await? {
            return Ok(IndexOutcome::Unchanged);
        }
    }
    let mut client = pool.get().await?;
    match prepared {
        Err(refusal) => {
            let tx = client.transaction().await?;
            let outcome = store::refuse_document(&tx, doc, &model, &refusal.to_string()).await?;
            tx.commit().await?;
            Ok(outcome)
        }
        Ok(chunks) => {
            let texts: Vec<String> = chunks.iter().map(Chunk::embedding_text).collect();
            let mut vectors = Vec::with_capacity(texts.len());
            for batch in texts.chunks(EMBED_BATCH) {
                vectors.extend(embedder.embed(batch).await?);
            }
            let tx = client.transaction().await?;
            let outcome = store::index_document(&tx, doc, &model, &chunks, &vectors).await?;
            tx.commit().await?;
            Ok(outcome)
        }
    }
}

/// Hex sha256 of a document's bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_and_kinds() {
        let meta = DocumentMeta::default();
        assert_eq!(prepare(None, b"x", &meta), Err(Refusal::Unsupported));
        assert_eq!(
            prepare(Some(DocumentKind::PlainText), b"  \n ", &meta),
            Err(Refusal::NoText)
        );
        assert_eq!(
            prepare(Some(DocumentKind::Markdown), b"\xff\xfe", &meta),
            Err(Refusal::NotUtf8)
        );
        let pdf = crate::pdf::pdf_with_pages(&["Page one", "Page two"]);
        let chunks = prepare(Some(DocumentKind::Pdf), &pdf, &meta).expect("chunks");
        assert_eq!(
            chunks.iter().map(|c| c.page).collect::<Vec<_>>(),
            vec![Some(1), Some(2)]
        );
    }
}
