//! Feedback end to end: signed webhooks and S3 objects (a review export, a raw e-mail)
//! through ingest-validator, the feedback FIFO queue, llm-analyzer's triage, tickets in
//! PostgreSQL and counters in DynamoDB, read back through the HTTP API. Every delivery
//! is sent twice; refusals store and queue nothing.

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use sluice_core::ConfigSource;
use sluice_tests::{repo_root, token, TestStack};

const ZENDESK_SECRET: &str = "zendesk-test-secret";
const INTERCOM_SECRET: &str = "intercom-client-secret";
// whsec_ + base64("sluice-standard-webhook-key!")
const STANDARD_SECRET: &str = "whsec_c2x1aWNlLXN0YW5kYXJkLXdlYmhvb2sta2V5IQ==";

fn hmac256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

struct Feedback {
    stack: TestStack,
    api: String,
    http: reqwest::Client,
}

impl Feedback {
    async fn start() -> Self {
        let config = ConfigSource::default()
            .with("ZENDESK_WEBHOOK_SECRET", ZENDESK_SECRET)
            .with("INTERCOM_CLIENT_SECRET", INTERCOM_SECRET)
            .with("STANDARD_WEBHOOK_SECRET", STANDARD_SECRET);
        let stack = TestStack::start_with(config).await;
        let api = stack.serve_api().await;
        Self {
            stack,
            api,
            http: reqwest::Client::new(),
        }
    }

    async fn deliver(&self, source: &str, headers: &[(&str, String)], body: &[u8]) -> (u16, Value) {
        let mut request = self
            .http
            .post(format!("{}/v1/webhooks/{source}", self.api))
            .header("content-type", "application/json")
            .body(body.to_vec());
        for (k, v) in headers {
            request = request.header(*k, v);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn zendesk(&self, body: &[u8], at: chrono::DateTime<chrono::Utc>) -> (u16, Value) {
        let timestamp = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let signature = b64(&hmac256(ZENDESK_SECRET.as_bytes(), &[timestamp.as_bytes(), body]));
        self.deliver(
            "zendesk",
            &[
                ("x-zendesk-webhook-signature", signature),
                ("x-zendesk-webhook-signature-timestamp", timestamp),
            ],
            body,
        )
        .await
    }

    async fn standard(&self, id: &str, body: &[u8], at: chrono::DateTime<chrono::Utc>) -> (u16, Value) {
        let timestamp = at.timestamp().to_string();
        let key = base64::engine::general_purpose::STANDARD
            .decode(STANDARD_SECRET.trim_start_matches("whsec_"))
            .unwrap();
        let signature = b64(&hmac256(&key, &[id.as_bytes(), b".", timestamp.as_bytes(), b".", body]));
        self.deliver(
            "standard",
            &[
                ("webhook-id", id.to_owned()),
                ("webhook-timestamp", timestamp),
                ("webhook-signature", format!("v1,{signature}")),
            ],
            body,
        )
        .await
    }

    async fn upload(&self, key: &str, body: Vec<u8>) {
        self.stack.upload(key, body, &[]).await;
    }

    async fn count(&self, sql: &str) -> i64 {
        self.stack.query(sql).await[0].get(0)
    }

    async fn get(&self, bearer: &str, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.api))
            .bearer_auth(bearer)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

fn zendesk_ticket(id: &str, updated_at: &str, text: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "type": "zen:event-type:ticket.created",
        "account_id": 10001,
        "id": format!("evt-{id}-{updated_at}"),
        "time": updated_at,
        "zendesk_event_version": "2022-11-06",
        "subject": format!("zen:ticket:{id}"),
        "detail": {
            "id": id,
            "subject": "Export keeps crashing",
            "description": text,
            "requester_id": "9001",
            "status": "NEW",
            "updated_at": updated_at,
            "created_at": updated_at,
        },
        "event": {},
    }))
    .unwrap()
}

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(repo_root().join("shared/feedback/tests/fixtures").join(rel)).unwrap()
}

