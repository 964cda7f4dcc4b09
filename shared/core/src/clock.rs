//! The time of a function, injectable. Production reads the system clock; a test whose
//! data belongs to a fixed era (filings of 2024-2026 judged by a tier's "last N years")
//! starts the clock in that era, and it runs on from there like a real one.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Clock {
    /// How far this clock is from the system's.
    offset: TimeDelta,
}

impl Clock {
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock that reads `at` now and then runs at the system's pace.
    pub fn starting_at(at: DateTime<Utc>) -> Self {
        Self {
            offset: at - Utc::now(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset
    }

    pub fn today(&self) -> NaiveDate {
        self.now().date_naive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_started_clock_reads_its_era_and_runs_on() {
        let at: DateTime<Utc> = "2026-11-22T12:00:00Z".parse().unwrap();
        let clock = Clock::starting_at(at);
        let first = clock.now();
        assert!((first - at).num_seconds().abs() < 5, "{first}");
        assert_eq!(clock.today(), at.date_naive());
        assert!(clock.now() >= first);
        assert!((Clock::system().now() - Utc::now()).num_seconds().abs() < 5);
    }
}
