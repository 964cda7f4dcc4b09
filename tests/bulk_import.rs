//! Bulk import (seed 002) against PostgreSQL, moto and the fake EDGAR serving the local
//! mirror: a quote makes no EDGAR request and holds nothing; an import holds its quote,
//! queues one filing request per filing on the fetcher's queue, charges each filing that
//! arrives once (however often its request is delivered) and releases the rest of the
//! hold; a cancellation stops what was not fetched; refusals are problems, never 500s.

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use serde_json::{json, Value};
use sluice_tests::filings::{FilingStack, SLXH};

/// The mirror's company has a FY2025 10-K and a FY2026 Q3 10-Q: of the 8 filings this
/// selection names (10-K + three 10-Qs, two years), 2 exist.
fn selection() -> Value {
    json!({"tickers": [SLXH], "forms": ["10-K", "10-Q"], "years": [2025, 2026]})
}

async fn universe(s: &FilingStack) {
    s.sql("INSERT INTO tickers (ticker, name, cik) VALUES ('SLXH', 'Sluice Example Holdings, Inc.', '0009999999')")
        .await;
}

async fn send(
    s: &FilingStack,
    method: reqwest::Method,
    bearer: &str,
    path: &str,
    body: Option<&Value>,
    key: Option<&str>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", s.api))
        .bearer_auth(bearer);
    if let Some(body) = body {
        request = request.json(body);
    }
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn post(s: &FilingStack, bearer: &str, path: &str, body: &Value) -> (u16, Value) {
    send(s, reqwest::Method::POST, bearer, path, Some(body), None).await
}

/// EDGAR requests made so far (any path).
fn edgar_requests(s: &FilingStack) -> u64 {
    s.edgar.stats.paths().values().sum()
}

fn document_requests(s: &FilingStack) -> u64 {
    s.edgar
        .stats
        .paths()
        .iter()
        .filter(|(path, _)| path.starts_with("/Archives/"))
        .map(|(_, n)| n)
        .sum()
}

fn record(m: &aws_sdk_sqs::types::Message, queue_arn: &str) -> SqsEvent {
    let mut record = SqsMessage::default();
    record.message_id = m.message_id().map(str::to_owned);
    record.body = m.body().map(str::to_owned);
    record.event_source_arn = Some(queue_arn.to_owned());
    let mut event = SqsEvent::default();
    event.records.push(record);
    event
}

#[tokio::test]
async fn a_quoted_import_charges_each_filing_that_arrives_once_and_releases_the_rest() {
    let s = FilingStack::start(false).await;
    universe(&s).await;
    let ana = s.user("ana", "basic").await;
    let start = s.balance("ana").await;
    assert_eq!(start, 5_000_000);

    // The quote: free, no EDGAR request, nothing held.
    let (status, quoted) = post(&s, &ana, "/v1/bulk-imports/quote", &selection()).await;
    assert_eq!(status, 200, "{quoted}");
    assert_eq!(quoted["quote"]["filings"], 8, "{quoted}");
    assert_eq!(quoted["quote"]["already_stored"], 0);
    assert_eq!(quoted["quote"]["to_fetch"], 8);
    assert_eq!(quoted["quote"]["unit_price"]["micros"], 50_000);
    assert_eq!(quoted["quote"]["price"]["micros"], 400_000);
    assert_eq!(quoted["affordable"], true);
    assert_eq!(edgar_requests(&s), 0, "a quote asks EDGAR nothing");
    assert_eq!(s.count("SELECT count(*) FROM bulk_imports").await, 0);

    // Created: the quote held, one filing request per filing; a retried request (same
    // Idempotency-Key) answers the same import.
    let (status, created) = send(
        &s,
        reqwest::Method::POST,
        &ana,
        "/v1/bulk-imports",
        Some(&selection()),
        Some("k-1"),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["held"]["micros"], 400_000);
    assert_eq!(created["counts"]["queued"], 8);
    let (status, again) = send(
        &s,
        reqwest::Method::POST,
        &ana,
        "/v1/bulk-imports",
        Some(&selection()),
        Some("k-1"),
    )
    .await;
    assert_eq!((status, again["id"].as_str()), (200, Some(id.as_str())), "{again}");
    let (_, me) = s.get(&ana, "/v1/me").await;
    assert_eq!(me["usage"]["held"]["micros"], 400_000, "{me}");

    // Every filing request delivered twice.
    let res = &s.stack.resources;
    let taken = s.stack.take_messages(&res.filings.url).await;
    assert_eq!(taken.len(), 8, "one request per filing, none for the retried create");
    let fetcher = s.stack.functions.filings.clone().expect("filing-fetcher");
    for delivery in ["first", "second"] {
        for m in &taken {
            let failed = fetcher
                .handle_batch(record(m, &res.filings.arn))
                .await
                .batch_item_failures;
            assert!(failed.is_empty(), "{delivery} delivery failed");
        }
    }
    assert_eq!(document_requests(&s), 2, "each filing's document fetched once");

    let (status, done) = s.get(&ana, &format!("/v1/bulk-imports/{id}")).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["counts"]["stored"], 2, "{done}");
    assert_eq!(done["counts"]["failed"], 6, "{done}");
    assert_eq!(done["counts"]["queued"], 0);
    assert_eq!(done["charged"]["micros"], 100_000);
    assert_eq!(done["held"]["micros"], 0, "the rest of the hold is released");
    assert_eq!(done["filings"].as_array().unwrap().len(), 8);
    assert_eq!(s.balance("ana").await, start - 100_000);
    assert_eq!(
        s.count("SELECT count(*) FROM usage_transactions WHERE kind = 'bulk_import' AND amount_micros = -50000")
            .await,
        2
    );
    // The imported filings are the user's: analysing them charges no access fee again.
    assert_eq!(
        s.count("SELECT count(*) FROM filing_access WHERE user_id = 'ana'")
            .await,
        2
    );

    // The list (cursor), the caller's only.
    let (status, page) = s.get(&ana, "/v1/bulk-imports?limit=1").await;
    assert_eq!(status, 200);
    assert_eq!(page["items"][0]["id"], id.as_str());
    let bob = s.user("bob", "basic").await;
    let (_, none) = s.get(&bob, "/v1/bulk-imports").await;
    assert_eq!(none["items"].as_array().unwrap().len(), 0);

    // Progress: one typed event per filing settled (a redelivery adds none), the last one
    // completed; the live stream's store holds them for ana.
    s.stack.settle().await;
    let progress: Vec<Value> = s
        .stack
        .published()
        .await
        .into_iter()
        .filter(|e| e.payload.kind() == "BulkImportProgress")
        .map(|e| serde_json::to_value(&e.payload).unwrap()["data"].clone())
        .collect();
    assert_eq!(progress.len(), 8, "{progress:?}");
    assert!(progress
        .iter()
        .any(|p| p["status"] == "completed" && p["charged"] == 100_000));
    assert_eq!(
        s.count("SELECT count(*) FROM events WHERE user_id = 'ana' AND type = 'BulkImportProgress'")
            .await,
        8
    );
}

