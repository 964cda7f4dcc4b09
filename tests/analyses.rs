//! Filing analyses end to end: the HTTP API, filing-fetcher against the fake EDGAR
//! serving the local mirror, llm-analyzer with the real OpenAI-compatible client
//! against the fake model (or the offline extractive analyser), PostgreSQL and moto.

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use serde_json::{json, Value};
use sha2::Digest;
use sluice_messages::{Envelope, Payload};
use sluice_tests::filings::{FilingStack, SLXH, SLXH_10K_ACCESSION, SLXH_10K_DOCUMENT};
use sluice_tests::{fixture, token};

fn slxh_10k(kind: &str) -> Value {
    json!({"ticker": SLXH, "form": "10-K", "fiscal_year": 2025, "kind": kind})
}

fn as_record(m: &aws_sdk_sqs::types::Message, queue_arn: &str) -> SqsMessage {
    let mut record = SqsMessage::default();
    record.message_id = m.message_id().map(str::to_owned);
    record.body = m.body().map(str::to_owned);
    record.event_source_arn = Some(queue_arn.to_owned());
    record
}

/// One record as the event source mapping hands it over (a batch of one).
fn batch_of(record: &SqsMessage) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records.push(record.clone());
    event
}

#[tokio::test]
async fn a_request_becomes_an_analysis_in_the_pool_and_a_second_user_gets_it_at_once() {
    let s = FilingStack::start(true).await;
    let llm = s.llm.as_ref().unwrap();
    let ana = s.user("ana", "basic").await;

    let (status, headers, accepted) = s.post_analysis(&ana, &slxh_10k("risk_factors")).await;
    assert_eq!(status, 202, "{accepted}");
    let task_id = accepted["task"]["id"].as_str().unwrap().to_owned();
    assert_eq!(accepted["task"]["status"], "queued");
    assert_eq!(accepted["task"]["quoted"]["micros"], 120_000);
    assert_eq!(accepted["task"]["quoted"]["display"], "$0.12");
    assert_eq!(headers["location"], format!("/v1/tasks/{task_id}").as_str());
    // Asking again while it is under way: the same task.
    let (status, _, again) = s.post_analysis(&ana, &slxh_10k("risk_factors")).await;
    assert_eq!((status, again["task"]["id"].as_str()), (202, Some(task_id.as_str())));

    s.stack.settle().await;

    let (status, task) = s.get(&ana, &format!("/v1/tasks/{task_id}")).await;
    assert_eq!(status, 200, "{task}");
    assert_eq!(task["status"], "completed", "{task}");
    assert_eq!(task["charged"]["micros"], 120_000);
    let analysis_id = task["analysis_id"].as_str().unwrap().to_owned();
    let (status, analysis) = s.get(&ana, &format!("/v1/analyses/{analysis_id}")).await;
    assert_eq!(status, 200, "{analysis}");
    assert_eq!(analysis["model"], "openai:fake-analyst-1");
    assert_eq!(analysis["filing"]["accession"], SLXH_10K_ACCESSION);
    assert_eq!(analysis["sections_used"], json!(["1A"]));
    assert!(
        analysis["body"]["risks"].as_array().is_some_and(|r| !r.is_empty()),
        "{analysis}"
    );
    // The body is in S3 where the row says, and the raw filing is stored byte for byte.
    let body = s
        .stack
        .get_object(&format!("analyses/{analysis_id}.json"))
        .await
        .expect("body in S3");
    assert_eq!(serde_json::from_slice::<Value>(&body).unwrap(), analysis["body"]);
    let original = std::fs::read(s.mirror.path().join(SLXH_10K_DOCUMENT)).unwrap();
    let stored = s
        .stack
        .get_object(&format!("filings/0009999999/{SLXH_10K_ACCESSION}/slxh-20251231.htm"))
        .await
        .expect("raw filing in S3");
    assert_eq!(stored, original);
    let sha: String = s.stack.query("SELECT sha256 FROM filings").await[0].get(0);
    assert_eq!(sha, hex::encode(sha2::Sha256::digest(&original)));
    // The sections the analysis read came from the filing.
    let prompt = llm
        .stats
        .requests()
        .iter()
        .map(|r| r.prompt.clone())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        prompt.contains("Item 1A") || prompt.contains("Risk Factors"),
        "prompt lacks the section"
    );

    // Credits: basic pays $0.10 for the filing and $0.02 for the analysis, once.
    assert_eq!(s.balance("ana").await, 5_000_000 - 120_000);
    assert_eq!(
        s.count("SELECT count(*) FROM usage_transactions WHERE user_id = 'ana' AND amount_micros < 0")
            .await,
        2
    );
    let calls = llm.stats.calls();
    assert!(calls >= 1);

    // A second user: the pool answers at once, no model call, only the access fee.
    let bob = s.user("bob", "professional").await;
    let (status, _, pooled) = s.post_analysis(&bob, &slxh_10k("risk_factors")).await;
    assert_eq!(status, 200, "{pooled}");
    assert_eq!(pooled["source"], "pool");
    // The answer says what it charged: professional's filing access fee, once.
    assert_eq!(pooled["charged"], json!({"micros": 50_000, "display": "$0.05"}));
    assert_eq!(pooled["analysis"]["id"], analysis_id.as_str());
    assert_eq!(pooled["analysis"]["body"], analysis["body"]);
    assert_eq!(llm.stats.calls(), calls, "the pool answer made a model call");
    assert_eq!(s.balance("bob").await, 25_000_000 - 50_000);
    // Reading it again is free: access is paid once, and the answer says so.
    let (status, _, again) = s.post_analysis(&bob, &slxh_10k("risk_factors")).await;
    assert_eq!((status, &again["charged"]["display"]), (200, &json!("$0.00")));
    assert_eq!(s.balance("bob").await, 25_000_000 - 50_000);
    assert_eq!(s.count("SELECT count(*) FROM analyses").await, 1);

    // Others see neither the task nor the analysis.
    let eve = s.user("eve", "enterprise").await;
    assert_eq!(s.get(&eve, &format!("/v1/tasks/{task_id}")).await.0, 404);
    assert_eq!(s.get(&eve, &format!("/v1/analyses/{analysis_id}")).await.0, 404);
    assert_eq!(s.get(&ana, "/v1/tasks/not-a-uuid").await.0, 404);

    // The filing is listed, with who has access.
    let (status, listed) = s.get(&ana, &format!("/v1/filings?ticker={SLXH}")).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["items"][0]["accession"], SLXH_10K_ACCESSION);
    assert_eq!(listed["items"][0]["accessible"], true);
    assert_eq!(listed["items"][0]["sections"]["1A"], "found");

    // The user heard about it on the events topic.
    let completed: Vec<_> = s
        .stack
        .published()
        .await
        .into_iter()
        .filter_map(|e| match e.payload {
            Payload::AnalysisCompleted(c) => Some(c),
            _ => None,
        })
        .collect();
    assert_eq!(completed.len(), 1);
    assert_eq!(completed[0].user_id, "ana");
    assert_eq!(completed[0].charged.micros(), 120_000);
    assert_eq!(completed[0].analysis_id.to_string(), analysis_id);
    assert!(s
        .edgar
        .stats
        .user_agents()
        .iter()
        .all(|ua| ua.as_deref() == Some("Sluice Tests tests@sluice.invalid")));
}

