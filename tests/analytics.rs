//! Portfolio and market analytics through the API (issue 12): the deal-flow weights and
//! each deal's explained score, technical indicators over stored daily bars, watchlists
//! and portfolios per user. Real PostgreSQL (each function under its own role) and moto;
//! data loaded through the real pipeline or inserted as price-updater stores it.

use serde_json::{json, Value};
use sluice_tests::{token, TestStack, ACME_BETA_KPIS};

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
    let user = token("ana", "basic", false);

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
    let demo = token("dee", "demo", false);
    assert_eq!(
        get(&format!("{api}/v1/prices/SMALL/indicators"), &demo).await.0,
        403,
        "demo: S&P 500 only"
    );
    assert_eq!(get(&format!("{api}/v1/prices/ACME/indicators"), &demo).await.0, 200);
    assert_eq!(get(&format!("{api}/v1/prices/SMALL/indicators"), &user).await.0, 200);
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

/// A quote in the stack's quote cache (moto's DynamoDB), as price-updater puts it.
async fn cached_quote(stack: &TestStack, ticker: &str, price: f64) {
    let cache = sluice_market::QuoteCache::new(
        stack.clients.dynamodb.clone(),
        &stack.resources.quote_cache_table,
        std::time::Duration::from_secs(300),
    );
    cache
        .put(&sluice_market::Quote {
            ticker: sluice_messages::Ticker::parse(ticker).unwrap(),
            price,
            open: None,
            day_high: None,
            day_low: None,
            previous_close: None,
            change: None,
            change_percent: Some(1.25),
            volume: None,
            as_of: None,
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn portfolios_are_valued_exactly_at_the_latest_quotes_and_private_to_their_user() {
    let stack = TestStack::start().await;
    let api = stack.serve_api().await;
    let today = chrono::Utc::now().date_naive();
    let yesterday = today.checked_sub_days(chrono::Days::new(1)).unwrap();
    // ACME: the latest stored bar; SMALL: a live quote in the cache; IDLE: nothing.
    bars(
        &stack,
        "ACME",
        true,
        &[
            (today.checked_sub_days(chrono::Days::new(2)).unwrap(), 99.0),
            (yesterday, 104.5),
        ],
    )
    .await;
    bars(&stack, "SMALL", false, &[]).await;
    bars(&stack, "IDLE", false, &[]).await;
    cached_quote(&stack, "SMALL", 189.84).await;
    let ana = token("ana", "basic", false);
    let bo = token("bo", "basic", false);
    let url = format!("{api}/v1/portfolios");

    let (status, created) = send(
        reqwest::Method::POST,
        &url,
        &ana,
        json!({"name": "Main", "positions": [
            {"ticker": "acme", "quantity": "10", "cost_basis": "1000"},
            {"ticker": "SMALL", "quantity": 2.5, "cost_basis": "400.10"},
            {"ticker": "IDLE", "quantity": 1, "cost_basis": 50}
        ]}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    let (status, valued) = get(&format!("{url}/{id}"), &ana).await;
    assert_eq!(status, 200, "{valued}");
    assert_eq!(valued, created);
    let positions = valued["positions"].as_array().unwrap();
    let acme = &positions[0];
    assert_eq!(acme["ticker"], "ACME");
    assert_eq!(
        (
            acme["price"].as_str(),
            acme["market_value"].as_str(),
            acme["unrealised_pl"].as_str()
        ),
        (Some("104.5"), Some("1045.0"), Some("45.0"))
    );
    assert_eq!(acme["unrealised_pl_pct"], "4.50");
    assert_eq!(acme["quote"]["source"], "database");
    let small = &positions[1];
    // 2.5 x 189.84 = 474.600, exactly; P/L 74.500 on 400.10 = 18.62 %.
    assert_eq!(
        (
            small["price"].as_str(),
            small["market_value"].as_str(),
            small["unrealised_pl"].as_str()
        ),
        (Some("189.84"), Some("474.600"), Some("74.500"))
    );
    assert_eq!(small["unrealised_pl_pct"], "18.62");
    assert_eq!(small["average_cost"], "160.040000");
    assert_eq!(small["quote"]["source"], "cache");
    // Allocation over the priced positions' 1519.600.
    assert_eq!(
        (acme["allocation_pct"].as_str(), small["allocation_pct"].as_str()),
        (Some("68.77"), Some("31.23"))
    );
    let idle = &positions[2];
    assert_eq!(
        (idle["price"].clone(), idle["market_value"].clone()),
        (Value::Null, Value::Null)
    );
    let totals = &valued["totals"];
    assert_eq!(totals["market_value"], "1519.600");
    assert_eq!(totals["cost_basis"], "1450.10");
    assert_eq!(
        totals["unrealised_pl"], "119.500",
        "the unpriced position's cost is left out of P/L"
    );
    assert_eq!(totals["unpriced_positions"], 1);

    // Bad positions name the field; nothing is written.
    for (body, field) in [
        (
            json!({"name": "Two", "positions": [{"ticker": "ACME", "quantity": 1, "cost_basis": 1}, {"ticker": "ZZZZ", "quantity": 1, "cost_basis": 1}]}),
            "positions[1].ticker",
        ),
        (
            json!({"name": "Two", "positions": [{"ticker": "ACME", "quantity": "ten", "cost_basis": 1}]}),
            "positions[0].quantity",
        ),
        (json!({"positions": []}), "name"),
    ] {
        let (status, problem) = send(reqwest::Method::POST, &url, &ana, body.clone()).await;
        assert_eq!(status, 400, "{body}: {problem}");
        assert!(detail(&problem).starts_with(field), "{body}: {problem}");
    }
    let (status, problem) = send(
        reqwest::Method::PUT,
        &format!("{url}/{id}"),
        &ana,
        json!({"name": "Renamed", "positions": [{"ticker": "NOPE", "quantity": 1, "cost_basis": 1}]}),
    )
    .await;
    assert_eq!(status, 400, "{problem}");
    assert!(detail(&problem).starts_with("positions[0].ticker"), "{problem}");
    let (_, list) = get(&url, &ana).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(
        (
            list["items"][0]["name"].as_str(),
            list["items"][0]["positions"].as_i64()
        ),
        (Some("Main"), Some(3))
    );
    let (status, problem) = send(reqwest::Method::POST, &url, &ana, json!({"name": "Main"})).await;
    assert_eq!(status, 409, "{problem}");

    // Replaced positions are valued again.
    let (status, replaced) = send(
        reqwest::Method::PUT,
        &format!("{url}/{id}"),
        &ana,
        json!({"positions": [{"ticker": "ACME", "quantity": "0.333", "cost_basis": "30"}]}),
    )
    .await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["positions"][0]["market_value"], "34.7985");
    assert_eq!(replaced["positions"][0]["allocation_pct"], "100.00");

    // Another user sees none of it.
    assert_eq!(get(&format!("{url}/{id}"), &bo).await.0, 404);
    assert_eq!(
        send(
            reqwest::Method::PUT,
            &format!("{url}/{id}"),
            &bo,
            json!({"name": "Mine"})
        )
        .await
        .0,
        404
    );
    assert_eq!(
        send(reqwest::Method::DELETE, &format!("{url}/{id}"), &bo, json!({}))
            .await
            .0,
        404
    );
    assert_eq!(get(&url, &bo).await.1["items"], json!([]));
    assert_eq!(get(&format!("{url}/abc"), &ana).await.0, 404);
    assert_eq!(
        send(reqwest::Method::DELETE, &format!("{url}/{id}"), &ana, json!({}))
            .await
            .0,
        200
    );
    assert_eq!(get(&format!("{url}/{id}"), &ana).await.0, 404);
}

#[tokio::test]
async fn watchlists_hold_known_tickers_with_their_quotes() {
    let stack = TestStack::start().await;
    let api = stack.serve_api().await;
    let yesterday = chrono::Utc::now()
        .date_naive()
        .checked_sub_days(chrono::Days::new(1))
        .unwrap();
    bars(&stack, "ACME", true, &[(yesterday, 104.5)]).await;
    bars(&stack, "SMALL", false, &[]).await;
    cached_quote(&stack, "SMALL", 12.3).await;
    let ana = token("ana", "basic", false);
    let url = format!("{api}/v1/watchlists");

    let (status, list) = send(
        reqwest::Method::POST,
        &url,
        &ana,
        json!({"name": " Tech ", "tickers": ["small", "acme"]}),
    )
    .await;
    assert_eq!(status, 201, "{list}");
    assert_eq!(
        (list["name"].as_str(), list["tickers"].clone()),
        (Some("Tech"), json!(["SMALL", "ACME"]))
    );
    let id = list["id"].as_i64().unwrap();
    let (status, shown) = get(&format!("{url}/{id}"), &ana).await;
    assert_eq!(status, 200, "{shown}");
    let quotes = shown["quotes"].as_array().unwrap();
    assert_eq!(
        (quotes[0]["price"].as_str(), quotes[0]["source"].as_str()),
        (Some("12.3"), Some("cache"))
    );
    assert_eq!(
        (quotes[1]["price"].as_str(), quotes[1]["source"].as_str()),
        (Some("104.5"), Some("database"))
    );

    for (body, field) in [
        (json!({"name": "X", "tickers": ["ACME", "ZZZZ"]}), "tickers[1]"),
        (json!({"name": "X", "tickers": ["ACME", "acme"]}), "tickers[1]"),
        (json!({"name": "X", "tickers": ["NOT_A_TICKER"]}), "tickers[0]"),
        (json!({"name": "", "tickers": []}), "name"),
    ] {
        let (status, problem) = send(reqwest::Method::POST, &url, &ana, body.clone()).await;
        assert_eq!(status, 400, "{body}: {problem}");
        assert!(detail(&problem).starts_with(field), "{body}: {problem}");
    }
    assert_eq!(
        get(&url, &ana).await.1["items"].as_array().unwrap().len(),
        1,
        "nothing half-written"
    );
    let (status, problem) = send(
        reqwest::Method::PUT,
        &format!("{url}/{id}"),
        &ana,
        json!({"tickers": ["ACME", "QQQQ"]}),
    )
    .await;
    assert_eq!(
        (status, detail(&problem).starts_with("tickers[1]")),
        (400, true),
        "{problem}"
    );
    assert_eq!(
        get(&format!("{url}/{id}"), &ana).await.1["tickers"],
        json!(["SMALL", "ACME"])
    );
    let (status, changed) = send(
        reqwest::Method::PUT,
        &format!("{url}/{id}"),
        &ana,
        json!({"tickers": ["acme"]}),
    )
    .await;
    assert_eq!(
        (status, changed["tickers"].clone()),
        (200, json!(["ACME"])),
        "{changed}"
    );

    let bo = token("bo", "basic", false);
    assert_eq!(get(&format!("{url}/{id}"), &bo).await.0, 404);
    assert_eq!(
        send(reqwest::Method::DELETE, &format!("{url}/{id}"), &bo, json!({}))
            .await
            .0,
        404
    );
    assert_eq!(
        send(reqwest::Method::DELETE, &format!("{url}/{id}"), &ana, json!({}))
            .await
            .0,
        200
    );
    assert_eq!(get(&format!("{url}/{id}"), &ana).await.0, 404);
}

#[tokio::test]
async fn a_report_is_generated_for_a_company_with_loaded_kpis_and_stored_in_s3() {
    let stack = TestStack::start().await;
    let api = stack.serve_api().await;
    stack.upload("uploads/kpis/kpis.csv", ACME_BETA_KPIS, &[]).await;
    stack.settle().await;
    let team = token("tess", "basic", true);
    let url = format!("{api}/v1/reports");

    let (status, report) = send(reqwest::Method::POST, &url, &team, json!({"company": "Acme"})).await;
    assert_eq!(status, 201, "{report}");
    assert_eq!(report["narration"]["kind"], "extractive");
    let companies = report["companies"].as_array().unwrap();
    assert_eq!(companies.len(), 1);
    let acme = &companies[0];
    assert_eq!(
        (acme["company"].as_str(), acme["fund"].as_str()),
        (Some("Acme"), Some("Fondo I"))
    );
    assert_eq!(acme["latest_period"], "2026-06-30");
    let ebitda = acme["kpi_trends"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["indicator"] == "EBITDA")
        .unwrap();
    assert_eq!(ebitda["latest"]["value"], "550");
    assert_eq!(ebitda["qoq_pct"].as_f64(), Some(-50.0));
    assert_eq!(ebitda["history"].as_array().unwrap().len(), 3);
    let attainment = &acme["budget_attainment"][0];
    assert_eq!(
        (attainment["indicator"].as_str(), attainment["attainment_pct"].as_f64()),
        (Some("EBITDA"), Some(55.0))
    );
    // Cash fell from 15,000 to 9,000.50 in 181 days (5.95 months): 1,008.39 a month.
    let runway = &acme["cash_runway"];
    assert_eq!(
        (runway["cash"].as_str(), runway["basis"].as_str()),
        (Some("9000.5"), Some("cash_change"))
    );
    let burn = 5999.5 / (181.0 / (365.25 / 12.0));
    assert!(
        (runway["monthly_burn"].as_f64().unwrap() - burn).abs() < 0.01,
        "{runway}"
    );
    assert_eq!(
        runway["months"].as_f64(),
        Some(((9000.5 / burn) * 10.0f64).round() / 10.0)
    );
    // The tracker's alerts about June (EBITDA down on the quarter and under budget).
    let open = acme["open_alerts"].as_array().unwrap();
    assert_eq!(open.len(), 2, "{open:?}");
    assert!(open.iter().all(|a| a["indicator"] == "EBITDA"));
    let sentences = acme["narrative"]["sentences"].as_array().unwrap();
    assert!(
        sentences
            .iter()
            .any(|s| s.as_str().unwrap().contains("55 % of its budget")),
        "{sentences:?}"
    );

    // Stored in S3 and read back as generated.
    let id = report["id"].as_str().unwrap();
    let stored: Value = serde_json::from_slice(
        &stack
            .get_object(&format!("portfolio-reports/{id}.json"))
            .await
            .expect("the report in S3"),
    )
    .unwrap();
    assert_eq!(stored["companies"], report["companies"]);
    let (status, read) = get(&format!("{url}/{id}"), &team).await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(
        (read["companies"].clone(), read["id"].clone()),
        (report["companies"].clone(), report["id"].clone())
    );

    // Every company, grouped by fund.
    let (status, all) = send(reqwest::Method::POST, &url, &team, json!({})).await;
    assert_eq!(status, 201, "{all}");
    assert_eq!(all["companies"].as_array().unwrap().len(), 2);
    let funds: Vec<&str> = all["funds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fund"].as_str().unwrap())
        .collect();
    assert_eq!(funds, ["Fondo I", "Fondo II"]);

    // Refusals.
    let (status, problem) = send(reqwest::Method::POST, &url, &team, json!({"company": "Nobody"})).await;
    assert_eq!(status, 400, "{problem}");
    assert!(detail(&problem).starts_with("company"), "{problem}");
    assert_eq!(
        send(reqwest::Method::POST, &url, &team, json!({"fund": "x"})).await.0,
        400
    );
    assert_eq!(
        get(&format!("{url}/00000000-0000-4000-8000-000000000000"), &team)
            .await
            .0,
        404
    );
    assert_eq!(get(&format!("{url}/x"), &team).await.0, 404);
    let outsider = token("olga", "enterprise", false);
    assert_eq!(send(reqwest::Method::POST, &url, &outsider, json!({})).await.0, 403);
    assert_eq!(get(&format!("{url}/{id}"), &outsider).await.0, 403);
}

/// The real Crunchbase sheet: a change of weights rescores every deal with the new
/// weights in its factors, and the contributions still add up to each score.
#[tokio::test]
async fn reweighting_the_real_deal_flow_sheet_rescores_every_deal() {
    let Some(path) = sluice_tests::fixture("vc_csv/crunchbase2015__acquisitions_excerpt_3000rows.csv") else {
        return;
    };
    let stack = TestStack::start().await;
    let mapping =
        "acquired_at=date_of_first_contact; company_category_list=industry; company_country_code=headquarters";
    stack
        .upload(
            "uploads/dealflow/acquisitions.csv",
            std::fs::read(path).unwrap(),
            &[("column-map", mapping)],
        )
        .await;
    stack.settle().await;
    let api = stack.serve_api().await;
    let team = token("tess", "basic", true);
    let (status, changed) = send(
        reqwest::Method::PUT,
        &format!("{api}/v1/dealflow/weights"),
        &team,
        json!({"stage": 40, "sector_fit": {"weight": 30, "params": {"sectors": ["software", "enterprise software"]}}}),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    let row = &stack
        .query(
            "SELECT (SELECT count(*) FROM dealflow), count(*),
                    count(*) FILTER (WHERE EXISTS (SELECT 1 FROM jsonb_array_elements(factors) f
                                                   WHERE f->>'factor' = 'stage' AND (f->>'weight')::numeric = 40)),
                    count(*) FILTER (WHERE abs(score - (SELECT sum((f->>'contribution')::numeric)
                                                        FROM jsonb_array_elements(factors) f)) > 0.001)
             FROM deal_scores",
        )
        .await[0];
    let (deals, scored, reweighted, off): (i64, i64, i64, i64) = (row.get(0), row.get(1), row.get(2), row.get(3));
    assert!(deals > 1000, "{deals}");
    assert_eq!(changed["rescored"].as_i64(), Some(deals));
    assert_eq!((scored, reweighted, off), (deals, deals, 0));
    // A deal read back explains itself with the new weights.
    let (status, top) = get(&format!("{api}/v1/dealflow?sort=score&limit=1"), &team).await;
    assert_eq!(status, 200, "{top}");
    let id = top["items"][0]["id"].as_i64().unwrap();
    let (_, deal) = get(&format!("{api}/v1/dealflow/{id}"), &team).await;
    let sector = deal["factors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["factor"] == "sector_fit")
        .unwrap();
    assert_eq!(sector["weight"].as_f64(), Some(30.0));
}
