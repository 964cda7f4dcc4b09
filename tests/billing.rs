//! Credits coming in: the monthly grant (once per account and month, and the difference on
//! an upgrade), Stripe Checkout top-ups through the fake Stripe and its signed webhook
//! (credited once however often delivered; wrong or stale signatures change nothing), a
//! team admin's adjustments, and the caller's usage by month, JSON and CSV.

use account_worker::AccountWorker;
use chrono::{Datelike, Months};
use serde_json::{json, Value};
use sluice_core::ConfigSource;
use sluice_tests::{token, TestStack, TEST_JWT_SECRET};

const STRIPE_KEY: &str = "sk_test_sluice";
const WEBHOOK_SECRET: &str = "whsec_sluice_tests";

async fn call(method: reqwest::Method, url: &str, bearer: Option<&str>, body: Option<Value>) -> (u16, Value) {
    let mut request = reqwest::Client::new().request(method, url);
    if let Some(t) = bearer {
        request = request.bearer_auth(t);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn balance(api: &str, bearer: &str) -> i64 {
    let (status, me) = call(reqwest::Method::GET, &format!("{api}/v1/me"), Some(bearer), None).await;
    assert_eq!(status, 200, "{me}");
    me["credit_balance"]["micros"].as_i64().unwrap()
}

fn admin_token(user: &str) -> String {
    sluice_core::auth::local::issue_token_in_groups(TEST_JWT_SECRET, user, "professional", &["team", "admins"], 1)
        .unwrap()
}

#[tokio::test]
async fn each_month_grants_every_account_its_tier_s_credits_once() {
    let stack = TestStack::start().await;
    let api = stack.serve_api().await;
    let basic = token("bea", "basic", false);
    let demo = token("dan", "demo", false);
    // A new account gets this month's credits at once; demo includes none.
    assert_eq!(balance(&api, &basic).await, 5_000_000);
    assert_eq!(balance(&api, &demo).await, 0);
    let (_, me) = call(reqwest::Method::GET, &format!("{api}/v1/me"), Some(&basic), None).await;
    let today = chrono::Utc::now().date_naive();
    let reset = today.with_day(1).unwrap().checked_add_months(Months::new(1)).unwrap();
    assert_eq!(me["credit_reset_date"], reset.to_string());

    // The function as the runner builds it: acting as its own database role.
    let worker: AccountWorker = (*stack.functions.accounts).clone();
    // This month's schedule finds the grant made at sign-up.
    let now = worker.grant_monthly_credits(today).await.unwrap();
    assert_eq!((now.accounts, now.granted), (2, 0));
    // The month boundary: each account once, however often the schedule runs.
    for _ in 0..3 {
        worker.grant_monthly_credits(reset).await.unwrap();
    }
    assert_eq!(balance(&api, &basic).await, 10_000_000);
    assert_eq!(balance(&api, &demo).await, 0);
    let grants = stack
        .query("SELECT count(*) FROM usage_transactions WHERE kind = 'monthly_credits' AND user_id = 'bea'")
        .await;
    assert_eq!(grants[0].get::<_, i64>(0), 2);
    // Concurrent runs of the same month grant once.
    let next = reset.checked_add_months(Months::new(1)).unwrap();
    let runs = (0..4).map(|_| {
        let worker = worker.clone();
        tokio::spawn(async move { worker.grant_monthly_credits(next).await.unwrap() })
    });
    let granted: u64 = futures::future::join_all(runs)
        .await
        .into_iter()
        .map(|r| r.unwrap().granted)
        .sum();
    assert_eq!(granted, 1);
    assert_eq!(balance(&api, &basic).await, 15_000_000);

    // An upgrade within the month gives the difference to the better tier's credits, once.
    let upgraded = token("bea", "professional", false);
    assert_eq!(balance(&api, &upgraded).await, 15_000_000 + 20_000_000);
    assert_eq!(balance(&api, &upgraded).await, 35_000_000);
    // A downgrade gives nothing back nor takes anything.
    assert_eq!(balance(&api, &basic).await, 35_000_000);

    // The schedule's sample event, as EventBridge Scheduler invokes the function: this
    // month was granted, so nothing changes; another schedule's input is refused.
    use sluice_core::{Function, Trigger};
    let sample = |file: &str| {
        let text = std::fs::read_to_string(sluice_tests::repo_root().join("events").join(file)).unwrap();
        Trigger::decode(serde_json::from_str(&text).unwrap()).unwrap()
    };
    let answer = stack
        .functions
        .accounts
        .handle(sample("scheduler-monthly-credits.json"))
        .await
        .unwrap();
    assert!(
        matches!(answer, sluice_core::Answer::Done(ref done) if done["granted"] == 0),
        "{answer:?}"
    );
    assert!(stack
        .functions
        .accounts
        .handle(sample("scheduler-weekly-fundamentals.json"))
        .await
        .is_err());
    assert_eq!(balance(&api, &basic).await, 35_000_000);
}

async fn stripe_stack() -> (TestStack, sluice_fakes::stripe::FakeStripe, String) {
    let stripe = sluice_fakes::stripe::start(STRIPE_KEY).await.unwrap();
    let stack = TestStack::start_with(ConfigSource::from_pairs([
        ("STRIPE_API_URL", stripe.base_url.as_str()),
        ("STRIPE_SECRET_KEY", STRIPE_KEY),
        ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("CHECKOUT_SUCCESS_URL", "http://127.0.0.1/app/#account"),
    ]))
    .await;
    let api = stack.serve_api().await;
    (stack, stripe, api)
}

async fn deliver(api: &str, body: &[u8], signature: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{api}/v1/webhooks/stripe"))
        .header("stripe-signature", signature)
        .header("content-type", "application/json")
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_stripe_checkout_tops_up_once_and_a_forged_or_stale_event_adds_nothing() {
    let (stack, stripe, api) = stripe_stack().await;
    let demo = token("dora", "demo", false);
    assert_eq!(balance(&api, &demo).await, 0);

    // Out of bounds or not whole cents: refused before Stripe is called.
    for amount in ["1.00", "10.005", "abc", "100000"] {
        let (status, body) = call(
            reqwest::Method::POST,
            &format!("{api}/v1/billing/checkout"),
            Some(&demo),
            Some(json!({"amount": amount})),
        )
        .await;
        assert_eq!(status, 400, "{amount}: {body}");
    }
    assert!(stripe.sessions().is_empty());

    let (status, created) = call(
        reqwest::Method::POST,
        &format!("{api}/v1/billing/checkout"),
        Some(&demo),
        Some(json!({"amount": "10.00"})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["amount"]["display"], "$10.00");
    let sessions = stripe.sessions();
    assert_eq!(sessions.len(), 1);
    let session = &sessions[0];
    assert_eq!(created["session_id"], session.id.as_str());
    assert!(created["url"].as_str().unwrap().ends_with(&session.id));
    // What Stripe received: the key as a bearer token, the amount in cents, whom it is for.
    assert_eq!(session.authorization.as_deref(), Some("Bearer sk_test_sluice"));
    assert_eq!(session.form["line_items[0][price_data][unit_amount]"], "1000");
    assert_eq!(session.form["metadata[user_id]"], "dora");
    assert_eq!(session.form["success_url"], "http://127.0.0.1/app/#account");

    let event = serde_json::to_vec(&stripe.completed_event(session, "evt_1")).unwrap();
    let now = chrono::Utc::now().timestamp();
    // Forged, stale, unsigned: 401 and nothing credited.
    let forged = sluice_feedback::sign_stripe("whsec_someone_else", now, &event);
    let stale = sluice_feedback::sign_stripe(WEBHOOK_SECRET, now - 600, &event);
    for signature in [forged.as_str(), stale.as_str(), ""] {
        let (status, body) = deliver(&api, &event, signature).await;
        assert_eq!(status, 401, "{signature}: {body}");
    }
    assert_eq!(balance(&api, &demo).await, 0);

    // Genuine, delivered twice (Stripe retries): credited once.
    let signature = sluice_feedback::sign_stripe(WEBHOOK_SECRET, now, &event);
    let (status, first) = deliver(&api, &event, &signature).await;
    assert_eq!((status, &first["credited"]), (200, &json!(true)), "{first}");
    let (status, again) = deliver(&api, &event, &signature).await;
    assert_eq!((status, &again["credited"]), (200, &json!(false)), "{again}");
    assert_eq!(balance(&api, &demo).await, 10_000_000);
    let rows = stack
        .query("SELECT kind, amount_micros FROM usage_transactions WHERE user_id = 'dora'")
        .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].get::<_, &str>(0), rows[0].get::<_, i64>(1)),
        ("top_up", 10_000_000)
    );

    // A signed event for a session Sluice never made, and other event types: acknowledged, nothing credited.
    let mut foreign = stripe.completed_event(session, "evt_2");
    foreign["data"]["object"]["id"] = json!("cs_test_not_ours");
    let mut unpaid = stripe.completed_event(session, "evt_3");
    unpaid["data"]["object"]["payment_status"] = json!("unpaid");
    let other = json!({"id": "evt_4", "object": "event", "type": "customer.created", "data": {"object": {}}});
    for event in [foreign, unpaid, other] {
        let body = serde_json::to_vec(&event).unwrap();
        let (status, answer) = deliver(&api, &body, &sluice_feedback::sign_stripe(WEBHOOK_SECRET, now, &body)).await;
        assert_eq!((status, &answer["credited"]), (200, &json!(false)), "{answer}");
    }
    assert_eq!(balance(&api, &demo).await, 10_000_000);
}

#[tokio::test]
async fn checkout_without_stripe_configured_is_a_clear_503() {
    let stack = TestStack::start().await;
    let api = stack.serve_api().await;
    let (status, body) = call(
        reqwest::Method::POST,
        &format!("{api}/v1/billing/checkout"),
        Some(&token("nia", "basic", false)),
        Some(json!({"amount": "10"})),
    )
    .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["type"], "urn:sluice:problem:unavailable");
    assert!(body["detail"].as_str().unwrap().contains("not configured"), "{body}");
}