#[tokio::test]
async fn one_user_asking_for_two_analyses_of_one_filing_gets_both() {
    // Both filing requests reach the fetcher (a per-filing-and-user FIFO deduplication id
    // dropped the second one, found by `make chaos`).
    let s = FilingStack::start(false).await;
    let ana = s.user("ana", "basic").await;
    let mut tasks = Vec::new();
    for kind in ["summary", "mdna"] {
        let (status, _, accepted) = s.post_analysis(&ana, &slxh_10k(kind)).await;
        assert_eq!(status, 202, "{accepted}");
        tasks.push(accepted["task"]["id"].as_str().unwrap().to_owned());
    }
    s.stack.settle().await;
    for task_id in tasks {
        let (status, task) = s.get(&ana, &format!("/v1/tasks/{task_id}")).await;
        assert_eq!((status, task["status"].as_str()), (200, Some("completed")), "{task}");
    }
}

#[tokio::test]
async fn redelivered_requests_change_nothing() {
    let s = FilingStack::start(false).await;
    let ana = s.user("ana", "basic").await;
    let (status, _, accepted) = s.post_analysis(&ana, &slxh_10k("summary")).await;
    assert_eq!(status, 202, "{accepted}");

    // The filing request, handled twice.
    let res = &s.stack.resources;
    let taken = s.stack.take_messages(&res.filings.url).await;
    assert_eq!(taken.len(), 1);
    let record = as_record(&taken[0], &res.filings.arn);
    let fetcher = s.stack.functions.filings.clone().expect("filing-fetcher configured");
    for delivery in ["first", "second"] {
        let failed = fetcher.handle_batch(batch_of(&record)).await.batch_item_failures;
        assert!(failed.is_empty(), "{delivery} delivery failed");
    }
    assert_eq!(s.count("SELECT count(*) FROM filings").await, 1);
    assert_eq!(s.edgar.stats.requests_to(&format!("/{SLXH_10K_DOCUMENT}")), 1);

    // The analysis request, handled twice.
    let taken = s.stack.take_messages(&res.analyses.url).await;
    assert_eq!(taken.len(), 1, "one AnalysisRequested for two deliveries");
    let record = as_record(&taken[0], &res.analyses.arn);
    let analyzer = &s.stack.functions.llm.analyzer;
    assert!(analyzer
        .handle_batch(batch_of(&record))
        .await
        .batch_item_failures
        .is_empty());
    let balance = s.balance("ana").await;
    assert!(analyzer
        .handle_batch(batch_of(&record))
        .await
        .batch_item_failures
        .is_empty());
    assert_eq!(s.balance("ana").await, balance);
    assert_eq!(balance, 5_000_000 - 120_000);
    assert_eq!(
        s.count("SELECT count(*) FROM usage_transactions WHERE amount_micros < 0")
            .await,
        2
    );
    assert_eq!(s.count("SELECT count(*) FROM analyses").await, 1);
    assert_eq!(
        s.count("SELECT count(*) FROM tasks WHERE status = 'completed'").await,
        1
    );
    // The extractive analyser says what it is in every result.
    let (_, task) = s
        .get(&ana, &format!("/v1/tasks/{}", accepted["task"]["id"].as_str().unwrap()))
        .await;
    let (_, analysis) = s
        .get(&ana, &format!("/v1/analyses/{}", task["analysis_id"].as_str().unwrap()))
        .await;
    assert_eq!(analysis["model"], "extractive:v1");
    assert_eq!(analysis["extractive"], true);
    let note = analysis["body"]["provenance"]["note"]
        .as_str()
        .unwrap_or_default()
        .to_lowercase();
    assert!(note.contains("without a language model"), "{analysis}");
}

