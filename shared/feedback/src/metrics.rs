//! Per-day feedback counters: the DynamoDB item layout shared by the writer
//! (llm-analyzer's triage) and the reader (`GET /v1/metrics/feedback`). Pure.
//!
//! One item per day and dimension value, all of a day under one partition key so a
//! day is one `Query`:
//!
//! | pk               | sk                    | attributes                |
//! |------------------|-----------------------|---------------------------|
//! | `day#2026-11-22` | `total`               | `count` (N), `expires_at` |
//! | `day#2026-11-22` | `source#zendesk`      | `count` (N), `expires_at` |
//! | `day#2026-11-22` | `category#bug`        | `count` (N), `expires_at` |
//! | `day#2026-11-22` | `sentiment#negative`  | `count` (N), `expires_at` |
//! | `day#2026-11-22` | `priority#P0`         | `count` (N), `expires_at` |
//! | `ticket#<uuid>`  | `counted`             | `day`, `expires_at`       |
//!
//! Counters are atomic `ADD`s. The `ticket#` marker is put in the same
//! `TransactWriteItems` with `attribute_not_exists(pk)`, so a ticket is counted once
//! even when its delivery is retried after the counters were written. Everything
//! expires [`RETENTION_DAYS`] after its day (`expires_at`, epoch seconds, the table's TTL).

use chrono::{Days, NaiveDate};
use serde::Serialize;
use std::collections::BTreeMap;

/// How long a day's counters are kept.
pub const RETENTION_DAYS: u64 = 90;
/// The attribute holding a counter's value.
pub const COUNT_ATTR: &str = "count";
/// The table's TTL attribute.
pub const EXPIRES_ATTR: &str = "expires_at";
/// The sort key of the per-ticket marker.
pub const MARKER_SK: &str = "counted";
/// At or below this a sentiment is negative; above its opposite, positive.
pub const NEUTRAL_BAND: f32 = 0.25;

/// The sentiment bucket of a score in -1..1: negative < -0.25 <= neutral <= 0.25 < positive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SentimentBucket {
    Negative,
    Neutral,
    Positive,
}

impl SentimentBucket {
    pub const ALL: [SentimentBucket; 3] = [Self::Negative, Self::Neutral, Self::Positive];

    pub fn of(score: f32) -> Self {
        if score < -NEUTRAL_BAND {
            Self::Negative
        } else if score > NEUTRAL_BAND {
            Self::Positive
        } else {
            Self::Neutral
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Negative => "negative",
            Self::Neutral => "neutral",
            Self::Positive => "positive",
        }
    }
}

/// The partition key of a day's counters.
pub fn day_pk(day: NaiveDate) -> String {
    format!("day#{}", day.format("%Y-%m-%d"))
}

/// The day of a `day#YYYY-MM-DD` partition key.
pub fn parse_day_pk(pk: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(pk.strip_prefix("day#")?, "%Y-%m-%d").ok()
}

/// The marker that says a ticket has been counted: (pk, sk).
pub fn marker_key(ticket_id: &str) -> (String, String) {
    (format!("ticket#{ticket_id}"), MARKER_SK.to_owned())
}

/// `expires_at` of a day's items: midnight UTC [`RETENTION_DAYS`] after the day.
pub fn expires_at(day: NaiveDate) -> i64 {
    day.checked_add_days(Days::new(RETENTION_DAYS))
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp())
        .unwrap_or(i64::MAX)
}

/// Whether a day's counters would already have expired on `today` (writing them is pointless).
pub fn is_expired(day: NaiveDate, today: NaiveDate) -> bool {
    today.signed_duration_since(day).num_days() >= RETENTION_DAYS as i64
}

/// What one triaged ticket adds to its day.
#[derive(Debug, Clone, PartialEq)]
pub struct CountedTicket<'a> {
    pub day: NaiveDate,
    pub source: &'a str,
    pub category: &'a str,
    pub sentiment: f32,
    pub priority: &'a str,
}

/// One counter to add 1 to: (pk, sk).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterKey {
    pub pk: String,
    pub sk: String,
}

/// The counters a ticket increments: the day's total and one per dimension.
pub fn counter_keys(ticket: &CountedTicket<'_>) -> Vec<CounterKey> {
    let pk = day_pk(ticket.day);
    [
        "total".to_owned(),
        format!("source#{}", ticket.source),
        format!("category#{}", ticket.category),
        format!("sentiment#{}", SentimentBucket::of(ticket.sentiment).as_str()),
        format!("priority#{}", ticket.priority),
    ]
    .into_iter()
    .map(|sk| CounterKey { pk: pk.clone(), sk })
    .collect()
}

/// Counts of one day, or of a whole range.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub total: i64,
    pub by_source: BTreeMap<String, i64>,
    pub by_category: BTreeMap<String, i64>,
    pub by_sentiment: BTreeMap<String, i64>,
    pub by_priority: BTreeMap<String, i64>,
}

impl Counts {
    /// Adds one counter item (its sort key and value); unknown keys are ignored.
    pub fn add(&mut self, sk: &str, count: i64) {
        if sk == "total" {
            self.total += count;
            return;
        }
        let Some((dimension, value)) = sk.split_once('#') else {
            return;
        };
        let map = match dimension {
            "source" => &mut self.by_source,
            "category" => &mut self.by_category,
            "sentiment" => &mut self.by_sentiment,
            "priority" => &mut self.by_priority,
            _ => return,
        };
        *map.entry(value.to_owned()).or_insert(0) += count;
    }

