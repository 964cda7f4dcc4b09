//! Counting per key in fixed UTC windows (the clock hour and the calendar day), one row
//! per key in `request_windows`: one upsert admits and counts, or refuses without
//! counting, so a refusal never eats into an allowance, and concurrent counts of one key
//! are exact (the row is their lock).
//!
//! The keys: an HTTP API user's id (`sluice_web::rate_limit`, per tier), and
//! `inbound-email:<address>` for the mail one sender may send (ingest-validator).

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use deadpool_postgres::GenericClient;
use sluice_messages::TierPolicy;

/// An allowance per window: `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    pub per_hour: Option<u32>,
    pub per_day: Option<u32>,
}

impl From<&TierPolicy> for Allowance {
    fn from(policy: &TierPolicy) -> Self {
        Self {
            per_hour: policy.requests_per_hour,
            per_day: policy.requests_per_day,
        }
    }
}

/// One window as the caller sees it after this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub limit: u32,
    pub used: u32,
    /// Seconds until the window starts again.
    pub resets_in: u64,
}

impl Window {
    pub fn remaining(&self) -> u32 {
        self.limit.saturating_sub(self.used)
    }
}

/// The verdict on one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    pub admitted: bool,
    pub hour: Option<Window>,
    pub day: Option<Window>,
}

impl Admission {
    /// The window that decides: the exhausted one when refused, else the one with the
    /// fewest requests left.
    pub fn binding(&self) -> Option<(Window, &'static str)> {
        let windows = [self.hour.map(|w| (w, "hour")), self.day.map(|w| (w, "day"))];
        let windows = windows.into_iter().flatten();
        if self.admitted {
            windows.min_by_key(|(w, _)| (w.remaining(), w.resets_in))
        } else {
            // The day's window when both are spent: the hour's reset would not help.
            windows
                .filter(|(w, _)| w.remaining() == 0)
                .max_by_key(|(w, _)| w.resets_in)
        }
    }
}

/// Where the current windows start and end, for `now` (UTC).
fn windows_at(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let hour = now.duration_trunc(TimeDelta::hours(1)).unwrap_or(now);
    let day = now.duration_trunc(TimeDelta::days(1)).unwrap_or(now);
    (hour, day)
}

fn seconds_until(now: DateTime<Utc>, end: DateTime<Utc>) -> u64 {
    u64::try_from((end - now).num_seconds()).unwrap_or(0).max(1)
}

/// Admits and counts one request of `key`, or refuses it without counting.
pub async fn admit<C: GenericClient>(
    client: &C,
    key: &str,
    allowance: Allowance,
    now: DateTime<Utc>,
) -> Result<Admission, tokio_postgres::Error> {
    let (hour_start, day_start) = windows_at(now);
    let used = |n: i32| u32::try_from(n).unwrap_or(0);
    let cap = |limit: Option<u32>| i32::try_from(limit.unwrap_or(u32::MAX)).unwrap_or(i32::MAX);
    // The counts restart when the stored window is not the current one; the WHERE
    // refuses (no row returned) when a current window is already full.
    let admitted = client
        .query_opt(
            "INSERT INTO request_windows AS w (user_id, hour_start, hour_count, day_start, day_count)
             VALUES ($1, $2, 1, $3, 1)
             ON CONFLICT (user_id) DO UPDATE SET
                 hour_count = CASE WHEN w.hour_start = EXCLUDED.hour_start THEN w.hour_count + 1 ELSE 1 END,
                 day_count = CASE WHEN w.day_start = EXCLUDED.day_start THEN w.day_count + 1 ELSE 1 END,
                 hour_start = EXCLUDED.hour_start,
                 day_start = EXCLUDED.day_start
             WHERE (w.hour_start <> EXCLUDED.hour_start OR w.hour_count < $4)
               AND (w.day_start <> EXCLUDED.day_start OR w.day_count < $5)
             RETURNING hour_count, day_count",
            &[
                &key,
                &hour_start,
                &day_start,
                &cap(allowance.per_hour),
                &cap(allowance.per_day),
            ],
        )
        .await?;
    let (admitted, hour_used, day_used) = match admitted {
        Some(row) => (true, used(row.get(0)), used(row.get(1))),
        None => {
            let (hour, day) = counted(client, key, now).await?;
            (false, hour, day)
        }
    };
    Ok(Admission {
        admitted,
        hour: allowance.per_hour.map(|limit| Window {
            limit,
            used: hour_used,
            resets_in: seconds_until(now, hour_start + TimeDelta::hours(1)),
        }),
        day: allowance.per_day.map(|limit| Window {
            limit,
            used: day_used,
            resets_in: seconds_until(now, day_start + TimeDelta::days(1)),
        }),
    })
}

/// Requests counted in the current hour and day (for `GET /v1/me`).
pub async fn counted<C: GenericClient>(
    client: &C,
    key: &str,
    now: DateTime<Utc>,
) -> Result<(u32, u32), tokio_postgres::Error> {
    let (hour_start, day_start) = windows_at(now);
    let row = client
        .query_opt(
            "SELECT CASE WHEN hour_start = $2 THEN hour_count ELSE 0 END,
                    CASE WHEN day_start = $3 THEN day_count ELSE 0 END
             FROM request_windows WHERE user_id = $1",
            &[&key, &hour_start, &day_start],
        )
        .await?;
    let used = |n: i32| u32::try_from(n).unwrap_or(0);
    Ok(row.map_or((0, 0), |r| (used(r.get(0)), used(r.get(1)))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn windows_are_the_utc_clock_hour_and_calendar_day() {
        let (hour, day) = windows_at(at("2026-03-31T23:59:30Z"));
        assert_eq!(hour, at("2026-03-31T23:00:00Z"));
        assert_eq!(day, at("2026-03-31T00:00:00Z"));
        assert_eq!(
            seconds_until(at("2026-03-31T23:59:30Z"), hour + TimeDelta::hours(1)),
            30
        );
    }
}