/// A message as the SES receipt rule stores it: SES's verdict headers above the sender's.
fn as_ses_stores(spam: &str, virus: &str, spf: &str, dkim: &str, message: &[u8]) -> Vec<u8> {
    let mut stored = format!(
        "Received: from mail.customer.example by inbound-smtp.eu-west-1.amazonaws.com with SMTP id t1\r\n\
         X-SES-Spam-Verdict: {spam}\r\n\
         X-SES-Virus-Verdict: {virus}\r\n\
         Received-SPF: {spf} (spfCheck: domain of customer.example) client-ip=192.0.2.1;\r\n\
         Authentication-Results: amazonses.com;\r\n spf={spf} smtp.mailfrom=customer.example;\r\n\
         \x20dkim={dkim} header.i=@customer.example;\r\n dmarc=pass header.from=customer.example;\r\n"
    )
    .into_bytes();
    stored.extend_from_slice(message);
    stored
}

fn message_from(from: &str, id: &str, text: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: feedback@sluice.example\r\nSubject: About the export\r\n\
         Date: Mon, 16 Nov 2026 09:00:00 +0000\r\nMessage-ID: <{id}@customer.example>\r\n\r\n{text}\r\n"
    )
    .into_bytes()
}

/// A stack whose clock sits ten minutes into an hour (of yesterday, whatever today is),
/// so every message of a test counts in the same clock hour.
async fn email_stack(config: ConfigSource) -> TestStack {
    use chrono::DurationRound;
    let hour = (chrono::Utc::now() - chrono::Duration::days(1))
        .duration_trunc(chrono::Duration::hours(1))
        .unwrap();
    TestStack::start_at(
        config,
        sluice_core::Clock::starting_at(hour + chrono::Duration::minutes(10)),
    )
    .await
}

#[tokio::test]
async fn mail_that_fails_ses_verdicts_queues_nothing_and_is_recorded_with_its_reason() {
    let stack = email_stack(ConfigSource::default()).await;
    let text = "The export button does nothing when I click it.";
    let cases = [
        (
            "spam",
            as_ses_stores(
                "FAIL",
                "PASS",
                "pass",
                "pass",
                &message_from("a@customer.example", "m1", text),
            ),
        ),
        (
            "virus",
            as_ses_stores(
                "PASS",
                "FAIL",
                "pass",
                "pass",
                &message_from("b@customer.example", "m2", text),
            ),
        ),
        (
            "spf",
            as_ses_stores(
                "PASS",
                "PASS",
                "fail",
                "pass",
                &message_from("c@customer.example", "m3", text),
            ),
        ),
        (
            "dkim",
            as_ses_stores(
                "PASS",
                "PASS",
                "pass",
                "fail",
                &message_from("d@customer.example", "m4", text),
            ),
        ),
        // Not stored by SES: no verdicts at all.
        ("unscanned", message_from("e@customer.example", "m5", text)),
    ];
    for (kind, raw) in &cases {
        stack.upload(&format!("inbound-email/{kind}"), raw.clone(), &[]).await;
    }
    // The spam is stored again under another key: a second message, a second row.
    stack.upload("inbound-email/spam-again", cases[0].1.clone(), &[]).await;
    let clean = as_ses_stores(
        "PASS",
        "GRAY",
        "softfail",
        "none",
        &message_from("f@customer.example", "m6", text),
    );
    stack.upload("inbound-email/clean", clean, &[]).await;
    stack.settle().await;

    let tickets = stack.query("SELECT author FROM tickets WHERE source = 'email'").await;
    assert_eq!(tickets.len(), 1, "only the clean message is feedback");
    assert_eq!(tickets[0].get::<_, &str>(0), "f@customer.example");
    let refused: Vec<(String, String, Option<String>)> = stack
        .query("SELECT s3_key, kind, sender FROM inbound_email_refusals ORDER BY s3_key")
        .await
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let expect = |key: &str, kind: &str, sender: &str| {
        (format!("inbound-email/{key}"), kind.to_owned(), Some(sender.to_owned()))
    };
    assert_eq!(
        refused,
        vec![
            expect("dkim", "dkim", "d@customer.example"),
            expect("spam", "spam", "a@customer.example"),
            expect("spam-again", "spam", "a@customer.example"),
            expect("spf", "spf", "c@customer.example"),
            expect("unscanned", "unscanned", "e@customer.example"),
            expect("virus", "virus", "b@customer.example"),
        ]
    );
    let reason: String = stack
        .query("SELECT reason FROM inbound_email_refusals WHERE kind = 'spam' LIMIT 1")
        .await[0]
        .get(0);
    assert!(reason.contains("X-SES-Spam-Verdict: FAIL"), "{reason}");
    // Refused mail never counts against its sender's allowance.
    assert_eq!(
        stack
            .query("SELECT count(*) FROM request_windows WHERE user_id LIKE 'inbound-email:%'")
            .await[0]
            .get::<_, i64>(0),
        1
    );
}

