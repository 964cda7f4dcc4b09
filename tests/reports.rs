//! The monthly portfolio reports (issue 12): the `monthly-reports` schedule fired as
//! EventBridge Scheduler (and `make tick`) fires it, against real PostgreSQL (under
//! portfolio-analyst's role) and moto S3; narrated extractively by default, and by a
//! configured model through llm-analyzer's OpenAI-compatible provider against the fake
//! model server, whose narration may cite only the report's figures.

use serde_json::{json, Value};
use sluice_core::{Answer, Clock, ConfigSource};
use sluice_fakes::llm::{FakeLlmConfig, LlmRoute};
use sluice_tests::{token, TestStack, ACME_BETA_KPIS};

/// The schedule fires on the first of December: the reports are November's.
fn first_of_december() -> Clock {
    Clock::starting_at("2026-12-01T06:00:00Z".parse().expect("a time"))
}

async fn tick(stack: &TestStack) -> Value {
    match sluice_local::schedules::fire_monthly_reports(&stack.functions.portfolio)
        .await
        .expect("the monthly reports")
    {
        Answer::Done(done) => done,
        other => panic!("unexpected answer {other:?}"),
    }
}

/// (company or `(portfolio)`, period, narration, report as stored in S3), by company.
async fn stored(stack: &TestStack) -> Vec<(String, String, String, Value)> {
    let rows = stack
        .query(
            "SELECT coalesce(company, '(portfolio)'), period::text, narration, s3_key, requested_by
             FROM portfolio_reports ORDER BY company NULLS LAST",
        )
        .await;
    let mut out = Vec::new();
    for r in rows {
        assert_eq!(r.get::<_, String>(4), "schedule:monthly-reports");
        let key: String = r.get(3);
        let body = stack.get_object(&key).await.expect("the report in S3");
        out.push((
            r.get(0),
            r.get(1),
            r.get(2),
            serde_json::from_slice(&body).expect("JSON"),
        ));
    }
    out
}

#[tokio::test]
async fn each_month_every_company_and_the_portfolio_get_one_extractive_report() {
    let stack = TestStack::start_at(ConfigSource::default(), first_of_december()).await;
    stack.upload("uploads/kpis/kpis.csv", ACME_BETA_KPIS, &[]).await;
    stack.settle().await;

    let done = tick(&stack).await;
    assert_eq!(
        done,
        json!({"period": "2026-11", "generated": 3, "already": 0, "narrated_by_model": 0})
    );
    // The tick delivered again (a scheduler retry, a second `make tick`): nothing new.
    let again = tick(&stack).await;
    assert_eq!(
        again,
        json!({"period": "2026-11", "generated": 0, "already": 3, "narrated_by_model": 0})
    );

    let reports = stored(&stack).await;
    let scopes: Vec<(&str, &str, &str)> = reports
        .iter()
        .map(|(c, p, n, _)| (c.as_str(), p.as_str(), n.as_str()))
        .collect();
    assert_eq!(
        scopes,
        [
            ("Acme", "2026-11-01", "extractive"),
            ("Beta", "2026-11-01", "extractive"),
            ("(portfolio)", "2026-11-01", "extractive"),
        ]
    );
    let acme = &reports[0].3;
    assert_eq!(
        (acme["period"].as_str(), acme["scope"]["company"].as_str()),
        (Some("2026-11"), Some("Acme"))
    );
    assert_eq!(acme["narration"]["kind"], "extractive");
    assert!(
        acme["narration"].get("model_not_used").is_none(),
        "{}",
        acme["narration"]
    );
    assert!(acme["narration"]["note"].as_str().unwrap().contains("no model"));
    let sentences = acme["companies"][0]["narrative"]["sentences"].as_array().unwrap();
    assert!(
        sentences
            .iter()
            .any(|s| s.as_str().unwrap().contains("55 % of its budget")),
        "{sentences:?}"
    );
    let portfolio = &reports[2].3;
    assert_eq!(portfolio["companies"].as_array().unwrap().len(), 2);
    assert_eq!(portfolio["funds"].as_array().unwrap().len(), 2);

    // Readable through the API like any report.
    let api = stack.serve_api().await;
    let id = acme["id"].as_str().unwrap();
    let response = reqwest::Client::new()
        .get(format!("{api}/v1/reports/{id}"))
        .bearer_auth(token("tess", "basic", true))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let read: Value = response.json().await.unwrap();
    assert_eq!(read["companies"], acme["companies"]);
    assert_eq!(read["period"], "2026-11");

    // Another month is another set of reports.
    let october = stack
        .functions
        .portfolio
        .monthly_reports("2026-10-01".parse().unwrap())
        .await
        .expect("October's reports");
    assert_eq!((october.generated, october.already), (3, 0));
}

