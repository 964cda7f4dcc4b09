//! Notifications (functions/notifier): e-mail through SES (moto records what it "sent";
//! read back from its /moto-api/data.json), each kind once to whom may see the event,
//! preferences and the unsubscribe link; outbound webhooks signed as Standard Webhooks
//! (checked with Python's hmac, an implementation independent of ours), retried with
//! backoff, logged, disabled after repeated failure, and kept off private addresses.

use axum::extract::State;
use axum::response::IntoResponse;
use serde_json::{json, Value};
use sluice_core::ConfigSource;
use sluice_messages::{Envelope, Payload};
use sluice_tests::sse::{golden_event, EventsStack};
use sluice_tests::{serve, token, TestStack, TEST_JWT_SECRET};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// A local token whose claims carry an e-mail address (as a Cognito ID token does).
fn token_with_email(user: &str, email: &str, team: bool) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = sluice_core::auth::local::LocalClaims {
        sub: user.into(),
        tier: "basic".into(),
        email: Some(email.into()),
        groups: if team { vec!["team".into()] } else { vec![] },
        iss: sluice_core::auth::local::ISSUER.into(),
        aud: sluice_core::auth::local::AUDIENCE.into(),
        iat: now,
        exp: now + 3600,
    };
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(TEST_JWT_SECRET),
    )
    .unwrap()
}

