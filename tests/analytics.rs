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

async fn bars(stack: &TestStack, ticker: &str, sp500: bool, closes: &[(chrono::NaiveDate, f64)]) {
    let client = stack.pool.get().await.unwrap();
    let index: Vec<&str> = if sp500 { vec!["SP500"] } else { vec![] };
    client
        .execute(
            "INSERT INTO tickers (ticker, name, index_membership) VALUES ($1, $1, $2) ON CONFLICT DO NOTHING",
            &[&ticker, &index],
        )
        .await
        .unwrap();
    for (date, close) in closes {
        client
            .execute(
                "INSERT INTO prices (ticker, date, open, high, low, close, volume)
                 VALUES ($1, $2, $3::float8::numeric, $3::float8::numeric, $3::float8::numeric, $3::float8::numeric, 1000)",
                &[&ticker, date, close],
            )
            .await
            .unwrap();
    }
}

fn near(v: &Value, expected: f64) -> bool {
    v.as_f64().is_some_and(|v| (v - expected).abs() < 1e-6)
}

#[tokio::test]
async fn indicators_over_stored_bars_match_a_hand_computation() {
    let stack = TestStack::start().await;
    let api = stack.serve_api().await;
    let today = chrono::Utc::now().date_naive();
    let day = |n: u64| today.checked_sub_days(chrono::Days::new(n)).unwrap();
    // Ten days rising by one from 100, then one fall of 5: 100..109, 104.
    let mut closes: Vec<(chrono::NaiveDate, f64)> = (0..10).map(|i| (day(20 - i), 100.0 + i as f64)).collect();
    closes.push((day(10), 104.0));
    bars(&stack, "ACME", true, &closes).await;
    bars(&stack, "SMALL", false, &[(day(3), 10.0), (day(2), 11.0)]).await;
    let user = token("ana", "demo", false);

    let url = format!("{api}/v1/prices/acme/indicators?window=3&from={}", day(12));
    let (status, answer) = get(&url, &user).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (answer["ticker"].as_str(), answer["window"].as_u64()),
        (Some("ACME"), Some(3))
    );
    assert_eq!(answer["basis"], "close");
    // Days 12 and 11 (108, 109) and 10 (104); the earlier bars are the indicators' history.
    let items = answer["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{answer}");
    let last = &items[2];
    assert_eq!(last["date"], day(10).to_string());
    assert!(near(&last["close"], 104.0));
    // 104 / 109 - 1
    assert!(near(&last["return"], 104.0 / 109.0 - 1.0), "{last}");
    // (108 + 109 + 104) / 3
    assert!(near(&last["sma"], 107.0), "{last}");
    // EMA(3), alpha 0.5, seeded with (100+101+102)/3 = 101: each rise of one keeps it one
    // below the close (103 + ... -> 108 on 109), then 0.5*104 + 0.5*108 = 106.
    assert!(near(&items[1]["ema"], 108.0), "{items:?}");
    assert!(near(&last["ema"], 106.0), "{last}");
    // RSI(14) needs 15 closes: there are 11.
    assert_eq!(last["rsi"], Value::Null);
    let summary = &answer["summary"];
    // From 108 to 104.
    assert!(near(&summary["return"], 104.0 / 108.0 - 1.0), "{summary}");
    let (r1, r2): (f64, f64) = (109.0 / 108.0 - 1.0, 104.0 / 109.0 - 1.0);
    let mean = (r1 + r2) / 2.0;
    let vol = (((r1 - mean).powi(2) + (r2 - mean).powi(2)) / 1.0f64).sqrt() * 252f64.sqrt();
    assert!(near(&summary["annualised_volatility"], vol), "{summary} {vol}");
    assert_eq!(summary["trading_days"], 3);

    // Refusals: bad window, dates, unknown parameter; tier and ticker.
    for (query, status) in [
        ("window=1", 400),
        ("window=251", 400),
        ("window=ten", 400),
        ("from=2026-13-01", 400),
        (&format!("from={}&to={}", day(1), day(5)) as &str, 400),
        ("period=5", 400),
    ] {
        let (got, body) = get(&format!("{api}/v1/prices/ACME/indicators?{query}"), &user).await;
        assert_eq!(got, status, "{query}: {body}");
    }
    assert_eq!(
        get(&format!("{api}/v1/prices/SMALL/indicators"), &user).await.0,
        403,
        "demo: S&P 500 only"
    );
    assert_eq!(
        get(
            &format!("{api}/v1/prices/SMALL/indicators"),
            &token("bo", "basic", false)
        )
        .await
        .0,
        200
    );
    assert_eq!(get(&format!("{api}/v1/prices/NOPE/indicators"), &user).await.0, 404);
    let (status, body) = get(&format!("{api}/v1/prices/ACME/indicators?to={}", day(30)), &user).await;
    assert_eq!(status, 404, "no bars in the range: {body}");
}

/// The real AAPL daily bars (FMP's answer, as price-updater stores them): the indicators
/// over them match a hand computation from the same file.
#[tokio::test]
async fn indicators_of_real_aapl_bars() {
    let Some(path) = sluice_tests::fixture(
        "prices/fmp/fmp4j__stable_historical-price-eod_full__symbol-AAPL_from-2024-02-22_to-2024-02-28.json",
    ) else {
        return;
    };
    let rows: Vec<Value> = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let mut closes: Vec<(chrono::NaiveDate, f64)> = rows
        .iter()
        .map(|r| {
            (
                r["date"].as_str().unwrap().parse().unwrap(),
                r["close"].as_f64().unwrap(),
            )
        })
        .collect();
    closes.sort_by_key(|c| c.0);
    assert!(closes.len() >= 4);
    let stack = TestStack::start().await;
    let api = stack.serve_api().await;
    bars(&stack, "AAPL", true, &closes).await;
    let (first, last) = (closes[0], closes[closes.len() - 1]);
    let (status, answer) = get(
        &format!(
            "{api}/v1/prices/AAPL/indicators?window=3&from={}&to={}",
            first.0, last.0
        ),
        &token("ent", "enterprise", false),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let items = answer["items"].as_array().unwrap();
    assert_eq!(items.len(), closes.len());
    let n = closes.len();
    let sma3 = (closes[n - 1].1 + closes[n - 2].1 + closes[n - 3].1) / 3.0;
    assert!(
        near(&items[n - 1]["sma"], (sma3 * 1e6).round() / 1e6),
        "{}",
        items[n - 1]
    );
    let returns: Vec<f64> = closes.windows(2).map(|w| w[1].1 / w[0].1 - 1.0).collect();
    let mean = returns.iter().sum::<f64>() / returns.len() as f64;
    let var = returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (returns.len() - 1) as f64;
    let vol = var.sqrt() * 252f64.sqrt();
    assert!(
        near(&answer["summary"]["annualised_volatility"], (vol * 1e6).round() / 1e6),
        "{answer}"
    );
    assert!(near(
        &answer["summary"]["return"],
        ((last.1 / first.1 - 1.0) * 1e6).round() / 1e6
    ));
}