#[tokio::test]
async fn a_configured_model_narrates_from_the_figures_and_may_not_invent_numbers() {
    let llm = sluice_fakes::llm::start(FakeLlmConfig::default())
        .await
        .expect("fake model");
    let config = ConfigSource::default()
        .with("LLM_PROVIDER", "openai")
        .with("LLM_MODEL", "fake-narrator-1")
        .with("LLM_BASE_URL", llm.openai_base_url())
        .with("LLM_API_KEY", "sk-test-not-a-secret")
        .with("LLM_BACKOFF_MS", "20");
    let stack = TestStack::start_at(config, first_of_december()).await;
    stack.upload("uploads/kpis/kpis.csv", ACME_BETA_KPIS, &[]).await;
    stack.settle().await;
    llm.stats.reset();

    // Acme's narration cites only its figures (rounded or not); Beta's invents a growth
    // rate; the portfolio's is the fake's default answer (no numbers at all).
    let acme_text = "Acme's EBITDA fell 50 % on the quarter to 550 EUR on 2026-06-30, reaching 55 % \
                     of its budget of 1,000. Cash of 9,000.5 EUR remains.";
    llm.stats.answer_next(acme_text);
    llm.stats.answer_next("Beta's sales were 300 EUR, up 40 % on the year.");
    let done = tick(&stack).await;
    assert_eq!(
        done,
        json!({"period": "2026-11", "generated": 3, "already": 0, "narrated_by_model": 2})
    );
    let requests = llm.stats.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests
        .iter()
        .all(|r| r.route == LlmRoute::OpenAiChat && r.model == "fake-narrator-1"));
    // The model is given the report's figures (and told to use only them).
    assert!(
        requests[0].system.contains("ONLY the figures"),
        "{}",
        requests[0].system
    );
    for figure in ["\"Acme\"", "\"550\"", "\"9000.5\"", "55.0"] {
        assert!(
            requests[0].prompt.contains(figure),
            "{figure} in {}",
            requests[0].prompt
        );
    }
    assert!(!requests[0].prompt.contains("Beta"));

    let reports = stored(&stack).await;
    let narrations: Vec<(&str, &str)> = reports.iter().map(|(c, _, n, _)| (c.as_str(), n.as_str())).collect();
    assert_eq!(
        narrations,
        [
            ("Acme", "openai:fake-narrator-1"),
            ("Beta", "extractive"),
            ("(portfolio)", "openai:fake-narrator-1"),
        ]
    );
    let acme = &reports[0].3["narration"];
    assert_eq!(
        (acme["kind"].as_str(), acme["model"].as_str(), acme["text"].as_str()),
        (Some("model"), Some("openai:fake-narrator-1"), Some(acme_text))
    );
    let beta = &reports[1].3["narration"];
    assert_eq!(beta["kind"], "extractive");
    let why = beta["model_not_used"].as_str().unwrap();
    assert!(why.contains("not in the report") && why.contains("40"), "{why}");
    // Beta's report still has its figures' sentences.
    assert!(!reports[1].3["companies"][0]["narrative"]["sentences"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(reports[2].3["narration"]["kind"], "model");

    // Delivered again: nothing regenerated, and the model is not asked again.
    let again = tick(&stack).await;
    assert_eq!(
        (again["generated"].as_u64(), again["already"].as_u64()),
        (Some(0), Some(3))
    );
    assert_eq!(llm.stats.calls(), 3);
}

async fn get(url: &str, bearer: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(url)
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

async fn post(url: &str, bearer: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(url)
        .bearer_auth(bearer)
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

/// (kind, scope, company, period) of each listed report, in order.
fn summary(items: &Value) -> Vec<(String, String, Option<String>, Option<String>)> {
    items
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            (
                i["kind"].as_str().unwrap().to_owned(),
                i["scope"].as_str().unwrap().to_owned(),
                i["company"].as_str().map(str::to_owned),
                i["period"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_teams_reports_are_listed_newest_first_filtered_paged_and_exported() {
    let stack = TestStack::start_at(ConfigSource::default(), first_of_december()).await;
    stack.upload("uploads/kpis/kpis.csv", ACME_BETA_KPIS, &[]).await;
    stack.settle().await;
    // November's monthly reports (Acme, Beta, the portfolio), then two made on demand.
    tick(&stack).await;
    let api = stack.serve_api().await;
    let team = token("tess", "basic", true);
    let url = format!("{api}/v1/reports");
    let (status, acme) = post(&url, &team, json!({"company": "Acme"})).await;
    assert_eq!(status, 201, "{acme}");
    let (status, all) = post(&url, &team, json!({})).await;
    assert_eq!(status, 201, "{all}");

    let (status, page) = get(&url, &team).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["next_cursor"], Value::Null);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 5, "{page}");
    // Newest first: the two on demand (the whole portfolio last asked), then the monthly ones.
    assert_eq!(items[0]["id"], all["id"]);
    assert_eq!(items[1]["id"], acme["id"]);
    let got = summary(&page["items"]);
    let s = |k: &str, sc: &str, c: Option<&str>, p: Option<&str>| {
        (k.to_owned(), sc.to_owned(), c.map(str::to_owned), p.map(str::to_owned))
    };
    assert_eq!(got[0], s("on_demand", "portfolio", None, None));
    assert_eq!(got[1], s("on_demand", "company", Some("Acme"), None));
    let mut monthly = got[2..].to_vec();
    monthly.sort();
    assert_eq!(
        monthly,
        [
            s("monthly", "company", Some("Acme"), Some("2026-11")),
            s("monthly", "company", Some("Beta"), Some("2026-11")),
            s("monthly", "portfolio", None, Some("2026-11")),
        ]
    );
    assert_eq!(
        (
            items[1]["companies"].as_i64(),
            items[1]["narration"].as_str(),
            items[1]["requested_by"].as_str()
        ),
        (Some(1), Some("extractive"), Some("tess"))
    );
    assert_eq!(items[0]["companies"], 2);
    // Each links to the report itself.
    let link = items[1]["links"]["self"].as_str().unwrap();
    let (status, read) = get(&format!("{api}{link}"), &team).await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["companies"], acme["companies"]);

    // Pages of two follow the same order, each report once.
    let mut paged = Vec::new();
    let mut next = format!("{url}?limit=2");
    loop {
        let (status, page) = get(&next, &team).await;
        assert_eq!(status, 200, "{page}");
        assert!(page["items"].as_array().unwrap().len() <= 2);
        paged.extend(page["items"].as_array().unwrap().iter().map(|i| i["id"].clone()));
        match page["next_cursor"].as_str() {
            Some(cursor) => next = format!("{url}?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    let ids: Vec<Value> = items.iter().map(|i| i["id"].clone()).collect();
    assert_eq!(paged, ids);

    // Filters.
    let count = |query: &'static str| {
        let (url, team) = (url.clone(), team.clone());
        async move {
            let (status, page) = get(&format!("{url}?{query}"), &team).await;
            assert_eq!(status, 200, "{query}: {page}");
            summary(&page["items"])
        }
    };
    let kinds = |v: &[(String, String, Option<String>, Option<String>)]| {
        v.iter().map(|r| (r.0.clone(), r.2.clone())).collect::<Vec<_>>()
    };
    assert_eq!(count("kind=monthly").await.len(), 3);
    assert!(count("kind=monthly").await.iter().all(|r| r.0 == "monthly"));
    assert_eq!(
        kinds(&count("kind=on_demand").await),
        [
            ("on_demand".to_owned(), None),
            ("on_demand".to_owned(), Some("Acme".to_owned()))
        ]
    );
    assert_eq!(
        kinds(&count("company=Acme").await),
        [
            ("on_demand".to_owned(), Some("Acme".to_owned())),
            ("monthly".to_owned(), Some("Acme".to_owned()))
        ]
    );
    assert_eq!(
        kinds(&count("scope=portfolio").await),
        [("on_demand".to_owned(), None), ("monthly".to_owned(), None)]
    );
    assert_eq!(count("scope=company&kind=monthly").await.len(), 2);
    // November: its monthly reports; December: what was made on demand in it.
    assert_eq!(count("month=2026-11").await.len(), 3);
    assert!(count("month=2026-11").await.iter().all(|r| r.0 == "monthly"));
    assert_eq!(count("month=2026-12").await.len(), 2);
    assert!(count("month=2026-12").await.iter().all(|r| r.0 == "on_demand"));
    assert_eq!(count("from=2026-12-01&to=2026-12-01").await.len(), 5);
    assert_eq!(count("to=2026-11-30").await.len(), 0);
    assert_eq!(count("from=2026-12-02").await.len(), 0);
    assert_eq!(count("company=Nobody").await.len(), 0);

    // Bad filters are 400s naming what is wrong, never 500s.
    for (query, names) in [
        ("foo=1", "foo"),
        ("from=31/12/2026", "from"),
        ("to=2026-02-30", "to"),
        ("from=2026-12-02&to=2026-12-01", "from"),
        ("month=2026-13", "month"),
        ("month=2026-1", "month"),
        ("month=November", "month"),
        ("month=2026-11&from=2026-11-01", "month"),
        ("kind=weekly", "kind"),
        ("scope=fund", "scope"),
        ("company=Acme&scope=portfolio", "scope"),
        ("cursor=bm9wZQ", "cursor"),
        ("limit=0", "limit"),
    ] {
        let (status, problem) = get(&format!("{url}?{query}"), &team).await;
        assert_eq!(status, 400, "{query}: {problem}");
        assert!(
            problem["detail"].as_str().unwrap_or_default().contains(names),
            "{query}: {problem}"
        );
    }

    // CSV: every matching report, a header and a row each.
    let response = reqwest::Client::new()
        .get(format!("{url}?kind=monthly"))
        .bearer_auth(&team)
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = response.text().await.unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("id,kind,scope,company,companies,period,narration,requested_by,created_at")
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 3, "{text}");
    assert!(rows.iter().all(|r| r.contains(",monthly,") && r.contains(",2026-11,")));

    // Team data: not for other users.
    let (status, _) = get(&url, &token("bo", "basic", false)).await;
    assert_eq!(status, 403);
}

/// Acme is public (the companies sheet names its ticker); Beta's name is in the ticker
/// directory but nothing of it is stored. Filings and analyses are inserted as
/// filing-fetcher and llm-analyzer store them.
#[tokio::test]
async fn public_companies_bring_their_latest_filings_and_the_teams_analyses() {
    let stack = TestStack::start_at(ConfigSource::default(), first_of_december()).await;
    stack.upload("uploads/kpis/kpis.csv", ACME_BETA_KPIS, &[]).await;
    stack
        .upload(
            "uploads/companies/companies.csv",
            "company_name,city,Ticker\nAcme,Madrid,acme\nBeta,Lisboa,\n",
            &[],
        )
        .await;
    stack.settle().await;
    let api = stack.serve_api().await;
    let team = token("tess", "basic", true);
    let outsider = token("bo", "basic", false);
    // Both accounts exist once they have been used.
    assert_eq!(get(&format!("{api}/v1/reports"), &team).await.0, 200);
    assert_eq!(get(&format!("{api}/v1/me"), &outsider).await.0, 200);
    stack
        .pool
        .get()
        .await
        .unwrap()
        .batch_execute(
            "INSERT INTO edgar_companies (ticker, cik, title) VALUES ('ACME', '0000000042', 'ACME CORP');
             INSERT INTO tickers (ticker, name) VALUES ('BETA', 'beta');
             INSERT INTO filings (id, accession, cik, company_name, ticker, form, filing_date, report_date,
                                  fiscal_year, primary_document, bucket, document_key, sha256, size_bytes,
                                  sections_key, section_status) VALUES
               ('00000000-0000-0000-0000-0000000000f1', '0000000042-26-000001', '0000000042', 'ACME CORP', 'ACME',
                '10-K', '2026-02-20', '2025-12-31', 2025, 'acme-20251231.htm', 'b', 'k1', repeat('a', 64), 1, 's1', '{}'),
               -- Named by its CIK only: still Acme's.
               ('00000000-0000-0000-0000-0000000000f2', '0000000042-26-000002', '0000000042', 'ACME CORP', NULL,
                '10-Q', '2026-05-10', '2026-03-31', 2026, 'acme-20260331.htm', 'b', 'k2', repeat('b', 64), 1, 's2', '{}'),
               ('00000000-0000-0000-0000-0000000000f3', '0000000099-26-000001', '0000000099', 'OTHER', 'ZZZ',
                '8-K', '2026-06-01', NULL, 2026, 'zzz.htm', 'b', 'k3', repeat('c', 64), 1, 's3', '{}');
             INSERT INTO filing_access (user_id, filing_id, fee_micros) VALUES
               ('tess', '00000000-0000-0000-0000-0000000000f1', 0),
               ('bo', '00000000-0000-0000-0000-0000000000f2', 0);
             INSERT INTO analyses (id, filing_id, kind, model, prompt_version, status, body_key, completed_at) VALUES
               -- The team has access to the 10-K: listed.
               ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000f1', 'summary',
                'extractive', 1, 'completed', 'analyses/a1.json', '2026-03-01T10:00:00Z'),
               -- Only an outsider has access to the 10-Q: not listed.
               ('00000000-0000-0000-0000-0000000000a2', '00000000-0000-0000-0000-0000000000f2', 'summary',
                'extractive', 1, 'completed', 'analyses/a2.json', '2026-06-01T10:00:00Z');
             INSERT INTO analyses (id, filing_id, kind, model, prompt_version, status, lease_until) VALUES
               -- Still running: not listed.
               ('00000000-0000-0000-0000-0000000000a3', '00000000-0000-0000-0000-0000000000f1', 'mdna',
                'extractive', 1, 'running', now());",
        )
        .await
        .unwrap();

    let check = |report: &Value| {
        let company = |name: &str| {
            report["companies"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["company"] == name)
                .unwrap_or_else(|| panic!("{name} in {report}"))
                .clone()
        };
        let acme = company("Acme");
        let public = &acme["public"];
        assert_eq!(
            (public["ticker"].as_str(), public["ticker_from"].as_str()),
            (Some("ACME"), Some("companies")),
            "{public}"
        );
        let filings: Vec<(&str, &str, &str)> = public["filings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["form"].as_str().unwrap(),
                    f["period"].as_str().unwrap(),
                    f["filed"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            filings,
            [
                ("10-Q", "2026-03-31", "2026-05-10"),
                ("10-K", "2025-12-31", "2026-02-20")
            ]
        );
        assert_eq!(
            public["filings"][1]["links"]["edgar"],
            "https://www.sec.gov/Archives/edgar/data/42/000000004226000001/acme-20251231.htm"
        );
        let analyses = public["analyses"].as_array().unwrap();
        assert_eq!(analyses.len(), 1, "{public}");
        assert_eq!(analyses[0]["id"], "00000000-0000-0000-0000-0000000000a1");
        assert_eq!(analyses[0]["filing"]["form"], "10-K");
        assert_eq!(
            analyses[0]["links"]["self"],
            "/v1/analyses/00000000-0000-0000-0000-0000000000a1"
        );
        assert!(public.get("note").is_none(), "{public}");
        assert!(acme["narrative"]["sentences"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s.as_str().unwrap().contains("latest stored filing of ACME is a 10-Q")));

        let beta = company("Beta");
        let public = &beta["public"];
        assert_eq!(
            (public["ticker"].as_str(), public["ticker_from"].as_str()),
            (Some("BETA"), Some("ticker_directory"))
        );
        assert_eq!(public["filings"], json!([]));
        assert_eq!(public["analyses"], json!([]));
        let note = public["note"].as_str().unwrap();
        assert!(
            note.contains("none stored") && note.contains("no filing of BETA"),
            "{note}"
        );
    };

    // On demand (http-api's role) ...
    let (status, report) = post(&format!("{api}/v1/reports"), &team, json!({})).await;
    assert_eq!(status, 201, "{report}");
    check(&report);
    // ... and monthly (portfolio-analyst's role).
    tick(&stack).await;
    let rows = stack
        .query("SELECT s3_key FROM portfolio_reports WHERE period IS NOT NULL AND company IS NULL")
        .await;
    assert_eq!(rows.len(), 1);
    let body = stack.get_object(&rows[0].get::<_, String>(0)).await.unwrap();
    check(&serde_json::from_slice(&body).unwrap());
}
