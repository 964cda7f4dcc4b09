//! Refresh bookkeeping maths, without I/O: what a ticker's job ended as, when a
//! progress event is due, what the daily refresh asks the vendor for.

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

/// How one ticker's job of a refresh ended (`price_refresh_items.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    Pending,
    Updated,
    Unchanged,
    Rejected,
    Failed,
}

impl ItemStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Updated => "updated",
            Self::Unchanged => "unchanged",
            Self::Rejected => "rejected",
            Self::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "pending" => Self::Pending,
            "updated" => Self::Updated,
            "unchanged" => Self::Unchanged,
            "rejected" => Self::Rejected,
            "failed" => Self::Failed,
            _ => return None,
        })
    }

    /// Updated when anything changed; unchanged when what the vendor sent matched;
    /// rejected when the vendor sent rows and every one was refused.
    pub fn from_counts(changed: u32, accepted: u32, rejected: u32) -> Self {
        if changed > 0 {
            Self::Updated
        } else if accepted == 0 && rejected > 0 {
            Self::Rejected
        } else {
            Self::Unchanged
        }
    }
}

/// A progress event every `every` tickers, never for the last one (the summary says it).
pub fn progress_due(done: u32, total: u32, every: u32) -> bool {
    every > 0 && done < total && done.is_multiple_of(every)
}

/// The dates to ask for: from the last stored bar (it may have been corrected) or,
/// with none stored, `history_days` back; never further back than that.
pub fn bars_window(today: NaiveDate, last_stored: Option<NaiveDate>, history_days: u32) -> (NaiveDate, NaiveDate) {
    let earliest = today
        .checked_sub_days(Days::new(u64::from(history_days)))
        .unwrap_or(today);
    let from = match last_stored {
        Some(d) if d > earliest => d.min(today),
        _ => earliest,
    };
    (from, today)
}

/// A reason that fits a message and a log line: the first few rejections and how many more.
pub fn summarise_rejections(reasons: &[String], keep: usize) -> String {
    let mut text = reasons.iter().take(keep).cloned().collect::<Vec<_>>().join("; ");
    if reasons.len() > keep {
        text.push_str(&format!("; and {} more", reasons.len() - keep));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn statuses() {
        assert_eq!(ItemStatus::from_counts(1, 5, 2), ItemStatus::Updated);
        assert_eq!(ItemStatus::from_counts(0, 5, 2), ItemStatus::Unchanged);
        assert_eq!(ItemStatus::from_counts(0, 0, 0), ItemStatus::Unchanged);
        assert_eq!(ItemStatus::from_counts(0, 0, 3), ItemStatus::Rejected);
        for s in ["pending", "updated", "unchanged", "rejected", "failed"] {
            assert_eq!(ItemStatus::parse(s).unwrap().as_str(), s);
        }
        assert_eq!(ItemStatus::parse("done"), None);
    }

    #[test]
    fn progress_every_n_but_not_at_the_end() {
        let due: Vec<u32> = (1..=10).filter(|d| progress_due(*d, 10, 3)).collect();
        assert_eq!(due, [3, 6, 9]);
        assert!(!progress_due(10, 10, 5));
        assert!(!progress_due(1, 10, 0));
    }

    #[test]
    fn bar_windows() {
        let today = d("2026-11-20");
        assert_eq!(bars_window(today, None, 10), (d("2026-11-10"), today));
        assert_eq!(bars_window(today, Some(d("2026-11-18")), 10), (d("2026-11-18"), today));
        assert_eq!(bars_window(today, Some(d("2020-01-01")), 10), (d("2026-11-10"), today));
        assert_eq!(bars_window(today, Some(d("2027-01-01")), 10), (today, today));
    }

    #[test]
    fn rejection_text() {
        let r = vec!["a".to_owned(), "b".to_owned(), "c".to_owned()];
        assert_eq!(summarise_rejections(&r, 2), "a; b; and 1 more");
        assert_eq!(summarise_rejections(&r[..1], 2), "a");
    }
}
