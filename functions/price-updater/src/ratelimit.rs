//! The vendor's rate limit, shared by every concurrent invocation.
//!
//! # Why a sliding window of grant times, not a token bucket
//!
//! The vendor judges "120 requests per minute" over *any* 60-second window. A token
//! bucket with capacity LIMIT refilled at LIMIT per WINDOW lets a full bucket be
//! spent at once and then keeps granting at the refill rate: within one window that
//! is up to 2 x LIMIT - 1 requests, and the vendor answers 429. Shrinking the bucket
//! fixes the overshoot but wastes the budget.
//!
//! So the bucket remembers the times of its last LIMIT grants (one DynamoDB item
//! per bucket key: `grants`, a list of epoch milliseconds, and `version`). A grant
//! at `now` is allowed only if fewer than LIMIT grants fall in `(now - span, now]`,
//! where `span` is WINDOW plus a small margin for clock skew between instances and
//! for network jitter between a grant and the request's arrival. Then no WINDOW
//! ever holds more than LIMIT arrivals, and a caller waits exactly until the
//! LIMIT-th most recent grant ages out: the whole budget is used, with no idling.
//!
//! Every update is a conditional write on `version` (optimistic concurrency): two
//! instances that read the same state cannot both append; the loser re-reads and
//! decides again. Items carry `expires_at` (epoch seconds) for DynamoDB TTL: an
//! idle bucket disappears, which is the same as an empty one.

use aws_sdk_dynamodb::types::AttributeValue;
use futures::future::BoxFuture;
use std::collections::HashMap;
use std::time::Duration;

/// The maths of one limit, without I/O.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowLimit {
    pub limit: u32,
    pub window_ms: i64,
    pub margin_ms: i64,
}

/// What the bucket says to a caller at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Granted: the grants to store (at most `limit`, oldest first, `now` included
    /// once per permit granted).
    Grant(Vec<i64>),
    /// Full: try again after this many milliseconds.
    Wait(i64),
}

impl WindowLimit {
    pub fn new(limit: u32, window: Duration, margin: Duration) -> Self {
        Self {
            limit: limit.max(1),
            window_ms: i64::try_from(window.as_millis()).unwrap_or(i64::MAX / 4),
            margin_ms: i64::try_from(margin.as_millis()).unwrap_or(0),
        }
    }

    /// Grants are spaced so that any `span` holds at most `limit` of them.
    pub fn span_ms(&self) -> i64 {
        self.window_ms + self.margin_ms
    }

    pub fn decide(&self, grants: &[i64], now: i64) -> Decision {
        self.decide_many(grants, now, 1)
    }

    /// Up to `wanted` grants at once (at least one, or a wait): the state to store
    /// holds one timestamp per grant, so the caller counts `new.len()` changes.
    pub fn decide_many(&self, grants: &[i64], now: i64, wanted: u32) -> Decision {
        let span = self.span_ms();
        let limit = self.limit as usize;
        // A grant from an instance whose clock runs ahead is still counted (t > now - span).
        let mut recent: Vec<i64> = grants.iter().copied().filter(|t| *t > now - span).collect();
        recent.sort_unstable();
        if recent.len() < limit {
            let room = (limit - recent.len()).min(wanted.max(1) as usize);
            recent.extend(std::iter::repeat_n(now, room));
            recent.sort_unstable();
            let keep = recent.len().saturating_sub(limit);
            Decision::Grant(recent.split_off(keep))
        } else {
            // The grant that has to leave the span before another fits.
            let blocking = recent[recent.len() - limit];
            Decision::Wait((blocking + span - now).max(1))
        }
    }

    /// When the stored item can expire (epoch seconds): after every grant in it is irrelevant.
    pub fn expires_at(&self, now_ms: i64) -> i64 {
        (now_ms + self.span_ms()) / 1000 + 60
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LimitError {
    #[error("rate-limit table: {0}")]
    Store(String),
    #[error("rate-limit item is malformed: {0}")]
    Malformed(String),
}

/// Leave to send a request, stamped with the time the bucket recorded it. The
/// window arithmetic assumes the request leaves promptly: a permit older than the
/// margin allows is stale, and the caller takes a fresh one instead (the stale one
/// still counts against the bucket, so this only ever errs on the safe side).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permit {
    pub granted_at_ms: i64,
}

impl Permit {
    pub fn is_fresh(&self, now_ms: i64, max_age: Duration) -> bool {
        now_ms - self.granted_at_ms <= i64::try_from(max_age.as_millis()).unwrap_or(i64::MAX)
    }
}

/// A permit per vendor request, shared by every caller of one vendor account.
pub trait RateLimiter: Send + Sync {
    /// Waits until a request may be sent, and records it.
    fn acquire(&self) -> BoxFuture<'_, Result<Permit, LimitError>> {
        self.acquire_many(1)
    }

    /// Waits until `n` requests may be sent (sent together, right away), and records
    /// them. The permit carries the earliest of their grant times.
    fn acquire_many(&self, n: u32) -> BoxFuture<'_, Result<Permit, LimitError>>;
}

