//! Documents and chunks in PostgreSQL (migration 0050), and the hybrid search.
//!
//! Indexing is idempotent per (document sha256, chunker version, model): the same version
//! again changes nothing; a new version (or a new chunker or model) replaces the document's
//! row and all its chunks in one transaction, so a search never sees half a document.

use crate::chunk::{Chunk, CHUNKER_VERSION};
use crate::embed::Embedding;
use crate::fusion::{reciprocal_rank_fusion, RRF_K};
use serde::Serialize;
use std::fmt::Write as _;
use tokio_postgres::GenericClient;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] tokio_postgres::Error),
    #[error("{chunks} chunks but {vectors} vectors")]
    Mismatch { chunks: usize, vectors: usize },
    #[error("value out of range: {0}")]
    Range(&'static str),
}

/// Where a document came from; decides who may read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Uploaded by the team under `knowledge/`: the team group only.
    Team,
    /// An SEC filing the fetcher stored: by the caller's tier rules.
    Filing,
    /// A completed analysis: by the caller's tier rules.
    Analysis,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Team => "team",
            Source::Filing => "filing",
            Source::Analysis => "analysis",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "team" => Some(Source::Team),
            "filing" => Some(Source::Filing),
            "analysis" => Some(Source::Analysis),
            _ => None,
        }
    }
}

/// A document about to be indexed (or refused).
#[derive(Debug, Clone)]
pub struct NewDocument {
    pub source: Source,
    /// The S3 key of an upload, `filing/<accession>`, `analysis/<id>`: one document each.
    pub source_key: String,
    pub title: String,
    pub ticker: Option<String>,
    pub form: Option<String>,
    pub period: Option<String>,
    pub s3_key: Option<String>,
    /// Hex sha256 of the document's bytes.
    pub sha256: String,
}

impl NewDocument {
    /// The document's id: the same for every version of the same source key.
    pub fn document_id(&self) -> Uuid {
        Uuid::new_v5(
            &Uuid::NAMESPACE_OID,
            format!("sluice-knowledge:{}", self.source_key).as_bytes(),
        )
    }
}

/// What indexing did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexOutcome {
    /// Chunks written (replacing any older version's).
    Indexed { chunks: usize },
    /// The same (sha256, chunker version, model) is already there.
    Unchanged,
    /// Recorded as refused with its reason; no chunks.
    Refused,
}

/// True when this version of the document is already stored (indexed or refused).
pub async fn is_current<C: GenericClient>(client: &C, doc: &NewDocument, model: &str) -> Result<bool, StoreError> {
    let row = client
        .query_opt(
            "SELECT 1 FROM knowledge_documents
              WHERE source_key = $1 AND sha256 = $2 AND chunker_version = $3 AND model = $4",
            &[&doc.source_key, &doc.sha256, &CHUNKER_VERSION, &model],
        )
        .await?;
    Ok(row.is_some())
}

/// `[0.1,0.2,...]`, pgvector's text form.
pub fn vector_literal(v: &[f32]) -> String {
    let mut s = String::with_capacity(v.len() * 10 + 2);
    s.push('[');
    for (i, x) in v.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(s, "{x}");
    }
    s.push(']');
    s
}

/// Replaces the document and its chunks (in the caller's transaction).
pub async fn index_document(
    tx: &tokio_postgres::Transaction<'_>,
    doc: &NewDocument,
    model: &str,
    chunks: &[Chunk],
    vectors: &[Embedding],
) -> Result<IndexOutcome, StoreError> {
    if chunks.len() != vectors.len() {
        return Err(StoreError::Mismatch {
            chunks: chunks.len(),
            vectors: vectors.len(),
        });
    }
    if is_current(tx, doc, model).await? {
        return Ok(IndexOutcome::Unchanged);
    }
    let id = doc.document_id();
    let count = i32::try_from(chunks.len()).map_err(|_| StoreError::Range("chunk count"))?;
    write_document(tx, doc, model, "indexed", None, count).await?;
    let insert = tx
        .prepare(
            "INSERT INTO knowledge_chunks
                 (document_id, ord, source, ticker, form, period, model, header, body, section, page,
                  char_start, char_end, embedding)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::text::vector)",
        )
        .await?;
    for (chunk, vector) in chunks.iter().zip(vectors) {
        let ord = i32::try_from(chunk.ord).map_err(|_| StoreError::Range("chunk ord"))?;
        let page = chunk
            .page
            .map(i32::try_from)
            .transpose()
            .map_err(|_| StoreError::Range("page"))?;
        let start = i32::try_from(chunk.char_start).map_err(|_| StoreError::Range("char span"))?;
        let end = i32::try_from(chunk.char_end).map_err(|_| StoreError::Range("char span"))?;
        tx.execute(
            &insert,
            &[
                &id,
                &ord,
                &doc.source.as_str(),
                &doc.ticker,
                &doc.form,
                &doc.period,
                &model,
                &chunk.header,
                &chunk.body,
                &chunk.section,
                &page,
                &start,
                &end,
                &vector_literal(vector),
            ],
        )
        .await?;
    }
    Ok(IndexOutcome::Indexed { chunks: chunks.len() })
}

