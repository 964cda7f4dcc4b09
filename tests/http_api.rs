//! The HTTP API (functions/http-api): its router served as the local runner serves it,
//! over real HTTP, against PostgreSQL and moto.

use serde_json::Value;
use sluice_tests::{repo_root, token, TestStack};

async fn get(url: &str, bearer: Option<&str>) -> (u16, String, Value) {
    let client = reqwest::Client::new();
    let mut request = client.get(url);
    if let Some(t) = bearer {
        request = request.bearer_auth(t);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    (status, content_type, body)
}

#[tokio::test]
async fn every_route_needs_a_valid_token() {
    let stack = TestStack::start().await;
    let api = stack.serve_api().await;
    let (status, content_type, body) = get(&format!("{api}/v1/me"), None).await;
    assert_eq!((status, content_type.as_str()), (401, "application/problem+json"));
    assert_eq!(body["type"], "urn:sluice:problem:unauthenticated");
    let forged = sluice_local::issue_token(b"not the secret", "eve", "enterprise", true, 1).unwrap();
    assert_eq!(get(&format!("{api}/v1/me"), Some(&forged)).await.0, 401);
    let expired = sluice_local::issue_token(sluice_tests::TEST_JWT_SECRET, "ana", "basic", false, -1).unwrap();
    assert_eq!(get(&format!("{api}/v1/me"), Some(&expired)).await.0, 401);
}

/// In AWS the router trusts API Gateway's JWT authorizer: the real HTTP API sample, read
/// by lambda_http as the runtime reads it, is answered for the user its claims name; the
/// same request without the authorizer's claims is refused, whatever its header says.
#[tokio::test]
async fn behind_api_gateway_the_authorizer_s_claims_name_the_caller() {
    use tower::ServiceExt;
    let stack = TestStack::start().await;
    let mut instance = sluice_tests::instance_of(&stack, http_api::SERVICE).await;
    instance.cfg = instance
        .cfg
        .clone()
        .without("LOCAL_JWT_SECRET")
        .with("AWS_LAMBDA_FUNCTION_NAME", "sluice-http-api");
    let router = http_api::build(&instance).await.expect("http-api in AWS mode");
    let sample = std::fs::read_to_string(repo_root().join("events/apigw-http-get-me.json")).unwrap();
    let response = router
        .clone()
        .oneshot(lambda_http::request::from_str(&sample).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    let me: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(me["user_id"], "5f0c8a3e-1b2d-4c6e-9f70-81a2b3c4d5e6");
    assert_eq!(
        (me["tier"].as_str(), me["team_member"].as_bool()),
        (Some("professional"), Some(true))
    );
    let mut unverified: Value = serde_json::from_str(&sample).unwrap();
    unverified["requestContext"]
        .as_object_mut()
        .unwrap()
        .remove("authorizer");
    let response = router
        .oneshot(lambda_http::request::from_str(&unverified.to_string()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

/// The access each route declares is what it enforces: without a token, every route
/// but the signed webhooks answers 401 before reading anything else.
#[tokio::test]
async fn each_route_enforces_the_access_it_declares() {
    let stack = TestStack::start().await;
    let api = stack.serve_api().await;
    let client = reqwest::Client::new();
    for route in http_api::ROUTES {
        let path = route
            .path
            .replace("{id}", "00000000-0000-4000-8000-000000000000")
            .replace("{ticker}", "AAPL")
            .replace("{source}", "standard");
        let method = reqwest::Method::from_bytes(route.method.as_bytes()).unwrap();
        let response = client
            .request(method, format!("{api}{path}"))
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        match route.access {
            http_api::Access::User | http_api::Access::Team | http_api::Access::Admin => {
                assert_eq!(status, 401, "{} {}: {body}", route.method, route.path);
                assert_eq!(body["type"], "urn:sluice:problem:unauthenticated", "{}", route.path);
            }
            http_api::Access::Signature | http_api::Access::Public => {
                assert_ne!(
                    body["type"], "urn:sluice:problem:unauthenticated",
                    "{}: {body}",
                    route.path
                );
            }
        }
    }
    // Team routes refuse a signed-in user outside the team.
    let outsider = token("olga", "basic", false);
    for route in http_api::ROUTES
        .iter()
        .filter(|r| r.access == http_api::Access::Team && r.method == "GET")
    {
        let path = route.path.replace("{id}", "1");
        let (status, _, body) = get(&format!("{api}{path}"), Some(&outsider)).await;
        assert_eq!(status, 403, "{}: {body}", route.path);
    }
}

#[tokio::test]
async fn an_account_is_created_on_first_use_from_the_claims() {
    let stack = TestStack::start().await;
    let api = stack.serve_api().await;
    let (status, _, me) = get(&format!("{api}/v1/me"), Some(&token("ana", "basic", false))).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["tier"], "basic");
    assert_eq!(me["credit_balance"]["micros"], 5_000_000);
    assert_eq!(me["limits"]["requests_per_hour"], 100);
    // A second request does not grant the monthly credits again.
    stack
        .pool
        .get()
        .await
        .unwrap()
        .execute("UPDATE user_accounts SET credit_balance_micros = 7", &[])
        .await
        .unwrap();
    let (_, _, me) = get(&format!("{api}/v1/me"), Some(&token("ana", "basic", false))).await;
    assert_eq!(me["credit_balance"]["micros"], 7);
    assert_eq!(
        stack.query("SELECT count(*) FROM user_accounts").await[0].get::<_, i64>(0),
        1
    );
}

/// The tier of record is the account's: an access token (no tier claim) is served at the
/// stored tier and never lowers it, and the tier's prices follow.
#[tokio::test]
async fn a_token_without_a_tier_claim_keeps_the_account_s_tier() {
    let stack = TestStack::start().await;
    let api = stack.serve_api().await;
    let (_, _, me) = get(&format!("{api}/v1/me"), Some(&token("ana", "basic", false))).await;
    assert_eq!(me["tier"], "basic");
    let access_token = token("ana", "", false);
    let (status, _, me) = get(&format!("{api}/v1/me"), Some(&access_token)).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["tier"], "basic", "served at the stored tier: {me}");
    assert_eq!(me["limits"]["requests_per_hour"], 100);
    let stored: String = stack
        .query("SELECT tier FROM user_accounts WHERE user_id = 'ana'")
        .await[0]
        .get(0);
    assert_eq!(stored, "basic", "the stored tier is untouched");
    // A first visit without a claim opens a demo account.
    let (_, _, me) = get(&format!("{api}/v1/me"), Some(&token("new", "", false))).await;
    assert_eq!(me["tier"], "demo");
}

/// Every authenticated request counts against the tier's allowance (demo: 10 an hour),
/// says where the caller stands, and a refusal neither counts nor touches anyone else.
#[tokio::test]
async fn every_request_counts_against_the_tier_s_allowance() {
    let stack = TestStack::start().await;
    let api = stack.serve_api().await;
    let client = reqwest::Client::new();
    let me = |bearer: String| {
        let request = client.get(format!("{api}/v1/me")).bearer_auth(bearer);
        async move {
            let response = request.send().await.unwrap();
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
            };
            let seen = (
                response.status().as_u16(),
                header("ratelimit-limit"),
                header("ratelimit-remaining"),
                header("ratelimit-reset"),
                header("retry-after"),
            );
            (seen, response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let demo = token("dora", "demo", false);
    for n in 1..=10u64 {
        let ((status, limit, remaining, reset, retry), _) = me(demo.clone()).await;
        assert_eq!((status, limit, remaining, retry), (200, Some(10), Some(10 - n), None));
        assert!(reset.is_some_and(|s| (1..=3600).contains(&s)), "{reset:?}");
    }
    let ((status, limit, remaining, _, retry), body) = me(demo.clone()).await;
    assert_eq!((status, limit, remaining), (429, Some(10), Some(0)), "{body}");
    assert!(retry.is_some_and(|s| (1..=3600).contains(&s)), "{retry:?}");
    assert_eq!(body["type"], "urn:sluice:problem:rate-limited");
    assert!(
        body["detail"].as_str().unwrap().contains("10 requests per hour"),
        "{body}"
    );
    let counted: (i32, i32) = {
        let row = &stack
            .query("SELECT hour_count, day_count FROM request_windows WHERE user_id = 'dora'")
            .await[0];
        (row.get(0), row.get(1))
    };
    assert_eq!(counted, (10, 10), "a refused request is not counted");
    // Someone else is not affected; enterprise is unlimited (and gets no headers).
    assert_eq!(me(token("basil", "basic", false)).await.0 .0, 200);
    for _ in 0..12 {
        let ((status, limit, ..), _) = me(token("erin", "enterprise", false)).await;
        assert_eq!((status, limit), (200, None));
    }
    // Concurrent requests of one user are counted exactly.
    let burst = token("dana", "demo", false);
    let answers = futures::future::join_all((0..25).map(|_| me(burst.clone()))).await;
    let admitted = answers.iter().filter(|((status, ..), _)| *status == 200).count();
    assert_eq!(admitted, 10, "{answers:?}");
    assert!(answers.iter().all(|((status, ..), _)| [200, 429].contains(status)));
}

#[tokio::test]
async fn uploads_are_visible_to_the_team_only() {
    let stack = TestStack::start().await;
    let api = stack.serve_api().await;
    stack
        .upload(
            "uploads/kpis/q1.csv",
            "empresa,fecha,indicador,valor\nAcme,2026-03-31,Ventas,1\nAcme,31/02/2026,Ventas,2\n",
            &[],
        )
        .await;
    stack.settle().await;

    let outsider = token("olga", "professional", false);
    let (status, _, body) = get(&format!("{api}/v1/data-versions"), Some(&outsider)).await;
    assert_eq!(
        (status, body["type"].as_str()),
        (403, Some("urn:sluice:problem:forbidden"))
    );

    let member = token("ana", "basic", true);
    let (status, _, list) = get(&format!("{api}/v1/data-versions?dataset=kpis"), Some(&member)).await;
    assert_eq!(status, 200, "{list}");
    let item = &list["items"][0];
    assert_eq!(
        (item["status"].as_str(), item["counts"]["inserted"].as_i64()),
        (Some("partial"), Some(1))
    );
    assert_eq!(item["counts"]["rejected"], 1);
    let (status, _, one) = get(&format!("{api}/v1/data-versions/{}", item["id"]), Some(&member)).await;
    assert_eq!((status, one["file_name"].as_str()), (200, Some("q1.csv")));

    assert_eq!(
        get(&format!("{api}/v1/data-versions/999999"), Some(&member)).await.0,
        404
    );
    assert_eq!(
        get(&format!("{api}/v1/data-versions?limit=5000"), Some(&member))
            .await
            .0,
        400
    );
    assert_eq!(
        get(&format!("{api}/v1/data-versions?dataset=prices"), Some(&member))
            .await
            .0,
        400
    );
    // A 404 says which: no such route, or no such thing behind a route.
    let (status, _, body) = get(&format!("{api}/v1/nope"), Some(&member)).await;
    assert_eq!((status, body["detail"].as_str()), (404, Some("no route GET /v1/nope")));
    let (status, _, body) = get(&format!("{api}/v1/quotes/ZZZZ"), Some(&member)).await;
    assert_eq!(status, 404);
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .starts_with("no quote for ZZZZ"),
        "{body}"
    );
    let response = reqwest::Client::new()
        .delete(format!("{api}/v1/me"))
        .bearer_auth(&member)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
}

#[tokio::test]
async fn the_openapi_document_matches_the_routes_and_their_answers() {
    let doc: Value =
        serde_yaml::from_str(&std::fs::read_to_string(repo_root().join("functions/http-api/openapi.yaml")).unwrap())
            .unwrap();
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            documented.push((method.to_uppercase(), path.clone()));
        }
    }
    documented.sort();
    // The document is served as it is written (JSON of the YAML), without a token.
    {
        let stack = TestStack::start().await;
        let api = stack.serve_api().await;
        let (status, content_type, served_doc) = get(&format!("{api}/v1/openapi.json"), None).await;
        assert_eq!((status, content_type.as_str()), (200, "application/json"));
        assert_eq!(served_doc, doc);
    }
    let mut served: Vec<(String, String)> = http_api::ROUTES
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    served.sort();
    assert_eq!(documented, served);

    // The answers carry what the document says they must.
    let stack = TestStack::start().await;
    let api = stack.serve_api().await;
    let required = |schema: &str| -> Vec<String> {
        doc["components"]["schemas"][schema]["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    let (_, _, me) = get(&format!("{api}/v1/me"), Some(&token("ana", "demo", false))).await;
    for field in required("Me") {
        assert!(me.get(&field).is_some(), "/v1/me lacks {field}: {me}");
    }
    let (_, _, problem) = get(&format!("{api}/v1/me"), None).await;
    for field in required("Problem") {
        assert!(problem.get(&field).is_some(), "problem lacks {field}: {problem}");
    }
}

#[tokio::test]
async fn quotes_and_daily_bars_come_from_the_store() {
    // Two recent bars: the demo tier covers prices of the last two years only, so fixed
    // dates would fall out of its reach as the years pass.
    let today = chrono::Utc::now().date_naive();
    let (before, last) = (today - chrono::Duration::days(15), today - chrono::Duration::days(14));
    let stack = TestStack::start().await;
    let api = stack.serve_api().await;
    stack
        .pool
        .get()
        .await
        .unwrap()
        .batch_execute(&format!(
            "INSERT INTO tickers (ticker, name) VALUES ('AAPL', 'Apple Inc.');
             INSERT INTO prices (ticker, date, open, high, low, close, volume) VALUES
               ('AAPL', '{before}', 228.0, 231.5, 227.1, 230.0, 41000000),
               ('AAPL', '{last}', 230.2, 233.9, 229.8, 232.3, 38000000);"
        ))
        .await
        .unwrap();
    let bearer = token("ana", "demo", false);

    let (status, _, quote) = get(&format!("{api}/v1/quotes/aapl"), Some(&bearer)).await;
    assert_eq!(status, 200, "{quote}");
    assert_eq!(
        (quote["ticker"].as_str(), quote["price"].as_f64()),
        (Some("AAPL"), Some(232.3))
    );
    assert_eq!(quote["previous_close"].as_f64(), Some(230.0));
    assert_eq!(quote["source"], "database");

    let (status, _, bars) = get(
        &format!(
            "{api}/v1/prices/AAPL?from={last}&to={}",
            last + chrono::Duration::days(10)
        ),
        Some(&bearer),
    )
    .await;
    assert_eq!(status, 200, "{bars}");
    let items = bars["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(
        (items[0]["date"].as_str(), items[0]["close"].as_f64()),
        (Some(last.to_string().as_str()), Some(232.3))
    );

    assert_eq!(get(&format!("{api}/v1/quotes/MSFT"), Some(&bearer)).await.0, 404);
    assert_eq!(
        get(&format!("{api}/v1/quotes/NOT_A_TICKER"), Some(&bearer)).await.0,
        400
    );
    assert_eq!(
        get(
            &format!("{api}/v1/prices/AAPL?from=2026-12-01&to=2026-11-01"),
            Some(&bearer)
        )
        .await
        .0,
        400
    );
    assert_eq!(
        get(&format!("{api}/v1/prices/AAPL?from=yesterday"), Some(&bearer))
            .await
            .0,
        400
    );
}

/// A pool rotates its keys: a token naming a key the process does not know makes it fetch
/// the keys again, once per interval however many such tokens come (forged `kid`s cannot
/// make it hammer the endpoint).
#[tokio::test]
async fn an_unknown_signing_key_fetches_the_pool_s_keys_again_at_most_once_per_interval() {
    use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    let (Some(old_key), Some(new_key)) = (sluice_tests::rsa_test_key(), sluice_tests::rsa_test_key()) else {
        eprintln!("skipping: openssl is not available to make test keys");
        return;
    };
    let jwk = |der: &[u8], kid: &str| {
        let mut jwk =
            jsonwebtoken::jwk::Jwk::from_encoding_key(&EncodingKey::from_rsa_der(der), Algorithm::RS256).unwrap();
        jwk.common.key_id = Some(kid.into());
        jwk
    };
    // The pool's JWKS endpoint: the old key, until the rotation adds the new one.
    let published = Arc::new(Mutex::new(serde_json::json!({ "keys": [jwk(&old_key, "old")] })));
    let fetches = Arc::new(AtomicUsize::new(0));
    let jwks = axum::Router::new().route(
        "/.well-known/jwks.json",
        axum::routing::get({
            let (published, fetches) = (published.clone(), fetches.clone());
            move || async move {
                fetches.fetch_add(1, Ordering::SeqCst);
                axum::Json(published.lock().unwrap().clone())
            }
        }),
    );
    let issuer = sluice_tests::serve(jwks).await;
    let cfg = sluice_core::ConfigSource::from_pairs([
        ("COGNITO_ISSUER", issuer.as_str()),
        ("COGNITO_CLIENT_IDS", "client-1"),
        ("COGNITO_JWKS_REFETCH_SECS", "3600"),
    ]);
    let verifier = sluice_web::auth::verifier_from_config(&cfg).await.unwrap();
    assert_eq!(fetches.load(Ordering::SeqCst), 1, "fetched at start-up");
    let now = chrono::Utc::now().timestamp();
    let token = |der: &[u8], kid: &str| {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.into());
        let claims =
            serde_json::json!({"sub": "u-1", "iss": issuer, "aud": "client-1", "token_use": "id", "exp": now + 600});
        encode(&header, &claims, &EncodingKey::from_rsa_der(der)).unwrap()
    };
    assert!(verifier.verify(&token(&old_key, "old")).await.is_ok());
    // A verifier allowed to fetch again at once.
    let eager = sluice_web::auth::verifier_from_config(&cfg.with("COGNITO_JWKS_REFETCH_SECS", "0"))
        .await
        .unwrap();
    assert_eq!(fetches.load(Ordering::SeqCst), 2);

    // Rotation: the pool now signs with the new key. Within the start-up fetch's interval,
    // nothing is fetched; the verifier allowed to fetch does so once and accepts.
    published.lock().unwrap()["keys"] = serde_json::json!([jwk(&old_key, "old"), jwk(&new_key, "new")]);
    assert!(verifier.verify(&token(&new_key, "new")).await.is_err());
    assert_eq!(fetches.load(Ordering::SeqCst), 2, "not again within the interval");
    assert!(eager.verify(&token(&new_key, "new")).await.is_ok());
    assert_eq!(fetches.load(Ordering::SeqCst), 3, "one fetch for the unknown key");
    assert!(eager.verify(&token(&new_key, "new")).await.is_ok());
    assert_eq!(fetches.load(Ordering::SeqCst), 3, "known now: no fetch");
    // A burst of forged kids on the once-per-hour verifier: at most one fetch.
    let before = fetches.load(Ordering::SeqCst);
    for i in 0..20 {
        assert!(verifier.verify(&token(&new_key, &format!("forged-{i}"))).await.is_err());
    }
    assert!(fetches.load(Ordering::SeqCst) - before <= 1);
}

/// Dates out of any sensible range in a query string are a 400 that names the parameter,
/// never a panic (a year like -262143 is what chrono can barely hold).
#[tokio::test]
async fn extreme_dates_in_query_strings_are_refused() {
    let stack = TestStack::start().await;
    let api = stack.serve_api().await;
    let team = token("tess", "professional", true);
    for path in [
        "/v1/prices/AAPL?to=-262143-01-01",
        "/v1/prices/AAPL?from=+262142-12-31",
        "/v1/prices/AAPL?from=0000-01-01",
        "/v1/metrics/feedback?to=-262143-01-01",
        "/v1/metrics/feedback?from=9999-12-31",
    ] {
        let (status, content_type, body) = get(&format!("{api}{path}"), Some(&team)).await;
        assert_eq!(
            (status, content_type.as_str()),
            (400, "application/problem+json"),
            "{path}: {body}"
        );
        let detail = body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("from") || detail.contains("to"), "{path}: {body}");
    }
    // The server is still answering.
    assert_eq!(get(&format!("{api}/v1/me"), Some(&team)).await.0, 200);
}

/// `POST /v1/uploads`: a team member gets a presigned PUT into `uploads/<dataset>/`; the
/// file sent with it lands there with its uploader; a path, an unknown dataset or a caller
/// outside the team is refused.
#[tokio::test]
async fn a_team_member_gets_a_presigned_upload() {
    let stack = TestStack::start().await;
    let api = stack.serve_api().await;
    let client = reqwest::Client::new();
    let ask = |bearer: String, body: Value| {
        let client = client.clone();
        let url = format!("{api}/v1/uploads");
        async move {
            let response = client.post(url).bearer_auth(bearer).json(&body).send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let ana = token("ana", "basic", true);
    let (status, signed) = ask(
        ana.clone(),
        serde_json::json!({"dataset": "kpis", "file_name": "Q3 2026.csv"}),
    )
    .await;
    assert_eq!(status, 201, "{signed}");
    assert_eq!(signed["key"], "uploads/kpis/Q3 2026.csv");
    assert_eq!(signed["method"], "PUT");
    assert_eq!(signed["headers"]["x-amz-meta-uploaded-by"], "ana");
    let url = signed["url"].as_str().unwrap();
    assert!(url.contains("X-Amz-Signature="), "{url}");
    let mut put = client.put(url).body("empresa;fecha;indicador;valor\n");
    for (k, v) in signed["headers"].as_object().unwrap() {
        put = put.header(k.as_str(), v.as_str().unwrap());
    }
    assert!(put.send().await.unwrap().status().is_success());
    let head = stack
        .clients
        .s3
        .head_object()
        .bucket(&stack.resources.bucket)
        .key("uploads/kpis/Q3 2026.csv")
        .send()
        .await
        .expect("the upload is in the bucket");
    assert_eq!(head.metadata().unwrap()["uploaded-by"], "ana");

    for (body, why) in [
        (
            serde_json::json!({"dataset": "kpis", "file_name": "../x.csv"}),
            "file_name",
        ),
        (
            serde_json::json!({"dataset": "prices", "file_name": "x.csv"}),
            "dataset",
        ),
    ] {
        let (status, problem) = ask(ana.clone(), body).await;
        assert_eq!(status, 400, "{problem}");
        assert!(
            problem["detail"].as_str().unwrap_or_default().contains(why),
            "{problem}"
        );
    }
    let (status, _) = ask(
        token("olga", "basic", false),
        serde_json::json!({"dataset": "kpis", "file_name": "x.csv"}),
    )
    .await;
    assert_eq!(status, 403);
}