#[tokio::test]
async fn two_workers_racing_on_one_analysis_make_one_model_call() {
    let s = FilingStack::start(true).await;
    let llm = s.llm.as_ref().unwrap();
    let ana = s.user("ana", "basic").await;
    let bob = s.user("bob", "basic").await;
    assert_eq!(s.post_analysis(&ana, &slxh_10k("mdna")).await.0, 202);
    assert_eq!(s.post_analysis(&bob, &slxh_10k("mdna")).await.0, 202);
    s.drain("filing-fetcher").await;
    let res = &s.stack.resources;
    let mut taken = s.stack.take_messages(&res.analyses.url).await;
    if taken.len() < 2 {
        taken.extend(s.stack.take_messages(&res.analyses.url).await);
    }
    assert_eq!(taken.len(), 2);
    let analyzer = &s.stack.functions.llm.analyzer;
    let (a, b) = (
        as_record(&taken[0], &res.analyses.arn),
        as_record(&taken[1], &res.analyses.arn),
    );
    // Two invocations at once, as two Lambda instances would run them.
    let (ra, rb) = tokio::join!(analyzer.handle_batch(batch_of(&a)), analyzer.handle_batch(batch_of(&b)));
    assert!(ra.batch_item_failures.is_empty(), "first worker");
    assert!(rb.batch_item_failures.is_empty(), "second worker");
    assert_eq!(s.count("SELECT count(*) FROM analyses").await, 1);
    let calls: i64 = s.stack.query("SELECT model_calls::bigint FROM analyses").await[0].get(0);
    assert_eq!(llm.stats.calls() as i64, calls, "a second worker called the model");
    assert_eq!(
        s.count("SELECT count(*) FROM tasks WHERE status = 'completed'").await,
        2
    );
    // Only the task whose worker made the call pays the analysis fee.
    assert_eq!(
        s.count("SELECT count(*) FROM usage_transactions WHERE kind = 'analysis' AND amount_micros < 0")
            .await,
        1
    );
    let total = s.balance("ana").await + s.balance("bob").await;
    assert_eq!(total, 2 * 5_000_000 - 2 * 100_000 - 20_000);
}

