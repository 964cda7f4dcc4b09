//! The retrieval benchmark (issue 11): the real Apple filings of the shared fixtures and
//! the team documents of `tools/bench/retrieval/docs`, indexed with the local model through
//! `sluice-knowledge` (the code filing-fetcher and ingest-validator run), then
//!
//! - quality: every question of `questions.json` searched full-text only, vector only and
//!   hybrid (`store::search`, the function `GET /v1/search` calls): recall@5 and MRR@10;
//! - indexing throughput of the Apple 10-K: sections, chunks, embeddings and the store's
//!   transaction, chunks/s;
//! - latency: the store padded with synthetic chunks (real sentences recombined into
//!   fictional companies' filings, embedded by the same model, COPYed in, the HNSW index
//!   rebuilt with its migration's definition) to `--chunks`, then every question again,
//!   timed from the question's embedding to the ranked passages (as the route does, minus
//!   HTTP): p50/p99.

use crate::stack::BenchDb;
use anyhow::{bail, Context};
use futures::SinkExt;
use serde::Serialize;
use sluice_bench::rag::{self, Question};
use sluice_core::ConfigSource;
use sluice_filing_sections::FilingType;
use sluice_knowledge::chunk::{self, Chunk, DocumentKind, DocumentMeta};
use sluice_knowledge::embed::{self, StaticModel};
use sluice_knowledge::index::{self, sha256_hex};
use sluice_knowledge::store::{self, IndexOutcome, NewDocument, SearchMode, SearchQuery, Source, Visibility};
use sluice_knowledge::Embedder;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;
use uuid::Uuid;

pub struct RetrievalOptions {
    /// The shared fixtures folder (`sec/filings/...` under it).
    pub fixtures: PathBuf,
    /// `questions.json` and `docs/`.
    pub set: PathBuf,
    /// Chunks in the store for the latency figures (real + synthetic).
    pub chunks: usize,
    /// Timed passes over the questions for the latency figures.
    pub passes: usize,
    /// Print every question's ranks (stderr).
    pub verbose: bool,
}

/// A filing of the fixtures and how filing-fetcher would describe it.
struct FilingFixture {
    label: &'static str,
    file: &'static str,
    form: FilingType,
    form_name: &'static str,
    period: &'static str,
    accession: &'static str,
}

const FILINGS: [FilingFixture; 2] = [
    FilingFixture {
        label: "aapl-10-k",
        file: "sec/filings/aapl-10-k-2024-11-01.html",
        form: FilingType::TenK,
        form_name: "10-K",
        period: "FY2024",
        accession: "0000320193-24-000123",
    },
    FilingFixture {
        label: "aapl-10-q",
        file: "sec/filings/aapl-10-q-2025-08-01.html",
        form: FilingType::TenQ,
        form_name: "10-Q",
        period: "FY2025-Q3",
        accession: "0000320193-25-000073",
    },
];

struct Indexed {
    label: String,
    document_id: Uuid,
    chunks: Vec<Chunk>,
}

#[derive(Serialize)]
pub struct ModeFigures {
    pub mode: &'static str,
    pub recall_at_5: f64,
    pub mrr_at_10: f64,
    pub latency_p50_ms: f64,
    pub latency_p99_ms: f64,
}

#[derive(Serialize)]
pub struct RetrievalReport {
    pub bench: &'static str,
    pub model: String,
    pub questions: usize,
    pub questions_filings: usize,
    pub questions_team: usize,
    pub corpus_chunks: usize,
    pub tenk_chunks: usize,
    pub tenk_index_s: f64,
    pub tenk_chunks_per_s: f64,
    pub store_chunks: i64,
    pub synthetic_chunks: usize,
    pub synthetic_embed_s: f64,
    pub synthetic_copy_s: f64,
    pub hnsw_build_s: f64,
    pub latency_samples: usize,
    pub modes: Vec<ModeFigures>,
    /// Question index -> first relevant rank (hybrid, at the small corpus), for reading misses.
    pub hybrid_misses: Vec<String>,
}

