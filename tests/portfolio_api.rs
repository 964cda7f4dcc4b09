//! The read APIs over the team's spreadsheets, market data and the caller's own tasks
//! (issue 12): data loaded through the real pipeline (upload -> validator -> ETL) or
//! inserted directly, read back over real HTTP from the router the local runner serves.

use chrono::{Days, Utc};
use serde_json::Value;
use sluice_tests::{fixture, token, TestStack};

struct Answer {
    status: u16,
    content_type: String,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

async fn call(method: reqwest::Method, url: &str, bearer: &str, accept: Option<&str>) -> Answer {
    let mut request = reqwest::Client::new().request(method, url).bearer_auth(bearer);
    if let Some(a) = accept {
        request = request.header("accept", a);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    Answer {
        status,
        content_type,
        text: response.text().await.unwrap_or_default(),
    }
}

async fn get(url: &str, bearer: &str) -> Answer {
    call(reqwest::Method::GET, url, bearer, None).await
}

/// Every item of a list, page by page (`limit` each), following `next_cursor`.
async fn walk(api: &str, path: &str, bearer: &str, limit: usize) -> Vec<Value> {
    let mut items = Vec::new();
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut url = format!("{api}{path}{sep}limit={limit}");
    for _ in 0..1000 {
        let answer = get(&url, bearer).await;
        assert_eq!(answer.status, 200, "{url}: {}", answer.text);
        let page = answer.json();
        let got = page["items"].as_array().unwrap().clone();
        assert!(got.len() <= limit);
        items.extend(got);
        match page["next_cursor"].as_str() {
            Some(cursor) => url = format!("{api}{path}{sep}limit={limit}&cursor={cursor}"),
            None => return items,
        }
    }
    panic!("the pages never ended");
}

const KPIS: &str = "Fondo;Empresa;Fecha;Tipo;Indicador;Unidad;Valor
Fondo I;Acme;31/03/2026;Real;Ventas;EUR;1.300,50
Fondo I;Acme;31/03/2026;Presupuesto;Ventas;EUR;1.000
Fondo I;Acme;30/06/2026;Real;Ventas;EUR;900
Fondo I;Acme;30/06/2026;Presupuesto;Ventas;EUR;1.200
Fondo I;Acme;30/06/2026;Real;EBITDA;EUR;2,3456
Fondo I;Beta;31/03/2026;;Ventas;EUR;50
Fondo I;Beta;31/02/2026;Real;Ventas;EUR;1
";

async fn load_team_data(stack: &TestStack) {
    stack.upload("uploads/kpis/kpis.csv", KPIS, &[]).await;
    stack
        .upload(
            "uploads/companies/companies.csv",
            "company_name,city,funding_total\nAcme,Madrid,1375000.50\nBeta Labs,Lisboa,200\nGamma,Madrid,\n",
            &[],
        )
        .await;
    stack
        .upload(
            "uploads/dealflow/deals.csv",
            "company,status,stage,algorithm_score\nNova,open,Seed,0.8100\nOrbit,open,Series A,0.9500\nPulse,closed,Seed,\n",
            &[],
        )
        .await;
    stack.settle().await;
}

#[tokio::test]
async fn team_spreadsheets_read_back_as_pages_and_csv() {
    let stack = TestStack::start().await;
    let api = stack.serve_api().await;
    load_team_data(&stack).await;
    let team = token("tess", "basic", true);

    // KPIs: every digit as written, the scenario tipo means, pages that add up.
    let all = walk(&api, "/v1/kpis", &team, 2).await;
    assert_eq!(all.len(), 6, "{all:?}");
    let ids: Vec<i64> = all.iter().map(|k| k["id"].as_i64().unwrap()).collect();
    let mut unique = ids.clone();
    unique.dedup();
    assert_eq!(ids.len(), unique.len(), "no item twice across pages");
    let ebitda = all.iter().find(|k| k["indicator"] == "EBITDA").unwrap();
    assert_eq!(
        (ebitda["value"].as_str(), ebitda["scenario"].as_str()),
        (Some("2.3456"), Some("actual"))
    );
    let beta = all.iter().find(|k| k["company"] == "Beta").unwrap();
    assert_eq!(beta["scenario"], "actual", "a blank tipo is an actual figure");
    let answer = get(
        &format!("{api}/v1/kpis?company=Acme&indicator=Ventas&from=2026-04-01"),
        &team,
    )
    .await;
    let items = answer.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2, "{}", answer.text);
    assert!(items.iter().all(|k| k["date"] == "2026-06-30"));
    let answer = get(&format!("{api}/v1/kpis?tipo=Presupuesto"), &team).await;
    assert_eq!(answer.json()["items"].as_array().unwrap().len(), 2);

    // Budget vs actual: both values and the variance per period.
    let rows = walk(
        &api,
        "/v1/kpis/budget-vs-actual?company=Acme&indicator=Ventas",
        &team,
        1,
    )
    .await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(
        (
            rows[0]["date"].as_str(),
            rows[0]["actual"].as_str(),
            rows[0]["budget"].as_str()
        ),
        (Some("2026-03-31"), Some("1300.5"), Some("1000"))
    );
    assert_eq!(rows[0]["variance"], "300.5");
    assert_eq!(rows[0]["variance_pct"], "30.05");
    assert_eq!(rows[1]["variance"], "-300");
    assert_eq!(rows[1]["variance_pct"], "-25.00");
    assert_eq!(rows[1]["attainment_pct"], "75.00");

    // CSV: the whole list, a header and one line per item.
    let csv = call(
        reqwest::Method::GET,
        &format!("{api}/v1/kpis?limit=1"),
        &team,
        Some("text/csv"),
    )
    .await;
    assert_eq!(
        (csv.status, csv.content_type.as_str()),
        (200, "text/csv; charset=utf-8")
    );
    let mut reader = csv::Reader::from_reader(csv.text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "id");
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(records.len(), 6, "{}", csv.text);
    let value = headers.iter().position(|h| h == "value").unwrap();
    assert!(records.iter().any(|r| &r[value] == "2.3456"));

    // Companies: list, filters, one with its latest KPIs.
    let companies = walk(&api, "/v1/companies", &team, 2).await;
    assert_eq!(companies.len(), 3);
    let answer = get(&format!("{api}/v1/companies?city=madrid&name=ac"), &team).await;
    let found = answer.json()["items"].as_array().unwrap().clone();
    assert_eq!(found.len(), 1, "{}", answer.text);
    assert_eq!(found[0]["funding_total"], "1375000.5");
    let acme = get(&format!("{api}/v1/companies/{}", found[0]["id"]), &team)
        .await
        .json();
    assert_eq!(acme["name"], "Acme");
    let latest = acme["latest_kpis"].as_array().unwrap();
    let ventas = latest.iter().find(|k| k["indicator"] == "Ventas").unwrap();
    assert_eq!(
        (ventas["date"].as_str(), ventas["value"].as_str()),
        (Some("2026-06-30"), Some("900"))
    );
    assert_eq!(acme["links"]["kpis"], "/v1/kpis?company=Acme");
    assert_eq!(get(&format!("{api}/v1/companies/999999"), &team).await.status, 404);
    assert_eq!(get(&format!("{api}/v1/companies/x"), &team).await.status, 404);

    // Deal flow by score: highest first, unscored last, across pages.
    let deals = walk(&api, "/v1/dealflow?sort=score", &team, 1).await;
    let order: Vec<&str> = deals.iter().map(|d| d["company"].as_str().unwrap()).collect();
    // The scorer's stage factor alone (the sheet has no other factor): seed 1.0, series A 0.9.
    assert_eq!(order, ["Nova", "Pulse", "Orbit"]);
    assert_eq!(
        (deals[0]["score"].as_str(), deals[2]["score"].as_str()),
        (Some("0.2500"), Some("0.2250"))
    );
    let open = get(&format!("{api}/v1/dealflow?status=OPEN&stage=seed"), &team)
        .await
        .json();
    assert_eq!(open["items"].as_array().unwrap().len(), 1);

    // Bad input is a 400 naming what is wrong; never a 500.
    for path in [
        "/v1/kpis?empresa=Acme",
        "/v1/kpis?from=2026-13-01",
        "/v1/kpis?from=2026-06-01&to=2026-01-01",
        "/v1/kpis?cursor=forged",
        "/v1/kpis?limit=0",
        "/v1/kpis/budget-vs-actual?tipo=Real",
        "/v1/companies?limit=abc",
        "/v1/dealflow?sort=hype",
        "/v1/dealflow?sort=score&cursor=WyJ4IiwxXQ",
        "/v1/data-versions?status=done",
    ] {
        let answer = get(&format!("{api}{path}"), &team).await;
        assert_eq!(
            (answer.status, answer.content_type.as_str()),
            (400, "application/problem+json"),
            "{path}: {}",
            answer.text
        );
    }
    // Team data only for the team.
    let outsider = token("olga", "enterprise", false);
    for path in ["/v1/kpis", "/v1/companies", "/v1/dealflow", "/v1/kpis/budget-vs-actual"] {
        assert_eq!(get(&format!("{api}{path}"), &outsider).await.status, 403, "{path}");
    }
}

#[tokio::test]
async fn data_versions_filter_page_and_link_their_reports() {
    let stack = TestStack::start().await;
    let api = stack.serve_api().await;
    load_team_data(&stack).await;
    // The same bytes again: a duplicate of the first KPI load.
    stack.upload("uploads/kpis/kpis-again.csv", KPIS, &[]).await;
    stack.settle().await;
    let team = token("tess", "basic", true);

    let versions = walk(&api, "/v1/data-versions", &team, 1).await;
    assert_eq!(versions.len(), 4, "{versions:?}");
    let ids: Vec<i64> = versions.iter().map(|v| v["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");

    let kpis = get(
        &format!("{api}/v1/data-versions?dataset=kpis&status=partial&file_name=KPIS.c"),
        &team,
    )
    .await
    .json();
    let items = kpis["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{kpis}");
    let load = &items[0];
    // The presigned links download the load's rejects file and change report.
    let rejects_url = load["links"]["rejects"].as_str().expect("a rejects link");
    let rejects = reqwest::get(rejects_url).await.unwrap();
    assert_eq!(rejects.status().as_u16(), 200);
    let rejects = rejects.text().await.unwrap();
    assert!(rejects.starts_with("row,column,value,reason"), "{rejects}");
    assert!(rejects.contains("31/02/2026"), "{rejects}");
    let report_url = load["links"]["change_report"].as_str().expect("a report link");
    let report: Value = reqwest::get(report_url).await.unwrap().json().await.unwrap();
    assert_eq!(report["counts"]["inserted"], 6);

    let duplicate = get(&format!("{api}/v1/data-versions?status=duplicate"), &team)
        .await
        .json();
    let duplicate = &duplicate["items"][0];
    assert_eq!(duplicate["duplicate_of"], load["id"]);
    assert_eq!(
        duplicate["links"]["duplicate_of"].as_str(),
        Some(format!("/v1/data-versions/{}", load["id"]).as_str())
    );
    let one = get(&format!("{api}/v1/data-versions/{}", load["id"]), &team)
        .await
        .json();
    assert!(one["links"]["rejects"].as_str().is_some(), "{one}");

    let csv = call(
        reqwest::Method::GET,
        &format!("{api}/v1/data-versions"),
        &team,
        Some("text/csv"),
    )
    .await;
    assert_eq!(csv.status, 200);
    assert_eq!(csv.text.lines().count(), 5, "{}", csv.text);
}

#[tokio::test]
async fn a_queued_task_can_be_cancelled_and_frees_its_slot_and_credits() {
    let stack = TestStack::start().await;
    let api = stack.serve_api().await;
    let ana = token("ana", "basic", false);
    assert_eq!(get(&format!("{api}/v1/me"), &ana).await.status, 200);
    let client = stack.pool.get().await.unwrap();
    client
        .batch_execute(
            "INSERT INTO tasks (id, user_id, spec, spec_key, kind, status, quoted_micros, created_at) VALUES
               ('00000000-0000-4000-8000-000000000001', 'ana', '{}', 'AAPL:10-K:FY2025', 'mdna', 'queued', 120000, now() - interval '2 minutes'),
               ('00000000-0000-4000-8000-000000000002', 'ana', '{}', 'AAPL:10-K:FY2024', 'mdna', 'fetching', 120000, now() - interval '1 minute'),
               ('00000000-0000-4000-8000-000000000003', 'ana', '{}', 'MSFT:10-K:FY2024', 'summary', 'completed', 20000, now() - interval '3 minutes');",
        )
        .await
        .unwrap();
    let usage = |me: Value| {
        (
            me["usage"]["active_analyses"].as_i64(),
            me["usage"]["held"]["micros"].as_i64(),
        )
    };
    assert_eq!(
        usage(get(&format!("{api}/v1/me"), &ana).await.json()),
        (Some(2), Some(240_000))
    );

    let tasks = walk(&api, "/v1/tasks", &ana, 2).await;
    let order: Vec<&str> = tasks.iter().map(|t| t["status"].as_str().unwrap()).collect();
    assert_eq!(order, ["fetching", "queued", "completed"], "newest first");
    let queued = get(&format!("{api}/v1/tasks?status=queued"), &ana).await.json();
    assert_eq!(queued["items"].as_array().unwrap().len(), 1);

    let url = |n: u8| format!("{api}/v1/tasks/00000000-0000-4000-8000-00000000000{n}");
    // Someone else cannot cancel (or see) it.
    let bob = token("bob", "basic", false);
    assert_eq!(call(reqwest::Method::DELETE, &url(1), &bob, None).await.status, 404);
    let cancelled = call(reqwest::Method::DELETE, &url(1), &ana, None).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    assert_eq!(cancelled.json()["status"], "cancelled");
    assert_eq!(
        usage(get(&format!("{api}/v1/me"), &ana).await.json()),
        (Some(1), Some(120_000))
    );
    // Twice, or once its filing is being fetched: a conflict, nothing changes.
    for n in [1, 2, 3] {
        let again = call(reqwest::Method::DELETE, &url(n), &ana, None).await;
        assert_eq!(again.status, 409, "{n}: {}", again.text);
        assert_eq!(again.json()["type"], "urn:sluice:problem:conflict");
    }
    assert_eq!(
        call(reqwest::Method::DELETE, &format!("{api}/v1/tasks/nope"), &ana, None)
            .await
            .status,
        404
    );
    assert_eq!(get(&format!("{api}/v1/tasks?status=paused"), &ana).await.status, 400);
    let status: String = client
        .query_one(
            "SELECT status FROM tasks WHERE id = '00000000-0000-4000-8000-000000000002'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(status, "fetching");
}

#[tokio::test]
async fn the_caller_s_analyses_are_the_ones_they_may_read() {
    let stack = TestStack::start().await;
    let api = stack.serve_api().await;
    let ana = token("ana", "basic", false);
    let bob = token("bob", "basic", false);
    for t in [&ana, &bob] {
        assert_eq!(get(&format!("{api}/v1/me"), t).await.status, 200);
    }
    stack
        .pool
        .get()
        .await
        .unwrap()
        .batch_execute(&format!(
            "INSERT INTO filings (id, accession, cik, company_name, ticker, form, filing_date, primary_document, bucket,
                 document_key, sha256, size_bytes, sections_key, section_status) VALUES
               ('10000000-0000-4000-8000-000000000001', '0000320193-25-000001', '0000320193', 'Apple Inc.', 'AAPL',
                '10-K', '2025-11-01', 'a.htm', 'b', 'k', '{sha}', 1, 's', '{{}}'),
               ('10000000-0000-4000-8000-000000000002', '0000789019-25-000001', '0000789019', 'Microsoft', 'MSFT',
                '10-K', '2025-07-30', 'a.htm', 'b', 'k', '{sha}', 1, 's', '{{}}');
             INSERT INTO analyses (id, filing_id, kind, model, prompt_version, status, body_key, completed_at) VALUES
               ('20000000-0000-4000-8000-000000000001', '10000000-0000-4000-8000-000000000001', 'mdna', 'extractive:v1', 1, 'completed', 'x', now() - interval '1 hour'),
               ('20000000-0000-4000-8000-000000000002', '10000000-0000-4000-8000-000000000001', 'summary', 'extractive:v1', 1, 'completed', 'y', now()),
               ('20000000-0000-4000-8000-000000000003', '10000000-0000-4000-8000-000000000002', 'mdna', 'extractive:v1', 1, 'completed', 'z', now());
             INSERT INTO filing_access (user_id, filing_id, fee_micros) VALUES
               ('ana', '10000000-0000-4000-8000-000000000001', 0), ('bob', '10000000-0000-4000-8000-000000000002', 0);",
            sha = "0".repeat(64)
        ))
        .await
        .unwrap();
    let mine = walk(&api, "/v1/analyses", &ana, 1).await;
    let kinds: Vec<&str> = mine.iter().map(|a| a["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["summary", "mdna"], "newest first, only filings ana may read");
    assert!(mine.iter().all(|a| a["filing"]["ticker"] == "AAPL"));
    let only = get(&format!("{api}/v1/analyses?kind=mdna"), &ana).await.json();
    assert_eq!(only["items"].as_array().unwrap().len(), 1);
    assert_eq!(get(&format!("{api}/v1/analyses?kind=poem"), &ana).await.status, 400);
    assert_eq!(walk(&api, "/v1/analyses", &bob, 5).await.len(), 1);
}

/// Ratios of AAPL against a hand computation from the FMP fixtures (the annual income
/// statements and a daily bar), plus a balance sheet and cash flow written here.
#[tokio::test]
async fn aapl_ratios_match_a_hand_computation_from_the_fmp_fixtures() {
    let (Some(income), Some(bars)) = (
        fixture("prices/fmp/fmp4j__stable_income-statement__symbol-AAPL.json"),
        fixture("prices/fmp/fmp4j__stable_historical-price-eod_full__symbol-AAPL_from-2024-02-22_to-2024-02-28.json"),
    ) else {
        return;
    };
    let income: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(income).unwrap()).unwrap();
    let bars: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(bars).unwrap()).unwrap();
    let stack = TestStack::start().await;
    let api = stack.serve_api().await;
    let client = stack.pool.get().await.unwrap();
    client
        .batch_execute("INSERT INTO tickers (ticker, name, index_membership) VALUES ('AAPL', 'Apple Inc.', '{SP500}')")
        .await
        .unwrap();
    for row in &income {
        client
            .execute(
                "INSERT INTO fundamentals (ticker, statement, period_type, fiscal_date, figures)
                 VALUES ('AAPL', 'income', 'annual', $1::text::date, $2)",
                &[&row["date"].as_str().unwrap(), row],
            )
            .await
            .unwrap();
    }
    let latest = income
        .iter()
        .max_by_key(|r| r["date"].as_str().unwrap().to_owned())
        .unwrap();
    let fiscal_date = latest["date"].as_str().unwrap();
    let balance = serde_json::json!({"totalStockholdersEquity": 56950000000i64, "totalAssets": 364980000000i64,
        "totalCurrentAssets": 152987000000i64, "totalCurrentLiabilities": 176392000000i64,
        "totalDebt": 106629000000i64, "cashAndCashEquivalents": 29943000000i64});
    let cash_flow = serde_json::json!({"freeCashFlow": 108807000000i64});
    for (statement, figures) in [("balance", &balance), ("cash_flow", &cash_flow)] {
        client
            .execute(
                "INSERT INTO fundamentals (ticker, statement, period_type, fiscal_date, figures)
                 VALUES ('AAPL', $1, 'annual', $2::text::date, $3)",
                &[&statement, &fiscal_date, figures],
            )
            .await
            .unwrap();
    }
    let bar = bars
        .iter()
        .max_by_key(|b| b["date"].as_str().unwrap().to_owned())
        .unwrap();
    client
        .execute(
            "INSERT INTO prices (ticker, date, open, high, low, close, volume)
             VALUES ('AAPL', $1::text::date, $2::float8::numeric, $3::float8::numeric, $4::float8::numeric, $5::float8::numeric, $6)",
            &[
                &bar["date"].as_str().unwrap(),
                &bar["open"].as_f64().unwrap(),
                &bar["high"].as_f64().unwrap(),
                &bar["low"].as_f64().unwrap(),
                &bar["close"].as_f64().unwrap(),
                &bar["volume"].as_i64().unwrap(),
            ],
        )
        .await
        .unwrap();

    let answer = get(&format!("{api}/v1/ratios/aapl"), &token("erin", "enterprise", false)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let body = answer.json();
    let r = &body["ratios"];
    let f = |v: &Value, k: &str| v[k].as_f64().unwrap();
    let price = f(bar, "close");
    let round = |v: f64| (v * 10_000.0).round() / 10_000.0;
    let near = |got: &Value, want: f64| {
        let got = got.as_f64().unwrap_or(f64::NAN);
        assert!((got - round(want)).abs() < 1e-9, "{got} vs {want}");
    };
    assert_eq!(body["fiscal_date"], fiscal_date);
    assert_eq!(body["price"].as_f64(), Some(price));
    near(&r["gross_margin"], f(latest, "grossProfit") / f(latest, "revenue"));
    near(
        &r["operating_margin"],
        f(latest, "operatingIncome") / f(latest, "revenue"),
    );
    near(&r["net_margin"], f(latest, "netIncome") / f(latest, "revenue"));
    near(&r["roe"], f(latest, "netIncome") / 56950000000.0);
    near(&r["roa"], f(latest, "netIncome") / 364980000000.0);
    near(&r["current_ratio"], 152987000000.0 / 176392000000.0);
    near(&r["debt_to_equity"], 106629000000.0 / 56950000000.0);
    near(&r["pe"], price / f(latest, "epsDiluted"));
    let market_cap = price * f(latest, "weightedAverageShsOutDil");
    near(&r["fcf_yield"], 108807000000.0 / market_cap);
    near(
        &r["ev_to_ebitda"],
        (market_cap + 106629000000.0 - 29943000000.0) / f(latest, "ebitda"),
    );

    // Fundamentals page newest first, filtered, and as CSV.
    let erin = token("erin", "enterprise", false);
    let statements = walk(&api, "/v1/fundamentals/AAPL?statement=income", &erin, 2).await;
    assert_eq!(statements.len(), income.len());
    assert_eq!(statements[0]["fiscal_date"], fiscal_date);
    let all = walk(&api, "/v1/fundamentals/AAPL", &erin, 2).await;
    assert_eq!(all.len(), income.len() + 2);
    assert_eq!(
        get(&format!("{api}/v1/fundamentals/AAPL?statement=cash"), &erin)
            .await
            .status,
        400
    );
    assert_eq!(
        get(&format!("{api}/v1/fundamentals/AAPL?period=weekly"), &erin)
            .await
            .status,
        400
    );
    assert_eq!(get(&format!("{api}/v1/ratios/MSFT"), &erin).await.status, 404);
    assert_eq!(
        get(&format!("{api}/v1/ratios/AAPL?period=month"), &erin).await.status,
        400
    );
}

/// A tier reads the market data it covers: demo the S&P 500 only, each tier its years.
#[tokio::test]
async fn fundamentals_follow_the_tier_s_coverage() {
    let stack = TestStack::start().await;
    let api = stack.serve_api().await;
    let today = Utc::now().date_naive();
    let recent = today.checked_sub_days(Days::new(40)).unwrap();
    let old = today.checked_sub_days(Days::new(366 * 8)).unwrap();
    let client = stack.pool.get().await.unwrap();
    client
        .batch_execute(
            "INSERT INTO tickers (ticker, name, index_membership) VALUES
               ('AAPL', 'Apple Inc.', '{SP500}'), ('SLXH', 'Small Co', '{}')",
        )
        .await
        .unwrap();
    for (ticker, date) in [("AAPL", recent), ("AAPL", old), ("SLXH", recent)] {
        client
            .execute(
                "INSERT INTO fundamentals (ticker, statement, period_type, fiscal_date, figures)
                 VALUES ($1, 'income', 'annual', $2, '{\"revenue\": 10, \"netIncome\": 1}')",
                &[&ticker, &date],
            )
            .await
            .unwrap();
    }
    let count = |answer: Answer| answer.json()["items"].as_array().map(Vec::len);
    let demo = token("dora", "demo", false);
    assert_eq!(count(get(&format!("{api}/v1/fundamentals/AAPL"), &demo).await), Some(1));
    assert_eq!(get(&format!("{api}/v1/fundamentals/SLXH"), &demo).await.status, 403);
    assert_eq!(get(&format!("{api}/v1/ratios/SLXH"), &demo).await.status, 403);
    let pro = token("pat", "professional", false);
    assert_eq!(count(get(&format!("{api}/v1/fundamentals/AAPL"), &pro).await), Some(2));
    assert_eq!(count(get(&format!("{api}/v1/fundamentals/SLXH"), &pro).await), Some(1));
    let ratios = get(&format!("{api}/v1/ratios/AAPL"), &demo).await.json();
    assert_eq!(ratios["ratios"]["net_margin"].as_f64(), Some(0.1));
    assert_eq!(ratios["fiscal_date"], recent.to_string());
}

/// Every deal of the real Crunchbase sheet gets a score whose factors explain it.
#[tokio::test]
async fn the_real_deal_flow_sheet_is_scored_with_explanations() {
    let Some(path) = fixture("vc_csv/crunchbase2015__acquisitions_excerpt_3000rows.csv") else {
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
    let row = &stack
        .query(
            "SELECT (SELECT count(*) FROM dealflow), count(*), count(*) FILTER (WHERE score > 0),
                    bool_and(jsonb_array_length(factors) = 6)
             FROM deal_scores",
        )
        .await[0];
    let (deals, scored, positive, six): (i64, i64, i64, bool) = (row.get(0), row.get(1), row.get(2), row.get(3));
    assert!(deals > 1000, "{deals}");
    assert_eq!(scored, deals, "every deal is scored");
    assert!(positive > 0 && six);
    // The contributions add up to the score.
    let off: i64 = stack
        .query(
            "SELECT count(*) FROM deal_scores
             WHERE abs(score - (SELECT sum((f->>'contribution')::numeric) FROM jsonb_array_elements(factors) f)) > 0.001",
        )
        .await[0]
        .get(0);
    assert_eq!(off, 0);
    let api = stack.serve_api().await;
    let top = get(
        &format!("{api}/v1/dealflow?sort=score&limit=1"),
        &token("tess", "basic", true),
    )
    .await;
    assert_eq!(top.status, 200, "{}", top.text);
}
