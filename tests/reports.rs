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
