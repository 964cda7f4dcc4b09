//! Price history backfill (issue 12): years of daily bars through the price jobs queue,
//! one bounded window per job under the shared DynamoDB limiter, against PostgreSQL,
//! moto and the fake FMP server. Dates are relative to the backfill's own range, so the
//! tests pass on any day.

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use chrono::{Datelike, NaiveDate, Weekday};
use price_updater::backfill::{steps_for, BackfillRequest, BackfillYears};
use price_updater::bookkeeping::ItemStatus;
use price_updater::JobOutcome;
use sluice_messages::{Envelope, Payload, PriceJobRequested, PriceRefreshKind, PriceRefreshSummary, Ticker};
use sluice_tests::market::MarketStack;
use std::time::Duration;
use uuid::Uuid;

/// Tickers the fake FMP server generates bars for (no recorded fixture): every weekday.
const TICKERS: [&str; 2] = ["MSFT", "NVDA"];

fn request(years: u32, tickers: Option<&[&str]>) -> BackfillRequest {
    BackfillRequest {
        years: BackfillYears::new(years).unwrap(),
        tickers: tickers.map(|t| t.iter().map(|s| Ticker::parse(s).unwrap()).collect()),
    }
}

fn weekdays(from: NaiveDate, to: NaiveDate) -> i64 {
    from.iter_days()
        .take_while(|d| *d <= to)
        .filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
        .count() as i64
}

fn summaries(events: &[Envelope], refresh_id: Uuid) -> Vec<PriceRefreshSummary> {
    events
        .iter()
        .filter_map(|e| match &e.payload {
            Payload::PriceRefreshSummary(s) if s.refresh_id == refresh_id => Some(s.clone()),
            _ => None,
        })
        .collect()
}

