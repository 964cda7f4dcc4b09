//! The SEC allows 10 requests per second per sender and blocks senders that go
//! over. Every request start (retries included) takes a slot from one
//! [`RequestLimiter`] shared by all clones of a client. Like the vendor limiter in
//! price-updater it is a sliding window of start times, not a token bucket: a
//! bucket lets a full burst through and then keeps refilling, which can put up to
//! twice the limit into one second. In-process only: concurrent Lambda instances
//! each have their own, so the function's concurrency must stay low.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// Slack added to the window for the jitter between a request's start here and
/// its arrival at the server.
pub const WINDOW_MARGIN: Duration = Duration::from_millis(100);

/// The maths: at most `limit` starts in any span of `window` (no I/O, no clock).
#[derive(Debug, Clone)]
pub struct SlidingWindow {
    limit: usize,
    window: Duration,
    /// The most recent starts, oldest first; never more than `limit`.
    starts: VecDeque<Instant>,
}

impl SlidingWindow {
    pub fn new(limit: u32, window: Duration) -> Self {
        let limit = limit.max(1) as usize;
        Self {
            limit,
            window,
            starts: VecDeque::with_capacity(limit),
        }
    }

    /// Records a start at `now` when it fits, else says how long to wait.
    pub fn try_start(&mut self, now: Instant) -> Result<(), Duration> {
        if self.starts.len() == self.limit {
            let oldest = self.starts[0];
            let free_at = oldest + self.window;
            if now < free_at {
                return Err(free_at - now);
            }
            self.starts.pop_front();
        }
        self.starts.push_back(now);
        Ok(())
    }
}

/// A [`SlidingWindow`] behind an async mutex; waiters queue in arrival order.
#[derive(Debug, Clone)]
pub struct RequestLimiter {
    window: Arc<Mutex<SlidingWindow>>,
}

impl RequestLimiter {
    /// `per_second` starts in any second (plus [`WINDOW_MARGIN`]).
    pub fn per_second(per_second: u32) -> Self {
        Self {
            window: Arc::new(Mutex::new(SlidingWindow::new(
                per_second,
                Duration::from_secs(1) + WINDOW_MARGIN,
            ))),
        }
    }

    /// Waits for a slot and takes it. The lock is held while waiting, so the next
    /// caller is served first (tokio's mutex is fair).
    pub async fn acquire(&self) {
        let mut window = self.window.lock().await;
        loop {
            match window.try_start(Instant::now()) {
                Ok(()) => return,
                Err(wait) => tokio::time::sleep(wait).await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_limit_starts_in_any_window() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut w = SlidingWindow::new(3, Duration::from_millis(1000));
        assert_eq!(w.try_start(at(0)), Ok(()));
        assert_eq!(w.try_start(at(10)), Ok(()));
        assert_eq!(w.try_start(at(20)), Ok(()));
        assert_eq!(w.try_start(at(500)), Err(Duration::from_millis(500)));
        // A refused start is not recorded; the oldest leaves exactly one window later.
        assert_eq!(w.try_start(at(999)), Err(Duration::from_millis(1)));
        assert_eq!(w.try_start(at(1000)), Ok(()));
        assert_eq!(w.try_start(at(1005)), Err(Duration::from_millis(5)));
        assert_eq!(w.try_start(at(1010)), Ok(()));
        assert_eq!(w.try_start(at(3000)), Ok(()));
    }

    #[test]
    fn a_limit_of_zero_still_lets_one_through() {
        let t0 = Instant::now();
        let mut w = SlidingWindow::new(0, Duration::from_secs(1));
        assert_eq!(w.try_start(t0), Ok(()));
        assert!(w.try_start(t0).is_err());
    }

    #[tokio::test]
    async fn clones_share_one_window() {
        let limiter = RequestLimiter::per_second(2);
        let mut starts = Vec::new();
        for _ in 0..3 {
            limiter.clone().acquire().await;
            starts.push(Instant::now());
        }
        assert!(starts[2] - starts[0] >= Duration::from_secs(1) + WINDOW_MARGIN);
    }
}
