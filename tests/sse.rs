//! Live notifications (issue 5): sse-notifier against PostgreSQL and moto. Events are
//! published on the stack's SNS topic, consumed from the subscription queue by the real
//! consumer (as the runner's event source runs it), and read over the runner's function
//! URL front. Outcomes are asserted, never wall-clock bounds.

use aws_lambda_events::sqs::SqsEvent;
use sluice_core::ConfigSource;
use sluice_tests::browser::Browser;
use sluice_tests::repo_root;
use sluice_tests::sse::{golden_event, EventsStack, SseItem, SseReader};
use sluice_tests::token;
use std::collections::HashSet;
use std::time::Duration;

fn config(pairs: &[(&str, &str)]) -> ConfigSource {
    ConfigSource::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

async fn count(stack: &EventsStack, sql: &str) -> i64 {
    stack.stack.query(sql).await[0].get::<_, i64>(0)
}

#[tokio::test]
async fn a_reconnect_with_last_event_id_loses_nothing_and_doubles_nothing() {
    let s = EventsStack::start(config(&[])).await;
    let ana = token("ana", "basic", false);
    let mut first = s.open(&ana, None).await;
    assert_eq!(first.expect_next("the retry hint").await, Some(SseItem::Retry(2000)));
    let before: Vec<_> = (0..3)
        .map(|_| golden_event("analysis_completed", Some("ana")))
        .collect();
    for e in &before {
        s.publish(e).await;
    }
    assert_eq!(s.deliver().await, 3);
    let seen = first.events(3).await;
    let last_seen = seen[2].0;
    drop(first); // the connection drops

    // Published while ana is away, then one more once she is back.
    let missed: Vec<_> = (0..2).map(|_| golden_event("analysis_failed", Some("ana"))).collect();
    for e in &missed {
        s.publish(e).await;
    }
    s.deliver().await;
    let mut second = s.open(&ana, Some(last_seen)).await;
    let replayed = second.events(2).await;
    let after = golden_event("analysis_completed", Some("ana"));
    s.publish(&after).await;
    s.deliver().await;
    let live = second.events(1).await;

    let got: Vec<String> = replayed
        .iter()
        .chain(&live)
        .map(|(_, _, data)| data["message_id"].as_str().unwrap().to_owned())
        .collect();
    let want: Vec<String> = missed
        .iter()
        .chain([&after])
        .map(|e| e.message_id.to_string())
        .collect();
    assert_eq!(got, want, "exactly the missed events, in order, then the live one");
    let ids: Vec<i64> = replayed.iter().chain(&live).map(|(id, _, _)| *id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]) && ids[0] > last_seen, "{ids:?}");
    assert_eq!(replayed[0].1, "AnalysisFailed");

    // The header form (what EventSource sends on its own reconnects) replays the same.
    let ticket = s.ticket(&ana).await;
    let response = reqwest::Client::new()
        .get(format!("{}/v1/events/stream?ticket={ticket}", s.url))
        .header("Last-Event-ID", last_seen.to_string())
        .send()
        .await
        .unwrap();
    let mut third = SseReader::new(response);
    let again: Vec<i64> = third.events(3).await.iter().map(|(id, _, _)| *id).collect();
    assert_eq!(again, ids);
}

/// Events committed while a stream is being opened (during its replay) arrive exactly once.
#[tokio::test]
async fn no_gap_and_no_duplicate_while_events_arrive_during_the_replay() {
    let s = EventsStack::start(config(&[("SSE_REPLAY_BATCH", "7")])).await;
    let notifier = s.stack.functions.notifier.clone();
    let store = move |user: &str| {
        let envelope = golden_event("analysis_completed", Some(user));
        let body = envelope.to_json();
        let notifier = notifier.clone();
        async move {
            let mut record = aws_lambda_events::sqs::SqsMessage::default();
            record.body = Some(body);
            let delivery = sluice_core::Delivery::from_record::<std::convert::Infallible>(&record).expect("an event");
            notifier.handle_delivery(delivery).await.expect("stored")
        }
    };
    let mut expected = Vec::new();
    for _ in 0..40 {
        if let sse_notifier::store::Appended::New(id) = store("ana").await {
            expected.push(id);
        }
    }
    let resume = expected[9];
    let writer = tokio::spawn({
        let store = store.clone();
        async move {
            let mut ids = Vec::new();
            for i in 0..120 {
                // Interleave another user's events: they must not appear.
                let user = if i % 3 == 0 { "bob" } else { "ana" };
                if let sse_notifier::store::Appended::New(id) = store(user).await {
                    if user == "ana" {
                        ids.push(id);
                    }
                }
            }
            ids
        }
    });
    let mut reader = s.open(&token("ana", "basic", false), Some(resume)).await;
    let written = writer.await.unwrap();
    expected.extend(written);
    let want: Vec<i64> = expected.into_iter().filter(|id| *id > resume).collect();
    let got: Vec<i64> = reader.events(want.len()).await.iter().map(|(id, _, _)| *id).collect();
    assert_eq!(got, want);
}

