//! Demo prefill (seed 002): the `demo-prefill` schedule fills the demo set (S&P 500 10-K
//! and 10-Q of the last two years, counted from the stack's clock) through filing-fetcher
//! and its EDGAR client, against the fake EDGAR serving the local mirror; demo users are
//! then served from that set with no EDGAR request, and refused anything outside it.

use serde_json::{json, Value};
use sluice_core::{Answer, Function, Trigger};
use sluice_tests::filings::{FilingStack, SLXH, SLXH_10K_ACCESSION};
use sluice_tests::repo_root;

/// The schedule's input, as template.yaml's EventBridge Scheduler entry sends it.
fn prefill_event() -> Trigger {
    let text = std::fs::read_to_string(repo_root().join("events/scheduler-demo-prefill.json")).unwrap();
    Trigger::decode(serde_json::from_str(&text).unwrap()).unwrap()
}

async fn tick(s: &FilingStack) -> Value {
    let fetcher = s.stack.functions.filings.as_ref().expect("filing-fetcher");
    match fetcher.handle(prefill_event()).await.expect("prefill tick") {
        Answer::Done(done) => done,
        other => panic!("{other:?}"),
    }
}

/// Requests to EDGAR for filing documents (not the submissions lists).
fn document_requests(s: &FilingStack) -> u64 {
    s.edgar
        .stats
        .paths()
        .iter()
        .filter(|(path, _)| path.starts_with("/Archives/"))
        .map(|(_, n)| n)
        .sum()
}

/// A small universe: the mirror's company, and an S&P 500 ticker whose CIK EDGAR does not
/// know (its list cannot be read; the tick goes on and records why).
async fn small_universe(s: &FilingStack) {
    s.sql(
        "INSERT INTO tickers (ticker, name, cik, index_membership) VALUES
             ('SLXH', 'Sluice Example Holdings, Inc.', '0009999999', '{SP500}'),
             ('GONE', 'Gone Corp.', '0000000042', '{SP500}'),
             ('NOTSP', 'Not In The Index', '0009999999', '{}')",
    )
    .await;
}