#[tokio::test]
async fn team_admins_adjust_credits_with_a_reason_once_per_key_and_the_month_s_usage_lists_it() {
    let stack = TestStack::start().await;
    let api = stack.serve_api().await;
    let user = token("uma", "basic", false);
    assert_eq!(balance(&api, &user).await, 5_000_000);
    let admin = admin_token("ada");
    let url = format!("{api}/v1/admin/credits");

    // Not an admin (a team member without the admins group, a customer): 403.
    for outsider in [token("tom", "enterprise", true), user.clone()] {
        let (status, body) = call(
            reqwest::Method::POST,
            &url,
            Some(&outsider),
            Some(json!({"user_id": "uma", "amount": "1", "reason": "x"})),
        )
        .await;
        assert_eq!(status, 403, "{body}");
    }
    // Bad requests: no reason, zero, unknown account.
    for (body, expected) in [
        (json!({"user_id": "uma", "amount": "1", "reason": " "}), 400),
        (json!({"user_id": "uma", "amount": "0", "reason": "x"}), 400),
        (json!({"user_id": "nobody", "amount": "1", "reason": "x"}), 404),
    ] {
        let (status, answer) = call(reqwest::Method::POST, &url, Some(&admin), Some(body)).await;
        assert_eq!(status, expected, "{answer}");
    }

    // A grant sent twice with one Idempotency-Key applies once.
    let grant = || {
        reqwest::Client::new()
            .post(&url)
            .bearer_auth(&admin)
            .header("idempotency-key", "ticket-4411")
            .json(&json!({"user_id": "uma", "amount": "2.50", "reason": "=goodwill for ticket 4411"}))
            .send()
    };
    assert_eq!(grant().await.unwrap().status().as_u16(), 201);
    assert_eq!(grant().await.unwrap().status().as_u16(), 200);
    assert_eq!(balance(&api, &user).await, 7_500_000);
    // Taking back more than is there: refused, nothing changed.
    let (status, body) = call(
        reqwest::Method::POST,
        &url,
        Some(&admin),
        Some(json!({"user_id": "uma", "amount": "-100", "reason": "correction"})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(balance(&api, &user).await, 7_500_000);

    // The month's usage: the monthly grant and the adjustment, totals by kind.
    let (status, usage) = call(reqwest::Method::GET, &format!("{api}/v1/me/usage"), Some(&user), None).await;
    assert_eq!(status, 200, "{usage}");
    let kinds: Vec<&str> = usage["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["monthly_credits", "adjustment"]);
    assert_eq!(usage["totals"]["adjustment"]["display"], "$2.50");
    let csv = reqwest::Client::new()
        .get(format!("{api}/v1/me/usage"))
        .bearer_auth(&user)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = csv.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "time,kind,amount_usd,balance_after_usd,description,task_id");
    assert_eq!(lines.len(), 3, "{csv}");
    // A description that looks like a formula is defused.
    assert!(lines[2].contains(",adjustment,2.5,7.5,'=goodwill"), "{csv}");
    // Another month is empty; a malformed month is a 400.
    let (status, empty) = call(
        reqwest::Method::GET,
        &format!("{api}/v1/me/usage?month=2020-01"),
        Some(&user),
        None,
    )
    .await;
    assert_eq!((status, empty["items"].as_array().map(Vec::len)), (200, Some(0)));
    let (status, _) = call(
        reqwest::Method::GET,
        &format!("{api}/v1/me/usage?month=13-2026"),
        Some(&user),
        None,
    )
    .await;
    assert_eq!(status, 400);
}
