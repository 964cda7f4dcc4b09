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
use http::{HeaderMap, HeaderValue};
pub use sluice_core::request_windows::{admit, counted, Admission, Allowance, Window};
use std::sync::{Arc, Mutex};

/// What an [`Admission`] means to an HTTP caller.
pub trait AdmissionAnswer {
    /// The `RateLimit-*` headers (and `Retry-After` on a refusal).
    fn headers(&self) -> HeaderMap;
    /// The refusal's message, naming the limit that was reached.
    fn refusal(&self) -> Option<crate::ApiError>;
}

impl AdmissionAnswer for Admission {
    fn headers(&self) -> HeaderMap {
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

    fn refusal(&self) -> Option<crate::ApiError> {
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