fn load_questions(set: &Path) -> anyhow::Result<Vec<Question>> {
    let path = set.join("questions.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Indexes one document through `index::store_prepared` (the code both indexers run).
async fn store_one(
    pool: &deadpool_postgres::Pool,
    model: &dyn Embedder,
    doc: &NewDocument,
    chunks: Vec<Chunk>,
) -> anyhow::Result<()> {
    let outcome = index::store_prepared(pool, model, doc, Ok(chunks)).await?;
    if !matches!(outcome, IndexOutcome::Indexed { .. }) {
        bail!("{} was not indexed: {outcome:?}", doc.source_key);
    }
    Ok(())
}

/// The filings (when present) and the team documents, indexed; the 10-K timed.
async fn index_corpus(
    db: &BenchDb,
    model: &Arc<StaticModel>,
    options: &RetrievalOptions,
) -> anyhow::Result<(Vec<Indexed>, Option<(usize, f64)>)> {
    let mut corpus = Vec::new();
    let mut tenk = None;
    for f in &FILINGS {
        let path = options.fixtures.join(f.file);
        let Ok(bytes) = std::fs::read(&path) else {
            eprintln!("[retrieval] skipping {}: not present", path.display());
            continue;
        };
        let started = Instant::now();
        let html = sluice_filing_sections::decode_document(&bytes);
        let sections = sluice_filing_sections::extract(&html, f.form)
            .with_context(|| format!("sections of {}", path.display()))?;
        let meta = DocumentMeta {
            title: format!("Apple Inc. {} {}", f.form_name, f.period),
            company: Some("Apple Inc.".into()),
            ticker: Some("AAPL".into()),
            form: Some(f.form_name.into()),
            period: Some(f.period.into()),
        };
        let chunks = chunk::chunk_filing(&meta, &sections);
        let doc = NewDocument {
            source: Source::Filing,
            source_key: format!("filing/{}", f.accession),
            title: meta.title.clone(),
            ticker: meta.ticker.clone(),
            form: meta.form.clone(),
            period: meta.period.clone(),
            s3_key: Some(format!("filings/AAPL/{}/{}", f.accession, f.file)),
            sha256: sha256_hex(&bytes),
        };
        let n = chunks.len();
        store_one(&db.pool, model.as_ref(), &doc, chunks.clone()).await?;
        if f.form == FilingType::TenK {
            tenk = Some((n, started.elapsed().as_secs_f64()));
        }
        corpus.push(Indexed {
            label: f.label.into(),
            document_id: doc.document_id(),
            chunks,
        });
    }
    let docs = options.set.join("docs");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&docs)
        .with_context(|| format!("reading {}", docs.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    names.sort();
    for path in names {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .context("a document name")?
            .to_owned();
        let bytes = std::fs::read(&path)?;
        let key = format!("knowledge/bench/{name}");
        let meta = DocumentMeta {
            title: name.clone(),
            company: Some("Sluice Capital".into()),
            ..DocumentMeta::default()
        };
        let chunks =
            index::prepare(DocumentKind::from_key(&key), &bytes, &meta).map_err(|r| anyhow::anyhow!("{name}: {r}"))?;
        let doc = NewDocument {
            source: Source::Team,
            source_key: key.clone(),
            title: name.clone(),
            ticker: None,
            form: None,
            period: None,
            s3_key: Some(key),
            sha256: sha256_hex(&bytes),
        };
        store_one(&db.pool, model.as_ref(), &doc, chunks.clone()).await?;
        corpus.push(Indexed {
            label: format!("team/{name}"),
            document_id: doc.document_id(),
            chunks,
        });
    }
    Ok((corpus, tenk))
}

fn query(text: &str, limit: usize) -> SearchQuery {
    SearchQuery {
        text: text.to_owned(),
        ticker: None,
        form: None,
        period: None,
        source: None,
        document: None,
        limit,
        visibility: Visibility {
            team_documents: true,
            sp500_only: false,
        },
    }
}

/// What `GET /v1/search` does once the request is checked: embed, then `store::search`.
async fn timed_search(
    pool: &deadpool_postgres::Pool,
    model: &StaticModel,
    text: &str,
    limit: usize,
    mode: SearchMode,
) -> anyhow::Result<(Vec<store::Hit>, f64)> {
    let client = pool.get().await?;
    let started = Instant::now();
    let vector = model
        .embed(&[text.to_owned()])
        .await?
        .pop()
        .context("no vector for the question")?;
    let hits = store::search(
        &**client,
        model.model_id(),
        model.dimensions(),
        &vector,
        &query(text, limit),
        mode,
    )
    .await?;
    Ok((hits, started.elapsed().as_secs_f64() * 1000.0))
}

const MODES: [(SearchMode, &str); 3] = [
    (SearchMode::FullText, "full_text"),
    (SearchMode::Vector, "vector"),
    (SearchMode::Hybrid, "hybrid"),
];

/// Pads the store with synthetic chunks up to `target`: (count, embed s, copy s, hnsw s).
async fn pad(
    db: &BenchDb,
    model: &StaticModel,
    corpus: &[Indexed],
    target: usize,
) -> anyhow::Result<(usize, f64, f64, f64)> {
    let real: usize = corpus.iter().map(|d| d.chunks.len()).sum();
    let count = target.saturating_sub(real);
    if count == 0 {
        return Ok((0, 0.0, 0.0, 0.0));
    }
    let material = rag::sentences(corpus.iter().flat_map(|d| d.chunks.iter().map(|c| c.body.as_str())));
    let synthetic = rag::synthetic_chunks(&material, count, 100, 20_241_101);
    let started = Instant::now();
    let vectors: Vec<Vec<f32>> = synthetic
        .iter()
        .map(|c| model.embed_one(&format!("{}\n{}", c.header, c.body)))
        .collect();
    let embed_s = started.elapsed().as_secs_f64();

    let mut client = db.pool.get().await?;
    let index_def: String = client
        .query_one(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'knowledge_chunks_hnsw_wordllama'",
            &[],
        )
        .await?
        .get(0);
    let started = Instant::now();
    let tx = client.transaction().await?;
    tx.batch_execute("DROP INDEX knowledge_chunks_hnsw_wordllama").await?;
    let docs = synthetic.last().map_or(0, |c| c.doc + 1);
    let model_id = model.model_id();
    for d in 0..docs {
        let key = format!("synthetic/{d}");
        let id = Uuid::new_v5(&Uuid::NAMESPACE_OID, format!("sluice-knowledge:{key}").as_bytes());
        let title = format!("Synthetic Company {d}");
        let chunks = i32::try_from(synthetic.iter().filter(|c| c.doc == d).count())?;
        tx.execute(
            "INSERT INTO knowledge_documents (document_id, source, source_key, title, ticker, sha256,
                                              chunker_version, model, status, chunk_count)
             VALUES ($1, 'filing', $2, $3, $4, $5, $6, $7, 'indexed', $8)",
            &[
                &id,
                &key,
                &title,
                &format!("SYN{d:04}"),
                &sha256_hex(key.as_bytes()),
                &sluice_knowledge::CHUNKER_VERSION,
                &model_id,
                &chunks,
            ],
        )
        .await?;
    }
    let sink = tx
        .copy_in::<_, bytes::Bytes>(
            "COPY knowledge_chunks (document_id, ord, source, ticker, form, period, model, header, body,
                                    section, char_start, char_end, embedding) FROM STDIN",
        )
        .await?;
    futures::pin_mut!(sink);
    let mut buf = String::with_capacity(1 << 20);
    for (c, v) in synthetic.iter().zip(&vectors) {
        let id = Uuid::new_v5(
            &Uuid::NAMESPACE_OID,
            format!("sluice-knowledge:synthetic/{}", c.doc).as_bytes(),
        );
        let len = c.body.chars().count().to_string();
        let fields = [
            id.to_string(),
            c.ord.to_string(),
            "filing".into(),
            c.ticker.clone(),
            c.form.into(),
            c.period.clone(),
            model_id.to_owned(),
            c.header.clone(),
            c.body.clone(),
            c.section.clone(),
            "0".into(),
            len,
            store::vector_literal(v),
        ];
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                buf.push('\t');
            }
            rag::copy_field(&mut buf, Some(f));
        }
        buf.push('\n');
        if buf.len() > (1 << 20) {
            sink.send(bytes::Bytes::from(std::mem::take(&mut buf))).await?;
        }
    }
    sink.send(bytes::Bytes::from(buf)).await?;
    sink.finish().await?;
    let copy_s = started.elapsed().as_secs_f64();
    let started = Instant::now();
    tx.batch_execute("SET LOCAL maintenance_work_mem = '1GB'").await?;
    tx.batch_execute(&index_def).await?;
    tx.commit().await?;
    let hnsw_s = started.elapsed().as_secs_f64();
    client.batch_execute("VACUUM ANALYZE knowledge_chunks").await?;
    Ok((count, embed_s, copy_s, hnsw_s))
}

