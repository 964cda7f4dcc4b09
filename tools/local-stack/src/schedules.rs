//! Plays EventBridge's schedules of template.yaml: daily quotes after the US close
//! on weekdays, weekly fundamentals on Saturday, the price history backfill on Sunday,
//! monthly credits on the first of the month at 00:05, the monthly portfolio reports on the
//! first at 06:00 and the demo prefill every hour at :20 (UTC, as the rules are written).

use account_worker::AccountWorker;
use chrono::{Datelike, Timelike, Utc, Weekday};
use filing_fetcher::{FilingFetcher, DEMO_PREFILL};
use portfolio_analyst::PortfolioAnalyst;
use price_updater::{PriceUpdater, Schedule};
use sluice_core::{Answer, Function, FunctionError, Trigger};
use std::sync::Arc;

/// (schedule, weekdays, hour, minute) — the cron expressions of template.yaml.
pub const SCHEDULES: &[(Schedule, &[Weekday], u32, u32)] = &[
    (
        Schedule::DailyQuotes,
        &[Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri],
        21,
        30,
    ),
    (Schedule::WeeklyFundamentals, &[Weekday::Sat], 6, 0),
    (Schedule::PriceBackfill, &[Weekday::Sun], 4, 0),
];

/// The schedules due at `now` (to the minute).
pub fn due(now: chrono::DateTime<Utc>) -> Vec<Schedule> {
    SCHEDULES
        .iter()
        .filter(|(_, days, hour, minute)| {
            days.contains(&now.weekday()) && now.hour() == *hour && now.minute() == *minute
        })
        .map(|(s, ..)| *s)
        .collect()
}

/// A schedule firing, as EventBridge Scheduler invokes the function (template.yaml's input).
pub async fn fire(prices: &PriceUpdater, schedule: Schedule) -> Result<Answer, FunctionError> {
    fire_with(prices, schedule, serde_json::json!({})).await
}

/// As [`fire`], with more in `detail` (a backfill's `years` and `tickers`).
pub async fn fire_with(
    prices: &PriceUpdater,
    schedule: Schedule,
    mut detail: serde_json::Value,
) -> Result<Answer, FunctionError> {
    detail["schedule"] = schedule.name().into();
    let event = serde_json::json!({
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "detail": detail,
    });
    prices.handle(Trigger::decode(event)?).await
}

/// Is the monthly credits schedule due at `now` (to the minute)?
pub fn monthly_credits_due(now: chrono::DateTime<Utc>) -> bool {
    now.day() == 1 && now.hour() == 0 && now.minute() == 5
}

/// The monthly credits schedule firing, as EventBridge Scheduler invokes account-worker.
pub async fn fire_monthly_credits(accounts: &AccountWorker) -> Result<Answer, FunctionError> {
    let event = serde_json::json!({
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "detail": {"schedule": "monthly-credits"},
    });
    accounts.handle(Trigger::decode(event)?).await
}

/// Is the demo prefill due at `now` (every hour at :20)?
pub fn demo_prefill_due(now: chrono::DateTime<Utc>) -> bool {
    now.minute() == 20
}

/// The demo prefill schedule firing, as EventBridge Scheduler invokes filing-fetcher.
pub async fn fire_demo_prefill(filings: &FilingFetcher) -> Result<Answer, FunctionError> {
    let event = serde_json::json!({
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "detail": {"schedule": DEMO_PREFILL},
    });
    filings.handle(Trigger::decode(event)?).await
}

pub async fn run_demo_prefill(filings: Arc<FilingFetcher>) {
    let mut last_fired = None;
    loop {
        let now = Utc::now();
        let hour = (now.date_naive(), now.hour());
        if demo_prefill_due(now) && last_fired != Some(hour) {
            last_fired = Some(hour);
            match fire_demo_prefill(&filings).await {
                Ok(done) => tracing::info!(?done, "demo prefill tick"),
                Err(e) => tracing::error!(error = %e, "demo prefill failed"),
            }
        }
        tokio::time::sleep(std::time::Duration::from_secs(20)).await;
    }
}

/// Is the monthly reports schedule due at `now` (to the minute)?
pub fn monthly_reports_due(now: chrono::DateTime<Utc>) -> bool {
    now.day() == 1 && now.hour() == 6 && now.minute() == 0
}

