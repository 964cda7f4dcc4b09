//! Portfolio and market analytics through the API (issue 12): the deal-flow weights and
//! each deal's explained score, technical indicators over stored daily bars, watchlists
//! and portfolios per user. Real PostgreSQL (each function under its own role) and moto;
//! data loaded through the real pipeline or inserted as price-updater stores it.

use serde_json::{json, Value};
use sluice_tests::{token, TestStack};

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

fn detail(problem: &Value) -> &str {
    problem["detail"].as_str().unwrap_or_default()
}

/// The deals' scores as stored, by company.
async fn scores(stack: &TestStack) -> Vec<(String, String)> {
    stack
        .query("SELECT d.company, s.score::text FROM dealflow d JOIN deal_scores s USING (deal_id) ORDER BY d.company")
        .await
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

#[tokio::test]
async fn the_team_reweights_the_scorer_and_every_deal_is_rescored_with_its_reasons() {
    let stack = TestStack::start().await;
    let api = stack.serve_api().await;
    stack
        .upload(
            "uploads/dealflow/deals.csv",
            "company,status,stage,industry,deal_size_usd,data_source\n\
             Nova,open,Seed,Fintech,1000000,Referral\n\
             Orbit,open,Series A,Retail,,\n",
            &[],
        )
        .await;
    stack.settle().await;
    let team = token("tess", "basic", true);

    let (status, weights) = get(&format!("{api}/v1/dealflow/weights"), &team).await;
    assert_eq!(status, 200, "{weights}");
    assert_eq!(weights["total"], "100");
    assert_eq!(weights["items"].as_array().unwrap().len(), 6);

    // Nova: stage 1 (seed), sector 1 (fintech), ticket 1, source 1 (referral): 25+25+15+10.
    // Orbit: stage 0.9 (series A) only: 22.5.
    assert_eq!(
        scores(&stack).await,
        [("Nova".into(), "0.7500".into()), ("Orbit".into(), "0.2250".into())]
    );
    let nova_id: i64 = stack.query("SELECT deal_id FROM dealflow WHERE company = 'Nova'").await[0].get(0);
    let (status, nova) = get(&format!("{api}/v1/dealflow/{nova_id}"), &team).await;
    assert_eq!(status, 200, "{nova}");
    assert_eq!(
        (nova["company"].as_str(), nova["score"].as_str()),
        (Some("Nova"), Some("0.7500"))
    );
    let factors = nova["factors"].as_array().unwrap();
    assert_eq!(factors.len(), 6);
    let stage = factors.iter().find(|f| f["factor"] == "stage").unwrap();
    assert_eq!(
        (stage["value"].as_f64(), stage["weight"].as_f64()),
        (Some(1.0), Some(25.0))
    );
    assert_eq!(stage["contribution"].as_f64(), Some(0.25));
    assert!(stage["reason"].as_str().unwrap().contains("Seed"), "{stage}");
    let sum: f64 = factors.iter().map(|f| f["contribution"].as_f64().unwrap()).sum();
    assert!((sum - 0.75).abs() < 1e-3, "{sum}");

    // Traction and team count nothing here: give stage all their weight (and move the
    // fund's sectors to retail). Every deal is scored again in the same request.
    let (status, changed) = send(
        reqwest::Method::PUT,
        &format!("{api}/v1/dealflow/weights"),
        &team,
        json!({"stage": 50, "traction": "0", "team": 0, "sector_fit": {"params": {"sectors": ["retail"]}}}),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["rescored"], 2);
    assert_eq!(changed["total"], "100");
    let stage_weight = changed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["factor"] == "stage")
        .unwrap();
    assert_eq!(
        (stage_weight["weight"].as_str(), stage_weight["updated_by"].as_str()),
        (Some("50"), Some("tess"))
    );
    // Nova: 50 + 0 (fintech is no longer a sector) + 15 + 10 = 75. Orbit: 45 + 25 = 70.
    assert_eq!(
        scores(&stack).await,
        [("Nova".into(), "0.7500".into()), ("Orbit".into(), "0.7000".into())]
    );
    let (_, nova) = get(&format!("{api}/v1/dealflow/{nova_id}"), &team).await;
    let sector = nova["factors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["factor"] == "sector_fit")
        .unwrap();
    assert_eq!(sector["value"].as_f64(), Some(0.0));
    assert!(sector["reason"].as_str().unwrap().contains("outside"), "{sector}");

    // Bad changes name the field, and nothing of them is written.
    for (body, field) in [
        (json!({"stage": "lots"}), "stage"),
        (json!({"stage": 10, "luck": 10}), "luck"),
        (
            json!({"ticket_size": {"weight": 10, "params": {"min_usd": "1M"}}}),
            "ticket_size.params.min_usd",
        ),
        (
            json!({"stage": 0, "sector_fit": 0, "ticket_size": 0, "source": 0}),
            "body",
        ),
    ] {
        let (status, problem) = send(
            reqwest::Method::PUT,
            &format!("{api}/v1/dealflow/weights"),
            &team,
            body.clone(),
        )
        .await;
        assert_eq!(status, 400, "{body}: {problem}");
        assert!(detail(&problem).starts_with(field), "{body}: {problem}");
    }
    let (_, after) = get(&format!("{api}/v1/dealflow/weights"), &team).await;
    assert_eq!(after["items"], changed["items"], "a refused change writes nothing");
    assert_eq!(scores(&stack).await[1].1, "0.7000");

    // Outside the team, and deals that are not there.
    let outsider = token("olga", "enterprise", false);
    let (status, _) = send(
        reqwest::Method::PUT,
        &format!("{api}/v1/dealflow/weights"),
        &outsider,
        json!({"stage": 1}),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(get(&format!("{api}/v1/dealflow/{nova_id}"), &outsider).await.0, 403);
    assert_eq!(get(&format!("{api}/v1/dealflow/999999"), &team).await.0, 404);
    assert_eq!(get(&format!("{api}/v1/dealflow/nova"), &team).await.0, 404);
}