#[tokio::test]
async fn a_stream_never_carries_another_users_event() {
    let s = EventsStack::start(config(&[])).await;
    let mut ana = s.open(&token("ana", "basic", false), None).await;
    let mut bob = s.open(&token("bob", "professional", false), None).await;
    let mut carol = s.open(&token("carol", "basic", true), None).await;
    let for_ana = golden_event("analysis_completed", Some("ana"));
    let for_bob = golden_event("analysis_failed", Some("bob"));
    let team_wide = golden_event("dataset_loaded", None);
    let summary = golden_event("price_refresh_summary", None);
    for e in [&for_ana, &for_bob, &team_wide, &summary] {
        s.publish(e).await;
    }
    // A last event per user marks the end of what each stream may carry.
    let marks: Vec<_> = ["ana", "bob", "carol"]
        .iter()
        .map(|u| golden_event("analysis_failed", Some(u)))
        .collect();
    for e in &marks {
        s.publish(e).await;
    }
    assert_eq!(s.deliver().await, 7);
    let ids = |events: Vec<(i64, String, serde_json::Value)>| -> Vec<String> {
        events
            .into_iter()
            .map(|(_, _, d)| d["message_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let id = |e: &sluice_messages::Envelope| e.message_id.to_string();
    assert_eq!(ids(ana.events(2).await), [id(&for_ana), id(&marks[0])]);
    assert_eq!(ids(bob.events(2).await), [id(&for_bob), id(&marks[1])]);
    // A team member: the team-wide events and her own, no one else's.
    assert_eq!(
        ids(carol.events(3).await),
        [id(&team_wide), id(&summary), id(&marks[2])]
    );

    // The long-poll fallback applies the same rule.
    let polled: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/v1/events?after=0", s.url))
        .bearer_auth(token("bob", "professional", false))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let users: HashSet<&str> = polled["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["user_id"].as_str().unwrap_or("<team>"))
        .collect();
    assert_eq!(users, HashSet::from(["bob"]));
    assert_eq!(polled["events"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn expired_reused_and_forged_tickets_are_refused() {
    let s = EventsStack::start(config(&[])).await;
    let ana = token("ana", "basic", false);
    let assert_401 = |response: reqwest::Response| async move {
        assert_eq!(response.status(), 401);
        assert_eq!(response.headers()["content-type"], "application/problem+json");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["type"], "urn:sluice:problem:unauthenticated");
    };

    // Used once: good. Used again: refused.
    let ticket = s.ticket(&ana).await;
    let first = s.stream(&format!("ticket={ticket}")).await;
    assert_eq!(first.status(), 200);
    drop(first);
    assert_401(s.stream(&format!("ticket={ticket}")).await).await;

    // Expired (its expiry moved into the past, as time would): refused, and it stays unused.
    let ticket = s.ticket(&ana).await;
    s.stack
        .query("UPDATE stream_tickets SET expires_at = now() - interval '1 second' WHERE used_at IS NULL")
        .await;
    assert_401(s.stream(&format!("ticket={ticket}")).await).await;
    assert_eq!(
        count(&s, "SELECT count(*) FROM stream_tickets WHERE used_at IS NULL").await,
        1
    );

    // Made up, missing, or asked for with a forged token.
    assert_401(s.stream("ticket=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await).await;
    assert_401(s.stream("ticket=not-a-ticket").await).await;
    assert_401(s.stream("").await).await;
    let forged = sluice_local::issue_token(b"not the secret", "ana", "basic", false, 1).unwrap();
    let refused = reqwest::Client::new()
        .post(format!("{}/v1/events/ticket", s.url))
        .bearer_auth(forged)
        .send()
        .await
        .unwrap();
    assert_401(refused).await;

    // Only hashes are stored, never the ticket itself.
    let stored = s
        .stack
        .query("SELECT encode(ticket_hash, 'hex') FROM stream_tickets")
        .await;
    assert!(stored.iter().all(|r| r.get::<_, String>(0).len() == 64));
    assert!(!stored.iter().any(|r| r.get::<_, String>(0).contains(&ticket)));
}

#[tokio::test]
async fn an_idle_stream_carries_heartbeats() {
    let s = EventsStack::start(config(&[("SSE_HEARTBEAT_MS", "150")])).await;
    let mut reader = s.open(&token("ana", "basic", false), None).await;
    let mut heartbeats = 0;
    while heartbeats < 3 {
        match reader.expect_next("a heartbeat").await {
            Some(SseItem::Comment(text)) => {
                assert_eq!(text, "heartbeat");
                heartbeats += 1;
            }
            Some(SseItem::Retry(_)) => {}
            other => panic!("only heartbeats on an idle stream, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_stream_ends_cleanly_before_the_function_time_limit() {
    // A 3-second function with a 2-second margin: every stream ends after about a second.
    let s = EventsStack::start(config(&[
        ("SSE_FUNCTION_TIMEOUT_SECS", "3"),
        ("SSE_END_MARGIN_MS", "2000"),
        ("SSE_HEARTBEAT_MS", "60000"),
    ]))
    .await;
    let ana = token("ana", "basic", false);
    let mut reader = s.open(&ana, None).await;
    let mut items = Vec::new();
    while let Some(item) = reader.expect_next("the end of the stream").await {
        items.push(item);
    }
    // The body ended without an error (a cut stream would have panicked in `next`), and
    // said why last.
    assert_eq!(items.first(), Some(&SseItem::Retry(2000)));
    assert_eq!(
        items.last(),
        Some(&SseItem::Comment(
            "stream ends before the function's time limit; reconnect".into()
        ))
    );
    // The client reconnects and carries on.
    let e = golden_event("analysis_completed", Some("ana"));
    s.publish(&e).await;
    s.deliver().await;
    let mut again = s.open(&ana, Some(0)).await;
    let got = again.events(1).await;
    assert_eq!(got[0].2["message_id"], e.message_id.to_string());
}

#[tokio::test]
async fn the_long_poll_waits_for_the_next_event() {
    let s = EventsStack::start(config(&[])).await;
    let ana = token("ana", "basic", true);
    let url = s.url.clone();
    let poll = tokio::spawn({
        let ana = ana.clone();
        async move {
            reqwest::Client::new()
                .get(format!("{url}/v1/events?wait=20"))
                .bearer_auth(ana)
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    });
    // Publish once the poll is waiting on the hub.
    tokio::time::timeout(Duration::from_secs(60), async {
        while s.stack.functions.events.hub.listeners() == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the long-poll never started waiting");
    let e = golden_event("dataset_loaded", None);
    s.publish(&e).await;
    s.deliver().await;
    let body = poll.await.unwrap();
    let events = body["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["message_id"], e.message_id.to_string());
    assert_eq!(events[0]["type"], "DatasetLoaded");
    assert_eq!(body["last_id"], events[0]["id"]);
    // Nothing newer: an immediate, empty answer with the same position.
    let again: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/v1/events?after={}", s.url, body["last_id"]))
        .bearer_auth(&ana)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["events"].as_array().unwrap().len(), 0);
    assert_eq!(again["last_id"], body["last_id"]);
    // Without a token: refused.
    let refused = reqwest::get(format!("{}/v1/events", s.url)).await.unwrap();
    assert_eq!(refused.status(), 401);
}

#[tokio::test]
async fn the_same_sns_message_twice_is_stored_once() {
    let s = EventsStack::start(config(&[])).await;
    let sample = std::fs::read_to_string(repo_root().join("events/sqs-sse-analysis-completed.json")).unwrap();
    let event: SqsEvent = serde_json::from_str(&sample).unwrap();
    let notifier = &s.stack.functions.notifier;
    for _ in 0..2 {
        let response = notifier.handle_batch(event.clone()).await;
        assert!(response.batch_item_failures.is_empty());
    }
    let rows = s
        .stack
        .query("SELECT user_id, type, payload->>'analysis_id' FROM events")
        .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, Option<String>>(0).as_deref(), Some("analyst-7"));
    assert_eq!(rows[0].get::<_, &str>(1), "AnalysisCompleted");
    assert_eq!(
        rows[0].get::<_, Option<String>>(2).as_deref(),
        Some("3f405162-7c8d-4e9f-a0b1-c2d3e4f50617")
    );
    // And through the topic, twice: still one row per message.
    let e = golden_event("dataset_loaded", None);
    s.publish(&e).await;
    s.publish(&e).await;
    assert_eq!(s.deliver().await, 2);
    assert_eq!(count(&s, "SELECT count(*) FROM events").await, 2);
}

#[tokio::test]
async fn a_poison_message_goes_to_the_dlq_with_its_reason() {
    let s = EventsStack::start(config(&[])).await;
    s.stack
        .clients
        .sns
        .publish()
        .topic_arn(&s.stack.resources.topic_arn)
        .message(r#"{"schema_version": 1, "type": "NoSuchEvent", "data": {}}"#)
        .send()
        .await
        .unwrap();
    let good = golden_event("analysis_completed", Some("ana"));
    s.publish(&good).await;
    assert_eq!(s.deliver().await, 2);
    assert_eq!(count(&s, "SELECT count(*) FROM events").await, 1);
    let dlq = s.stack.take_messages(&s.stack.resources.sse_events.dlq_url).await;
    assert_eq!(dlq.len(), 1);
    let reason = dlq[0].message_attributes().unwrap()["sluice-failure-reason"]
        .string_value()
        .unwrap()
        .to_owned();
    assert!(reason.starts_with("not a Sluice event"), "{reason}");
    assert_eq!(s.stack.queue_depth(&s.stack.resources.sse_events.url).await, 0);
}

/// The web app in Debian's headless chromium (playwright-core): signed in on the local
/// sign-in screen, an event published on the topic appears as a toast. Skips (saying why)
/// only when chromium cannot be installed.
#[tokio::test]
async fn the_web_app_shows_a_published_event() {
    let Some(browser) = Browser::find().await else {
        return;
    };
    let s = EventsStack::start(config(&[])).await;
    let event = golden_event("analysis_completed", Some("ana"));
    let mut child = browser.run(
        "live-page.mjs",
        &[
            ("PAGE_URL", format!("{}/", s.url)),
            ("USER_ID", "ana".into()),
            ("EXPECT_TEXT", "0000320193-24-000123".into()),
        ],
    );
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
    let mut seen = None;
    while let Some(line) = lines.next_line().await.expect("read node's output") {
        if line == "CONNECTED" {
            s.publish(&event).await;
            s.deliver().await;
        } else if let Some(text) = line.strip_prefix("SEEN ") {
            seen = Some(text.to_owned());
        }
    }
    let status = child.wait().await.expect("node");
    assert!(status.success(), "the event never appeared on the page");
    let seen = seen.expect("the page's text of the event");
    assert!(
        seen.contains("Analysis completed: risk_factors") && seen.contains("0000320193-24-000123"),
        "{seen}"
    );
}

/// The function URL sample (events/), read by lambda_http as the runtime reads it, drives
/// the events router: its made-up ticket is refused.
#[tokio::test]
async fn the_function_url_sample_drives_the_router() {
    use tower::ServiceExt;
    let s = EventsStack::start(config(&[])).await;
    let sample = std::fs::read_to_string(repo_root().join("events/function-url-events-stream.json")).unwrap();
    let request = lambda_http::request::from_str(&sample).unwrap();
    assert_eq!(request.uri().path(), "/v1/events/stream");
    assert!(request.uri().query().unwrap_or_default().contains("last_event_id=41"));
    let response = s
        .stack
        .functions
        .events
        .clone()
        .router()
        .oneshot(request)
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
}

/// One user holds at most SSE_STREAMS_PER_USER streams (leases in the database): the
/// next is a 429 problem; closing one frees its lease; a lease whose process died runs
/// out by itself; another user is not affected.
#[tokio::test]
async fn a_user_holds_a_few_streams_at_most() {
    let s = EventsStack::start(config(&[("SSE_HEARTBEAT_MS", "100")])).await;
    let ana = token("ana", "basic", false);
    let mut open = Vec::new();
    for _ in 0..3 {
        let mut reader = s.open(&ana, None).await;
        assert_eq!(reader.expect_next("the retry hint").await, Some(SseItem::Retry(2000)));
        open.push(reader);
    }
    let refused = s.stream(&format!("ticket={}", s.ticket(&ana).await)).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["content-type"], "application/problem+json");
    assert!(refused.headers().contains_key("retry-after"));
    let problem: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(problem["type"], "urn:sluice:problem:rate-limited");
    assert!(
        problem["detail"].as_str().unwrap().contains("3 event streams"),
        "{problem}"
    );
    assert_eq!(count(&s, "SELECT count(*) FROM stream_leases").await, 3);

    // Someone else still gets a stream.
    let mut bob = s.open(&token("bob", "basic", false), None).await;
    assert_eq!(bob.expect_next("the retry hint").await, Some(SseItem::Retry(2000)));

    // Closing a stream gives its lease back (the server notices at its next heartbeat).
    drop(open.pop());
    let mut released = false;
    for _ in 0..200 {
        if count(&s, "SELECT count(*) FROM stream_leases WHERE user_id = 'ana'").await == 2 {
            released = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(released, "the closed stream's lease was not given back");
    open.push(s.open(&ana, None).await);

    // A process that died keeps its leases only until their stream's deadline.
    s.stack
        .pool
        .get()
        .await
        .unwrap()
        .execute(
            "UPDATE stream_leases SET expires_at = now() - interval '1 second' WHERE user_id = 'ana'",
            &[],
        )
        .await
        .unwrap();
    let mut after_crash = s.open(&ana, None).await;
    assert_eq!(
        after_crash.expect_next("the retry hint").await,
        Some(SseItem::Retry(2000))
    );
}