#[tokio::test]
async fn a_filing_edgar_does_not_have_fails_the_task_and_charges_nothing() {
    let s = FilingStack::start(false).await;
    let pro = s.user("pia", "professional").await;
    let body = json!({"ticker": SLXH, "form": "10-K", "fiscal_year": 2019, "kind": "summary"});
    let (status, _, accepted) = s.post_analysis(&pro, &body).await;
    assert_eq!(status, 202, "{accepted}");
    s.stack.settle().await;
    let (_, task) = s
        .get(&pro, &format!("/v1/tasks/{}", accepted["task"]["id"].as_str().unwrap()))
        .await;
    assert_eq!(task["status"], "failed", "{task}");
    let reason = task["failure_reason"].as_str().unwrap();
    assert!(reason.contains("no 10-K for fiscal year 2019"), "{reason}");
    assert_eq!(s.balance("pia").await, 25_000_000);
    assert_eq!(
        s.count("SELECT count(*) FROM usage_transactions WHERE amount_micros < 0")
            .await,
        0
    );
    let failed = s
        .stack
        .published()
        .await
        .into_iter()
        .filter(|e| matches!(e.payload, Payload::AnalysisFailed(_)))
        .count();
    assert_eq!(failed, 1);
    // A free slot again: the failed task no longer counts as under way.
    let (_, me) = s.get(&pro, "/v1/me").await;
    assert_eq!(me["usage"]["active_analyses"], 0);
}

#[tokio::test]
async fn a_poison_message_ends_in_the_dead_letter_queue_with_its_reason() {
    let s = FilingStack::start(false).await;
    let res = &s.stack.resources;
    s.stack
        .clients
        .sqs
        .send_message()
        .queue_url(&res.filings.url)
        .message_body("{\"not\": \"an envelope\"}")
        .message_group_id("poison")
        .message_deduplication_id("poison-1")
        .send()
        .await
        .unwrap();
    s.stack.settle().await;
    let dead = s.stack.take_messages(&res.filings.dlq_url).await;
    assert_eq!(dead.len(), 1);
    let reason = dead[0]
        .message_attributes()
        .and_then(|a| a.get("sluice-failure-reason"))
        .and_then(|v| v.string_value())
        .unwrap_or_default();
    assert!(reason.contains("not a filing request"), "{reason}");
}