#[tokio::test]
async fn a_cancelled_import_charges_only_what_arrived_and_fetches_nothing_more() {
    let s = FilingStack::start(false).await;
    universe(&s).await;
    let pat = s.user("pat", "professional").await;
    let start = s.balance("pat").await;
    let (status, created) = post(&s, &pat, "/v1/bulk-imports", &selection()).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        created["unit_price"]["micros"], 20_000,
        "seed 002: $20 per 1,000 filings"
    );
    assert_eq!(created["held"]["micros"], 160_000);
    let id = created["id"].as_str().unwrap().to_owned();

    let res = &s.stack.resources;
    let taken = s.stack.take_messages(&res.filings.url).await;
    assert_eq!(taken.len(), 8);
    let (first, rest): (Vec<_>, Vec<_>) = taken.iter().partition(|m| {
        let body = m.body().unwrap_or_default();
        body.contains(r#"\"form\":\"10-K\""#) && body.contains(r#"\"selector\":{\"fiscal_year\":2025}"#)
            || body.contains(r#""form":"10-K""#) && body.contains(r#""selector":{"fiscal_year":2025}"#)
    });
    assert_eq!(first.len(), 1, "the FY2025 10-K's request");
    let fetcher = s.stack.functions.filings.clone().expect("filing-fetcher");
    assert!(fetcher
        .handle_batch(record(first[0], &res.filings.arn))
        .await
        .batch_item_failures
        .is_empty());

    // Someone else's import is not there for them.
    let bob = s.user("bob", "basic").await;
    let path = format!("/v1/bulk-imports/{id}");
    assert_eq!(send(&s, reqwest::Method::DELETE, &bob, &path, None, None).await.0, 404);
    assert_eq!(s.get(&bob, &path).await.0, 404);

    let (status, cancelled) = send(&s, reqwest::Method::DELETE, &pat, &path, None, None).await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["counts"]["stored"], 1);
    assert_eq!(cancelled["counts"]["cancelled"], 7);
    assert_eq!(cancelled["held"]["micros"], 0);
    assert_eq!(cancelled["charged"]["micros"], 20_000);

    // The rest arrive late: not fetched, not charged.
    let documents = document_requests(&s);
    for m in rest {
        assert!(fetcher
            .handle_batch(record(m, &res.filings.arn))
            .await
            .batch_item_failures
            .is_empty());
    }
    assert_eq!(
        document_requests(&s),
        documents,
        "nothing fetched after the cancellation"
    );
    assert_eq!(s.balance("pat").await, start - 20_000);
    let (_, after) = s.get(&pat, &path).await;
    assert_eq!(after["charged"]["micros"], 20_000, "{after}");
    assert_eq!(after["counts"]["cancelled"], 7);
    // The cancellation is announced on pat's stream.
    s.stack.settle().await;
    assert!(
        s.count(
            "SELECT count(*) FROM events WHERE user_id = 'pat' AND type = 'BulkImportProgress'
               AND payload->>'status' = 'cancelled'"
        )
        .await
            >= 1
    );
}