#[tokio::test]
async fn a_sender_over_its_hourly_limit_is_dropped_and_counted() {
    let stack = email_stack(ConfigSource::default().with("INBOUND_EMAIL_PER_SENDER_PER_HOUR", "2")).await;
    let ana = "Ana Ruiz <Ana@Customer.example>";
    for (n, text) in ["Export is slow.", "Export fails on big files.", "Export crashed again."]
        .iter()
        .enumerate()
    {
        let raw = as_ses_stores(
            "PASS",
            "PASS",
            "pass",
            "pass",
            &message_from(ana, &format!("ana{n}"), text),
        );
        stack.upload(&format!("inbound-email/ana-{n}"), raw, &[]).await;
        // One at a time: which of the three is over the limit is then the last.
        stack.settle().await;
    }
    let bob = as_ses_stores(
        "PASS",
        "PASS",
        "pass",
        "pass",
        &message_from("bob@other.example", "bob0", "Love it."),
    );
    stack.upload("inbound-email/bob-0", bob, &[]).await;
    stack.settle().await;

    let authors: Vec<String> = stack
        .query("SELECT author FROM tickets WHERE source = 'email' ORDER BY author")
        .await
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        authors,
        [
            "Ana Ruiz <Ana@Customer.example>",
            "Ana Ruiz <Ana@Customer.example>",
            "bob@other.example"
        ]
    );
    let refused = stack
        .query("SELECT s3_key, kind, sender, reason FROM inbound_email_refusals")
        .await;
    assert_eq!(refused.len(), 1);
    assert_eq!(
        (
            refused[0].get::<_, &str>(0),
            refused[0].get::<_, &str>(1),
            refused[0].get::<_, &str>(2)
        ),
        ("inbound-email/ana-2", "sender-limit", "ana@customer.example")
    );
    assert!(refused[0].get::<_, &str>(3).contains("more than 2 messages this hour"));
    let counted = stack
        .query("SELECT hour_count FROM request_windows WHERE user_id = 'inbound-email:ana@customer.example'")
        .await;
    assert_eq!(
        counted[0].get::<_, i32>(0),
        2,
        "the dropped message is not counted as sent"
    );
}