#[tokio::test]
async fn every_refusal_is_a_problem_with_a_stable_type() {
    let s = FilingStack::start(false).await;
    let http = reqwest::Client::new();
    let problem = |status: u16, body: &Value, kind: &str| {
        assert_eq!(body["status"], status, "{body}");
        assert_eq!(body["type"], format!("urn:sluice:problem:{kind}"), "{body}");
        assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    };
    s.sql(
        "INSERT INTO tickers (ticker, name, cik, index_membership)
         VALUES ('AAPL', 'Apple Inc.', '0000320193', '{SP500}')",
    )
    .await;

    // 401: no token.
    let response = http
        .post(format!("{}/v1/analyses", s.api))
        .json(&slxh_10k("summary"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    problem(401, &response.json().await.unwrap(), "unauthenticated");

    let basic = s.user("bea", "basic").await;
    // 400: malformed JSON, unknown fields, a bad value.
    let response = http
        .post(format!("{}/v1/analyses", s.api))
        .bearer_auth(&basic)
        .header("content-type", "application/json")
        .body("{\"ticker\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    problem(400, &response.json().await.unwrap(), "malformed-json");
    let (status, _, body) = s
        .post_analysis(
            &basic,
            &json!({"ticker": "AAPL", "form": "10-K", "fiscal_year": 2025, "kind": "summary", "x": 1}),
        )
        .await;
    assert_eq!(status, 400);
    problem(400, &body, "malformed-json");
    let (status, _, body) = s
        .post_analysis(
            &basic,
            &json!({"ticker": "AAPL", "form": "10-X", "fiscal_year": 2025, "kind": "summary"}),
        )
        .await;
    assert_eq!(status, 400);
    problem(400, &body, "invalid-request");

    // 413: a body over the limit.
    let huge = json!({"ticker": "AAPL", "form": "10-K", "fiscal_year": 2025, "kind": "x".repeat(1_100_000)});
    let (status, _, body) = s.post_analysis(&basic, &huge).await;
    assert_eq!(status, 413);
    problem(413, &body, "payload-too-large");

    // 403: demo covers S&P 500 companies and the last two fiscal years only.
    let demo = s.user("dee", "demo").await;
    let (status, _, body) = s.post_analysis(&demo, &slxh_10k("summary")).await;
    assert_eq!(status, 403, "{body}");
    problem(403, &body, "forbidden");
    assert!(body["detail"].as_str().unwrap().contains("S&P 500"));
    let old = json!({"ticker": "AAPL", "form": "10-K", "fiscal_year": 2020, "kind": "summary"});
    let (status, _, body) = s.post_analysis(&demo, &old).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("last 2 years"));

    // Demo has no monthly credits: analyses are pay-as-you-go from a topped-up balance,
    // of the pre-cached filings (the demo prefill's; here a stored row stands for it).
    s.sql("UPDATE user_accounts SET credit_balance_micros = 1000000 WHERE tier = 'demo'")
        .await;
    s.stored_filing_row("AAPL", "0000320193", "0000320193-25-000079", "10-K", 2025)
        .await;
    // 429: concurrency (demo runs one analysis at a time) ...
    let aapl = |kind: &str| json!({"ticker": "AAPL", "form": "10-K", "fiscal_year": 2025, "kind": kind});
    assert_eq!(s.post_analysis(&demo, &aapl("summary")).await.0, 202);
    let (status, headers, body) = s.post_analysis(&demo, &aapl("mdna")).await;
    assert_eq!(status, 429, "{body}");
    problem(429, &body, "rate-limited");
    assert!(headers.contains_key("retry-after"));
    assert!(body["detail"].as_str().unwrap().contains("at a time"));

    // ... and the tier's hourly allowance (every request counts), with when to come back.
    let hourly = s.user("hal", "demo").await;
    s.sql("UPDATE request_windows SET hour_count = 10 WHERE user_id = 'hal'")
        .await;
    let (status, headers, body) = s.post_analysis(&hourly, &aapl("summary")).await;
    assert_eq!(status, 429, "{body}");
    let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=3600).contains(&wait), "{wait}");
    assert!(body["detail"].as_str().unwrap().contains("per hour"), "{body}");

    // 402: not enough credits for the fees.
    let broke = s.user("bo", "basic").await;
    s.sql("UPDATE user_accounts SET credit_balance_micros = 50000 WHERE user_id = 'bo'")
        .await;
    let (status, _, body) = s.post_analysis(&broke, &aapl("summary")).await;
    assert_eq!(status, 402, "{body}");
    problem(402, &body, "insufficient-credits");

    // 404: someone else's task.
    let (_, _, accepted) = s.post_analysis(&basic, &aapl("mdna")).await;
    let other = token("olga", "enterprise", false);
    let (status, body) = s
        .get(
            &other,
            &format!("/v1/tasks/{}", accepted["task"]["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(status, 404);
    problem(404, &body, "not-found");
    // Nothing refused was queued: only the two accepted requests are on the queue.
    assert_eq!(s.stack.queue_depth(&s.stack.resources.filings.url).await, 2);
}

#[tokio::test]
async fn apple_filings_from_edgar_fixtures_are_analysed_from_their_sections() {
    if fixture("sec/filings/aapl-10-k-2024-11-01.html").is_none() {
        return;
    }
    let s = FilingStack::start(false).await;
    let ent = s.user("erin", "enterprise").await;
    let tenk = json!({"ticker": "AAPL", "form": "10-K", "fiscal_year": 2024, "kind": "risk_factors"});
    let tenq = json!({"cik": "320193", "form": "10-Q", "accession": "0000320193-25-000073", "kind": "mdna"});
    let (k, _, accepted_k) = s.post_analysis(&ent, &tenk).await;
    let (q, _, accepted_q) = s.post_analysis(&ent, &tenq).await;
    assert_eq!((k, q), (202, 202), "{accepted_k} {accepted_q}");
    s.stack.settle().await;
    for (accepted, accession, section) in [
        (&accepted_k, "0000320193-24-000123", "1A"),
        (&accepted_q, "0000320193-25-000073", "I-2"),
    ] {
        let (_, task) = s
            .get(&ent, &format!("/v1/tasks/{}", accepted["task"]["id"].as_str().unwrap()))
            .await;
        assert_eq!(task["status"], "completed", "{task}");
        let (_, analysis) = s
            .get(&ent, &format!("/v1/analyses/{}", task["analysis_id"].as_str().unwrap()))
            .await;
        assert_eq!(analysis["filing"]["accession"], accession);
        assert_eq!(analysis["sections_used"][0], section, "{analysis}");
        assert_eq!(analysis["filing"]["company"], "Apple Inc.");
    }
    // Enterprise pays nothing; both filings are stored once.
    assert_eq!(s.balance("erin").await, 0);
    assert_eq!(s.count("SELECT count(*) FROM filings").await, 2);
    let statuses: Value = s
        .stack
        .query("SELECT section_status FROM filings WHERE form = '10-K'")
        .await[0]
        .get(0);
    for item in ["1", "1A", "7", "7A", "8"] {
        assert_eq!(statuses[item], "found", "{statuses}");
    }
}

#[test]
fn analysis_events_are_envelopes() {
    // The golden messages of the analysis flow parse (their shapes are the contract).
    let raw = include_str!("../shared/messages/tests/golden/v1/analysis_completed.json");
    assert!(matches!(
        Envelope::from_json(raw).unwrap().payload,
        Payload::AnalysisCompleted(_)
    ));
}

#[tokio::test]
async fn a_task_stuck_in_a_dead_letter_queue_frees_its_slot_after_its_retries_are_over() {
    let s = FilingStack::start(false).await;
    let demo = s.user("pat", "demo").await;
    s.sql("UPDATE user_accounts SET credit_balance_micros = 1000000 WHERE user_id = 'pat'")
        .await;
    s.sql(
        "INSERT INTO tickers (ticker, name, cik, index_membership)
         VALUES ('AAPL', 'Apple Inc.', '0000320193', '{SP500}')",
    )
    .await;
    s.stored_filing_row("AAPL", "0000320193", "0000320193-25-000079", "10-K", 2025)
        .await;
    let aapl = |kind: &str| json!({"ticker": "AAPL", "form": "10-K", "fiscal_year": 2025, "kind": kind});
    let (_, _, first) = s.post_analysis(&demo, &aapl("summary")).await;
    assert_eq!(
        s.post_analysis(&demo, &aapl("mdna")).await.0,
        429,
        "one at a time for demo"
    );
    // Its message went to a DLQ hours ago and nobody touched it since.
    let first_id = first["task"]["id"].as_str().unwrap();
    s.sql(&format!(
        "UPDATE tasks SET updated_at = now() - interval '7 hours' WHERE id = '{first_id}'"
    ))
    .await;
    let (status, _, second) = s.post_analysis(&demo, &aapl("mdna")).await;
    assert_eq!(status, 202, "{second}");
    let (_, old) = s
        .get(&demo, &format!("/v1/tasks/{}", first["task"]["id"].as_str().unwrap()))
        .await;
    assert_eq!(old["status"], "failed");
    assert!(old["failure_reason"].as_str().unwrap().contains("nothing was charged"));
    assert_eq!(s.balance("pat").await, 1_000_000);
}

/// A 10-Q is asked for by its fiscal quarter: the third quarter's report is found (and
/// recorded as such, so the next request finds it stored); a quarter with no 10-Q fails
/// with a reason that names it.
#[tokio::test]
async fn a_10q_is_requested_by_its_fiscal_quarter() {
    let s = FilingStack::start(false).await;
    let ana = s.user("ana", "basic").await;
    let q = |quarter: u8| json!({"ticker": SLXH, "form": "10-Q", "fiscal_year": 2026, "fiscal_quarter": quarter, "kind": "summary"});
    let (status, _, third) = s.post_analysis(&ana, &q(3)).await;
    assert_eq!(status, 202, "{third}");
    let (status, _, second) = s.post_analysis(&ana, &q(2)).await;
    assert_eq!(status, 202, "{second}");
    s.stack.settle().await;
    let task = |accepted: &Value| format!("/v1/tasks/{}", accepted["task"]["id"].as_str().unwrap());
    let (_, done) = s.get(&ana, &task(&third)).await;
    assert_eq!(done["status"], "completed", "{done}");
    let stored: (String, Option<i16>) = {
        let row = &s
            .stack
            .query("SELECT accession, fiscal_quarter FROM filings WHERE form = '10-Q'")
            .await[0];
        (row.get(0), row.get(1))
    };
    assert_eq!(stored, ("0009999999-26-000021".to_owned(), Some(3)));
    let (_, failed) = s.get(&ana, &task(&second)).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(
        failed["failure_reason"]
            .as_str()
            .unwrap_or_default()
            .contains("quarter 2"),
        "{failed}"
    );
    // A fourth quarter is the 10-K's.
    let (status, _, refused) = s.post_analysis(&ana, &q(4)).await;
    assert_eq!(status, 400, "{refused}");
}

/// A crash after the pool entry is recorded and before the task is charged: the
/// redelivery still charges the analysis fee, once (the entry names its task).
#[tokio::test]
async fn a_failure_between_making_and_charging_still_charges_the_analysis_fee_once() {
    let s = FilingStack::start(false).await;
    let ana = s.user("ana", "basic").await;
    assert_eq!(s.post_analysis(&ana, &slxh_10k("summary")).await.0, 202);
    s.drain("filing-fetcher").await;
    // The charge fails once the analysis is made (the process "dies" there).
    s.sql(
        "CREATE FUNCTION refuse_charge() RETURNS trigger LANGUAGE plpgsql AS
             $$ BEGIN RAISE EXCEPTION 'injected: the worker died before charging'; END $$;
         CREATE TRIGGER refuse_charge BEFORE INSERT ON usage_transactions
             FOR EACH ROW EXECUTE FUNCTION refuse_charge();",
    )
    .await;
    let res = &s.stack.resources;
    let taken = s.stack.take_messages(&res.analyses.url).await;
    assert_eq!(taken.len(), 1);
    let record = as_record(&taken[0], &res.analyses.arn);
    let analyzer = &s.stack.functions.llm.analyzer;
    let failed = analyzer.handle_batch(batch_of(&record)).await.batch_item_failures;
    assert_eq!(failed.len(), 1, "the charge failed: the record is retried");
    assert_eq!(
        s.count("SELECT count(*) FROM analyses WHERE status = 'completed'")
            .await,
        1,
        "the pool entry was recorded before the failure"
    );
    assert_eq!(s.balance("ana").await, 5_000_000, "nothing charged yet");

    s.sql("DROP TRIGGER refuse_charge ON usage_transactions").await;
    for _ in 0..2 {
        assert!(analyzer
            .handle_batch(batch_of(&record))
            .await
            .batch_item_failures
            .is_empty());
    }
    assert_eq!(
        s.count("SELECT count(*) FROM usage_transactions WHERE kind = 'analysis' AND amount_micros < 0")
            .await,
        1,
        "the analysis fee, once"
    );
    assert_eq!(s.balance("ana").await, 5_000_000 - 120_000);
}

/// Credits promised to a running task are not spent on a pool read.
#[tokio::test]
async fn a_pool_read_cannot_spend_what_running_tasks_hold() {
    let s = FilingStack::start(false).await;
    let bob = s.user("bob", "basic").await;
    assert_eq!(s.post_analysis(&bob, &slxh_10k("summary")).await.0, 202);
    s.stack.settle().await;

    // Ana can pay for exactly one new analysis; she asks for one, which now holds it all.
    let ana = s.user("ana", "basic").await;
    s.sql("UPDATE user_accounts SET credit_balance_micros = 120000 WHERE user_id = 'ana'")
        .await;
    let (status, _, accepted) = s.post_analysis(&ana, &slxh_10k("mdna")).await;
    assert_eq!(status, 202, "{accepted}");
    // The summary is in the pool, but its access fee would come out of the held credits.
    let (status, _, refused) = s.post_analysis(&ana, &slxh_10k("summary")).await;
    assert_eq!(status, 402, "{refused}");
    assert_eq!(s.balance("ana").await, 120_000, "nothing charged");
    assert_eq!(
        s.count("SELECT count(*) FROM usage_transactions WHERE user_id = 'ana' AND amount_micros < 0")
            .await,
        0
    );
}

/// The fees quoted at acceptance are what the task charges, whatever the tier is when it
/// completes.
#[tokio::test]
async fn a_task_is_charged_what_it_was_quoted() {
    let s = FilingStack::start(false).await;
    let ana = s.user("ana", "basic").await;
    let (status, _, accepted) = s.post_analysis(&ana, &slxh_10k("summary")).await;
    assert_eq!(status, 202, "{accepted}");
    assert_eq!(accepted["task"]["quoted"]["micros"], 120_000);
    s.sql("UPDATE user_accounts SET tier = 'enterprise' WHERE user_id = 'ana'")
        .await;
    s.stack.settle().await;
    let (_, task) = s
        .get(&ana, &format!("/v1/tasks/{}", accepted["task"]["id"].as_str().unwrap()))
        .await;
    assert_eq!(task["status"], "completed", "{task}");
    assert_eq!(task["charged"]["micros"], 120_000, "{task}");
    assert_eq!(s.balance("ana").await, 5_000_000 - 120_000);
}

#[tokio::test]
async fn paying_tiers_wait_in_the_priority_lane_and_are_served_past_a_backlog() {
    let s = FilingStack::start(false).await;
    let bea = s.user("bea", "basic").await;
    let eve = s.user("eve", "enterprise").await;
    let (status, _, basic) = s.post_analysis(&bea, &slxh_10k("summary")).await;
    assert_eq!(status, 202, "{basic}");
    let (status, _, enterprise) = s.post_analysis(&eve, &slxh_10k("mdna")).await;
    assert_eq!(status, 202, "{enterprise}");
    s.drain("filing-fetcher").await;
    // Each waits in its lane.
    let res = &s.stack.resources;
    assert_eq!(s.stack.queue_depth(&res.priority_analyses.url).await, 1);
    assert_eq!(s.stack.queue_depth(&res.analyses.url).await, 1);
    // The priority lane's workers serve eve while bea's analysis still waits.
    s.drain("llm-analyzer-priority").await;
    let task = |t: &Value| format!("/v1/tasks/{}", t["task"]["id"].as_str().unwrap());
    assert_eq!(s.get(&eve, &task(&enterprise)).await.1["status"], "completed");
    assert_ne!(s.get(&bea, &task(&basic)).await.1["status"], "completed");
    s.drain("llm-analyzer").await;
    assert_eq!(s.get(&bea, &task(&basic)).await.1["status"], "completed");
}
