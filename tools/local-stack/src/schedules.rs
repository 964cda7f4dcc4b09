//! Plays EventBridge's schedules of template.yaml: daily quotes after the US close
//! on weekdays, weekly fundamentals on Saturday, the price history backfill on Sunday,
//! monthly credits on the first of the
//! month at 00:05 (UTC, as the rules are written).

use account_worker::AccountWorker;
use chrono::{Datelike, Timelike, Utc, Weekday};
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

pub async fn run_monthly_credits(accounts: Arc<AccountWorker>) {
    let mut last_fired = None;
    loop {
        let now = Utc::now();
        if monthly_credits_due(now) && last_fired != Some(now.date_naive()) {
            last_fired = Some(now.date_naive());
            match fire_monthly_credits(&accounts).await {
                Ok(done) => tracing::info!(?done, "monthly credits granted"),
                Err(e) => tracing::error!(error = %e, "monthly credits failed"),
            }
        }
        tokio::time::sleep(std::time::Duration::from_secs(20)).await;
    }
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
    }
}
