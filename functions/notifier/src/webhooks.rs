//! Outbound webhooks: deliveries staged with the event's claim, each attempt signed
//! (Standard Webhooks), sent only to addresses the target policy allows (resolved and
//! checked before each attempt, the request pinned to the checked address), logged, and
//! retried with backoff through delayed messages on the retry queue.

use crate::{Notifier, NotifierError};
use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;
use sluice_messages::{audience, Envelope};
use sluice_notify::target::TargetError;
use sluice_notify::webhooks as wire;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The body of a message on the retry queue: which delivery to try again. It never leaves
/// the notifier (its own queue), so it is not one of the events' typed messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryMessage {
    pub webhook_delivery: i64,
}

impl RetryMessage {
    pub fn parse(body: &str) -> Option<Self> {
        serde_json::from_str(body).ok()
    }
}

/// SQS delays a message by 15 minutes at most; longer waits are re-sent until due.
const MAX_DELAY: Duration = Duration::from_secs(900);

/// What one call for a delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempted {
    Delivered,
    /// Failed; tried again at the next step of the schedule.
    WillRetry,
    /// Failed for the last time (out of attempts, or the endpoint was disabled).
    GaveUp,
    /// Not pending, not due yet, or being tried by another invocation.
    NotDue,
}

/// Stages a delivery of `envelope` for every enabled endpoint whose owner may see it and
/// that subscribed to its type. Returns how many were staged.
pub async fn stage(
    tx: &Transaction<'_>,
    envelope: &Envelope,
    owner: Option<&str>,
) -> Result<usize, tokio_postgres::Error> {
    let kind = envelope.payload.kind();
    if !sluice_notify::kinds::WEBHOOK_EVENT_TYPES.contains(&kind) {
        return Ok(0);
    }
    let rows = tx
        .query(
            "SELECT e.id, e.user_id, u.team_member, e.event_types
             FROM webhook_endpoints e JOIN user_accounts u USING (user_id)
             WHERE e.disabled_at IS NULL AND (e.user_id = $1 OR u.team_member)",
            &[&owner],
        )
        .await?;
    let body = wire::body(envelope);
    let mut staged = 0;
    for row in rows {
        let user_id: String = row.get("user_id");
        let team_member: bool = row.get("team_member");
        let types: Vec<String> = row.get("event_types");
        if !audience::may_see(owner, &user_id, team_member) || !(types.is_empty() || types.iter().any(|t| t == kind)) {
            continue;
        }
        let endpoint: Uuid = row.get("id");
        staged += tx
            .execute(
                "INSERT INTO webhook_deliveries (endpoint_id, message_id, event_type, body, next_attempt_at)
                 VALUES ($1, $2, $3, $4, now()) ON CONFLICT (endpoint_id, message_id) DO NOTHING",
                &[&endpoint, &envelope.message_id.0, &kind, &body],
            )
            .await? as usize;
    }
    Ok(staged)
}