#[tokio::test]
async fn every_source_ends_as_a_triaged_ticket_counted_once_though_sent_twice() {
    let f = Feedback::start().await;
    let now = chrono::Utc::now();

    // Received at their sources an hour ago, whatever today is (the metrics count by that day).
    let an_hour_ago = |minute: i64| (now - chrono::Duration::minutes(60 - minute)).to_rfc3339();
    // A signed Zendesk delivery, sent twice.
    let ticket = zendesk_ticket(
        "5158",
        &an_hour_ago(0),
        "The app crashes every time I export the KPI report and I lose my edits.",
    );
    for _ in 0..2 {
        let (status, body) = f.zendesk(&ticket, now).await;
        assert_eq!(status, 202, "{body}");
        assert_eq!(body["accepted"], true);
    }
    // A signed Standard Webhooks delivery, sent twice.
    let standard = serde_json::to_vec(&json!({
        "type": "feedback.created",
        "timestamp": an_hour_ago(1),
        "data": {"id": "fb-77", "text": "Love the new dashboard, it is fast and beautiful. Great work!", "author": "sam@example.com", "rating": 5}
    }))
    .unwrap();
    for _ in 0..2 {
        let (status, body) = f.standard("msg_2Zx9Yq", &standard, now).await;
        assert_eq!(status, 202, "{body}");
    }
    // An App Store review export and a raw e-mail, each uploaded twice.
    let reviews = fixture("app_store/customer_reviews.json");
    let email = as_ses_stores(
        "PASS",
        "PASS",
        "pass",
        "pass",
        &fixture("email/multipart_alternative_qp.eml"),
    );
    for _ in 0..2 {
        f.upload("uploads/reviews/app-store-2026-11.json", reviews.clone())
            .await;
        f.upload("inbound-email/0001-support", email.clone()).await;
    }
    f.stack.settle().await;

    let by_source = |source: &str| format!("SELECT count(*) FROM tickets WHERE source = '{source}'");
    assert_eq!(f.count(&by_source("zendesk")).await, 1);
    assert_eq!(f.count(&by_source("standard")).await, 1);
    assert_eq!(f.count(&by_source("email")).await, 1);
    let app_store = f.count(&by_source("app_store")).await;
    assert!(app_store >= 1);
    let total = f.count("SELECT count(*) FROM tickets").await;
    assert_eq!(
        f.count("SELECT count(*) FROM processing_logs WHERE action = 'triaged'")
            .await,
        total
    );
    // The crash is a bug with a high priority; the praise is praise at P3.
    let crash = f
        .stack
        .query("SELECT category, priority FROM tickets WHERE source = 'zendesk'")
        .await;
    assert_eq!(crash[0].get::<_, String>(0), "bug");
    assert!(["P0", "P1"].contains(&crash[0].get::<_, String>(1).as_str()));
    let praise = f
        .stack
        .query("SELECT category, priority, sentiment FROM tickets WHERE source = 'standard'")
        .await;
    assert_eq!(
        (praise[0].get::<_, String>(0), praise[0].get::<_, String>(1)),
        ("praise".to_owned(), "P3".to_owned())
    );
    assert!(praise[0].get::<_, f32>(2) > 0.25);

    // Visible to the team through the API, counted once in the metrics.
    let team = token("tess", "basic", true);
    let (status, listed) = f.get(&team, "/v1/tickets?limit=200").await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["items"].as_array().unwrap().len() as i64, total);
    let today = chrono::Utc::now().date_naive();
    let (status, metrics) = f
        .get(
            &team,
            &format!(
                "/v1/metrics/feedback?from={}&to={today}",
                today - chrono::Duration::days(3)
            ),
        )
        .await;
    assert_eq!(status, 200, "{metrics}");
    // Counted on the day each item was received at its source (old reviews on their own days).
    let recent = f
        .count(&format!(
            "SELECT count(*) FROM tickets WHERE received_at::date BETWEEN '{}' AND '{today}'",
            today - chrono::Duration::days(3)
        ))
        .await;
    assert!(recent >= 2);
    assert_eq!(metrics["totals"]["total"].as_i64(), Some(recent), "{metrics}");
    // And announced once each.
    let triaged = f
        .stack
        .published()
        .await
        .into_iter()
        .filter(|e| matches!(e.payload, sluice_messages::Payload::FeedbackTriaged(_)))
        .count() as i64;
    assert_eq!(triaged, total);

    // A later update of the same Zendesk ticket updates its row.
    let update = zendesk_ticket(
        "5158",
        &an_hour_ago(30),
        "Still crashing after the update, and now my saved views are gone too.",
    );
    assert_eq!(f.zendesk(&update, now).await.0, 202);
    f.stack.settle().await;
    assert_eq!(f.count(&by_source("zendesk")).await, 1);
    let text: String = f.stack.query("SELECT text FROM tickets WHERE source = 'zendesk'").await[0].get(0);
    assert!(text.contains("saved views"), "{text}");
}

