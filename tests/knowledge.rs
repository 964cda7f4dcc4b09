//! Ask Sluice's retrieval end to end: documents dropped under `knowledge/` go through the
//! uploads queue to ingest-validator's indexer (real moto S3 and SQS, PostgreSQL with
//! pgvector, the local static embedding model), then `GET /v1/search` as each kind of caller.
//! The OpenAI-compatible and Bedrock Titan embedding clients are driven against the fake
//! model server's wire formats.

use serde_json::Value;
use sluice_core::ConfigSource;
use sluice_knowledge::chunk::{chunk_plain, DocumentMeta};
use sluice_knowledge::index::{self, sha256_hex};
use sluice_knowledge::pdf::pdf_with_pages;
use sluice_knowledge::store::{self, IndexOutcome, NewDocument, SearchMode, SearchQuery, Source, Visibility};
use sluice_tests::{fresh_database, token, TestStack};

async fn search(api: &str, bearer: &str, query: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(format!("{api}/v1/search?{query}"))
        .bearer_auth(bearer)
        .send()
        .await
        .expect("search request");
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

async fn document(stack: &TestStack, key: &str) -> Option<(String, Option<String>, i32)> {
    let client = stack.pool.get().await.expect("client");
    store::document_status(&**client, key).await.expect("status")
}

const MEMO_PAGES: [&str; 3] = [
    "Board memo for the third quarter. Attendance and agenda.",
    "The Lisbon office opened in March with 42 engineers working on payments.",
    "Next steps: hiring plan for the data team and a review of vendor contracts.",
];

#[tokio::test]
async fn a_pdf_dropped_under_knowledge_is_searchable_and_cites_its_page() {
    let stack = TestStack::start().await;
    let api = stack.serve_api().await;
    stack
        .upload(
            "knowledge/board/Q3 memo.pdf",
            pdf_with_pages(&MEMO_PAGES),
            &[("company", "Acme Corp"), ("period", "2026-Q3")],
        )
        .await;
    stack.settle().await;
    assert_eq!(
        document(&stack, "knowledge/board/Q3 memo.pdf").await,
        Some(("indexed".into(), None, 3))
    );

    let team = token("ana", "professional", true);
    let (status, body) = search(&api, &team, "q=how+many+engineers+in+the+Lisbon+office&limit=3").await;
    assert_eq!(status, 200, "{body}");
    let first = &body["results"][0];
    assert!(
        first["text"].as_str().unwrap_or_default().contains("42 engineers"),
        "{body}"
    );
    assert_eq!(first["citation"]["page"], 2);
    assert_eq!(first["citation"]["source"], "team");
    assert_eq!(first["citation"]["s3_key"], "knowledge/board/Q3 memo.pdf");
    assert_eq!(first["header"], "Acme Corp · 2026-Q3 · Q3 memo.pdf · page 2");
    assert_eq!(body["model"], "wordllama-l2-supercat-256");

    // Team documents are for the team group only.
    let customer = token("bob", "enterprise", false);
    let (status, body) = search(&api, &customer, "q=Lisbon+engineers").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"].as_array().map(Vec::len), Some(0), "{body}");
    let (status, _) = search(&api, &customer, "q=Lisbon&source=team").await;
    assert_eq!(status, 403);

    // Bad input: clear 4xx, never a 500.
    assert_eq!(search(&api, &team, "q=").await.0, 400);
    assert_eq!(search(&api, &team, "").await.0, 400);
    assert_eq!(search(&api, &team, &format!("q={}", "a".repeat(3000))).await.0, 413);
    assert_eq!(search(&api, &team, "q=x&source=web").await.0, 400);
    assert_eq!(search(&api, &team, "q=x&limit=500").await.0, 400);
    assert_eq!(search(&api, &team, "q=x&document=nope").await.0, 400);
}

#[tokio::test]
async fn documents_that_cannot_be_indexed_are_refused_with_a_reason() {
    let stack = TestStack::start().await;
    let mut encrypted = pdf_with_pages(&["secret figures"]);
    let at = encrypted.len() - 30;
    encrypted.splice(at..at, b"/Encrypt 9 0 R ".iter().copied());
    stack.upload("knowledge/locked.pdf", encrypted, &[]).await;
    stack
        .upload("knowledge/broken.pdf", b"%PDF-1.4\nnot really".to_vec(), &[])
        .await;
    stack.upload("knowledge/scan.pdf", pdf_with_pages(&["", ""]), &[]).await;
    stack.upload("knowledge/tool.exe", b"MZ\x90\x00".to_vec(), &[]).await;
    stack.upload("knowledge/empty.md", b"   \n".to_vec(), &[]).await;
    stack.settle().await;
    for (key, reason) in [
        ("knowledge/locked.pdf", "encrypted"),
        ("knowledge/broken.pdf", "cannot be read"),
        ("knowledge/scan.pdf", "no text"),
        ("knowledge/tool.exe", "unsupported"),
        ("knowledge/empty.md", "no text"),
    ] {
        let (status, why, chunks) = document(&stack, key).await.expect(key);
        assert_eq!(status, "refused", "{key}");
        assert!(why.unwrap_or_default().contains(reason), "{key}");
        assert_eq!(chunks, 0);
    }
    let rows = stack.query("SELECT count(*) FROM knowledge_chunks").await;
    assert_eq!(rows[0].get::<_, i64>(0), 0, "nothing half-indexed");
    // Refused documents are not poison: nothing went to the dead-letter queue.
    assert_eq!(stack.queue_depth(&stack.resources.uploads.dlq_url).await, 0);
}

#[tokio::test]
async fn a_new_version_replaces_the_old_chunks() {
    let stack = TestStack::start().await;
    let api = stack.serve_api().await;
    let team = token("ana", "basic", true);
    let key = "knowledge/notes/pricing.md";
    stack
        .upload(key, b"# Pricing\nThe basic plan costs 9 euros a month.\n".to_vec(), &[])
        .await;
    stack.settle().await;
    let (_, body) = search(&api, &team, "q=basic+plan+price").await;
    assert!(
        body["results"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("9 euros"),
        "{body}"
    );
    assert_eq!(body["results"][0]["citation"]["section"], "Pricing");

    stack
        .upload(
            key,
            b"# Pricing\nThe basic plan now costs 12 euros a month.\n".to_vec(),
            &[],
        )
        .await;
    stack.settle().await;
    let (_, body) = search(&api, &team, "q=basic+plan+price").await;
    let texts: Vec<&str> = body["results"]
        .as_array()
        .map(|r| r.iter().filter_map(|h| h["text"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(texts, vec!["The basic plan now costs 12 euros a month."], "{body}");
    let rows = stack.query("SELECT count(*) FROM knowledge_documents").await;
    assert_eq!(rows[0].get::<_, i64>(0), 1);
}

fn doc(key: &str, text: &str, ticker: &str) -> NewDocument {
    NewDocument {
        source: Source::Filing,
        source_key: key.into(),
        title: key.into(),
        ticker: Some(ticker.into()),
        form: Some("10-K".into()),
        period: Some("FY2024".into()),
        s3_key: None,
        sha256: sha256_hex(text.as_bytes()),
    }
}

/// Indexes three small filings with `embedder`, then searches in each mode with filters.
async fn index_and_search(embedder: &dyn sluice_knowledge::Embedder) {
    let (pool, _db) = fresh_database().await;
    let texts = [
        (
            "filing/a",
            "Iphone net sales increased due to higher demand in Greater China.",
            "AAPL",
        ),
        (
            "filing/b",
            "Electric vehicle deliveries grew while regulatory credits declined.",
            "TSLA",
        ),
        (
            "filing/c",
            "Data center revenue from accelerated computing reached a record.",
            "NVDA",
        ),
    ];
    for (key, text, ticker) in texts {
        let d = doc(key, text, ticker);
        let meta = DocumentMeta {
            title: key.into(),
            ..DocumentMeta::default()
        };
        let outcome = index::store_prepared(&pool, embedder, &d, Ok(chunk_plain(&meta, text)))
            .await
            .expect("indexed");
        assert_eq!(outcome, IndexOutcome::Indexed { chunks: 1 });
        // The same version again is not embedded or written again.
        let again = index::store_prepared(&pool, embedder, &d, Ok(chunk_plain(&meta, text)))
            .await
            .expect("unchanged");
        assert_eq!(again, IndexOutcome::Unchanged);
    }
    let client = pool.get().await.expect("client");
    let mut query = SearchQuery {
        text: "electric vehicle deliveries".into(),
        ticker: None,
        form: None,
        period: None,
        source: None,
        document: None,
        limit: 3,
        visibility: Visibility {
            team_documents: false,
            sp500_only: false,
        },
    };
    let vector = embedder
        .embed(std::slice::from_ref(&query.text))
        .await
        .expect("vector")
        .remove(0);
    for mode in [SearchMode::FullText, SearchMode::Vector, SearchMode::Hybrid] {
        let hits = store::search(
            &**client,
            embedder.model_id(),
            embedder.dimensions(),
            &vector,
            &query,
            mode,
        )
        .await
        .expect("search");
        assert_eq!(hits.first().and_then(|h| h.ticker.as_deref()), Some("TSLA"), "{mode:?}");
    }
    query.ticker = Some("NVDA".into());
    let hits = store::search(
        &**client,
        embedder.model_id(),
        embedder.dimensions(),
        &vector,
        &query,
        SearchMode::Hybrid,
    )
    .await
    .expect("search");
    assert!(hits.iter().all(|h| h.ticker.as_deref() == Some("NVDA")) && !hits.is_empty());
}

#[tokio::test]
async fn openai_compatible_and_titan_embeddings_speak_their_wire_formats() {
    let fake = sluice_fakes::llm::start(sluice_fakes::llm::FakeLlmConfig::default())
        .await
        .expect("fake model server");
    let sdk = sluice_core::aws::sdk_config().await;
    let openai = sluice_knowledge::embed::from_config(
        &ConfigSource::from_pairs([
            ("EMBEDDINGS_PROVIDER", "openai".to_string()),
            ("EMBEDDINGS_BASE_URL", fake.openai_base_url()),
            ("EMBEDDINGS_MODEL", "fake-embed".to_string()),
            ("EMBEDDINGS_DIMENSIONS", "256".to_string()),
        ]),
        &sdk,
    )
    .expect("openai embedder");
    assert_eq!(openai.model_id(), "fake-embed");
    index_and_search(openai.as_ref()).await;

    let titan = sluice_knowledge::embed::from_config(
        &ConfigSource::from_pairs([
            ("EMBEDDINGS_PROVIDER", "bedrock".to_string()),
            ("BEDROCK_ENDPOINT_URL", fake.base_url.clone()),
        ]),
        &sdk,
    )
    .expect("titan embedder");
    assert_eq!(titan.model_id(), "amazon.titan-embed-text-v2:0");
    let v = titan.embed(&["revenue grew".to_string()]).await.expect("titan vector");
    assert_eq!(v[0].len(), 1024);
    index_and_search(titan.as_ref()).await;
}

#[tokio::test]
async fn the_local_model_ranks_related_text_closer() {
    let model = sluice_knowledge::embed::shared_static_model(&sluice_knowledge::embed::default_model_dir())
        .expect("the local model (scripts/bootstrap.sh stack installs it)");
    let e = |t: &str| model.embed_one(t);
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    let q = e("How much revenue did the company make?");
    let related = e("Total net sales for the fiscal year were 391 billion dollars.");
    let unrelated = e("The cat sat on the mat in the garden.");
    assert!(dot(&q, &related) > dot(&q, &unrelated));
    index_and_search(model.as_ref()).await;
}

#[tokio::test]
async fn a_fetched_filing_is_searchable_and_cites_its_section() {
    if sluice_tests::fixture("sec/filings/aapl-10-k-2024-11-01.html").is_none() {
        return;
    }
    let s = sluice_tests::filings::FilingStack::start(false).await;
    let ent = s.user("erin", "enterprise").await;
    let tenk = serde_json::json!({"ticker": "AAPL", "form": "10-K", "fiscal_year": 2024, "kind": "risk_factors"});
    let (status, _, accepted) = s.post_analysis(&ent, &tenk).await;
    assert_eq!(status, 202, "{accepted}");
    s.stack.settle().await;
    let (status, indexed, chunks) = document(&s.stack, "filing/0000320193-24-000123")
        .await
        .expect("the filing is indexed");
    assert_eq!(status, "indexed");
    assert!(chunks > 50, "{chunks} chunks");
    assert!(indexed.is_none());
    let (status, body) = search(
        &s.api,
        &ent,
        "q=risks+from+global+supply+chain+and+outsourcing+partners&ticker=AAPL&source=filing&limit=5",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let sections: Vec<&str> = body["results"]
        .as_array()
        .map(|r| r.iter().filter_map(|h| h["citation"]["section"].as_str()).collect())
        .unwrap_or_default();
    assert!(sections.contains(&"Item 1A Risk Factors"), "{sections:?}");
    assert_eq!(body["results"][0]["form"], "10-K");
    assert!(body["results"][0]["header"]
        .as_str()
        .unwrap_or_default()
        .starts_with("Apple Inc. · AAPL · 10-K · FY2024"));
}