/// The pending deliveries of one event.
pub async fn pending_for_message(pool: &sluice_core::Pool, message_id: Uuid) -> Result<Vec<i64>, NotifierError> {
    let client = pool.get().await?;
    Ok(client
        .query(
            "SELECT id FROM webhook_deliveries WHERE message_id = $1 AND status = 'pending' ORDER BY id",
            &[&message_id],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// How one request ended.
struct Response {
    status: Option<u16>,
    error: Option<String>,
}

impl Notifier {
    /// Tries delivery `id` if it is pending and due at `at`; records the attempt and
    /// what comes next. Not due yet: its retry message goes back on the queue.
    pub async fn retry_delivery(&self, id: i64, at: DateTime<Utc>) -> Result<Attempted, NotifierError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let Some(row) = tx
            .query_opt(
                "SELECT d.message_id, d.body, d.attempts, d.next_attempt_at, d.endpoint_id, e.url, e.secret,
                        e.disabled_at IS NOT NULL AS disabled
                 FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
                 WHERE d.id = $1 AND d.status = 'pending' FOR UPDATE OF d SKIP LOCKED",
                &[&id],
            )
            .await?
        else {
            return Ok(Attempted::NotDue);
        };
        let next: Option<DateTime<Utc>> = row.get("next_attempt_at");
        if let Some(next) = next.filter(|n| *n > at) {
            tx.commit().await?;
            self.enqueue_retry(id, (next - at).to_std().unwrap_or_default()).await?;
            return Ok(Attempted::NotDue);
        }
        let endpoint: Uuid = row.get("endpoint_id");
        if row.get::<_, bool>("disabled") {
            tx.execute(
                "UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL, finished_at = $2,
                     last_error = 'the endpoint is disabled' WHERE id = $1",
                &[&id, &at],
            )
            .await?;
            tx.commit().await?;
            return Ok(Attempted::GaveUp);
        }
        let message_id: Uuid = row.get("message_id");
        let body: String = row.get("body");
        let url: String = row.get("url");
        let secret: String = row.get("secret");
        let attempt: i32 = row.get::<_, i32>("attempts") + 1;

        let started = Instant::now();
        let response = self.post(&url, &secret, message_id, &body).await;
        let elapsed = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
        tx.execute(
            "INSERT INTO webhook_attempts (delivery_id, attempt, attempted_at, status_code, error, duration_ms)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &id,
                &attempt,
                &at,
                &response.status.map(i32::from),
                &response.error,
                &elapsed,
            ],
        )
        .await?;
        let ok = response.status.is_some_and(wire::delivered);
        let status_code = response.status.map(i32::from);
        let outcome = if ok {
            tx.execute(
                "UPDATE webhook_deliveries SET status = 'succeeded', attempts = $2, next_attempt_at = NULL,
                     last_status_code = $3, last_error = NULL, finished_at = $4 WHERE id = $1",
                &[&id, &attempt, &status_code, &at],
            )
            .await?;
            tx.execute(
                "UPDATE webhook_endpoints SET consecutive_failures = 0 WHERE id = $1",
                &[&endpoint],
            )
            .await?;
            Attempted::Delivered
        } else {
            let failures: i32 = tx
                .query_one(
                    "UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1 WHERE id = $1
                     RETURNING consecutive_failures",
                    &[&endpoint],
                )
                .await?
                .get(0);
            let retry = u32::try_from(attempt)
                .ok()
                .and_then(|n| wire::retry_after(&self.config.retry_schedule, n));
            let disable = failures >= self.config.disable_after;
            let next_at = match retry {
                Some(wait) if !disable => chrono::Duration::from_std(wait).ok().map(|w| at + w),
                _ => None,
            };
            tx.execute(
                "UPDATE webhook_deliveries SET attempts = $2, last_status_code = $3, last_error = $4,
                     next_attempt_at = $5,
                     status = CASE WHEN $5::timestamptz IS NULL THEN 'failed' ELSE 'pending' END,
                     finished_at = CASE WHEN $5::timestamptz IS NULL THEN $6::timestamptz END
                 WHERE id = $1",
                &[&id, &attempt, &status_code, &response.error, &next_at, &at],
            )
            .await?;
            if disable {
                let reason = format!("{failures} failed attempts in a row");
                tx.execute(
                    "UPDATE webhook_endpoints SET disabled_at = $2, disabled_reason = $3 WHERE id = $1 AND disabled_at IS NULL",
                    &[&endpoint, &at, &reason],
                )
                .await?;
                tx.execute(
                    "UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL, finished_at = $2,
                         last_error = coalesce(last_error, 'the endpoint is disabled')
                     WHERE endpoint_id = $1 AND status = 'pending'",
                    &[&endpoint, &at],
                )
                .await?;
                tracing::warn!(endpoint = %endpoint, failures, "webhook endpoint disabled");
            }
            match next_at {
                Some(_) => Attempted::WillRetry,
                None => Attempted::GaveUp,
            }
        };
        tx.commit().await?;
        tracing::info!(
            delivery = id,
            attempt,
            status = ?response.status,
            error = ?response.error,
            outcome = ?outcome,
            "webhook attempt"
        );
        if outcome == Attempted::WillRetry {
            if let Some(wait) = u32::try_from(attempt)
                .ok()
                .and_then(|n| wire::retry_after(&self.config.retry_schedule, n))
            {
                self.enqueue_retry(id, wait).await?;
            }
        }
        Ok(outcome)
    }

    /// Puts a retry of `id` on the retry queue, delayed by `wait` (at most 15 minutes).
    async fn enqueue_retry(&self, id: i64, wait: Duration) -> Result<(), NotifierError> {
        let delay = i32::try_from(wait.min(MAX_DELAY).as_secs()).unwrap_or(900);
        let body = serde_json::json!({ "webhook_delivery": id }).to_string();
        self.sqs
            .send_message()
            .queue_url(&self.config.retry_queue_url)
            .message_body(body)
            .delay_seconds(delay)
            .send()
            .await
            .map_err(|e| NotifierError::Queue(aws_sdk_sqs::error::DisplayErrorContext(e).to_string()))?;
        Ok(())
    }

    /// One signed POST. The host is resolved here and every address checked against the
    /// target policy; the request goes to the checked address only.
    async fn post(&self, raw_url: &str, secret: &str, message_id: Uuid, body: &str) -> Response {
        let failed = |e: String| Response {
            status: None,
            error: Some(e),
        };
        let url = match self.config.targets.check_url(raw_url) {
            Ok(u) => u,
            Err(e) => return failed(e.to_string()),
        };
        let (host, port) = match (url.host_str(), url.port_or_known_default()) {
            (Some(h), Some(p)) => (h.trim_start_matches('[').trim_end_matches(']').to_owned(), p),
            _ => return failed("the URL has no host".into()),
        };
        let addresses: Vec<SocketAddr> = match tokio::net::lookup_host((host.as_str(), port)).await {
            Ok(a) => a.collect(),
            Err(e) => return failed(format!("{host} does not resolve: {e}")),
        };
        let Some(first) = addresses.first().copied() else {
            return failed(TargetError::Unresolvable(host).to_string());
        };
        for address in &addresses {
            if let Err(e) = self.config.targets.check_ip(address.ip()) {
                return failed(e.to_string());
            }
        }
        let client = if url.domain().is_some() {
            match reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(self.config.webhook_timeout)
                .user_agent("Sluice-Webhooks/1")
                .resolve(&host, first)
                .build()
            {
                Ok(c) => c,
                Err(e) => return failed(e.to_string()),
            }
        } else {
            self.http.clone()
        };
        let id = wire::webhook_id(message_id);
        let timestamp = self.clock.now().timestamp();
        let Some(signature) = sluice_feedback::sign_standard(secret, &id, &timestamp.to_string(), body.as_bytes())
        else {
            return failed("the endpoint's secret is unusable".into());
        };
        match client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body.to_owned())
            .send()
            .await
        {
            Ok(r) => Response {
                status: Some(r.status().as_u16()),
                error: (!wire::delivered(r.status().as_u16())).then(|| format!("answered {}", r.status())),
            },
            Err(e) => failed(if e.is_timeout() {
                "timed out".into()
            } else if e.is_connect() {
                "could not connect".into()
            } else {
                "the request failed".into()
            }),
        }
    }
}