#[tokio::test]
async fn refused_deliveries_store_and_queue_nothing() {
    let f = Feedback::start().await;
    let now = chrono::Utc::now();
    let ticket = zendesk_ticket(
        "42",
        &(now - chrono::Duration::hours(1)).to_rfc3339(),
        "Billing charged me twice this month.",
    );
    let timestamp = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let problem = |body: &Value, kind: &str| {
        assert_eq!(body["type"], format!("urn:sluice:problem:{kind}"), "{body}");
    };

    // No signature, a wrong one, a stale timestamp: 401.
    let (status, body) = f.deliver("zendesk", &[], &ticket).await;
    assert_eq!(status, 401);
    problem(&body, "bad-signature");
    let forged = b64(&hmac256(b"not the secret", &[timestamp.as_bytes(), &ticket]));
    let (status, _) = f
        .deliver(
            "zendesk",
            &[
                ("x-zendesk-webhook-signature", forged),
                ("x-zendesk-webhook-signature-timestamp", timestamp.clone()),
            ],
            &ticket,
        )
        .await;
    assert_eq!(status, 401);
    let (status, body) = f.zendesk(&ticket, now - chrono::Duration::minutes(6)).await;
    assert_eq!(status, 401, "{body}");
    let (status, _) = f
        .standard(
            "msg_old",
            b"{\"type\":\"feedback.created\"}",
            now - chrono::Duration::minutes(6),
        )
        .await;
    assert_eq!(status, 401);
    // Intercom signs with sha1; a sha256 or a tampered body is refused.
    let (status, _) = f
        .deliver("intercom", &[("x-hub-signature", "sha1=00".into())], b"{}")
        .await;
    assert_eq!(status, 401);
    // An unknown source: 404. A body over 1 MB: 413.
    let (status, body) = f.deliver("github", &[], b"{}").await;
    assert_eq!(status, 404);
    problem(&body, "not-found");
    let huge = vec![b' '; 1_100_000];
    let (status, body) = f.zendesk(&huge, now).await;
    assert_eq!(status, 413, "{body}");

    f.stack.settle().await;
    assert_eq!(f.count("SELECT count(*) FROM tickets").await, 0);
    assert_eq!(f.count("SELECT count(*) FROM outbox").await, 0);
    assert_eq!(f.stack.queue_depth(&f.stack.resources.feedback.url).await, 0);
}

#[tokio::test]
async fn real_zendesk_and_intercom_payloads_are_accepted_when_signed() {
    let Some(dir) = sluice_tests::fixture("webhooks") else {
        return;
    };
    let f = Feedback::start().await;
    let now = chrono::Utc::now();
    let zendesk = std::fs::read(dir.join("zendesk/dust__ticket_created_example.json")).unwrap();
    let (status, body) = f.zendesk(&zendesk, now).await;
    assert_eq!(status, 202, "{body}");
    // Intercom: X-Hub-Signature = sha1= hex HMAC-SHA1 of the raw body.
    let mut found = false;
    for entry in std::fs::read_dir(dir.join("intercom")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.contains("conversation-admin") && !name.contains("conversation_notification") {
            continue;
        }
        let raw = std::fs::read(&path).unwrap();
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(INTERCOM_SECRET.as_bytes()).unwrap();
        mac.update(&raw);
        let signature = format!("sha1={}", hex::encode(mac.finalize().into_bytes()));
        let (status, body) = f.deliver("intercom", &[("x-hub-signature", signature)], &raw).await;
        assert_eq!(status, 202, "{name}: {body}");
        found = true;
    }
    assert!(found, "no Intercom conversation payload among the fixtures");
    f.stack.settle().await;
    assert!(f.count("SELECT count(*) FROM tickets WHERE source = 'zendesk'").await == 1);
}