    fn merge(&mut self, other: &Counts) {
        self.total += other.total;
        for (mine, theirs) in [
            (&mut self.by_source, &other.by_source),
            (&mut self.by_category, &other.by_category),
            (&mut self.by_sentiment, &other.by_sentiment),
            (&mut self.by_priority, &other.by_priority),
        ] {
            for (k, v) in theirs {
                *mine.entry(k.clone()).or_insert(0) += v;
            }
        }
    }
}

/// One day of the answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayCounts {
    pub day: NaiveDate,
    #[serde(flatten)]
    pub counts: Counts,
}

/// The answer of `GET /v1/metrics/feedback`: every day of the range (zeros included), and totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeedbackMetrics {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub days: Vec<DayCounts>,
    pub totals: Counts,
}

/// Every day from `from` to `to`, both included (empty when `from > to`).
pub fn days(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    from.iter_days().take_while(|d| *d <= to).collect()
}

/// Folds counter items `(pk, sk, count)` into the answer for `from..=to`; items of
/// other days or of other kinds (markers) are ignored.
pub fn fold(from: NaiveDate, to: NaiveDate, items: impl IntoIterator<Item = (String, String, i64)>) -> FeedbackMetrics {
    let mut per_day: BTreeMap<NaiveDate, Counts> = days(from, to).into_iter().map(|d| (d, Counts::default())).collect();
    for (pk, sk, count) in items {
        if let Some(counts) = parse_day_pk(&pk).and_then(|d| per_day.get_mut(&d)) {
            counts.add(&sk, count);
        }
    }
    let mut totals = Counts::default();
    for counts in per_day.values() {
        totals.merge(counts);
    }
    FeedbackMetrics {
        from,
        to,
        days: per_day
            .into_iter()
            .map(|(day, counts)| DayCounts { day, counts })
            .collect(),
        totals,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn sentiment_buckets_have_a_neutral_band() {
        assert_eq!(SentimentBucket::of(-1.0), SentimentBucket::Negative);
        assert_eq!(SentimentBucket::of(-0.26), SentimentBucket::Negative);
        assert_eq!(SentimentBucket::of(-0.25), SentimentBucket::Neutral);
        assert_eq!(SentimentBucket::of(0.0), SentimentBucket::Neutral);
        assert_eq!(SentimentBucket::of(0.25), SentimentBucket::Neutral);
        assert_eq!(SentimentBucket::of(0.26), SentimentBucket::Positive);
        assert_eq!(SentimentBucket::of(1.0), SentimentBucket::Positive);
    }

    #[test]
    fn a_ticket_adds_to_its_day_total_and_each_dimension() {
        let keys = counter_keys(&CountedTicket {
            day: day("2026-11-22"),
            source: "zendesk",
            category: "bug",
            sentiment: -0.8,
            priority: "P0",
        });
        let sks: Vec<&str> = keys.iter().map(|k| k.sk.as_str()).collect();
        assert_eq!(
            sks,
            [
                "total",
                "source#zendesk",
                "category#bug",
                "sentiment#negative",
                "priority#P0"
            ]
        );
        assert!(keys.iter().all(|k| k.pk == "day#2026-11-22"));
        assert_eq!(parse_day_pk("day#2026-11-22"), Some(day("2026-11-22")));
        assert_eq!(parse_day_pk("ticket#x"), None);
        assert_eq!(marker_key("abc"), ("ticket#abc".to_owned(), "counted".to_owned()));
    }

    #[test]
    fn items_expire_ninety_days_after_their_day() {
        // 2026-01-01 + 90 days = 2026-04-01T00:00:00Z.
        assert_eq!(expires_at(day("2026-01-01")), 1_775_001_600);
        assert!(!is_expired(day("2026-01-01"), day("2026-03-31")));
        assert!(is_expired(day("2026-01-01"), day("2026-04-01")));
    }

    #[test]
    fn items_fold_into_days_with_zeros_and_totals() {
        let items = vec![
            ("day#2026-11-20".to_owned(), "total".to_owned(), 2),
            ("day#2026-11-20".to_owned(), "category#bug".to_owned(), 1),
            ("day#2026-11-20".to_owned(), "category#praise".to_owned(), 1),
            ("day#2026-11-20".to_owned(), "sentiment#negative".to_owned(), 1),
            ("day#2026-11-22".to_owned(), "total".to_owned(), 1),
            ("day#2026-11-22".to_owned(), "category#bug".to_owned(), 1),
            ("day#2026-11-22".to_owned(), "source#zendesk".to_owned(), 1),
            ("day#2026-11-22".to_owned(), "priority#P0".to_owned(), 1),
            ("day#2026-11-22".to_owned(), "mystery".to_owned(), 7),
            ("day#2026-12-01".to_owned(), "total".to_owned(), 9),
            ("ticket#abc".to_owned(), "counted".to_owned(), 0),
        ];
        let m = fold(day("2026-11-20"), day("2026-11-22"), items);
        assert_eq!(m.days.len(), 3);
        assert_eq!(m.days[1].day, day("2026-11-21"));
        assert_eq!(m.days[1].counts, Counts::default());
        assert_eq!(m.totals.total, 3);
        assert_eq!(m.totals.by_category["bug"], 2);
        assert_eq!(m.totals.by_category["praise"], 1);
        assert_eq!(m.totals.by_priority["P0"], 1);
        assert_eq!(m.days[2].counts.by_source["zendesk"], 1);
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["days"][0]["day"], "2026-11-20");
        assert_eq!(json["days"][0]["total"], 2);
        assert_eq!(json["totals"]["by_sentiment"]["negative"], 1);
        assert!(days(day("2026-11-22"), day("2026-11-20")).is_empty());
    }
}