/// Records the document as refused with `reason`, dropping any chunks of an older version.
pub async fn refuse_document(
    tx: &tokio_postgres::Transaction<'_>,
    doc: &NewDocument,
    model: &str,
    reason: &str,
) -> Result<IndexOutcome, StoreError> {
    if is_current(tx, doc, model).await? {
        return Ok(IndexOutcome::Unchanged);
    }
    write_document(tx, doc, model, "refused", Some(reason), 0).await?;
    Ok(IndexOutcome::Refused)
}

async fn write_document(
    tx: &tokio_postgres::Transaction<'_>,
    doc: &NewDocument,
    model: &str,
    status: &str,
    reason: Option<&str>,
    count: i32,
) -> Result<(), StoreError> {
    // Deleting the row drops the older version's chunks (ON DELETE CASCADE).
    tx.execute(
        "DELETE FROM knowledge_documents WHERE source_key = $1",
        &[&doc.source_key],
    )
    .await?;
    tx.execute(
        "INSERT INTO knowledge_documents
             (document_id, source, source_key, title, ticker, form, period, s3_key, sha256,
              chunker_version, model, status, refusal_reason, chunk_count)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        &[
            &doc.document_id(),
            &doc.source.as_str(),
            &doc.source_key,
            &doc.title,
            &doc.ticker,
            &doc.form,
            &doc.period,
            &doc.s3_key,
            &doc.sha256,
            &CHUNKER_VERSION,
            &model,
            &status,
            &reason,
            &count,
        ],
    )
    .await?;
    Ok(())
}

/// Which candidate lists a search fuses (the benchmark compares the three).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchMode {
    FullText,
    Vector,
    Hybrid,
}

/// What the caller may read: decided by the route from the caller's groups and tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Visibility {
    /// The team group: team documents too.
    pub team_documents: bool,
    /// The demo tier: filings and analyses of S&P 500 companies only.
    pub sp500_only: bool,
}

/// A search: the question and its filters.
#[derive(Debug, Clone)]
pub struct SearchQuery {
    pub text: String,
    pub ticker: Option<String>,
    pub form: Option<String>,
    pub period: Option<String>,
    pub source: Option<Source>,
    pub document: Option<Uuid>,
    pub limit: usize,
    pub visibility: Visibility,
}

/// Where a passage is in its document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Citation {
    pub document_id: Uuid,
    pub title: String,
    pub source: String,
    pub section: Option<String>,
    pub page: Option<i32>,
    pub char_start: i32,
    pub char_end: i32,
    pub s3_key: Option<String>,
}

/// One ranked passage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub header: String,
    pub text: String,
    pub ticker: Option<String>,
    pub form: Option<String>,
    pub period: Option<String>,
    pub score: f64,
    pub citation: Citation,
}

/// Candidates each method contributes before fusion.
const CANDIDATES: i64 = 50;

const FILTERS: &str = "c.model = $1
   AND ($2::text IS NULL OR c.ticker = $2)
   AND ($3::text IS NULL OR c.form = $3)
   AND ($4::text IS NULL OR c.period = $4)
   AND ($5::text IS NULL OR c.source = $5)
   AND ($6::uuid IS NULL OR c.document_id = $6)
   AND (c.source <> 'team' OR $7::boolean)
   AND (NOT $8::boolean OR c.source = 'team' OR c.ticker IS NULL
        OR c.ticker IN (SELECT ticker FROM tickers WHERE 'SP500' = ANY(index_membership)))";