#[tokio::test]
async fn refusals_say_why_and_hold_nothing() {
    let s = FilingStack::start(false).await;
    universe(&s).await;
    let demo = s.user("dee", "demo").await;
    let (status, why) = post(&s, &demo, "/v1/bulk-imports/quote", &selection()).await;
    assert_eq!(status, 403, "{why}");
    assert!(
        why["detail"].as_str().unwrap_or_default().contains("basic tier"),
        "{why}"
    );

    let ana = s.user("ana", "basic").await;
    // The basic tier covers fiscal 2021 on (the stack's clock is 2026-11-22).
    let (status, why) = post(
        &s,
        &ana,
        "/v1/bulk-imports",
        &json!({"tickers": [SLXH], "forms": ["10-K"], "years": [2019]}),
    )
    .await;
    assert_eq!(status, 403, "{why}");
    assert!(
        why["detail"].as_str().unwrap_or_default().contains("professional"),
        "{why}"
    );
    for (body, words) in [
        (json!({"tickers": ["ZZZZ"], "forms": ["10-K"], "years": [2025]}), "ZZZZ"),
        (
            json!({"tickers": [SLXH], "forms": ["8-K"], "years": [2025]}),
            "one at a time",
        ),
        (
            json!({"tickers": [SLXH], "forms": ["10-K"], "years": [2030]}),
            "1993 to 2026",
        ),
        (json!({"tickers": [], "forms": ["10-K"], "years": [2025]}), "empty"),
    ] {
        let (status, why) = post(&s, &ana, "/v1/bulk-imports", &body).await;
        assert_eq!(status, 400, "{body}: {why}");
        assert!(
            why["detail"].as_str().unwrap_or_default().contains(words),
            "{body}: {why}"
        );
    }
    // 8 filings at $0.05 is $0.40: a balance of $0.10 does not cover the quote.
    s.sql("UPDATE user_accounts SET credit_balance_micros = 100000 WHERE user_id = 'ana'")
        .await;
    let (status, quoted) = post(&s, &ana, "/v1/bulk-imports/quote", &selection()).await;
    assert_eq!((status, &quoted["affordable"]), (200, &json!(false)), "{quoted}");
    let (status, why) = post(&s, &ana, "/v1/bulk-imports", &selection()).await;
    assert_eq!(status, 402, "{why}");
    assert_eq!(s.count("SELECT count(*) FROM bulk_imports").await, 0);
    assert_eq!(s.stack.queue_depth(&s.stack.resources.filings.url).await, 0);
    assert_eq!(s.get(&ana, "/v1/bulk-imports/not-an-id").await.0, 404);
    assert_eq!(edgar_requests(&s), 0);
}

#[tokio::test]
async fn filings_whose_requests_were_lost_are_given_up_and_free_their_hold() {
    let s = FilingStack::start(false).await;
    universe(&s).await;
    let ana = s.user("ana", "basic").await;
    let (status, created) = post(&s, &ana, "/v1/bulk-imports", &selection()).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    // The requests end in the dead-letter queue (taken here, never handled) and a day passes.
    s.stack.take_messages(&s.stack.resources.filings.url).await;
    s.sql("UPDATE bulk_import_items SET updated_at = now() - interval '1 day'")
        .await;
    // The next import of ana's gives them up first: the first import completes, nothing charged.
    let (status, second) = post(
        &s,
        &ana,
        "/v1/bulk-imports",
        &json!({"tickers": [SLXH], "forms": ["10-K"], "years": [2025]}),
    )
    .await;
    assert_eq!(status, 201, "{second}");
    let (_, first) = s.get(&ana, &format!("/v1/bulk-imports/{id}")).await;
    assert_eq!(first["status"], "completed", "{first}");
    assert_eq!(first["counts"]["failed"], 8);
    assert_eq!(first["held"]["micros"], 0);
    assert_eq!(first["charged"]["micros"], 0);
    let (_, me) = s.get(&ana, "/v1/me").await;
    assert_eq!(
        me["usage"]["held"]["micros"], 50_000,
        "only the second import holds: {me}"
    );
}