/// The monthly reports schedule firing, as EventBridge Scheduler invokes portfolio-analyst.
pub async fn fire_monthly_reports(portfolio: &PortfolioAnalyst) -> Result<Answer, FunctionError> {
    let event = serde_json::json!({
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "detail": {"schedule": portfolio_analyst::MONTHLY_REPORTS},
    });
    portfolio.handle(Trigger::decode(event)?).await
}

/// Fires a once-a-month schedule on the minute `due` says, once that day (checked every 20 s).
async fn once_a_day<Fut>(what: &'static str, due: fn(chrono::DateTime<Utc>) -> bool, fire: impl Fn() -> Fut)
where
    Fut: std::future::Future<Output = Result<Answer, FunctionError>>,
{
    let mut last_fired = None;
    loop {
        let now = Utc::now();
        if due(now) && last_fired != Some(now.date_naive()) {
            last_fired = Some(now.date_naive());
            match fire().await {
                Ok(done) => tracing::info!(?done, schedule = what, "schedule fired"),
                Err(e) => tracing::error!(error = %e, schedule = what, "schedule failed"),
            }
        }
        tokio::time::sleep(std::time::Duration::from_secs(20)).await;
    }
}

pub async fn run_monthly_reports(portfolio: Arc<PortfolioAnalyst>) {
    once_a_day(portfolio_analyst::MONTHLY_REPORTS, monthly_reports_due, || {
        let portfolio = portfolio.clone();
        async move { fire_monthly_reports(&portfolio).await }
    })
    .await
}

pub async fn run_monthly_credits(accounts: Arc<AccountWorker>) {
    once_a_day(account_worker::MONTHLY_CREDITS, monthly_credits_due, || {
        let accounts = accounts.clone();
        async move { fire_monthly_credits(&accounts).await }
    })
    .await
}

pub async fn run(prices: Arc<PriceUpdater>) {
    let mut last_fired: Option<(chrono::NaiveDate, u32, u32)> = None;
    loop {
        let now = Utc::now();
        let minute = (now.date_naive(), now.hour(), now.minute());
        if last_fired != Some(minute) {
            for schedule in due(now) {
                last_fired = Some(minute);
                match fire(&prices, schedule).await {
                    Ok(started) => tracing::info!(schedule = schedule.name(), ?started, "schedule fired"),
                    Err(e) => tracing::error!(schedule = schedule.name(), error = %e, "schedule failed"),
                }
            }
        }
        tokio::time::sleep(std::time::Duration::from_secs(20)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn schedules_fire_on_their_days_and_minutes_only() {
        let friday_close = Utc.with_ymd_and_hms(2026, 11, 20, 21, 30, 0).unwrap();
        assert_eq!(due(friday_close), vec![Schedule::DailyQuotes]);
        let saturday = Utc.with_ymd_and_hms(2026, 11, 21, 6, 0, 10).unwrap();
        assert_eq!(due(saturday), vec![Schedule::WeeklyFundamentals]);
        let saturday_close = Utc.with_ymd_and_hms(2026, 11, 21, 21, 30, 0).unwrap();
        assert!(due(saturday_close).is_empty());
        let sunday = Utc.with_ymd_and_hms(2026, 11, 22, 4, 0, 0).unwrap();
        assert_eq!(due(sunday), vec![Schedule::PriceBackfill]);
        assert!(monthly_credits_due(
            Utc.with_ymd_and_hms(2026, 12, 1, 0, 5, 30).unwrap()
        ));
        assert!(!monthly_credits_due(
            Utc.with_ymd_and_hms(2026, 12, 2, 0, 5, 0).unwrap()
        ));
        assert!(demo_prefill_due(Utc.with_ymd_and_hms(2026, 12, 2, 7, 20, 40).unwrap()));
        assert!(!demo_prefill_due(Utc.with_ymd_and_hms(2026, 12, 2, 7, 21, 0).unwrap()));
        assert!(monthly_reports_due(
            Utc.with_ymd_and_hms(2026, 12, 1, 6, 0, 40).unwrap()
        ));
        assert!(!monthly_reports_due(
            Utc.with_ymd_and_hms(2026, 12, 1, 0, 5, 0).unwrap()
        ));
    }
}