/// The hybrid search: full-text and vector candidates (each up to 50) fused by reciprocal
/// rank (k = 60), filtered by the query's filters and what the caller may read. `vector`
/// is the question embedded by `model` (of `dims` dimensions).
pub async fn search<C: GenericClient>(
    client: &C,
    model: &str,
    dims: usize,
    vector: &[f32],
    query: &SearchQuery,
    mode: SearchMode,
) -> Result<Vec<Hit>, StoreError> {
    let source = query.source.map(Source::as_str);
    let base: [&(dyn tokio_postgres::types::ToSql + Sync); 8] = [
        &model,
        &query.ticker,
        &query.form,
        &query.period,
        &source,
        &query.document,
        &query.visibility.team_documents,
        &query.visibility.sp500_only,
    ];
    let mut lists: Vec<Vec<(Uuid, i32)>> = Vec::new();
    if mode != SearchMode::Vector {
        // Any of the question's words (OR), ranked by cover density: a question's words are
        // rarely all in one passage.
        let sql = format!(
            "SELECT c.document_id, c.ord FROM knowledge_chunks c,
                    to_tsquery('english', replace(plainto_tsquery('english', $9)::text, '&', '|')) q
              WHERE c.tsv @@ q AND {FILTERS}
              ORDER BY ts_rank_cd(c.tsv, q) DESC, c.document_id, c.ord LIMIT $10"
        );
        let mut params = base.to_vec();
        params.push(&query.text);
        params.push(&CANDIDATES);
        let rows = client.query(&sql, &params).await?;
        lists.push(rows.iter().map(|r| (r.get(0), r.get(1))).collect());
    }
    if mode != SearchMode::FullText {
        // The dimension is the model's (a number, never input), so the planner can use the
        // model's partial HNSW index.
        let sql = format!(
            "SELECT c.document_id, c.ord FROM knowledge_chunks c
              WHERE {FILTERS}
              ORDER BY c.embedding::vector({dims}) <=> $9::text::vector({dims}) LIMIT $10"
        );
        let literal = vector_literal(vector);
        let mut params = base.to_vec();
        params.push(&literal);
        params.push(&CANDIDATES);
        let rows = client.query(&sql, &params).await?;
        lists.push(rows.iter().map(|r| (r.get(0), r.get(1))).collect());
    }
    let fused = reciprocal_rank_fusion(&lists, RRF_K);
    let top: Vec<_> = fused.into_iter().take(query.limit).collect();
    if top.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = top.iter().map(|((d, _), _)| *d).collect();
    let ords: Vec<i32> = top.iter().map(|((_, o), _)| *o).collect();
    let rows = client
        .query(
            "SELECT c.document_id, c.ord, c.header, c.body, c.ticker, c.form, c.period, c.section, c.page,
                    c.char_start, c.char_end, d.title, d.source, d.s3_key
               FROM unnest($1::uuid[], $2::int[]) AS k(document_id, ord)
               JOIN knowledge_chunks c USING (document_id, ord)
               JOIN knowledge_documents d USING (document_id)",
            &[&ids, &ords],
        )
        .await?;
    let mut hits = Vec::with_capacity(top.len());
    for ((doc, ord), score) in top {
        let Some(r) = rows
            .iter()
            .find(|r| r.get::<_, Uuid>(0) == doc && r.get::<_, i32>(1) == ord)
        else {
            continue;
        };
        hits.push(Hit {
            header: r.get(2),
            text: r.get(3),
            ticker: r.get(4),
            form: r.get(5),
            period: r.get(6),
            score,
            citation: Citation {
                document_id: doc,
                title: r.get(11),
                source: r.get(12),
                section: r.get(7),
                page: r.get(8),
                char_start: r.get(9),
                char_end: r.get(10),
                s3_key: r.get(13),
            },
        });
    }
    Ok(hits)
}

/// A document's state, for people and tests: (status, refusal reason, chunk count).
pub async fn document_status<C: GenericClient>(
    client: &C,
    source_key: &str,
) -> Result<Option<(String, Option<String>, i32)>, StoreError> {
    Ok(client
        .query_opt(
            "SELECT status, refusal_reason, chunk_count FROM knowledge_documents WHERE source_key = $1",
            &[&source_key],
        )
        .await?
        .map(|r| (r.get(0), r.get(1), r.get(2))))
}
