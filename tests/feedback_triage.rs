//! Feedback triage end to end: `FeedbackReceived` on the feedback FIFO queue ->
//! llm-analyzer's triage (rule-based offline, or a model through the OpenAI-compatible
//! client) -> tickets + processing_logs in PostgreSQL, per-day counters in DynamoDB,
//! `FeedbackTriaged` on the topic; and the tickets/metrics routes of the HTTP API.

use aws_lambda_events::sqs::SqsMessage;
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use sluice_core::{ConfigSource, Delivery, RecordError};
use sluice_messages::{CorrelationId, Envelope, FeedbackReceived, FeedbackSource, Payload, Producer};
use sluice_tests::{token, TestStack};

fn feedback(source: FeedbackSource, id: &str, revision: &str, text: &str) -> FeedbackReceived {
    FeedbackReceived {
        source,
        external_id: id.to_owned(),
        revision: revision.to_owned(),
        author: Some("customer@example.com".into()),
        rating: None,
        subject: None,
        text: text.to_owned(),
        language: None,
        received_at: Utc::now(),
        link: Some(format!("https://support.example.com/{id}")),
    }
}

fn envelope(item: FeedbackReceived) -> Envelope {
    Envelope::new(
        Producer::IngestValidator,
        CorrelationId::new(),
        Payload::FeedbackReceived(item),
    )
}

fn record(stack: &TestStack, envelope: &Envelope) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(uuid::Uuid::new_v4().to_string());
    m.body = Some(envelope.to_json());
    m.event_source_arn = Some(stack.resources.feedback.arn.clone());
    m
}

/// The message of a record as the batch processor hands it to triage's step.
fn delivery(stack: &TestStack, envelope: &Envelope) -> Delivery<FeedbackReceived> {
    Delivery::from_record::<std::convert::Infallible>(&record(stack, envelope)).expect("a feedback message")
}

/// Puts an envelope on the feedback queue as the producer does; `copy` makes a second,
/// distinct delivery of the same message (as after SQS's 5-minute dedup window).
async fn send(stack: &TestStack, envelope: &Envelope, copy: u32) {
    stack
        .clients
        .sqs
        .send_message()
        .queue_url(&stack.resources.feedback.url)
        .message_body(envelope.to_json())
        .message_group_id(envelope.fifo_group_id())
        .message_deduplication_id(format!("{}#{copy}", envelope.deduplication_id()))
        .send()
        .await
        .unwrap();
}

async fn api_call(method: reqwest::Method, url: &str, bearer: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = reqwest::Client::new().request(method, url).bearer_auth(bearer);
    if let Some(b) = body {
        request = request.json(&b);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json::<Value>().await.unwrap_or(Value::Null))
}

async fn get(url: &str, bearer: &str) -> (u16, Value) {
    api_call(reqwest::Method::GET, url, bearer, None).await
}

async fn ticket_row(stack: &TestStack, source: &str, id: &str) -> tokio_postgres::Row {
    stack
        .pool
        .get()
        .await
        .unwrap()
        .query_one(
            "SELECT id, category, priority, sentiment, model, revision, text, language, counted_at IS NOT NULL
             FROM tickets WHERE source = $1 AND external_id = $2",
            &[&source, &id],
        )
        .await
        .unwrap()
}

async fn count(stack: &TestStack, sql: &str) -> i64 {
    stack.query(sql).await[0].get(0)
}