/// The bucket in DynamoDB (table key: `bucket`, a string).
#[derive(Debug, Clone)]
pub struct DynamoRateLimiter {
    client: aws_sdk_dynamodb::Client,
    table: String,
    bucket: String,
    limit: WindowLimit,
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl DynamoRateLimiter {
    pub fn new(
        client: aws_sdk_dynamodb::Client,
        table: impl Into<String>,
        bucket: impl Into<String>,
        limit: WindowLimit,
    ) -> Self {
        Self {
            client,
            table: table.into(),
            bucket: bucket.into(),
            limit,
        }
    }

    pub fn limit(&self) -> WindowLimit {
        self.limit
    }

    async fn read(&self) -> Result<(Vec<i64>, i64), LimitError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("bucket", AttributeValue::S(self.bucket.clone()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| LimitError::Store(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()))?;
        let Some(item) = out.item else {
            return Ok((Vec::new(), 0));
        };
        parse_item(&item)
    }

    /// Appends a grant if the item is still at `version`. False: someone else won.
    async fn write(&self, grants: &[i64], version: i64, now: i64) -> Result<bool, LimitError> {
        let list = grants.iter().map(|t| AttributeValue::N(t.to_string())).collect();
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("bucket", AttributeValue::S(self.bucket.clone()))
            .item("grants", AttributeValue::L(list))
            .item("version", AttributeValue::N((version + 1).to_string()))
            .item("expires_at", AttributeValue::N(self.limit.expires_at(now).to_string()));
        put = if version == 0 {
            put.condition_expression("attribute_not_exists(#b)")
                .expression_attribute_names("#b", "bucket")
        } else {
            put.condition_expression("#v = :v")
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":v", AttributeValue::N(version.to_string()))
        };
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(LimitError::Store(
                aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string(),
            )),
        }
    }

    async fn acquire_permits(&self, n: u32) -> Result<Permit, LimitError> {
        let mut store_errors = 0u32;
        let mut still = n.max(1);
        let mut first_grant: Option<i64> = None;
        loop {
            let attempt = async {
                let (grants, version) = self.read().await?;
                let now = now_ms();
                match self.limit.decide_many(&grants, now, still) {
                    Decision::Wait(ms) => Ok(Some(ms)),
                    Decision::Grant(new) => {
                        // Grants still in the span are kept as they were; the rest of `new` is ours.
                        let kept = grants.iter().filter(|t| **t > now - self.limit.span_ms()).count();
                        let granted = (new.len().saturating_sub(kept) as u32).clamp(1, still);
                        if self.write(&new, version, now).await? {
                            still -= granted;
                            first_grant.get_or_insert(now);
                            Ok((still > 0).then_some(0))
                        } else {
                            // Lost the race: re-read at once, with a hair of jitter against lockstep.
                            Ok(Some(rand::random::<u64>() as i64 % 3))
                        }
                    }
                }
            }
            .await;
            match attempt {
                Ok(None) => {
                    return Ok(Permit {
                        granted_at_ms: first_grant.unwrap_or_else(now_ms),
                    })
                }
                Ok(Some(wait_ms)) => {
                    if wait_ms > 0 {
                        // Waiters wake a little apart so they do not all collide on the same write.
                        let jitter = rand::random::<u64>() % 5;
                        tokio::time::sleep(Duration::from_millis(wait_ms as u64 + jitter)).await;
                    }
                }
                Err(LimitError::Store(reason)) if store_errors < 4 => {
                    store_errors += 1;
                    tracing::warn!(%reason, "rate-limit table unavailable; retrying");
                    tokio::time::sleep(Duration::from_millis(100 * 2u64.pow(store_errors))).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

fn parse_item(item: &HashMap<String, AttributeValue>) -> Result<(Vec<i64>, i64), LimitError> {
    let version = match item.get("version") {
        Some(AttributeValue::N(n)) => n.parse::<i64>().map_err(|_| LimitError::Malformed("version".into()))?,
        _ => return Err(LimitError::Malformed("no version".into())),
    };
    let grants = match item.get("grants") {
        Some(AttributeValue::L(list)) => list
            .iter()
            .map(|v| match v {
                AttributeValue::N(n) => n.parse::<i64>().map_err(|_| LimitError::Malformed("grant".into())),
                _ => Err(LimitError::Malformed("grant is not a number".into())),
            })
            .collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
        Some(_) => return Err(LimitError::Malformed("grants is not a list".into())),
    };
    Ok((grants, version))
}

impl RateLimiter for DynamoRateLimiter {
    fn acquire_many(&self, n: u32) -> BoxFuture<'_, Result<Permit, LimitError>> {
        Box::pin(self.acquire_permits(n))
    }
}

/// No limit at all: for one-off tools against a vendor with no quota.
#[derive(Debug, Clone, Copy, Default)]
pub struct Unlimited;

impl RateLimiter for Unlimited {
    fn acquire_many(&self, _n: u32) -> BoxFuture<'_, Result<Permit, LimitError>> {
        Box::pin(async {
            Ok(Permit {
                granted_at_ms: now_ms(),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lim(limit: u32, window: i64, margin: i64) -> WindowLimit {
        WindowLimit {
            limit,
            window_ms: window,
            margin_ms: margin,
        }
    }

    fn max_in_window(times: &[i64], window: i64) -> usize {
        let mut sorted = times.to_vec();
        sorted.sort_unstable();
        let mut best = 0;
        let mut start = 0;
        for end in 0..sorted.len() {
            while sorted[end] >= sorted[start] + window {
                start += 1;
            }
            best = best.max(end - start + 1);
        }
        best
    }

    /// Greedy callers asking as fast as the bucket lets them.
    fn simulate(l: WindowLimit, until: i64) -> Vec<i64> {
        let mut state = Vec::new();
        let mut issued = Vec::new();
        let mut now = 0;
        while now < until {
            match l.decide(&state, now) {
                Decision::Grant(g) => {
                    state = g;
                    issued.push(now);
                }
                Decision::Wait(ms) => now += ms,
            }
        }
        issued
    }

    #[test]
    fn grants_until_full_then_waits_for_the_oldest_to_age_out() {
        let l = lim(3, 1000, 0);
        let Decision::Grant(g) = l.decide(&[100, 200], 300) else {
            panic!()
        };
        assert_eq!(g, [100, 200, 300]);
        assert_eq!(l.decide(&g, 400), Decision::Wait(700));
        // At 1100 the grant of 100 has left (1100 - 1000 = 100 is not > 100).
        assert_eq!(l.decide(&g, 1100), Decision::Grant(vec![200, 300, 1100]));
    }

    #[test]
    fn the_stored_list_never_outgrows_the_limit() {
        let l = lim(2, 1000, 0);
        assert_eq!(l.decide(&[1, 2, 3, 4, 5], 5000), Decision::Grant(vec![5000]));
    }

    #[test]
    fn a_future_grant_from_a_fast_clock_still_counts() {
        let l = lim(1, 1000, 0);
        assert_eq!(l.decide(&[1500], 1000), Decision::Wait(1500));
    }

    #[test]
    fn greedy_callers_never_exceed_the_limit_and_use_all_of_it() {
        for (limit, window, margin) in [(120, 60_000, 250), (150, 2000, 100), (1, 1000, 0), (7, 333, 10)] {
            let l = lim(limit, window, margin);
            let issued = simulate(l, window * 10);
            assert!(max_in_window(&issued, window) <= limit as usize);
            // Any later span of the run is full: no idling.
            assert_eq!(max_in_window(&issued, l.span_ms()), limit as usize);
            let expected = (10 * window / l.span_ms()) as usize * limit as usize;
            assert!(issued.len() >= expected, "{} < {expected}", issued.len());
        }
    }

    #[test]
    fn a_token_bucket_would_overshoot_where_this_does_not() {
        // Burst of LIMIT at t=0, then one per refill interval: a token bucket's behaviour.
        let (limit, window) = (10i64, 1000i64);
        let mut bucket: Vec<i64> = vec![0; limit as usize];
        bucket.extend((1..limit).map(|i| i * window / limit));
        assert_eq!(max_in_window(&bucket, window), 2 * limit as usize - 1);
        let l = lim(limit as u32, window, 0);
        let mut state = Vec::new();
        let mut granted = Vec::new();
        for t in bucket {
            if let Decision::Grant(g) = l.decide(&state, t) {
                state = g;
                granted.push(t);
            }
        }
        assert_eq!(granted.len(), limit as usize);
    }

    #[test]
    fn several_at_once_but_never_past_the_limit() {
        let l = lim(5, 1000, 0);
        assert_eq!(
            l.decide_many(&[100, 200], 300, 6),
            Decision::Grant(vec![100, 200, 300, 300, 300])
        );
        assert_eq!(l.decide_many(&[], 0, 2), Decision::Grant(vec![0, 0]));
        assert_eq!(l.decide_many(&[1, 2, 3, 4, 5], 10, 3), Decision::Wait(991));
    }

    #[test]
    fn expiry_outlives_every_grant() {
        let l = lim(120, 60_000, 250);
        assert!(l.expires_at(1_000_000) * 1000 > 1_000_000 + l.span_ms());
    }

    #[test]
    fn items_parse_and_refuse_garbage() {
        let mut item = HashMap::new();
        item.insert("version".into(), AttributeValue::N("4".into()));
        item.insert(
            "grants".into(),
            AttributeValue::L(vec![AttributeValue::N("10".into()), AttributeValue::N("20".into())]),
        );
        assert_eq!(parse_item(&item).unwrap(), (vec![10, 20], 4));
        item.insert("grants".into(), AttributeValue::S("x".into()));
        assert!(parse_item(&item).is_err());
    }
}