async fn call(method: reqwest::Method, url: &str, bearer: Option<&str>, body: Option<Value>) -> (u16, Value) {
    let mut request = reqwest::Client::new().request(method, url);
    if let Some(b) = bearer {
        request = request.bearer_auth(b);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

/// One e-mail moto's SES accepted.
#[derive(Debug, Clone)]
struct Sent {
    to: String,
    kind: String,
    subject: String,
    text: String,
    unsubscribe: String,
}

/// Every e-mail sent so far to one of `addresses` (moto's backend, shared by all tests:
/// each test's addresses are its own).
async fn sent_to(stack: &TestStack, addresses: &[&str]) -> Vec<Sent> {
    let endpoint = stack
        .clients
        .sdk
        .endpoint_url()
        .unwrap()
        .trim_end_matches('/')
        .to_owned();
    let data: Value = reqwest::get(format!("{endpoint}/moto-api/data.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut out = Vec::new();
    for message in data["ses"]["RawMessage"].as_array().cloned().unwrap_or_default() {
        let raw = message["raw_data"].as_str().unwrap_or_default();
        let parsed = mail_parser::MessageParser::default().parse(raw.as_bytes()).unwrap();
        let to = parsed
            .to()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap_or_default()
            .to_owned();
        if !addresses.contains(&to.as_str()) {
            continue;
        }
        let header = |name: &str| parsed.header_raw(name).unwrap_or_default().trim().to_owned();
        out.push(Sent {
            to,
            kind: header("X-Sluice-Notification"),
            subject: parsed.subject().unwrap_or_default().to_owned(),
            text: parsed.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
            unsubscribe: header("List-Unsubscribe")
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned(),
        });
    }
    out
}

fn tally(sent: &[Sent]) -> BTreeMap<(String, String), usize> {
    let mut t = BTreeMap::new();
    for s in sent {
        *t.entry((s.to.clone(), s.kind.clone())).or_insert(0) += 1;
    }
    t
}

fn unique(name: &str) -> String {
    format!(
        "{name}-{}@example.com",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

async fn sql(stack: &TestStack, statement: &str) {
    stack.pool.get().await.unwrap().batch_execute(statement).await.unwrap();
}

#[tokio::test]
async fn each_kind_is_emailed_once_to_whom_may_see_it_and_preferences_hold() {
    let events = EventsStack::start(ConfigSource::default()).await;
    let stack = &events.stack;
    let api = &events.url;
    let (ana, tess, olga, bob) = (unique("ana"), unique("tess"), unique("olga"), unique("bob"));
    // Addresses come from the tokens' claims, stored when seen.
    for (user, email, team) in [
        ("ana", &ana, true),
        ("tess", &tess, true),
        ("olga", &olga, false),
        ("bob", &bob, false),
    ] {
        let (status, me) = call(
            reqwest::Method::GET,
            &format!("{api}/v1/me"),
            Some(&token_with_email(user, email, team)),
            None,
        )
        .await;
        assert_eq!(status, 200, "{me}");
    }
    let (_, prefs) = call(
        reqwest::Method::GET,
        &format!("{api}/v1/me/notifications"),
        Some(&token("olga", "basic", false)),
        None,
    )
    .await;
    assert_eq!(prefs["email_address"], olga.as_str(), "{prefs}");
    assert_eq!(prefs["email"]["kpi_alert"], true);
    // olga's balance is low after her analysis: one low-balance e-mail too.
    sql(
        stack,
        "UPDATE user_accounts SET credit_balance_micros = 1000000 WHERE user_id = 'olga'",
    )
    .await;
    // tess mutes KPI alerts; bad fields are named.
    let tess_token = token("tess", "basic", true);
    let (status, body) = call(
        reqwest::Method::PUT,
        &format!("{api}/v1/me/notifications"),
        Some(&tess_token),
        Some(json!({"email": {"kpi_alert": false}})),
    )
    .await;
    assert_eq!(
        (status, body["email"]["kpi_alert"].as_bool()),
        (200, Some(false)),
        "{body}"
    );
    for (bad, field) in [
        (json!({"email": {"kpi_alerts": false}}), "email.kpi_alerts"),
        (json!({"email": {"low_balance": "off"}}), "email.low_balance"),
        (json!({"sms": true}), "sms"),
    ] {
        let (status, problem) = call(
            reqwest::Method::PUT,
            &format!("{api}/v1/me/notifications"),
            Some(&tess_token),
            Some(bad),
        )
        .await;
        assert_eq!(status, 400, "{problem}");
        assert!(
            problem["detail"].as_str().unwrap_or_default().contains(field),
            "{problem}"
        );
    }

    // The events: olga's analysis done and another failed; team-wide: a refused upload,
    // a partial load (its rejects file in the bucket), a P0 ticket, a KPI alert; and one
    // that calls for no e-mail (a successful load).
    stack.upload("rejects/kpis/r.csv", "fila,motivo\n3,fecha\n", &[]).await;
    let mut loaded = golden_event("dataset_loaded", None);
    if let Payload::DatasetLoaded(l) = &mut loaded.payload {
        l.bucket = stack.resources.bucket.clone();
        l.rejects_key = Some("rejects/kpis/r.csv".into());
    }
    let mut p0 = golden_event("feedback_triaged", None);
    if let Payload::FeedbackTriaged(t) = &mut p0.payload {
        t.priority = "P0".into();
    }
    let mut fine = golden_event("dataset_loaded", None);
    if let Payload::DatasetLoaded(l) = &mut fine.payload {
        l.status = sluice_messages::LoadStatus::Success;
    }
    let published: Vec<Envelope> = vec![
        golden_event("analysis_completed", Some("olga")),
        golden_event("analysis_failed", Some("olga")),
        golden_event("upload_checked", None),
        loaded,
        p0.clone(),
        golden_event("kpi_alert", None),
        fine,
        golden_event("price_refresh_summary", None),
    ];
    for e in &published {
        events.publish(e).await;
    }
    stack.settle().await;

    let all = [ana.as_str(), tess.as_str(), olga.as_str(), bob.as_str()];
    let sent = sent_to(stack, &all).await;
    let expected: BTreeMap<(String, String), usize> = [
        (&olga, "analysis_completed"),
        (&olga, "analysis_failed"),
        (&olga, "low_balance"),
        (&ana, "upload_failed"),
        (&tess, "upload_failed"),
        (&ana, "load_partial"),
        (&tess, "load_partial"),
        (&ana, "feedback_p0"),
        (&tess, "feedback_p0"),
        (&ana, "kpi_alert"),
    ]
    .into_iter()
    .map(|(to, kind)| ((to.to_string(), kind.to_owned()), 1))
    .collect();
    assert_eq!(tally(&sent), expected, "{sent:#?}");
    let low = sent.iter().find(|s| s.kind == "low_balance").unwrap();
    assert!(low.subject.contains("credit balance is low: $1.00"), "{}", low.subject);
    // bob sees none of it: not olga's, not the team's.
    assert!(sent.iter().all(|s| s.to != bob));

    // The partial load's e-mail links to its rejects file (presigned, and it works).
    let partial = sent.iter().find(|s| s.to == ana && s.kind == "load_partial").unwrap();
    let link = partial
        .text
        .split_whitespace()
        .find(|w| w.contains("rejects/kpis/r.csv") && w.contains("X-Amz-Signature"))
        .unwrap_or_else(|| panic!("no presigned link in {}", partial.text));
    let fetched = reqwest::get(link).await.unwrap();
    assert_eq!(fetched.status().as_u16(), 200);
    assert_eq!(fetched.text().await.unwrap(), "fila,motivo\n3,fecha\n");
    assert!(sent
        .iter()
        .find(|s| s.kind == "upload_failed")
        .unwrap()
        .text
        .contains("indicador"));

    // Every event delivered again (SQS redelivery; the P0 ticket triaged again under a
    // new message id): nothing is sent twice.
    for e in &published {
        stack
            .clients
            .sqs
            .send_message()
            .queue_url(&stack.resources.notifier_events.url)
            .message_body(e.to_json())
            .send()
            .await
            .unwrap();
    }
    let mut again = p0.clone();
    again.message_id = sluice_messages::MessageId::new();
    events.publish(&again).await;
    stack.settle().await;
    assert_eq!(tally(&sent_to(stack, &all).await), expected);
    assert_eq!(stack.queue_depth(&stack.resources.notifier_events.dlq_url).await, 0);

    // The unsubscribe link: a page first (no login), the POST mutes that kind only.
    let kpi = sent.iter().find(|s| s.to == ana && s.kind == "kpi_alert").unwrap();
    assert!(kpi.text.contains(&kpi.unsubscribe), "the footer carries the link");
    let path = &kpi.unsubscribe[kpi.unsubscribe.find("/v1/unsubscribe").unwrap()..];
    assert!(path.starts_with("/v1/unsubscribe?token=v1."), "{path}");
    let page = reqwest::get(format!("{api}{path}")).await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.unwrap().contains("<form method=\"post\">"));
    let (_, still) = call(
        reqwest::Method::GET,
        &format!("{api}/v1/me/notifications"),
        Some(&token("ana", "basic", true)),
        None,
    )
    .await;
    assert_eq!(still["email"]["kpi_alert"], true, "a GET changes nothing");
    let done = reqwest::Client::new()
        .post(format!("{api}{path}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(done.status().as_u16(), 200);
    let (_, prefs) = call(
        reqwest::Method::GET,
        &format!("{api}/v1/me/notifications"),
        Some(&token("ana", "basic", true)),
        None,
    )
    .await;
    assert_eq!(
        (
            prefs["email"]["kpi_alert"].as_bool(),
            prefs["email"]["feedback_p0"].as_bool()
        ),
        (Some(false), Some(true)),
        "{prefs}"
    );
    // A forged or damaged token changes nothing.
    let forged = path.replace("kpi_alert", "feedback_p0");
    let refused = reqwest::Client::new()
        .post(format!("{api}{forged}"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 400);
    assert_eq!(
        reqwest::Client::new()
            .post(format!("{api}/v1/unsubscribe"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        400
    );

    // Now muted by both: a new KPI alert e-mails nobody; a new P0 ticket still reaches both.
    let mut p0_new = golden_event("feedback_triaged", None);
    if let Payload::FeedbackTriaged(t) = &mut p0_new.payload {
        t.priority = "P0".into();
        t.ticket_id = uuid::Uuid::new_v4();
    }
    events.publish(&golden_event("kpi_alert", None)).await;
    events.publish(&p0_new).await;
    stack.settle().await;
    let after = tally(&sent_to(stack, &all).await);
    assert_eq!(after[&(ana.clone(), "kpi_alert".to_owned())], 1);
    assert_eq!(after[&(ana.clone(), "feedback_p0".to_owned())], 2);
    assert_eq!(after[&(tess.clone(), "feedback_p0".to_owned())], 2);
    assert!(!after.contains_key(&(tess.clone(), "kpi_alert".to_owned())));
}

/// One request a receiver got: its headers and body.
type Received = (BTreeMap<String, String>, String);

/// A receiver that answers each request with the next status of its script (the last
/// one repeats) and keeps what it received.
#[derive(Clone, Default)]
struct Receiver {
    script: Arc<Vec<u16>>,
    got: Arc<Mutex<Vec<Received>>>,
}

async fn receive(State(r): State<Receiver>, headers: http::HeaderMap, body: String) -> impl IntoResponse {
    let mut got = r.got.lock().unwrap();
    let headers = headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    got.push((headers, body));
    let status = r.script.get(got.len() - 1).or(r.script.last()).copied().unwrap_or(200);
    http::StatusCode::from_u16(status).unwrap()
}

async fn receiver(script: &[u16]) -> (String, Receiver) {
    let r = Receiver {
        script: Arc::new(script.to_vec()),
        got: Arc::default(),
    };
    let router = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(r.clone());
    (format!("{}/hook", serve(router).await), r)
}

/// Standard Webhooks' signature computed by Python's hmac (not our code).
fn python_signature(secret: &str, id: &str, timestamp: &str, body: &str) -> String {
    let script = "import base64, hashlib, hmac, os\n\
        key = base64.b64decode(os.environ['S'].split('_', 1)[1])\n\
        msg = (os.environ['I'] + '.' + os.environ['T'] + '.' + os.environ['B']).encode()\n\
        print('v1,' + base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode(), end='')";
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .env("S", secret)
        .env("I", id)
        .env("T", timestamp)
        .env("B", body)
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn a_webhook_is_signed_verifiably_retried_logged_and_disabled_after_failures() {
    // Retries an hour apart: none comes due by itself while the test runs, however slow
    // the machine; the test tries them at times of its choosing.
    let config = ConfigSource::default()
        .with("WEBHOOK_ALLOW_PRIVATE_TARGETS", "true")
        .with("WEBHOOK_DISABLE_AFTER_FAILURES", "3")
        .with("WEBHOOK_RETRY_SCHEDULE_SECS", "3600,3600,3600");
    let events = EventsStack::start(config).await;
    let stack = &events.stack;
    let api = &events.url;
    let olga = token("olga", "basic", false);
    let (flaky_url, flaky) = receiver(&[500, 204]).await;
    let (dead_url, dead) = receiver(&[503]).await;

    let (status, created) = call(
        reqwest::Method::POST,
        &format!("{api}/v1/webhook-endpoints"),
        Some(&olga),
        Some(json!({"url": flaky_url, "description": "ci"})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let endpoint = created["id"].as_str().unwrap().to_owned();
    let (_, listed) = call(
        reqwest::Method::GET,
        &format!("{api}/v1/webhook-endpoints"),
        Some(&olga),
        None,
    )
    .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert!(
        listed["items"][0].get("secret").is_none(),
        "the secret is shown once: {listed}"
    );
    for (bad, field) in [
        (json!({"url": "ftp://x.example.com/"}), "url"),
        (
            json!({"url": flaky_url, "event_types": ["PriceRefreshSummary"]}),
            "event_types",
        ),
        (json!({"url": flaky_url, "colour": "red"}), "colour"),
    ] {
        let (status, problem) = call(
            reqwest::Method::POST,
            &format!("{api}/v1/webhook-endpoints"),
            Some(&olga),
            Some(bad),
        )
        .await;
        assert_eq!(status, 400, "{problem}");
        assert!(
            problem["detail"].as_str().unwrap_or_default().contains(field),
            "{problem}"
        );
    }

    // olga's analysis is delivered; bob's is not hers, nor is a team-wide KPI alert.
    let mine = golden_event("analysis_completed", Some("olga"));
    events.publish(&mine).await;
    events.publish(&golden_event("analysis_completed", Some("bob"))).await;
    events.publish(&golden_event("kpi_alert", None)).await;
    stack.settle().await;
    {
        let got = flaky.got.lock().unwrap();
        assert_eq!(got.len(), 1, "one attempt, answered 500");
    }
    let (_, log) = call(
        reqwest::Method::GET,
        &format!("{api}/v1/webhook-endpoints/{endpoint}/deliveries"),
        Some(&olga),
        None,
    )
    .await;
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{log}");
    assert_eq!(
        (
            items[0]["status"].as_str(),
            items[0]["attempts"].as_i64(),
            items[0]["last_status_code"].as_i64()
        ),
        (Some("pending"), Some(1), Some(500))
    );
    assert!(items[0]["next_attempt_at"].is_string());
    let delivery = items[0]["id"].as_i64().unwrap();

    // Not due yet: nothing is sent. Due (an hour later by this schedule): delivered.
    let notify = &stack.functions.notify;
    assert_eq!(
        notify.retry_delivery(delivery, notify.now()).await.unwrap(),
        notifier::webhooks::Attempted::NotDue
    );
    let later = notify.now() + chrono::Duration::seconds(3601);
    assert_eq!(
        notify.retry_delivery(delivery, later).await.unwrap(),
        notifier::webhooks::Attempted::Delivered
    );
    assert_eq!(
        notify.retry_delivery(delivery, later).await.unwrap(),
        notifier::webhooks::Attempted::NotDue
    );
    let got = flaky.got.lock().unwrap().clone();
    assert_eq!(got.len(), 2);
    let (headers, body) = &got[1];
    assert_eq!(headers["webhook-id"], got[0].0["webhook-id"], "a retry keeps its id");
    assert_eq!(headers["webhook-id"], format!("msg_{}", mine.message_id.0.simple()));
    assert_eq!(
        headers["webhook-signature"],
        python_signature(&secret, &headers["webhook-id"], &headers["webhook-timestamp"], body)
    );
    let sent: Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        (sent["type"].as_str(), sent["data"]["user_id"].as_str()),
        (Some("AnalysisCompleted"), Some("olga"))
    );
    let (_, log) = call(
        reqwest::Method::GET,
        &format!("{api}/v1/webhook-endpoints/{endpoint}/deliveries"),
        Some(&olga),
        None,
    )
    .await;
    let d = &log["items"][0];
    assert_eq!(
        (d["status"].as_str(), d["attempts"].as_i64()),
        (Some("succeeded"), Some(2)),
        "{log}"
    );
    let codes: Vec<i64> = d["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status_code"].as_i64().unwrap())
        .collect();
    assert_eq!(codes, [500, 204]);
    // Another user sees neither the log nor the endpoint.
    let bob = token("bob", "basic", false);
    assert_eq!(
        call(
            reqwest::Method::GET,
            &format!("{api}/v1/webhook-endpoints/{endpoint}/deliveries"),
            Some(&bob),
            None
        )
        .await
        .0,
        404
    );
    assert_eq!(
        call(
            reqwest::Method::DELETE,
            &format!("{api}/v1/webhook-endpoints/{endpoint}"),
            Some(&bob),
            None
        )
        .await
        .0,
        404
    );

    // An endpoint that always fails is disabled after 3 failed attempts in a row.
    let (_, created) = call(
        reqwest::Method::POST,
        &format!("{api}/v1/webhook-endpoints"),
        Some(&olga),
        Some(json!({"url": dead_url, "event_types": ["AnalysisFailed"]})),
    )
    .await;
    let dead_id = created["id"].as_str().unwrap().to_owned();
    events.publish(&golden_event("analysis_failed", Some("olga"))).await;
    stack.settle().await;
    let row = stack
        .query(&format!(
            "SELECT id FROM webhook_deliveries WHERE endpoint_id = '{dead_id}'"
        ))
        .await;
    let dead_delivery: i64 = row[0].get(0);
    let mut at = notify.now();
    let mut outcomes = Vec::new();
    for _ in 0..2 {
        at += chrono::Duration::seconds(3601);
        outcomes.push(notify.retry_delivery(dead_delivery, at).await.unwrap());
    }
    use notifier::webhooks::Attempted;
    assert_eq!(outcomes, [Attempted::WillRetry, Attempted::GaveUp]);
    assert_eq!(dead.got.lock().unwrap().len(), 3);
    let (_, listed) = call(
        reqwest::Method::GET,
        &format!("{api}/v1/webhook-endpoints"),
        Some(&olga),
        None,
    )
    .await;
    let dead_listed = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == dead_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        (
            dead_listed["enabled"].as_bool(),
            dead_listed["consecutive_failures"].as_i64()
        ),
        (Some(false), Some(3)),
        "{dead_listed}"
    );
    // A disabled endpoint gets nothing more; the first one (every type) got both
    // failures at once and gets the next.
    assert_eq!(flaky.got.lock().unwrap().len(), 3);
    events.publish(&golden_event("analysis_failed", Some("olga"))).await;
    stack.settle().await;
    assert_eq!(dead.got.lock().unwrap().len(), 3);
    assert_eq!(flaky.got.lock().unwrap().len(), 4);

    let (status, _) = call(
        reqwest::Method::DELETE,
        &format!("{api}/v1/webhook-endpoints/{endpoint}"),
        Some(&olga),
        None,
    )
    .await;
    assert_eq!(status, 200);
    let left: i64 = stack
        .query(&format!(
            "SELECT count(*) FROM webhook_deliveries WHERE endpoint_id = '{endpoint}'"
        ))
        .await[0]
        .get(0);
    assert_eq!(left, 0);
}

#[tokio::test]
async fn private_and_loopback_targets_are_refused_unless_allowed() {
    let stack = TestStack::start().await;
    let api = stack.serve_api().await;
    let olga = token("olga", "basic", false);
    for url in [
        "http://127.0.0.1:9/hook",
        "https://127.0.0.1/hook",
        "https://169.254.169.254/latest",
        "https://[::1]/x",
        "https://10.1.2.3/x",
    ] {
        let (status, problem) = call(
            reqwest::Method::POST,
            &format!("{api}/v1/webhook-endpoints"),
            Some(&olga),
            Some(json!({"url": url})),
        )
        .await;
        assert_eq!(status, 400, "{url}: {problem}");
        assert!(
            problem["detail"].as_str().unwrap_or_default().starts_with("url:"),
            "{problem}"
        );
    }
    // A host that resolves to loopback is refused when the delivery is attempted: nothing
    // is sent, the attempt says why.
    let (target, hits) = receiver(&[200]).await;
    let sneaky = target
        .replace("127.0.0.1", "localtest.me")
        .replace("http://", "https://");
    sql(
        &stack,
        &format!(
            "INSERT INTO user_accounts (user_id, tier) VALUES ('olga', 'basic') ON CONFLICT DO NOTHING;
             INSERT INTO webhook_endpoints (id, user_id, url, secret) VALUES
               ('{}', 'olga', '{sneaky}', 'whsec_c2VjcmV0LWtleS1mb3ItdGVzdHM=');",
            uuid::Uuid::new_v4()
        ),
    )
    .await;
    let source = stack.sources().into_iter().find(|s| s.name == "notifier").unwrap();
    let envelope = golden_event("analysis_completed", Some("olga"));
    stack
        .clients
        .sqs
        .send_message()
        .queue_url(&stack.resources.notifier_events.url)
        .message_body(envelope.to_json())
        .send()
        .await
        .unwrap();
    source.poll_once().await.unwrap();
    let row = &stack.query("SELECT a.error FROM webhook_attempts a").await;
    let error: Option<String> = row.first().and_then(|r| r.get(0));
    let error = error.unwrap_or_default();
    assert!(
        error.contains("non-public") || error.contains("does not resolve") || error.contains("not a public host"),
        "{error}"
    );
    assert!(hits.got.lock().unwrap().is_empty());
}

#[tokio::test]
async fn the_sample_events_drive_the_notifier_and_poison_goes_to_its_dlq() {
    use sluice_core::{Answer, Function, Trigger};
    let stack = TestStack::start().await;
    let notify = &stack.functions.notify;
    let sample = |name: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(sluice_tests::repo_root().join("events").join(name)).unwrap())
            .unwrap()
    };
    // analyst-7 has an address and plenty of credit: the sample's analysis e-mails them,
    // once for two deliveries.
    let address = unique("analyst-7");
    sql(&stack, &format!("INSERT INTO user_accounts (user_id, email, tier, credit_balance_micros) VALUES ('analyst-7', '{address}', 'basic', 50000000)")).await;
    for name in [
        "sqs-webhook-retry.json",
        "sqs-sse-analysis-completed.json",
        "sqs-sse-analysis-completed.json",
    ] {
        match notify.handle(Trigger::decode(sample(name)).unwrap()).await.unwrap() {
            Answer::Batch(response) => assert!(response.batch_item_failures.is_empty(), "{name}"),
            other => panic!("{other:?}"),
        }
    }
    let sent = sent_to(&stack, &[address.as_str()]).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].kind, "analysis_completed");
    // Neither an event nor a retry: dead-lettered with its reason, not retried.
    let mut poison = sample("sqs-webhook-retry.json");
    poison["Records"][0]["body"] = json!("{\"webhook_delivery\": \"soon\"}");
    let Answer::Batch(response) = notify.handle(Trigger::decode(poison).unwrap()).await.unwrap() else {
        panic!("a batch answer")
    };
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(stack.queue_depth(&stack.resources.notifier_events.dlq_url).await, 1);
}

#[tokio::test]
async fn real_uploads_refused_or_partly_loaded_email_the_team() {
    let stack = TestStack::start().await;
    let api = stack.serve_api().await;
    let (ana, olga) = (unique("ana"), unique("olga"));
    for (user, email, team) in [("ana", &ana, true), ("olga", &olga, false)] {
        assert_eq!(
            call(
                reqwest::Method::GET,
                &format!("{api}/v1/me"),
                Some(&token_with_email(user, email, team)),
                None
            )
            .await
            .0,
            200
        );
    }
    // No indicator column: refused by ingest-validator.
    stack
        .upload(
            "uploads/kpis/sin-indicador.csv",
            "Empresa;Fecha;Tipo;Valor\nAcme;31/03/2026;Real;1.100\n",
            &[],
        )
        .await;
    // One row with a date that is no date: loaded without it.
    stack
        .upload(
            "uploads/kpis/una-mala.csv",
            "Empresa;Fecha;Tipo;Indicador;Valor\nAcme;31/03/2026;Real;EBITDA;1.100\nAcme;el martes;Real;EBITDA;900\n",
            &[],
        )
        .await;
    stack.settle().await;
    let sent = sent_to(&stack, &[ana.as_str(), olga.as_str()]).await;
    let mut kinds: Vec<(String, String)> = sent.iter().map(|s| (s.to.clone(), s.kind.clone())).collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            (ana.clone(), "load_partial".to_owned()),
            (ana.clone(), "upload_failed".to_owned())
        ],
        "{sent:#?}"
    );
    let partial = sent.iter().find(|s| s.kind == "load_partial").unwrap();
    assert!(
        partial.subject.contains("una-mala.csv") && partial.text.contains("X-Amz-Signature"),
        "{}",
        partial.text
    );
}