async fn metrics(api: &str, bearer: &str) -> Value {
    let (status, body) = get(&format!("{api}/v1/metrics/feedback"), bearer).await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn feedback_is_triaged_once_per_revision_and_counted_once_per_ticket() {
    let stack = TestStack::start().await;
    let api = stack.serve_api().await;
    let team = token("ana", "basic", true);
    let crash = feedback(
        FeedbackSource::Zendesk,
        "ZD-1001",
        "2026-11-22T10:00:00Z",
        "The app crashes every time I open a report. I lost all my notes!",
    );
    let mut praise = feedback(
        FeedbackSource::AppStore,
        "review-77",
        "1",
        "Love the new dashboard, great work! Thank you.",
    );
    praise.rating = Some(5);
    let mut billing = feedback(
        FeedbackSource::Intercom,
        "conv-9",
        "evt-1",
        "I was charged twice for my subscription this month. Please refund one payment.",
    );
    billing.subject = Some("Charged twice".into());
    let feature = feedback(
        FeedbackSource::Email,
        "<abc@mail.example>",
        "1",
        "It would be great to have dark mode. Could you add it?",
    );
    let mut spanish = feedback(
        FeedbackSource::GooglePlay,
        "gp-5",
        "1",
        "La aplicación es muy lenta, tarda mucho en cargar los datos.",
    );
    spanish.rating = Some(2);
    let envelopes: Vec<Envelope> = [crash.clone(), praise, billing, feature, spanish]
        .into_iter()
        .map(envelope)
        .collect();
    // Every delivery twice.
    for e in &envelopes {
        send(&stack, e, 1).await;
        send(&stack, e, 2).await;
    }
    stack.settle().await;

    assert_eq!(count(&stack, "SELECT count(*) FROM tickets").await, 5);
    let row = ticket_row(&stack, "zendesk", "ZD-1001").await;
    let (category, priority, sentiment, model): (String, String, f32, String) =
        (row.get(1), row.get(2), row.get(3), row.get(4));
    assert_eq!((category.as_str(), priority.as_str()), ("bug", "P0"));
    assert!(sentiment < -0.25, "{sentiment}");
    assert_eq!(model, "extractive:v1");
    let praise_row = ticket_row(&stack, "app_store", "review-77").await;
    assert_eq!(
        (
            praise_row.get::<_, String>(1).as_str(),
            praise_row.get::<_, String>(2).as_str()
        ),
        ("praise", "P3")
    );
    assert!(praise_row.get::<_, f32>(3) > 0.25);
    let billing_row = ticket_row(&stack, "intercom", "conv-9").await;
    assert_eq!(billing_row.get::<_, String>(1), "billing");
    assert_eq!(billing_row.get::<_, String>(2), "P1");
    assert_eq!(
        ticket_row(&stack, "email", "<abc@mail.example>")
            .await
            .get::<_, String>(1),
        "feature_request"
    );
    let spanish_row = ticket_row(&stack, "google_play", "gp-5").await;
    assert_eq!(
        (
            spanish_row.get::<_, String>(1).as_str(),
            spanish_row.get::<_, String>(7).as_str()
        ),
        ("performance", "es")
    );

    // One log per ticket, by the rules, saying so.
    assert_eq!(count(&stack, "SELECT count(*) FROM processing_logs").await, 5);
    let logs = stack
        .query("SELECT action, actor, details, duration_ms FROM processing_logs")
        .await;
    for log in &logs {
        let details: Value = log.get(2);
        assert_eq!(log.get::<_, String>(0), "triaged");
        assert_eq!(log.get::<_, String>(1), "extractive:v1");
        assert_eq!(details["method"], "rules");
        assert!(details["note"].as_str().unwrap().starts_with("Rule-based triage"));
        assert!(log.get::<_, Option<i64>>(3).is_some());
    }
    assert_eq!(
        count(&stack, "SELECT count(*) FROM tickets WHERE counted_at IS NULL").await,
        0
    );

    // One FeedbackTriaged per ticket on the topic.
    let triaged: Vec<_> = stack
        .published()
        .await
        .into_iter()
        .filter_map(|e| match e.payload {
            Payload::FeedbackTriaged(t) => Some(t),
            _ => None,
        })
        .collect();
    assert_eq!(triaged.len(), 5, "{triaged:?}");
    let zd = triaged.iter().find(|t| t.external_id == "ZD-1001").unwrap();
    assert_eq!((zd.category.as_str(), zd.priority.as_str()), ("bug", "P0"));
    assert_eq!(zd.ticket_id, row.get::<_, uuid::Uuid>(0));

    // Counted once each, though every delivery came twice.
    let m = metrics(&api, &team).await;
    assert_eq!(m["totals"]["total"], 5, "{m}");
    assert_eq!(m["totals"]["by_category"]["bug"], 1, "{m}");
    assert_eq!(m["totals"]["by_category"]["praise"], 1);
    assert_eq!(m["totals"]["by_category"]["billing"], 1);
    assert_eq!(m["totals"]["by_source"]["zendesk"], 1);
    assert_eq!(m["totals"]["by_priority"]["P0"], 1);
    // The praise and the feature request ("it would be great to have ...").
    assert_eq!(m["totals"]["by_sentiment"]["positive"], 2, "{m}");
    let today = Utc::now().date_naive().to_string();
    let days = m["days"].as_array().unwrap();
    assert_eq!(days.len(), 30);
    assert_eq!(days.last().unwrap()["day"], today);
    assert_eq!(days.last().unwrap()["total"], 5);

    // A new revision of the Zendesk ticket updates its row, logs a re-triage,
    // announces it, and does not count the ticket again.
    let mut update = crash;
    update.revision = "2026-11-22T12:00:00Z".into();
    update.text = "Thanks, the crash is gone after the update, but export is still slow.".into();
    let updated = envelope(update);
    send(&stack, &updated, 1).await;
    send(&stack, &updated, 2).await;
    stack.settle().await;
    assert_eq!(count(&stack, "SELECT count(*) FROM tickets").await, 5);
    let row = ticket_row(&stack, "zendesk", "ZD-1001").await;
    assert_eq!(row.get::<_, String>(5), "2026-11-22T12:00:00Z");
    assert!(row.get::<_, String>(6).contains("export is still slow"));
    assert_eq!(
        count(
            &stack,
            "SELECT count(*) FROM processing_logs WHERE action = 'retriaged'"
        )
        .await,
        1
    );
    let again = stack
        .published()
        .await
        .into_iter()
        .filter(|e| matches!(&e.payload, Payload::FeedbackTriaged(t) if t.external_id == "ZD-1001"))
        .count();
    assert_eq!(again, 1);
    assert_eq!(metrics(&api, &team).await["totals"]["total"], 5);
    assert_eq!(stack.queue_depth(&stack.resources.feedback.dlq_url).await, 0);
}

#[tokio::test]
async fn counting_survives_a_death_between_the_commit_and_the_counters() {
    let stack = TestStack::start().await;
    let api = stack.serve_api().await;
    let team = token("ana", "basic", true);
    let triage = stack.functions.llm.triage.clone();
    let item = envelope(feedback(
        FeedbackSource::Standard,
        "std-1",
        "1",
        "Security problem: I can see other customers' invoices.",
    ));

    // The counters are unreachable after the commit: the delivery fails (retryable).
    let mut broken = triage.clone();
    broken.config.metrics_table = "no-such-table".into();
    let err = broken.handle_delivery(delivery(&stack, &item)).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    let row = ticket_row(&stack, "standard", "std-1").await;
    assert!(!row.get::<_, bool>(8), "not counted yet");
    assert_eq!(metrics(&api, &team).await["totals"]["total"], 0);

    // The redelivery finds the revision triaged and counts the ticket, once.
    triage.handle_delivery(delivery(&stack, &item)).await.unwrap();
    triage.handle_delivery(delivery(&stack, &item)).await.unwrap();
    assert!(ticket_row(&stack, "standard", "std-1").await.get::<_, bool>(8));
    assert_eq!(count(&stack, "SELECT count(*) FROM processing_logs").await, 1);
    let m = metrics(&api, &team).await;
    assert_eq!(m["totals"]["total"], 1, "{m}");
    assert_eq!(m["totals"]["by_priority"]["P0"], 1);

    // Died after the counters but before recording it: the marker stops a second count.
    stack.query("UPDATE tickets SET counted_at = NULL RETURNING id").await;
    triage.handle_delivery(delivery(&stack, &item)).await.unwrap();
    assert_eq!(metrics(&api, &team).await["totals"]["total"], 1);
    assert!(ticket_row(&stack, "standard", "std-1").await.get::<_, bool>(8));
}

#[tokio::test]
async fn poison_messages_end_in_the_dead_letter_queue_with_their_reason() {
    let stack = TestStack::start().await;
    let sqs = &stack.clients.sqs;
    let url = &stack.resources.feedback.url;
    sqs.send_message()
        .queue_url(url)
        .message_body("{\"not\": \"an envelope\"}")
        .message_group_id("poison")
        .message_deduplication_id("poison-1")
        .send()
        .await
        .unwrap();
    let empty = envelope(feedback(FeedbackSource::Zendesk, "ZD-empty", "1", "   "));
    send(&stack, &empty, 1).await;
    stack.settle().await;
    let dead = stack.take_messages(&stack.resources.feedback.dlq_url).await;
    assert_eq!(dead.len(), 2);
    let reasons: Vec<String> = dead
        .iter()
        .map(|m| {
            m.message_attributes()
                .and_then(|a| a.get("sluice-failure-reason"))
                .and_then(|v| v.string_value())
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert!(reasons.iter().any(|r| r.contains("not a feedback item")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("nothing to triage")), "{reasons:?}");
    assert_eq!(count(&stack, "SELECT count(*) FROM tickets").await, 0);
}

#[tokio::test]
async fn the_ticket_routes_filter_page_update_and_refuse() {
    let stack = TestStack::start().await;
    let api = stack.serve_api().await;
    let team = token("ana", "basic", true);
    let triage = stack.functions.llm.triage.clone();
    let now = Utc::now();
    let texts = [
        "The app crashes on startup.",
        "Please add dark mode, it would be great.",
        "Love it, thank you!",
        "The export button is confusing and hard to find.",
        "Loading reports takes forever, so slow.",
        "I was charged twice, refund please.",
        "It crashed again when saving.",
    ];
    for (i, text) in texts.iter().enumerate() {
        let mut item = feedback(FeedbackSource::Zendesk, &format!("T-{i}"), "1", text);
        item.received_at = now - Duration::minutes(10 * (texts.len() - i) as i64);
        triage.handle_delivery(delivery(&stack, &envelope(item))).await.unwrap();
    }

    // Newest first, three at a time, cursor to cursor.
    let mut seen = Vec::new();
    let mut url = format!("{api}/v1/tickets?limit=3");
    let mut pages = 0;
    loop {
        let (status, page) = get(&url, &team).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        for t in page["items"].as_array().unwrap() {
            assert!(t.get("text").is_none());
            // Sentiment to the two decimals the model means, not a float's noise.
            let sentiment = t["sentiment"].as_f64().unwrap();
            assert!(
                ((sentiment * 100.0).round() - sentiment * 100.0).abs() < 1e-9 && sentiment.to_string().len() <= 5,
                "{sentiment}"
            );
            seen.push(t["external_id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => url = format!("{api}/v1/tickets?limit=3&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ["T-6", "T-5", "T-4", "T-3", "T-2", "T-1", "T-0"]);

    let (_, bugs) = get(&format!("{api}/v1/tickets?category=bug"), &team).await;
    let ids: Vec<&str> = bugs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["external_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["T-6", "T-0"]);
    let (_, p3) = get(&format!("{api}/v1/tickets?priority=P3&source=zendesk"), &team).await;
    assert_eq!(p3["items"].as_array().unwrap().len(), 3, "{p3}");
    let since = (now - Duration::minutes(25)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (_, recent) = get(&format!("{api}/v1/tickets?since={since}"), &team).await;
    assert_eq!(recent["items"].as_array().unwrap().len(), 2, "{recent}");

    for bad in [
        "status=done",
        "priority=P9",
        "category=rant",
        "source=twitter",
        "since=yesterday",
        "limit=0",
        "cursor=bogus",
    ] {
        let (status, body) = get(&format!("{api}/v1/tickets?{bad}"), &team).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["type"], "urn:sluice:problem:invalid-request");
    }

    // Team only: the `team` group, whatever the tier. A paying enterprise customer is not
    // the team and reads neither the tickets (authors, their words) nor the metrics.
    for outsider in [token("bob", "professional", false), token("eve", "enterprise", false)] {
        for path in ["/v1/tickets", "/v1/metrics/feedback", "/v1/data-versions"] {
            let (status, body) = get(&format!("{api}{path}"), &outsider).await;
            assert_eq!(status, 403, "{path}: {body}");
        }
    }
    let (status, _) = get(&format!("{api}/v1/tickets"), &token("tess", "demo", true)).await;
    assert_eq!(status, 200);
    let outsider = token("eve", "enterprise", false);

    // One ticket, its text and log; unknown ids are 404.
    let id = seen[6].clone();
    let ticket_id: uuid::Uuid = stack
        .query(&format!("SELECT id FROM tickets WHERE external_id = '{id}'"))
        .await[0]
        .get(0);
    let (status, one) = get(&format!("{api}/v1/tickets/{ticket_id}"), &team).await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["text"], texts[0]);
    assert_eq!(one["log"][0]["action"], "triaged");
    assert_eq!(one["status"], "new");
    let (status, _) = get(&format!("{api}/v1/tickets/{}", uuid::Uuid::new_v4()), &team).await;
    assert_eq!(status, 404);
    let (status, _) = get(&format!("{api}/v1/tickets/not-a-uuid"), &team).await;
    assert_eq!(status, 404);
    let (status, _) = get(&format!("{api}/v1/tickets/{ticket_id}"), &outsider).await;
    assert_eq!(status, 403);

    // People change status and priority; each change is logged with them as the actor.
    let patch = |body: Value, id: String| {
        let (api, team) = (api.clone(), team.clone());
        async move {
            api_call(
                reqwest::Method::PATCH,
                &format!("{api}/v1/tickets/{id}"),
                &team,
                Some(body),
            )
            .await
        }
    };
    let (status, changed) = patch(
        json!({"status": "in_progress", "priority": "P0"}),
        ticket_id.to_string(),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        (changed["status"].as_str(), changed["priority"].as_str()),
        (Some("in_progress"), Some("P0"))
    );
    assert_eq!(changed["priority_set_by"], "ana");
    let actions: Vec<(&str, &str)> = changed["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["action"].as_str().unwrap(), l["actor"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actions,
        [
            ("triaged", "extractive:v1"),
            ("status_changed", "ana"),
            ("priority_changed", "ana")
        ]
    );
    assert_eq!(changed["log"][1]["details"]["from"], "new");
    for (body, want) in [
        (json!({}), 400),
        (json!({"status": "done"}), 400),
        (json!({"status": "open", "owner": "me"}), 400),
    ] {
        let (status, problem) = patch(body.clone(), ticket_id.to_string()).await;
        assert_eq!(status, want, "{body}: {problem}");
    }
    let (status, _) = patch(json!({"status": "open"}), uuid::Uuid::new_v4().to_string()).await;
    assert_eq!(status, 404);
    let (status, _) = api_call(
        reqwest::Method::PATCH,
        &format!("{api}/v1/tickets/{ticket_id}"),
        &outsider,
        Some(json!({"status": "closed"})),
    )
    .await;
    assert_eq!(status, 403);

    // A re-triage keeps the person's priority and status.
    let mut revised = feedback(FeedbackSource::Zendesk, "T-0", "2", "Minor: the logo is a bit blurry.");
    revised.received_at = now;
    triage
        .handle_delivery(delivery(&stack, &envelope(revised)))
        .await
        .unwrap();
    let (_, after) = get(&format!("{api}/v1/tickets/{ticket_id}"), &team).await;
    assert_eq!(
        (after["priority"].as_str(), after["status"].as_str()),
        (Some("P0"), Some("in_progress"))
    );
    assert_eq!(after["log"].as_array().unwrap().len(), 4);
    // received_at is the first receipt's: the page order does not change.
    let first: DateTime<Utc> = serde_json::from_value(one["received_at"].clone()).unwrap();
    let later: DateTime<Utc> = serde_json::from_value(after["received_at"].clone()).unwrap();
    assert_eq!(first, later);

    // Metrics ranges are validated.
    for bad in [
        "from=2026-13-01",
        "from=2026-11-05&to=2026-11-01",
        "from=2026-01-01&to=2026-12-31",
    ] {
        let (status, body) = get(&format!("{api}/v1/metrics/feedback?{bad}"), &team).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let today = Utc::now().date_naive();
    let yesterday = today - Duration::days(1);
    let (status, m) = get(&format!("{api}/v1/metrics/feedback?from={yesterday}&to={today}"), &team).await;
    assert_eq!(status, 200);
    assert_eq!(m["days"].as_array().unwrap().len(), 2);
    assert_eq!(m["totals"]["total"], 7, "{m}");
}

#[tokio::test]
async fn a_language_model_triages_through_the_openai_compatible_client() {
    let fake = sluice_fakes::llm::start(Default::default()).await.unwrap();
    let stack = TestStack::start_with(ConfigSource::from_pairs([
        ("LLM_PROVIDER", "openai"),
        ("LLM_MODEL", "fake-model"),
        ("LLM_BASE_URL", fake.openai_base_url().as_str()),
        ("LLM_MAX_ATTEMPTS", "2"),
        ("LLM_BACKOFF_MS", "1"),
    ]))
    .await;
    let triage = &stack.functions.llm.triage;
    let item = envelope(feedback(
        FeedbackSource::Intercom,
        "conv-42",
        "1",
        "Exports fail with an error since yesterday.",
    ));
    triage.handle_delivery(delivery(&stack, &item)).await.unwrap();
    let row = ticket_row(&stack, "intercom", "conv-42").await;
    // The fake answers the schema's first enum values and its minimum sentiment.
    assert_eq!(row.get::<_, String>(4), "openai:fake-model");
    assert_eq!(
        (row.get::<_, String>(1).as_str(), row.get::<_, String>(2).as_str()),
        ("bug", "P0")
    );
    assert_eq!(row.get::<_, f32>(3), -1.0);
    let details: Value = stack.query("SELECT details FROM processing_logs").await[0].get(0);
    assert_eq!(
        (details["method"].as_str(), details["model_calls"].as_u64()),
        (Some("model"), Some(1))
    );
    let prompt = fake.stats.last_request().unwrap().prompt;
    assert!(
        prompt.contains("JSON Schema:") && prompt.contains("<<<FEEDBACK"),
        "{prompt}"
    );

    // An answer out of schema is repaired once.
    fake.stats.answer_next("I think this is a bug.");
    let second = envelope(feedback(FeedbackSource::Intercom, "conv-43", "1", "Dark mode please."));
    triage.handle_delivery(delivery(&stack, &second)).await.unwrap();
    let details: Value = stack
        .query("SELECT l.details FROM processing_logs l JOIN tickets t ON t.id = l.ticket_id WHERE t.external_id = 'conv-43'")
        .await[0]
        .get(0);
    assert_eq!(
        (details["repaired"].as_bool(), details["model_calls"].as_u64()),
        (Some(true), Some(2))
    );
    assert_eq!(fake.stats.calls(), 3);
}

/// A revision older than the one a ticket shows (a retried webhook arriving late) is
/// ignored: no model call, the newer text and revision stay.
#[tokio::test]
async fn an_older_revision_never_overwrites_a_newer_one() {
    let stack = TestStack::start().await;
    let mut newer = feedback(
        FeedbackSource::Zendesk,
        "ZD-7",
        "2026-11-22T10:05:00Z",
        "Update: the export now fails with an error every time.",
    );
    newer.received_at = Utc::now();
    let mut older = feedback(
        FeedbackSource::Zendesk,
        "ZD-7",
        "2026-11-22T10:00:00Z",
        "The export is a little slow.",
    );
    older.received_at = newer.received_at - Duration::minutes(5);
    send(&stack, &envelope(newer.clone()), 1).await;
    stack.settle().await;
    send(&stack, &envelope(older), 1).await;
    stack.settle().await;

    let row = ticket_row(&stack, "zendesk", "ZD-7").await;
    assert_eq!(row.get::<_, String>(5), newer.revision);
    assert_eq!(row.get::<_, String>(6), newer.text);
    assert_eq!(
        count(&stack, "SELECT count(*) FROM processing_logs").await,
        1,
        "triaged once, for the newer revision"
    );
    assert_eq!(stack.queue_depth(&stack.resources.feedback.url).await, 0);
}
