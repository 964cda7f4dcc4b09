//! Price history backfill, without I/O: what a backfill request asks for, and the
//! bounded window each step of a ticker's backfill loads.
//!
//! A backfill is started by the `price-backfill` schedule (every tracked ticker, the
//! configured years) or by the team invoking the function with the same event and
//! `detail.years` / `detail.tickers` (see the README). Each ticker's history is loaded
//! oldest first, one window of at most `PRICE_BACKFILL_STEP_DAYS` days per job: one
//! vendor request, a bounded number of rows, then the next step is queued.

use chrono::{Datelike, Days, NaiveDate};
use serde_json::Value;
use sluice_messages::Ticker;

/// Years of history a backfill loads: 1 to [`BackfillYears::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackfillYears(u32);

impl BackfillYears {
    pub const MAX: u32 = 30;

    pub fn new(years: u32) -> Option<Self> {
        (1..=Self::MAX).contains(&years).then_some(Self(years))
    }

    pub fn get(&self) -> u32 {
        self.0
    }

    /// The first day of `years` of history ending `today` (the same day `years` years
    /// earlier; 28 February for a 29 February).
    pub fn first_day(&self, today: NaiveDate) -> NaiveDate {
        let year = today.year() - self.0 as i32;
        NaiveDate::from_ymd_opt(year, today.month(), today.day())
            .or_else(|| NaiveDate::from_ymd_opt(year, today.month(), 28))
            .unwrap_or(today)
    }
}

/// What a backfill is asked to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackfillRequest {
    pub years: BackfillYears,
    /// `None`: every tracked ticker. Otherwise these (known to Sluice, tracked or not).
    pub tickers: Option<Vec<Ticker>>,
}

/// Why a backfill request was refused (a permanent error: not retried).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackfillRequestError {
    #[error("`years` must be a whole number from 1 to {max}", max = BackfillYears::MAX)]
    Years,
    #[error("`tickers` must be a list of ticker symbols")]
    TickersNotAList,
    #[error("`tickers`: {0}")]
    Ticker(String),
    #[error("`tickers` is empty")]
    NoTickers,
}

impl BackfillRequest {
    /// From a schedule event's `detail`: `years` (default `default_years`) and `tickers`
    /// (default: every tracked ticker).
    pub fn from_detail(detail: &Value, default_years: BackfillYears) -> Result<Self, BackfillRequestError> {
        let years = match detail.get("years") {
            None | Some(Value::Null) => default_years,
            Some(v) => v
                .as_u64()
                .and_then(|y| u32::try_from(y).ok())
                .and_then(BackfillYears::new)
                .ok_or(BackfillRequestError::Years)?,
        };
        let tickers = match detail.get("tickers") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    let raw = item.as_str().ok_or(BackfillRequestError::TickersNotAList)?;
                    let ticker = Ticker::parse(raw).map_err(|e| BackfillRequestError::Ticker(e.to_string()))?;
                    if !out.contains(&ticker) {
                        out.push(ticker);
                    }
                }
                if out.is_empty() {
                    return Err(BackfillRequestError::NoTickers);
                }
                Some(out)
            }
            Some(_) => return Err(BackfillRequestError::TickersNotAList),
        };
        Ok(Self { years, tickers })
    }
}

/// One step's window: `[from, to]`, and where the next step starts (`None`: this is the
/// last step). `next_from` is where the ticker's backfill stands, `last` the backfill's
/// final day; `step_days` (at least 1) bounds the window.
pub fn step_window(next_from: NaiveDate, last: NaiveDate, step_days: u32) -> (NaiveDate, NaiveDate, Option<NaiveDate>) {
    let span = u64::from(step_days.max(1)) - 1;
    let to = next_from
        .checked_add_days(Days::new(span))
        .map_or(last, |d| d.min(last));
    let next = to.succ_opt().filter(|n| *n <= last);
    (next_from, to, next)
}

/// How many steps a ticker's backfill of `[first, last]` takes.
pub fn steps_for(first: NaiveDate, last: NaiveDate, step_days: u32) -> u32 {
    let days = (last - first).num_days() + 1;
    if days <= 0 {
        return 0;
    }
    let step = i64::from(step_days.max(1));
    u32::try_from((days + step - 1) / step).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn years(n: u32) -> BackfillYears {
        BackfillYears::new(n).unwrap()
    }

    #[test]
    fn years_are_bounded_and_count_back_calendar_years() {
        assert!(BackfillYears::new(0).is_none());
        assert!(BackfillYears::new(31).is_none());
        assert_eq!(years(2).first_day(d("2026-12-05")), d("2024-12-05"));
        assert_eq!(years(1).first_day(d("2028-02-29")), d("2027-02-28"));
    }

    #[test]
    fn requests_from_the_event_detail() {
        let default = years(5);
        assert_eq!(
            BackfillRequest::from_detail(&json!({"schedule": "price-backfill"}), default).unwrap(),
            BackfillRequest {
                years: default,
                tickers: None
            }
        );
        let asked =
            BackfillRequest::from_detail(&json!({"years": 10, "tickers": ["msft", "AAPL", "MSFT"]}), default).unwrap();
        assert_eq!(asked.years, years(10));
        let names: Vec<&str> = asked.tickers.as_deref().unwrap().iter().map(Ticker::as_str).collect();
        assert_eq!(names, ["MSFT", "AAPL"]);
        for (bad, want) in [
            (json!({"years": 0}), BackfillRequestError::Years),
            (json!({"years": "ten"}), BackfillRequestError::Years),
            (json!({"years": 2.5}), BackfillRequestError::Years),
            (json!({"tickers": "AAPL"}), BackfillRequestError::TickersNotAList),
            (json!({"tickers": [1]}), BackfillRequestError::TickersNotAList),
            (json!({"tickers": []}), BackfillRequestError::NoTickers),
        ] {
            assert_eq!(BackfillRequest::from_detail(&bad, default).unwrap_err(), want, "{bad}");
        }
        assert!(matches!(
            BackfillRequest::from_detail(&json!({"tickers": ["not a ticker!"]}), default),
            Err(BackfillRequestError::Ticker(_))
        ));
    }

    #[test]
    fn windows_cover_the_range_once_in_bounded_steps() {
        let (first, last) = (d("2024-01-01"), d("2024-12-31"));
        let mut at = first;
        let mut windows = Vec::new();
        loop {
            let (from, to, next) = step_window(at, last, 100);
            assert!((to - from).num_days() < 100);
            windows.push((from, to));
            match next {
                Some(n) => {
                    assert_eq!(n, to.succ_opt().unwrap());
                    at = n;
                }
                None => break,
            }
        }
        assert_eq!(windows.first().unwrap().0, first);
        assert_eq!(windows.last().unwrap().1, last);
        assert_eq!(windows.len() as u32, steps_for(first, last, 100));
        assert_eq!(windows.len(), 4);
        assert_eq!(step_window(last, last, 100), (last, last, None));
        assert_eq!(step_window(first, last, 0).1, first);
        assert_eq!(steps_for(last, first, 10), 0);
    }
}