#[tokio::test]
async fn the_prefill_fills_the_demo_set_once_and_a_rerun_fetches_nothing_new() {
    let s = FilingStack::start(false).await;
    small_universe(&s).await;

    let first = tick(&s).await;
    // The stack's clock is 2026-11-22: demo covers fiscal 2024 on. The mirror's company
    // has a FY2025 10-K and a Q3 2026 10-Q, both in the set.
    assert_eq!(first["from_fiscal_year"], 2024, "{first}");
    assert_eq!(first["companies"], 2, "{first}");
    assert_eq!(first["queued"], 2, "{first}");
    assert_eq!(first["already_stored"], 0, "{first}");
    let failed = first["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{first}");
    assert!(failed[0].as_str().unwrap().starts_with("GONE:"), "{first}");
    assert!(first["stopped"].is_null(), "{first}");
    // The tick only listed: the documents come through the fetcher's queue.
    assert_eq!(document_requests(&s), 0);
    s.stack.settle().await;
    assert_eq!(document_requests(&s), 2);
    let stored = s
        .stack
        .query("SELECT accession, form, fiscal_year, fiscal_quarter, ticker FROM filings ORDER BY accession")
        .await;
    let stored: Vec<String> = stored
        .iter()
        .map(|r| {
            let (accession, form, year, quarter, ticker): (String, String, Option<i32>, Option<i16>, Option<String>) =
                (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
            format!("{accession} {form} {year:?} {quarter:?} {ticker:?}")
        })
        .collect();
    assert_eq!(
        stored,
        [
            format!("{SLXH_10K_ACCESSION} 10-K Some(2025) None Some(\"{SLXH}\")"),
            format!("0009999999-26-000021 10-Q Some(2026) Some(3) Some(\"{SLXH}\")"),
        ]
    );
    assert!(s
        .stack
        .get_object(&format!("filings/0009999999/{SLXH_10K_ACCESSION}/sections.json"))
        .await
        .is_some());
    // Nobody was charged and no task was made.
    assert_eq!(s.count("SELECT count(*) FROM tasks").await, 0);
    assert_eq!(s.count("SELECT count(*) FROM usage_transactions").await, 0);

    // At once again: every company was listed within the refresh interval, so nothing is
    // asked of EDGAR at all.
    let before = s.edgar.stats.total();
    let again = tick(&s).await;
    assert_eq!(
        (again["companies"].clone(), again["queued"].clone()),
        (json!(0), json!(0)),
        "{again}"
    );
    assert_eq!(s.edgar.stats.total(), before);

    // After the refresh interval: the lists are read again, and the filings already stored
    // are not queued or fetched again.
    s.sql("UPDATE demo_prefill_companies SET listed_at = now() - interval '2 days'")
        .await;
    let refresh = tick(&s).await;
    assert_eq!(refresh["companies"], 2, "{refresh}");
    assert_eq!(refresh["queued"], 0, "{refresh}");
    assert_eq!(refresh["already_stored"], 2, "{refresh}");
    assert_eq!(
        s.stack.queue_depth(&s.stack.resources.filings.url).await,
        0,
        "nothing new queued"
    );
    s.stack.settle().await;
    assert_eq!(document_requests(&s), 2, "no document fetched twice");
    assert_eq!(s.count("SELECT count(*) FROM filings").await, 2);
    assert_eq!(
        s.count("SELECT count(*) FROM demo_prefill_companies WHERE last_error IS NOT NULL")
            .await,
        1
    );
}

#[tokio::test]
async fn a_bounded_tick_resumes_where_the_last_one_stopped() {
    let s = FilingStack::start(false).await;
    small_universe(&s).await;
    // One company per tick: the next tick takes the company not yet listed.
    let fetcher = s.stack.functions.filings.as_ref().unwrap();
    let mut bounded = (**fetcher).clone();
    bounded.config.prefill_companies_per_tick = 1;
    let one = bounded.prefill_tick().await.unwrap();
    let two = bounded.prefill_tick().await.unwrap();
    let three = bounded.prefill_tick().await.unwrap();
    assert_eq!((one.companies, two.companies, three.companies), (1, 1, 0));
    assert_eq!(one.queued + two.queued, 2);
    assert_eq!(one.failed.len() + two.failed.len(), 1);
}

#[tokio::test]
async fn demo_users_are_served_from_the_prefilled_set_with_no_edgar_request() {
    let s = FilingStack::start(false).await;
    small_universe(&s).await;
    tick(&s).await;
    s.stack.settle().await;

    let demo = s.user("dee", "demo").await;
    // Demo has no monthly credits: analyses are pay-as-you-go ($0.02) from a topped-up balance.
    s.sql("UPDATE user_accounts SET credit_balance_micros = 1000000 WHERE user_id = 'dee'")
        .await;

    // A filing of the set: accepted, fetched from the store, analysed; EDGAR sees nothing.
    let edgar_before = s.edgar.stats.total();
    let body = json!({"ticker": SLXH, "form": "10-K", "fiscal_year": 2025, "kind": "summary"});
    let (status, _, accepted) = s.post_analysis(&demo, &body).await;
    assert_eq!(status, 202, "{accepted}");
    let task_id = accepted["task"]["id"].as_str().unwrap().to_owned();
    s.stack.settle().await;
    let (_, task) = s.get(&demo, &format!("/v1/tasks/{task_id}")).await;
    assert_eq!(task["status"], "completed", "{task}");
    let (status, analysis) = s
        .get(
            &demo,
            &format!("/v1/analyses/{}", task["analysis_id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(status, 200, "{analysis}");
    assert_eq!(analysis["filing"]["accession"], SLXH_10K_ACCESSION);
    // The 10-Q of the set, by its fiscal quarter.
    let quarter = json!({"ticker": SLXH, "form": "10-Q", "fiscal_year": 2026, "fiscal_quarter": 3, "kind": "mdna"});
    let (status, _, accepted) = s.post_analysis(&demo, &quarter).await;
    assert_eq!(status, 202, "{accepted}");
    s.stack.settle().await;
    let (_, task) = s
        .get(
            &demo,
            &format!("/v1/tasks/{}", accepted["task"]["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(task["status"], "completed", "{task}");
    assert_eq!(s.edgar.stats.total(), edgar_before, "no EDGAR request for a demo user");
    let balance = s.balance("dee").await;
    assert_eq!(
        balance,
        1_000_000 - 2 * 20_000,
        "the analysis fee only (demo filing access is free)"
    );

    // Outside the set (a fiscal year the company has not filed, an 8-K): refused with
    // the reason and the tier that lifts it; nothing held, charged or queued.
    let tasks_before = s.count("SELECT count(*) FROM tasks WHERE user_id = 'dee'").await;
    for outside in [
        json!({"ticker": SLXH, "form": "10-K", "fiscal_year": 2026, "kind": "summary"}),
        json!({"ticker": SLXH, "form": "8-K", "fiscal_year": 2026, "kind": "summary"}),
    ] {
        let (status, headers, problem) = s.post_analysis(&demo, &outside).await;
        assert_eq!(status, 403, "{problem}");
        assert_eq!(headers["content-type"], "application/problem+json");
        assert_eq!(problem["type"], "urn:sluice:problem:forbidden", "{problem}");
        let detail = problem["detail"].as_str().unwrap();
        for words in [
            "pre-cached S&P 500 filings of the last two years",
            "basic tier",
            "EDGAR",
        ] {
            assert!(detail.contains(words), "{detail}");
        }
    }
    assert_eq!(
        s.count("SELECT count(*) FROM tasks WHERE user_id = 'dee'").await,
        tasks_before
    );
    assert_eq!(s.balance("dee").await, balance);
    assert_eq!(s.stack.queue_depth(&s.stack.resources.filings.url).await, 0);
    assert_eq!(s.edgar.stats.total(), edgar_before);

    // Other tiers are unchanged: a basic user's request for the same filing is accepted
    // and goes to EDGAR.
    let basic = s.user("bea", "basic").await;
    let (status, _, accepted) = s
        .post_analysis(
            &basic,
            &json!({"ticker": SLXH, "form": "10-K", "fiscal_year": 2026, "kind": "summary"}),
        )
        .await;
    assert_eq!(status, 202, "{accepted}");
    s.stack.settle().await;
    assert!(s.edgar.stats.total() > edgar_before);
}

/// A demo task whose filing left the store before the fetcher got to it (or one accepted
/// without a stored filing) fails with the demo reason: the fetcher never asks EDGAR.
#[tokio::test]
async fn the_fetcher_never_asks_edgar_for_a_demo_task() {
    let s = FilingStack::start(false).await;
    small_universe(&s).await;
    s.stored_filing_row(SLXH, "0009999999", SLXH_10K_ACCESSION, "10-K", 2025)
        .await;
    let demo = s.user("dee", "demo").await;
    s.sql("UPDATE user_accounts SET credit_balance_micros = 1000000 WHERE user_id = 'dee'")
        .await;
    let body = json!({"ticker": SLXH, "form": "10-K", "fiscal_year": 2025, "kind": "summary"});
    let (status, _, accepted) = s.post_analysis(&demo, &body).await;
    assert_eq!(status, 202, "{accepted}");
    s.sql("UPDATE tasks SET filing_id = NULL").await;
    s.stack.settle().await;
    let (_, task) = s
        .get(
            &demo,
            &format!("/v1/tasks/{}", accepted["task"]["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(task["status"], "failed", "{task}");
    assert!(
        task["failure_reason"].as_str().unwrap().contains("pre-cached S&P 500"),
        "{task}"
    );
    assert_eq!(s.edgar.stats.total(), 0);
    assert_eq!(s.balance("dee").await, 1_000_000);
}
