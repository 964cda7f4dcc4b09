//! price-updater against PostgreSQL, moto (SQS, SNS, DynamoDB) and a fake FMP
//! server that speaks the `/stable/` wire format and measures the busiest window.

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use price_updater::bookkeeping::ItemStatus;
use price_updater::{PriceUpdater, QuoteSource, Schedule};
use serde_json::json;
use sluice_messages::{Envelope, Payload, PriceRefreshSummary, Ticker};
use sluice_tests::market::MarketStack;
use std::time::Duration;

fn t(s: &str) -> Ticker {
    Ticker::parse(s).unwrap()
}

fn summaries(events: &[Envelope]) -> Vec<PriceRefreshSummary> {
    events
        .iter()
        .filter_map(|e| match &e.payload {
            Payload::PriceRefreshSummary(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

async fn statuses(stack: &MarketStack) -> Vec<(String, String)> {
    stack
        .query("SELECT ticker, status FROM price_refresh_items ORDER BY ticker")
        .await
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

#[tokio::test]
async fn a_weekly_refresh_of_the_sp500_by_four_consumers_keeps_to_the_shared_limit() {
    // 200 requests per 4 s (about 75 s for the ~3,000 requests). The margin covers the
    // time between a grant and the request's arrival; it is wide here because a shared
    // 2-core machine can stall a request that long. How much of the budget is used is a
    // question of speed, so it is not asserted here.
    let (limit, window) = (200usize, Duration::from_secs(4));
    let stack = MarketStack::start(
        &[
            ("VENDOR_RATE_LIMIT", "200"),
            ("VENDOR_RATE_WINDOW_SECS", "4"),
            ("VENDOR_RATE_MARGIN_MS", "1000"),
            ("STATEMENT_LIMIT", "2"),
        ],
        Duration::from_secs(120),
        5,
    )
    .await;
    let csv = std::fs::read(sluice_tests::repo_root().join("data/sp500_constituents.csv")).unwrap();
    let loaded = price_updater::universe::load_constituents(&stack.pool, csv.as_slice())
        .await
        .unwrap();
    assert!(loaded.rejected.is_empty(), "{:?}", loaded.rejected);
    let tickers = (loaded.inserted + loaded.updated + loaded.unchanged) as usize;
    assert!(tickers >= 500, "{tickers}");

    let started = stack
        .updater()
        .await
        .handle_schedule(Schedule::WeeklyFundamentals)
        .await
        .unwrap();
    assert_eq!((started.total as usize, started.queued as usize), (tickers, tickers));
    stack.run_consumers(4, started.refresh_id).await;

    let stats = &stack.fake.stats;
    assert_eq!(stats.unauthorised(), 0);
    assert_eq!(stats.throttled(), 0);
    assert!(stats.total() >= tickers * 6, "{} requests", stats.total());
    let busiest = stats.max_in_window(window);
    assert!(
        busiest <= limit,
        "{busiest} requests in one {window:?} window (limit {limit})"
    );
    assert!(busiest > 0);

    let st = statuses(&stack).await;
    assert_eq!(st.len(), tickers);
    assert!(
        st.iter().all(|(_, s)| s == "updated"),
        "{:?}",
        st.iter().find(|(_, s)| s != "updated")
    );
    let fundamentals = stack.query("SELECT count(DISTINCT ticker) FROM fundamentals").await;
    assert_eq!(fundamentals[0].get::<_, i64>(0) as usize, tickers);
    let sums = summaries(&stack.published().await);
    assert_eq!(sums.len(), 1, "{sums:?}");
    assert_eq!(sums[0].updated as usize, tickers);
    assert!(sums[0].failed.is_empty() && sums[0].rejected.is_empty());
}

#[tokio::test]
async fn a_429_is_retried_after_its_retry_after() {
    let stack = MarketStack::start(&[], Duration::from_secs(30), 5).await;
    let updater = stack.updater().await;
    stack.fake.stats.throttle_next(2, Some(1));
    let from = "2024-02-22".parse().unwrap();
    let to = "2024-02-28".parse().unwrap();
    let rows = updater.vendor.daily_bars(&t("AAPL"), from, to).await.unwrap();
    assert_eq!(rows.len(), 5);
    let times = stack.fake.stats.request_times();
    assert_eq!((times.len(), stack.fake.stats.throttled()), (3, 2));
    assert!(times[1] - times[0] >= Duration::from_millis(950), "{times:?}");
    assert!(times[2] - times[1] >= Duration::from_millis(950), "{times:?}");

    // Without Retry-After: backoff, and in the end a clear failure.
    stack.fake.stats.throttle_next(50, None);
    let err = updater.vendor.daily_bars(&t("AAPL"), from, to).await.unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert!(err.to_string().contains("429"), "{err}");
    stack.fake.stats.throttle_next(0, None);
}

async fn run_refresh(stack: &MarketStack, schedule: Schedule) -> uuid::Uuid {
    let started = stack.updater().await.handle_schedule(schedule).await.unwrap();
    stack.run_consumers(2, started.refresh_id).await;
    started.refresh_id
}

#[tokio::test]
async fn bad_vendor_rows_are_rejected_with_reasons_and_the_previous_values_kept() {
    let stack = MarketStack::start(&[], Duration::from_secs(30), 5).await;
    stack.load_tickers(&["AAPL", "MSFT"]).await;
    run_refresh(&stack, Schedule::DailyQuotes).await;
    let _ = stack.published().await;
    let before = stack
        .query("SELECT date::text, close::text, updated_at FROM prices WHERE ticker = 'MSFT' ORDER BY date")
        .await;
    assert!(before.len() >= 3, "{} bars", before.len());
    let dates: Vec<String> = before.iter().map(|r| r.get(0)).collect();
    let good = |d: &str| json!({"symbol":"MSFT","date":d,"open":10.0,"high":11.0,"low":9.0,"close":10.5,"volume":1000});
    let mut null_close = good(&dates[0]);
    null_close["close"] = serde_json::Value::Null;
    let mut nan_open = good(&dates[1]);
    nan_open["open"] = json!("NaN");
    let mut negative = good(&dates[2]);
    negative["close"] = json!(-4.2);
    let mut missing = good("2024-01-02");
    missing.as_object_mut().unwrap().remove("volume");
    stack.fake.stats.set_body(
        "historical-price-eod/full",
        "MSFT",
        json!([null_close, nan_open, negative, missing]),
    );

    let refresh = run_refresh(&stack, Schedule::DailyQuotes).await;
    let after = stack
        .query("SELECT date::text, close::text, updated_at FROM prices WHERE ticker = 'MSFT' ORDER BY date")
        .await;
    let view = |rows: &[tokio_postgres::Row]| {
        rows.iter()
            .map(|r| {
                (
                    r.get::<_, String>(0),
                    r.get::<_, String>(1),
                    r.get::<_, chrono::DateTime<chrono::Utc>>(2),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(view(&after), view(&before), "refused rows must not touch stored bars");
    let item = stack
        .query(&format!(
            "SELECT status, reason, rows_rejected FROM price_refresh_items WHERE refresh_id = '{refresh}' AND ticker = 'MSFT'"
        ))
        .await;
    assert_eq!(item[0].get::<_, &str>(0), ItemStatus::Rejected.as_str());
    let reason: String = item[0].get(1);
    for expected in [
        "close is null",
        "open is NaN",
        "close is not positive (-4.2)",
        "missing field volume",
    ] {
        assert!(reason.contains(expected), "{reason}");
    }
    assert_eq!(item[0].get::<_, i32>(2), 4);
    let sums = summaries(&stack.published().await);
    assert_eq!(sums.len(), 1);
    assert_eq!(sums[0].rejected.len(), 1);
    assert_eq!(sums[0].rejected[0].ticker, t("MSFT"));
    assert!(sums[0].rejected[0].reason.contains("close is null"));
    // AAPL serves the same recorded bars again: unchanged.
    assert_eq!((sums[0].updated, sums[0].unchanged), (0, 1));
}

#[tokio::test]
async fn quotes_come_from_the_cache_first_and_from_postgres_once_it_expires() {
    // A TTL no slow machine outlives between caching and reading; expiry is shown by a
    // reader whose clock is past it.
    let stack = MarketStack::start(&[("QUOTE_CACHE_TTL_SECS", "600")], Duration::from_secs(30), 5).await;
    stack.load_tickers(&["AAPL", "MSFT"]).await;
    let updater = stack.updater().await;
    // What the HTTP API reads: the shared read model over the same cache and table.
    let reads = stack.market();
    assert_eq!(reads.quote(&t("AAPL")).await.unwrap(), None);
    let started = updater.handle_schedule(Schedule::DailyQuotes).await.unwrap();
    assert_eq!(started.quotes_cached, 2);
    stack.run_consumers(1, started.refresh_id).await;

    let requests = stack.fake.stats.total();
    let cached = reads.quote(&t("AAPL")).await.unwrap().expect("a quote");
    assert_eq!((cached.source, cached.quote.price), (QuoteSource::Cache, 232.8));
    assert_eq!(
        stack.fake.stats.total(),
        requests,
        "a quote read never calls the vendor"
    );

    let later = sluice_core::Clock::starting_at(chrono::Utc::now() + chrono::Duration::seconds(601));
    let reads = sluice_market::MarketData {
        cache: reads.cache.clone().with_clock(later),
        ..reads
    };
    let stored = reads.quote(&t("AAPL")).await.unwrap().expect("a quote");
    assert_eq!(stored.source, QuoteSource::Database);
    // The latest recorded bar (2024-02-28).
    assert_eq!(stored.quote.price, 181.42);
    assert_eq!(stored.trading_date, Some("2024-02-28".parse().unwrap()));
    let bars = reads
        .prices(&t("AAPL"), "2024-02-23".parse().unwrap(), "2024-02-27".parse().unwrap())
        .await
        .unwrap();
    let closes: Vec<f64> = bars.iter().map(|b| b.close).collect();
    assert_eq!(closes, [182.52, 181.16, 182.63]);
}

#[tokio::test]
async fn a_redelivered_job_changes_nothing() {
    let stack = MarketStack::start(&[], Duration::from_secs(30), 5).await;
    stack.load_tickers(&["AAPL"]).await;
    let updater = stack.updater().await;
    let started = updater.handle_schedule(Schedule::WeeklyFundamentals).await.unwrap();
    let jobs = stack
        .sqs
        .receive_message()
        .queue_url(&stack.jobs_url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default();
    assert_eq!(jobs.len(), 1);
    let mut record = SqsMessage::default();
    record.message_id = jobs[0].message_id.clone();
    record.body = jobs[0].body.clone();
    record.event_source_arn = Some(stack.jobs_arn.clone());
    let mut event = SqsEvent::default();
    event.records.push(record);
    let first = updater.handle_batch(event.clone()).await;
    assert!(first.batch_item_failures.is_empty());
    assert!(stack.is_complete(started.refresh_id).await);

    let snapshot = |stack: &MarketStack| {
        let pool = stack.pool.clone();
        async move {
            let c = pool.get().await.unwrap();
            let row = c
                .query_one(
                    "SELECT (SELECT count(*) FROM fundamentals), (SELECT max(updated_at) FROM fundamentals),
                            (SELECT count(*) FROM outbox), (SELECT done FROM price_refreshes)",
                    &[],
                )
                .await
                .unwrap();
            (
                row.get::<_, i64>(0),
                row.get::<_, Option<chrono::DateTime<chrono::Utc>>>(1),
                row.get::<_, i64>(2),
                row.get::<_, i32>(3),
            )
        }
    };
    let before = snapshot(&stack).await;
    let requests = stack.fake.stats.total();
    let again = stack.updater().await.handle_batch(event).await;
    assert!(again.batch_item_failures.is_empty());
    assert_eq!(snapshot(&stack).await, before);
    assert_eq!(
        stack.fake.stats.total(),
        requests,
        "a redelivery spends no vendor budget"
    );
    assert_eq!(summaries(&stack.published().await).len(), 1);
}

#[tokio::test]
async fn a_refresh_resumes_after_a_crash_and_a_failing_ticker_and_summarises_once() {
    let stack = MarketStack::start(
        &[
            ("PRICE_JOB_MAX_ATTEMPTS", "2"),
            ("VENDOR_MAX_ATTEMPTS", "2"),
            ("PROGRESS_EVERY", "5"),
        ],
        Duration::from_secs(1),
        5,
    )
    .await;
    let tickers: Vec<String> = (1..=20).map(|i| format!("TK{i:02}")).collect();
    stack
        .load_tickers(&tickers.iter().map(String::as_str).collect::<Vec<_>>())
        .await;
    stack.fake.stats.fail_symbol("TK07", 503);
    let updater: PriceUpdater = stack.updater().await;
    let started = updater.handle_schedule(Schedule::DailyQuotes).await.unwrap();
    assert_eq!(started.total, 20);

    // One instance works a while and dies without a word.
    let source = stack.consumer().await;
    let crashing = tokio::spawn(async move {
        loop {
            let _ = source.poll_once().await;
        }
    });
    while stack.done_count(started.refresh_id).await < 6 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    crashing.abort();
    let _ = crashing.await;
    assert!(!stack.is_complete(started.refresh_id).await);

    // The next tick resumes the same refresh instead of starting another.
    let again = updater.handle_schedule(Schedule::DailyQuotes).await.unwrap();
    assert_eq!(again.refresh_id, started.refresh_id);
    assert!(again.resumed);
    assert!(again.queued < 20 && again.queued > 0, "{again:?}");

    stack.run_consumers(2, started.refresh_id).await;
    let st = statuses(&stack).await;
    for (ticker, status) in &st {
        let expected = if ticker == "TK07" { "failed" } else { "updated" };
        assert_eq!(status, expected, "{ticker}");
    }
    let events = stack.published().await;
    let sums = summaries(&events);
    assert_eq!(sums.len(), 1, "{sums:?}");
    let s = &sums[0];
    assert_eq!((s.total, s.updated, s.unchanged), (20, 19, 0));
    assert_eq!(s.failed.len(), 1);
    assert_eq!(s.failed[0].ticker, t("TK07"));
    assert!(s.failed[0].reason.contains("503"), "{}", s.failed[0].reason);
    let progress = events
        .iter()
        .filter(|e| matches!(e.payload, Payload::PriceRefreshProgress(_)))
        .count();
    assert_eq!(progress, 3, "at 5, 10 and 15 of 20");
    // Every bar of every healthy ticker is there exactly once.
    let counts = stack
        .query("SELECT count(DISTINCT ticker), count(*) = count(DISTINCT (ticker, date)) FROM prices")
        .await;
    assert_eq!(counts[0].get::<_, i64>(0), 19);
    assert!(counts[0].get::<_, bool>(1));
}

#[tokio::test]
async fn the_recorded_fmp_responses_parse_and_validate() {
    let Some(dir) = sluice_tests::fixture("prices/fmp") else {
        return;
    };
    let read = |name: &str| -> Option<Vec<serde_json::Value>> {
        let text = std::fs::read_to_string(dir.join(name)).ok()?;
        Some(serde_json::from_str(&text).unwrap())
    };
    use price_updater::validate::{validate_bars, validate_quote, validate_statements};
    if let Some(rows) = read("fmp4j__stable_historical-price-eod_full__symbol-AAPL_from-2024-02-22_to-2024-02-28.json")
    {
        let (bars, rejected) = validate_bars(&t("AAPL"), &rows);
        assert_eq!((bars.len(), rejected.len()), (5, 0));
        assert_eq!(bars[4].close, 181.42);
        assert_eq!(bars[4].volume, 48_953_939);
    }
    if let Some(rows) = read("fmp4j__stable_quote__symbol-AAPL.json") {
        let q = validate_quote(&rows[0]).unwrap();
        assert_eq!((q.price, q.volume), (232.8, Some(44_489_128)));
    }
    for name in [
        "fmp4j__stable_income-statement__symbol-AAPL.json",
        "fmp4j__stable_income-statement__symbol-AAPL_period-annual_limit-3.json",
        "fmp4j__stable_income-statement__symbol-AAPL_period-quarter_limit-3.json",
    ] {
        if let Some(rows) = read(name) {
            let (good, rejected) = validate_statements(&t("AAPL"), price_updater::Statement::Income, &rows);
            assert!(rejected.is_empty(), "{name}: {rejected:?}");
            assert_eq!(good.len(), rows.len(), "{name}");
        }
    }
    if let Some(rows) = read("fmp4j__stable_income-statement__symbol-GLIBK_period-quarter_limit-1.json") {
        let (good, _) = validate_statements(&t("GLIBK"), price_updater::Statement::Income, &rows);
        assert_eq!(good[0].figures["cik"], "null");
    }
}

#[test]
fn job_messages_are_grouped_by_ticker_and_deduplicated_per_refresh() {
    let raw = std::fs::read_to_string(
        sluice_tests::repo_root().join("shared/messages/tests/golden/v1/price_job_requested.json"),
    )
    .unwrap();
    let e = Envelope::from_json(&raw).unwrap();
    assert_eq!(e.fifo_group_id(), "BRK.B");
    assert_eq!(
        e.deduplication_id(),
        "3f1c2b4a-9d8e-4f70-a1b2-c3d4e5f60718:BRK.B:weekly_fundamentals"
    );
}
