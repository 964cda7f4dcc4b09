//! Request limits per tier: every authenticated request of the HTTP API counts against
//! its user's hourly and daily allowance (seed 002: demo 10/50, basic 100/1,000,
//! professional 1,000/10,000; enterprise unlimited).
//!
//! The windows are fixed and UTC-aligned (the clock hour, the calendar day), counted in
//! one row per user in PostgreSQL: one upsert per request admits and counts, or refuses
//! without counting, so a refused request never eats into the day's allowance, and
//! concurrent requests of one user are counted exactly (the row is their lock). Every
//! answer says where the caller stands in `RateLimit-Limit`, `RateLimit-Remaining` and
//! `RateLimit-Reset` (the window that runs out first), a refusal also in `Retry-After`.
//!
//! API Gateway's stage throttling is the outer guard (template.yaml); this is the
//! per-user one.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use deadpool_postgres::GenericClient;
use http::{HeaderMap, HeaderValue};
use sluice_messages::TierPolicy;
use std::sync::{Arc, Mutex};

/// A user's allowance: `None` is unlimited.
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

    /// The `RateLimit-*` headers (and `Retry-After` on a refusal).
    pub fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some((w, _)) = self.binding() {
            headers.insert("ratelimit-limit", HeaderValue::from(w.limit));
            headers.insert("ratelimit-remaining", HeaderValue::from(w.remaining()));
            headers.insert("ratelimit-reset", HeaderValue::from(w.resets_in));
            if !self.admitted {
                headers.insert(http::header::RETRY_AFTER, HeaderValue::from(w.resets_in));
            }
        }
        headers
    }

    /// The refusal's message, naming the limit that was reached.
    pub fn refusal(&self) -> Option<crate::ApiError> {
        if self.admitted {
            return None;
        }
        let (w, per) = self.binding()?;
        Some(crate::ApiError::RateLimited {
            message: format!(
                "your tier allows {} requests per {per}; the allowance starts again in {} s",
                w.limit, w.resets_in
            ),
            retry_after_secs: w.resets_in,
        })
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

/// Admits and counts one request of `user_id`, or refuses it without counting.
pub async fn admit<C: GenericClient>(
    client: &C,
    user_id: &str,
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
                &user_id,
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
            let (hour, day) = counted(client, user_id, now).await?;
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
    user_id: &str,
    now: DateTime<Utc>,
) -> Result<(u32, u32), tokio_postgres::Error> {
    let (hour_start, day_start) = windows_at(now);
    let row = client
        .query_opt(
            "SELECT CASE WHEN hour_start = $2 THEN hour_count ELSE 0 END,
                    CASE WHEN day_start = $3 THEN day_count ELSE 0 END
             FROM request_windows WHERE user_id = $1",
            &[&user_id, &hour_start, &day_start],
        )
        .await?;
    let used = |n: i32| u32::try_from(n).unwrap_or(0);
    Ok(row.map_or((0, 0), |r| (used(r.get(0)), used(r.get(1)))))
}

/// Where a request's admission is left for [`with_rate_limit_headers`] to answer with
/// (the extractor that authenticates fills it).
#[derive(Clone, Default)]
pub struct AdmissionSlot(Arc<Mutex<Option<Admission>>>);

impl AdmissionSlot {
    pub fn put(&self, admission: Admission) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(admission);
        }
    }

    fn take(&self) -> Option<Admission> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}

/// A layer: gives each request an [`AdmissionSlot`] and adds its `RateLimit-*` headers
/// to the response, whatever the handler answered (a refusal included).
pub async fn with_rate_limit_headers(mut request: Request, next: Next) -> Response {
    let slot = AdmissionSlot::default();
    request.extensions_mut().insert(slot.clone());
    let mut response = next.run(request).await;
    if let Some(admission) = slot.take() {
        response.headers_mut().extend(admission.headers());
    }
    response
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

    #[test]
    fn the_answer_names_the_window_that_runs_out_first() {
        let admission = Admission {
            admitted: true,
            hour: Some(Window {
                limit: 100,
                used: 40,
                resets_in: 600,
            }),
            day: Some(Window {
                limit: 1000,
                used: 990,
                resets_in: 7200,
            }),
        };
        let headers = admission.headers();
        assert_eq!(headers["ratelimit-limit"], "1000");
        assert_eq!(headers["ratelimit-remaining"], "10");
        assert_eq!(headers["ratelimit-reset"], "7200");
        assert!(!headers.contains_key("retry-after"));
        assert!(admission.refusal().is_none());
    }

    #[test]
    fn a_refusal_waits_for_the_spent_window_the_day_when_both_are() {
        let hour = Window {
            limit: 10,
            used: 10,
            resets_in: 600,
        };
        let day = Window {
            limit: 50,
            used: 50,
            resets_in: 7200,
        };
        let both = Admission {
            admitted: false,
            hour: Some(hour),
            day: Some(day),
        };
        assert_eq!(both.headers()["retry-after"], "7200");
        let hour_only = Admission {
            admitted: false,
            hour: Some(hour),
            day: Some(Window { used: 20, ..day }),
        };
        assert_eq!(hour_only.headers()["retry-after"], "600");
        assert_eq!(hour_only.headers()["ratelimit-remaining"], "0");
        let Some(crate::ApiError::RateLimited {
            message,
            retry_after_secs,
        }) = hour_only.refusal()
        else {
            panic!("a refusal")
        };
        assert_eq!(retry_after_secs, 600);
        assert!(message.contains("10 requests per hour"), "{message}");
    }

    #[test]
    fn unlimited_tiers_get_no_headers() {
        let unlimited = Admission {
            admitted: true,
            hour: None,
            day: None,
        };
        assert!(unlimited.headers().is_empty());
    }
}