pub async fn run(options: RetrievalOptions) -> anyhow::Result<RetrievalReport> {
    let cfg = ConfigSource::from_env();
    let dir = std::env::var_os("EMBEDDING_MODEL_DIR").map_or_else(embed::default_model_dir, PathBuf::from);
    let model = embed::shared_static_model(&dir).context("the local model (scripts/bootstrap.sh stack installs it)")?;
    let questions = load_questions(&options.set)?;
    let db = BenchDb::create(&cfg, "retrieval", None).await?;
    let result = measure(&db, &model, &questions, &options).await;
    db.drop_db().await;
    result
}

async fn measure(
    db: &BenchDb,
    model: &Arc<StaticModel>,
    all_questions: &[Question],
    options: &RetrievalOptions,
) -> anyhow::Result<RetrievalReport> {
    let (corpus, tenk) = index_corpus(db, model, options).await?;
    let by_label: HashMap<&str, &Indexed> = corpus.iter().map(|d| (d.label.as_str(), d)).collect();
    // Questions about an absent filing are skipped; a question whose answer is in no chunk
    // of its document is a broken question set.
    let mut questions = Vec::new();
    for q in all_questions {
        let Some(doc) = by_label.get(q.doc.as_str()) else {
            if q.doc.starts_with("team/") {
                bail!("question `{}`: no document {}", q.q, q.doc);
            }
            continue;
        };
        if !doc
            .chunks
            .iter()
            .any(|c| rag::answers(&rag::normalise(&c.body), &q.answer))
        {
            bail!("question `{}`: `{}` is in no chunk of {}", q.q, q.answer, q.doc);
        }
        questions.push((q, doc.document_id));
    }
    if questions.is_empty() {
        bail!("no question can be asked");
    }
    let corpus_chunks = corpus.iter().map(|d| d.chunks.len()).sum();

    // Quality, on the real corpus.
    let mut ranks: HashMap<&str, Vec<Option<usize>>> = HashMap::new();
    let mut hybrid_misses = Vec::new();
    for (mode, name) in MODES {
        for (q, id) in &questions {
            let (hits, _) = timed_search(&db.pool, model, &q.q, 10, mode).await?;
            let relevant: Vec<bool> = hits
                .iter()
                .map(|h| h.citation.document_id == *id && rag::answers(&rag::normalise(&h.text), &q.answer))
                .collect();
            let rank = rag::first_relevant(&relevant);
            if options.verbose {
                eprintln!(
                    "[retrieval] {name:9} {:>5} {}",
                    rank.map_or("-".into(), |r| r.to_string()),
                    q.q
                );
            }
            if mode == SearchMode::Hybrid && !matches!(rank, Some(r) if r <= 5) {
                hybrid_misses.push(format!("{} (rank {rank:?})", q.q));
            }
            ranks.entry(name).or_default().push(rank);
        }
    }

    // Latency, on the padded store.
    let (synthetic, embed_s, copy_s, hnsw_s) = pad(db, model, &corpus, options.chunks).await?;
    let store_chunks: i64 = db
        .pool
        .get()
        .await?
        .query_one("SELECT count(*) FROM knowledge_chunks", &[])
        .await?
        .get(0);
    let mut modes = Vec::new();
    let mut samples_per_mode = 0;
    for (mode, name) in MODES {
        // One untimed pass warms the caches and the connections.
        for (q, _) in &questions {
            timed_search(&db.pool, model, &q.q, 10, mode).await?;
        }
        let mut samples = Vec::new();
        for _ in 0..options.passes {
            for (q, _) in &questions {
                samples.push(timed_search(&db.pool, model, &q.q, 10, mode).await?.1);
            }
        }
        samples_per_mode = samples.len();
        let (recall, mrr) = rag::recall_and_mrr(ranks.get(name).map_or(&[][..], Vec::as_slice), 5);
        modes.push(ModeFigures {
            mode: name,
            recall_at_5: recall,
            mrr_at_10: mrr,
            latency_p50_ms: rag::percentile(&samples, 50.0),
            latency_p99_ms: rag::percentile(&samples, 99.0),
        });
    }
    let team = questions.iter().filter(|(q, _)| q.doc.starts_with("team/")).count();
    let (tenk_chunks, tenk_s) = tenk.unwrap_or((0, 0.0));
    Ok(RetrievalReport {
        bench: "retrieval",
        model: model.model_id().to_owned(),
        questions: questions.len(),
        questions_filings: questions.len() - team,
        questions_team: team,
        corpus_chunks,
        tenk_chunks,
        tenk_index_s: tenk_s,
        tenk_chunks_per_s: if tenk_s > 0.0 { tenk_chunks as f64 / tenk_s } else { 0.0 },
        store_chunks,
        synthetic_chunks: synthetic,
        synthetic_embed_s: embed_s,
        synthetic_copy_s: copy_s,
        hnsw_build_s: hnsw_s,
        latency_samples: samples_per_mode,
        modes,
        hybrid_misses,
    })
}

/// Every chunk of the corpus as JSON lines (for writing questions): label, ord, section, body.
pub fn dump(options: &RetrievalOptions) -> anyhow::Result<()> {
    for f in &FILINGS {
        let path = options.fixtures.join(f.file);
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let html = sluice_filing_sections::decode_document(&bytes);
        let sections = sluice_filing_sections::extract(&html, f.form)?;
        let meta = DocumentMeta {
            title: String::new(),
            company: Some("Apple Inc.".into()),
            ticker: Some("AAPL".into()),
            form: Some(f.form_name.into()),
            period: Some(f.period.into()),
        };
        for c in chunk::chunk_filing(&meta, &sections) {
            println!(
                "{}",
                serde_json::json!({"doc": f.label, "ord": c.ord, "section": c.section, "body": c.body})
            );
        }
    }
    Ok(())
}
