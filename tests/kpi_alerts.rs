//! The KPI tracker (functions/portfolio-analyst): loads through the real pipeline, the
//! tracker wired as the runner wires it (the events topic's filtered subscription), alerts
//! read back over HTTP and seen on the events topic and in the live stream's store.

use serde_json::{json, Value};
use sluice_messages::Payload;
use sluice_tests::{token, TestStack};

const FIRST: &str = "Empresa;Fecha;Tipo;Indicador;Valor
Acme;31/03/2026;Real;EBITDA;1.100
Acme;30/06/2026;Real;EBITDA;1.100
Acme;30/06/2026;Presupuesto;EBITDA;1.000
Acme;30/06/2026;Real;Ventas;5.000
Beta;30/06/2026;Real;EBITDA;300
";

/// The same sheet, edited: Acme's June EBITDA halved.
const EDITED: &str = "Empresa;Fecha;Tipo;Indicador;Valor
Acme;31/03/2026;Real;EBITDA;1.100
Acme;30/06/2026;Real;EBITDA;550
Acme;30/06/2026;Presupuesto;EBITDA;1.000
Acme;30/06/2026;Real;Ventas;5.000
Beta;30/06/2026;Real;EBITDA;300
";

async fn get(url: &str, bearer: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(url)
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

async fn send(method: reqwest::Method, url: &str, bearer: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .request(method, url)
        .bearer_auth(bearer)
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

fn kpi_alerts(published: &[sluice_messages::Envelope]) -> Vec<sluice_messages::KpiAlert> {
    published
        .iter()
        .filter_map(|e| match &e.payload {
            Payload::KpiAlert(a) => Some(a.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn an_ebitda_that_halves_raises_one_alert_per_rule_once() {
    let stack = TestStack::start().await;
    let api = stack.serve_api().await;
    let team = token("tess", "basic", true);

    stack.upload("uploads/kpis/kpis.csv", FIRST, &[]).await;
    stack.settle().await;
    let first = stack.published().await;
    assert!(kpi_alerts(&first).is_empty(), "nothing fell: {first:?}");

    stack.upload("uploads/kpis/kpis.csv", EDITED, &[]).await;
    stack.settle().await;
    let published = stack.published().await;
    let alerts = kpi_alerts(&published);
    // EBITDA's seeded rules: a drop of more than 25 % on the quarter, and more than 20 %
    // under budget. Nothing else changed, so nothing else is looked at again.
    let mut conditions: Vec<&str> = alerts.iter().map(|a| a.condition.as_str()).collect();
    conditions.sort();
    assert_eq!(conditions, ["below_budget_pct", "drop_qoq_pct"], "{alerts:?}");
    assert!(alerts
        .iter()
        .all(|a| a.company == "Acme" && a.indicator == "EBITDA" && a.value == "550"));
    let qoq = alerts.iter().find(|a| a.condition == "drop_qoq_pct").unwrap();
    assert_eq!(
        (qoq.reference.as_deref(), qoq.change_pct.as_deref()),
        (Some("1100"), Some("-50.00"))
    );
    assert_eq!(qoq.period.to_string(), "2026-06-30");
    let budget = alerts.iter().find(|a| a.condition == "below_budget_pct").unwrap();
    assert_eq!(
        (budget.reference.as_deref(), budget.change_pct.as_deref()),
        (Some("1000"), Some("-45.00"))
    );
    assert!(qoq.message.contains("fell 50.00%"), "{}", qoq.message);

    // The API lists them, newest first; the live stream's store has them, team-wide.
    let (status, listed) = get(&format!("{api}/v1/alerts?company=Acme"), &team).await;
    assert_eq!(status, 200, "{listed}");
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{listed}");
    assert!(items[0]["id"].as_i64() > items[1]["id"].as_i64());
    assert_eq!(items[0]["value"], "550");
    let stored: i64 = stack
        .query("SELECT count(*) FROM events WHERE type = 'KpiAlert' AND user_id IS NULL")
        .await[0]
        .get(0);
    assert_eq!(stored, 2);

    // The same load delivered again: no alert twice, nothing announced again.
    let loaded = published
        .iter()
        .rfind(|e| matches!(&e.payload, Payload::DatasetLoaded(_)))
        .expect("the second load's DatasetLoaded")
        .clone();
    stack
        .clients
        .sqs
        .send_message()
        .queue_url(&stack.resources.portfolio_events.url)
        .message_body(loaded.to_json())
        .send()
        .await
        .unwrap();
    stack.settle().await;
    assert!(kpi_alerts(&stack.published().await).is_empty());
    let count: i64 = stack.query("SELECT count(*) FROM kpi_alerts").await[0].get(0);
    assert_eq!(count, 2);
    // Only loads reach the tracker (the subscription's filter): nothing dead-lettered.
    assert_eq!(stack.queue_depth(&stack.resources.portfolio_events.dlq_url).await, 0);

    // Filters are checked.
    for path in [
        "/v1/alerts?severity=loud",
        "/v1/alerts?data_version=x",
        "/v1/alerts?since=2026-01-01",
    ] {
        assert_eq!(get(&format!("{api}{path}"), &team).await.0, 400, "{path}");
    }
    assert_eq!(
        get(&format!("{api}/v1/alerts"), &token("olga", "enterprise", false))
            .await
            .0,
        403
    );
}

#[tokio::test]
async fn the_team_edits_the_rules_and_bad_rules_name_the_field() {
    let stack = TestStack::start().await;
    let api = stack.serve_api().await;
    let team = token("tess", "basic", true);
    stack.upload("uploads/kpis/kpis.csv", FIRST, &[]).await;
    stack.settle().await;

    let (status, rules) = get(&format!("{api}/v1/alert-rules"), &team).await;
    assert_eq!(status, 200);
    let seeded = rules["items"].as_array().unwrap().len();
    assert!(seeded >= 4, "{rules}");

    let url = format!("{api}/v1/alert-rules");
    let post = reqwest::Method::POST;
    for (body, field) in [
        (
            json!({"indicator": "Churn", "condition": "below_value", "threshold": 1, "severity": "info"}),
            "indicator",
        ),
        (
            json!({"indicator": "EBITDA", "condition": "below_value", "threshold": "much", "severity": "info"}),
            "threshold",
        ),
        (
            json!({"indicator": "EBITDA", "condition": "sometimes", "threshold": 1, "severity": "info"}),
            "condition",
        ),
        (
            json!({"indicator": "EBITDA", "condition": "below_value", "threshold": 1}),
            "severity",
        ),
    ] {
        let (status, problem) = send(post.clone(), &url, &team, body.clone()).await;
        assert_eq!(status, 400, "{body}: {problem}");
        assert!(
            problem["detail"].as_str().unwrap().starts_with(field),
            "{body}: {problem}"
        );
    }
    let (status, _) = get(&format!("{api}/v1/alert-rules"), &team).await;
    assert_eq!(status, 200);
    assert_eq!(
        stack.query("SELECT count(*) FROM kpi_alert_rules").await[0].get::<_, i64>(0),
        seeded as i64,
        "nothing half-written"
    );

    let (status, rule) = send(
        post,
        &url,
        &team,
        json!({"indicator": "ebitda", "condition": "below_value", "threshold": "400.5", "severity": "critical"}),
    )
    .await;
    assert_eq!(status, 201, "{rule}");
    assert_eq!(
        (rule["threshold"].as_str(), rule["updated_by"].as_str()),
        (Some("400.5"), Some("tess"))
    );
    let one = format!("{url}/{}", rule["id"]);
    let (status, changed) = send(reqwest::Method::PATCH, &one, &team, json!({"enabled": false})).await;
    assert_eq!((status, changed["enabled"].as_bool()), (200, Some(false)));
    let (status, _) = send(
        reqwest::Method::PATCH,
        &one,
        &team,
        json!({"condition": "drop_qoq_pct", "threshold": -1}),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = send(
        reqwest::Method::PATCH,
        &format!("{url}/99999"),
        &team,
        json!({"enabled": true}),
    )
    .await;
    assert_eq!(status, 404);
    let response = reqwest::Client::new()
        .delete(&one)
        .bearer_auth(&team)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let response = reqwest::Client::new()
        .delete(&one)
        .bearer_auth(&team)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    let outsider = token("olga", "enterprise", false);
    let (status, _) = send(
        reqwest::Method::POST,
        &url,
        &outsider,
        json!({"indicator": "EBITDA", "condition": "below_value", "threshold": 1, "severity": "info"}),
    )
    .await;
    assert_eq!(status, 403);
}
