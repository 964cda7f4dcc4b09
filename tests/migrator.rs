//! The deploy's database step as CloudFormation drives it: Create, Update and Delete
//! requests of the custom resource, answered by a PUT to the request's ResponseURL (here a
//! local server standing in for CloudFormation's pre-signed S3 URL), against an empty
//! database: migrations applied, roles given logins, tickers loaded; a failure answered
//! FAILED with its reason.

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use migrator::Migrator;
use serde_json::{json, Value};
use sluice_core::{db, ConfigSource, Instance};
use std::sync::{Arc, Mutex};

/// What CloudFormation received: each PUT's body and whether it carried a Content-Type.
type Answers = Arc<Mutex<Vec<(Value, bool, String)>>>;

async fn cloudformation() -> (String, Answers) {
    let answers: Answers = Arc::default();
    let app = axum::Router::new()
        .route(
            "/cloudformation-response",
            axum::routing::put(
                |State(answers): State<Answers>, headers: HeaderMap, RawQuery(query): RawQuery, body: String| async move {
                    let parsed: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                    answers.lock().unwrap().push((
                        parsed,
                        headers.contains_key("content-type"),
                        query.unwrap_or_default(),
                    ));
                    ""
                },
            ),
        )
        .with_state(answers.clone());
    (sluice_tests::serve(app).await, answers)
}

fn request(kind: &str, response_url: &str, physical: Option<&str>) -> Value {
    let mut request = json!({
        "RequestType": kind,
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:sluice-migrator",
        "ResponseURL": response_url,
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/sluice/4f1c",
        "RequestId": format!("request-{kind}"),
        "LogicalResourceId": "DatabaseMigration",
        "ResourceType": "Custom::DatabaseMigration",
        "ResourceProperties": {"ServiceToken": "arn", "Release": "2026-12-05"},
    });
    if let Some(id) = physical {
        request["PhysicalResourceId"] = json!(id);
    }
    request
}

#[tokio::test]
async fn create_update_and_delete_are_answered_as_cloudformation_expects() {
    let settings = sluice_tests::empty_database().await;
    let pool = db::connect(&settings).await.unwrap();
    let clients = sluice_tests::clients().await;
    let cfg = ConfigSource::from_pairs([("SLUICE_SSE_STREAM_DB_PASSWORD", "stream-login-for-tests")]);
    let migrator = Migrator::build(&Instance::new(
        migrator::SERVICE,
        cfg,
        clients.sdk.clone(),
        settings,
        pool.clone(),
    ))
    .unwrap();
    let (base, answers) = cloudformation().await;
    let url = format!("{base}/cloudformation-response?X-Amz-Signature=abc");

    // Create on an empty database.
    let answer = migrator.handle_event(request("Create", &url, None)).await.unwrap();
    assert_eq!(answer["status"], "SUCCESS");
    {
        let got = answers.lock().unwrap();
        let (body, has_content_type, query) = &got[0];
        assert!(!has_content_type, "a pre-signed URL signs no Content-Type");
        assert_eq!(query, "X-Amz-Signature=abc");
        assert_eq!(body["Status"], "SUCCESS", "{body}");
        assert_eq!(body["PhysicalResourceId"], migrator::PHYSICAL_RESOURCE_ID);
        assert_eq!(body["RequestId"], "request-Create");
        assert_eq!(body["LogicalResourceId"], "DatabaseMigration");
        assert_eq!(
            body["StackId"],
            "arn:aws:cloudformation:us-east-1:123456789012:stack/sluice/4f1c"
        );
        let expected = sluice_core::migrate::embedded().unwrap().len();
        assert_eq!(body["Data"]["MigrationsApplied"], expected);
        assert!(body["Data"]["TickersLoaded"].as_u64().unwrap() >= 500, "{body}");
    }
    let client = pool.get().await.unwrap();
    let tickers: i64 = client
        .query_one("SELECT count(*) FROM tickers", &[])
        .await
        .unwrap()
        .get(0);
    assert!(tickers >= 500);
    let can_login: bool = client
        .query_one(
            "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'sluice_sse_stream'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(can_login, "the stream's role has the login of its secret");

    // Update (every deploy): nothing new to apply, the same resource, tickers unchanged.
    let physical = migrator::PHYSICAL_RESOURCE_ID;
    migrator
        .handle_event(request("Update", &url, Some(physical)))
        .await
        .unwrap();
    {
        let got = answers.lock().unwrap();
        let body = &got[1].0;
        assert_eq!(
            (&body["Status"], &body["Data"]["MigrationsApplied"]),
            (&json!("SUCCESS"), &json!(0))
        );
        assert_eq!(body["PhysicalResourceId"], physical);
    }
    let again: i64 = client
        .query_one("SELECT count(*) FROM tickers", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(again, tickers);

    // Delete: answered, and the data stays.
    migrator
        .handle_event(request("Delete", &url, Some(physical)))
        .await
        .unwrap();
    assert_eq!(answers.lock().unwrap()[2].0["Status"], "SUCCESS");
    assert!(client.query_one("SELECT count(*) FROM kpis", &[]).await.is_ok());

    // A failing step is answered FAILED with its reason (the deploy fails in minutes).
    client
        .execute(
            "UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1",
            &[],
        )
        .await
        .unwrap();
    let answer = migrator
        .handle_event(request("Update", &url, Some(physical)))
        .await
        .unwrap();
    assert_eq!(answer["status"], "FAILED");
    let got = answers.lock().unwrap();
    let body = &got[3].0;
    assert_eq!(body["Status"], "FAILED");
    let reason = body["Reason"].as_str().unwrap();
    assert!(reason.contains("migration 1 (messaging)"), "{reason}");
    assert!(!reason.contains("stream-login-for-tests"));
}

#[tokio::test]
async fn a_request_that_cannot_be_answered_fails_the_invocation() {
    let settings = sluice_tests::empty_database().await;
    let pool = db::connect(&settings).await.unwrap();
    let clients = sluice_tests::clients().await;
    let migrator = Migrator::build(&Instance::new(
        migrator::SERVICE,
        ConfigSource::default(),
        clients.sdk.clone(),
        settings,
        pool,
    ))
    .unwrap();
    // Nothing listens there: Lambda's own retry (and its log) are what is left.
    let closed = "http://127.0.0.1:9/cloudformation-response";
    assert!(migrator
        .handle_event(request("Delete", closed, Some("x")))
        .await
        .is_err());
    // Not a CloudFormation request at all.
    assert!(migrator.handle_event(json!({"Records": []})).await.is_err());
}
