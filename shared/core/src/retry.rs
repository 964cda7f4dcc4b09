//! One backoff for every outbound call that retries (market data, EDGAR, models):
//! exponential with full jitter, capped, and a server's `Retry-After` wins. Pure.

use std::time::Duration;

/// How many attempts and how long to wait between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub max_attempts: u32,
    /// The first wait's upper bound; each later attempt doubles it.
    pub base: Duration,
    pub max: Duration,
}

impl Backoff {
    /// Full jitter: a uniform wait in `[0, min(max, base * 2^(attempt-1))]`, where
    /// `unit` is a number in [0, 1). A `Retry-After` from the server wins (capped).
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>, unit: f64) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(self.max);
        }
        let exp = self
            .base
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1).min(16)))
            .min(self.max);
        exp.mul_f64(unit.clamp(0.0, 1.0))
    }

    /// [`Self::delay`] with a random jitter.
    pub fn jittered_delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        self.delay(attempt, retry_after, rand::random::<f64>())
    }
}

/// `Retry-After` as seconds (the form most APIs send); an HTTP date is ignored.
pub fn parse_retry_after(raw: Option<&str>) -> Option<Duration> {
    let secs: f64 = raw?.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_full_jitter_and_a_cap() {
        let p = Backoff {
            max_attempts: 5,
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        assert_eq!(p.delay(1, None, 0.999_999).as_millis(), 99);
        assert_eq!(p.delay(3, None, 0.5), Duration::from_millis(200));
        assert_eq!(p.delay(30, None, 1.0), Duration::from_secs(1));
        assert_eq!(p.delay(2, None, 0.0), Duration::ZERO);
        assert_eq!(p.delay(1, Some(Duration::from_secs(2)), 0.0), Duration::from_secs(1));
        assert_eq!(
            p.delay(1, Some(Duration::from_millis(300)), 0.9),
            Duration::from_millis(300)
        );
        assert!(p.jittered_delay(2, None) <= Duration::from_millis(200));
    }

    #[test]
    fn retry_after_in_seconds() {
        assert_eq!(parse_retry_after(Some(" 2 ")), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after(Some("0.5")), Some(Duration::from_millis(500)));
        assert_eq!(parse_retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")), None);
        assert_eq!(parse_retry_after(Some("-1")), None);
        assert_eq!(parse_retry_after(None), None);
    }
}