async fn one_row(
    stack: &MarketStack,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> tokio_postgres::Row {
    stack.pool.get().await.unwrap().query_one(sql, params).await.expect(sql)
}

async fn range(stack: &MarketStack, refresh_id: Uuid) -> (NaiveDate, NaiveDate) {
    let sql = "SELECT from_date, to_date FROM price_refreshes WHERE refresh_id = $1";
    let row = one_row(stack, sql, &[&refresh_id]).await;
    (row.get(0), row.get(1))
}

/// Per ticker: bars, distinct dates, first and last date.
async fn bars(stack: &MarketStack, ticker: &str) -> (i64, i64, Option<NaiveDate>, Option<NaiveDate>) {
    let sql = "SELECT count(*), count(DISTINCT date), min(date), max(date) FROM prices WHERE ticker = $1";
    let row = one_row(stack, sql, &[&ticker]).await;
    (row.get(0), row.get(1), row.get(2), row.get(3))
}

/// Every ticker holds exactly the weekdays of the range, each once; its item is done
/// with every step recorded.
async fn assert_complete(stack: &MarketStack, refresh_id: Uuid, step_days: u32) {
    let (from, to) = range(stack, refresh_id).await;
    let want = weekdays(from, to);
    assert!(want > 250, "{want} weekdays from {from} to {to}");
    for t in TICKERS {
        let (n, distinct, first, last) = bars(stack, t).await;
        assert_eq!((n, distinct), (want, want), "{t}: bars from {from} to {to}");
        assert!(first >= Some(from) && last <= Some(to), "{t}: {first:?}..{last:?}");
    }
    let items = stack
        .pool
        .get()
        .await
        .unwrap()
        .query(
            "SELECT ticker, status, steps_done, rows_changed, rows_accepted FROM price_refresh_items
             WHERE refresh_id = $1 ORDER BY ticker",
            &[&refresh_id],
        )
        .await
        .unwrap();
    assert_eq!(items.len(), TICKERS.len());
    for row in &items {
        let ticker: String = row.get(0);
        assert_eq!(row.get::<_, String>(1), ItemStatus::Updated.as_str(), "{ticker}");
        assert_eq!(row.get::<_, i32>(2) as u32, steps_for(from, to, step_days), "{ticker}");
        assert_eq!(i64::from(row.get::<_, i32>(3)), want, "{ticker}: rows changed");
        assert_eq!(i64::from(row.get::<_, i32>(4)), want, "{ticker}: rows accepted");
    }
}

#[tokio::test]
async fn a_backfill_loads_years_of_bars_in_bounded_steps_under_the_shared_limit_and_a_repeat_adds_nothing() {
    // 3 vendor requests a second for every instance together; 200 days per job.
    let (limit, window) = (3usize, Duration::from_secs(1));
    let stack = MarketStack::start(
        &[
            ("PRICE_BACKFILL_STEP_DAYS", "200"),
            ("PRICE_BACKFILL_YEARS", "2"),
            ("VENDOR_RATE_LIMIT", "3"),
            ("VENDOR_RATE_WINDOW_SECS", "1"),
            ("VENDOR_RATE_MARGIN_MS", "500"),
        ],
        Duration::from_secs(30),
        5,
    )
    .await;
    stack.load_tickers(&TICKERS).await;
    let updater = stack.updater().await;
    let started = updater.handle_backfill(request(2, None)).await.unwrap();
    assert_eq!((started.total, started.queued, started.resumed), (2, 2, false));
    assert_eq!(started.kind, PriceRefreshKind::Backfill);

    // The first steps, each delivered twice (the second as SQS redelivers one whose
    // delete was lost): asked of the vendor once, recorded once, the next step queued.
    let mut jobs = Vec::new();
    while jobs.len() < TICKERS.len() {
        jobs.extend(sluice_tests::take_messages(&stack.sqs, &stack.jobs_url).await);
    }
    let mut event = SqsEvent::default();
    for job in &jobs {
        let mut record = SqsMessage::default();
        record.message_id = job.message_id.clone();
        record.body = job.body.clone();
        record.event_source_arn = Some(stack.jobs_arn.clone());
        event.records.push(record);
    }
    for _ in 0..2 {
        assert!(updater.handle_batch(event.clone()).await.batch_item_failures.is_empty());
    }
    assert_eq!(stack.fake.stats.requests_to("historical-price-eod/full"), 2);
    let steps_done = stack
        .query("SELECT sum(steps_done)::bigint FROM price_refresh_items")
        .await[0]
        .get::<_, i64>(0);
    assert_eq!(steps_done, 2);
    stack.run_consumers(2, started.refresh_id).await;

    let (from, to) = range(&stack, started.refresh_id).await;
    assert_eq!(from, BackfillYears::new(2).unwrap().first_day(to));
    assert_complete(&stack, started.refresh_id, 200).await;
    let steps = steps_for(from, to, 200);
    assert_eq!(steps, 4, "{from}..{to}");
    // One request per step, every one under the shared limiter.
    let stats = &stack.fake.stats;
    assert_eq!(
        stats.requests_to("historical-price-eod/full"),
        u64::from(steps) * TICKERS.len() as u64
    );
    assert_eq!((stats.throttled(), stats.unauthorised()), (0, 0));
    let busiest = stats.max_in_window(window);
    assert!(busiest <= limit, "{busiest} requests in one {window:?} window");
    let events = stack.published().await;
    let sums = summaries(&events, started.refresh_id);
    assert_eq!(sums.len(), 1, "{sums:?}");
    assert_eq!(
        (sums[0].kind, sums[0].total, sums[0].updated),
        (PriceRefreshKind::Backfill, 2, 2)
    );

    // A redelivered step, first or last: nothing changes, nothing is asked again.
    let before = stack
        .query("SELECT count(*), max(updated_at)::text FROM prices")
        .await
        .iter()
        .map(|r| (r.get::<_, i64>(0), r.get::<_, Option<String>>(1)))
        .collect::<Vec<_>>();
    let requests = stats.total();
    for step in [0, steps - 1] {
        let job = PriceJobRequested {
            refresh_id: started.refresh_id,
            kind: PriceRefreshKind::Backfill,
            ticker: Ticker::parse("MSFT").unwrap(),
            step: Some(step),
        };
        assert_eq!(updater.run_job(&job, 1).await.unwrap(), JobOutcome::AlreadyDone);
    }
    // The same backfill again (schedule or request): every ticker already has it.
    let again = updater.handle_backfill(request(2, Some(&TICKERS))).await.unwrap();
    assert_eq!((again.total, again.queued), (0, 0));
    let scheduled = updater
        .handle_schedule(price_updater::Schedule::PriceBackfill)
        .await
        .unwrap();
    assert_eq!((scheduled.total, scheduled.queued), (0, 0));
    assert_eq!(stats.total(), requests, "a repeat asked the vendor again");
    let after = stack
        .query("SELECT count(*), max(updated_at)::text FROM prices")
        .await
        .iter()
        .map(|r| (r.get::<_, i64>(0), r.get::<_, Option<String>>(1)))
        .collect::<Vec<_>>();
    assert_eq!(before, after);
    assert_complete(&stack, started.refresh_id, 200).await;
    assert_eq!(summaries(&stack.published().await, started.refresh_id).len(), 0);
}

/// Polls the jobs queue with one instance until `stop` says so, then drops it mid-work.
async fn consume_until(stack: &MarketStack, refresh_id: Uuid, steps_done: i64) {
    let source = stack.consumer().await;
    let worker = tokio::spawn(async move {
        loop {
            let got = source.poll_once().await.expect("poll");
            if got.received == 0 {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });
    let sql = "SELECT coalesce(sum(steps_done), 0)::bigint FROM price_refresh_items WHERE refresh_id = $1";
    loop {
        let done: i64 = one_row(stack, sql, &[&refresh_id]).await.get(0);
        if done >= steps_done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The instance dies wherever it is: mid-request, mid-transaction, before deleting.
    worker.abort();
    let _ = worker.await;
}

/// Takes every message off the jobs queue (once the in-flight ones are visible again):
/// the queued work is lost.
async fn lose_queued_jobs(stack: &MarketStack) -> usize {
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let mut lost = 0;
    let mut empty = 0;
    while empty < 2 {
        let taken = sluice_tests::take_messages(&stack.sqs, &stack.jobs_url).await.len();
        empty = if taken == 0 { empty + 1 } else { 0 };
        lost += taken;
    }
    lost
}

#[tokio::test]
async fn a_backfill_interrupted_midway_resumes_where_it_stopped_and_completes() {
    let step_days = 30;
    let stack = MarketStack::start(
        &[
            ("PRICE_BACKFILL_STEP_DAYS", "30"),
            ("VENDOR_RATE_LIMIT", "50"),
            ("VENDOR_RATE_WINDOW_SECS", "1"),
        ],
        Duration::from_secs(2),
        100,
    )
    .await;
    stack.load_tickers(&TICKERS).await;
    let started = stack.updater().await.handle_backfill(request(1, None)).await.unwrap();
    let (from, to) = range(&stack, started.refresh_id).await;
    let steps = i64::from(steps_for(from, to, step_days));
    let all = steps * TICKERS.len() as i64;
    assert!(steps >= 12, "{steps} steps");

    // 1. The consumer is killed after a few steps: the redelivered job carries on.
    consume_until(&stack, started.refresh_id, 5).await;
    assert!(!stack.is_complete(started.refresh_id).await);
    // 2. Killed again, and the queued jobs are lost too: a later tick re-queues each
    //    ticker at the step it had reached.
    consume_until(&stack, started.refresh_id, all / 2).await;
    assert!(!stack.is_complete(started.refresh_id).await);
    let lost = lose_queued_jobs(&stack).await;
    assert!(lost >= 1, "nothing was queued when the jobs were lost");
    let resumed = stack.updater().await.handle_backfill(request(1, None)).await.unwrap();
    assert_eq!(resumed.refresh_id, started.refresh_id);
    assert!(resumed.resumed);
    assert!(resumed.queued >= 1 && resumed.queued <= 2, "{resumed:?}");
    // 3. Fresh instances finish it.
    stack.run_consumers(2, started.refresh_id).await;

    assert_complete(&stack, started.refresh_id, step_days).await;
    // Each step asked once, beside the steps in flight when an instance was killed
    // (at most one per ticker each time: a ticker's steps run one at a time).
    let requests = stack.fake.stats.requests_to("historical-price-eod/full") as i64;
    assert!(
        requests >= all && requests <= all + 2 * TICKERS.len() as i64,
        "{requests} requests for {all} steps"
    );
    let sums = summaries(&stack.published().await, started.refresh_id);
    assert_eq!(sums.len(), 1, "{sums:?}");
    assert_eq!(sums[0].updated, 2);
    assert_eq!(sluice_tests::queue_depth(&stack.sqs, &stack.jobs_dlq_url).await, 0);
}
